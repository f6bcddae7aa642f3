"""The store's per-table operations: scope cache and marks, results and history, ledger.

:class:`StateStore` mixes these in; each method gets its connection from ``_conn``, which
joins the caller's transaction when there is one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from okrsync.state import tables as t
from okrsync.state.errors import redact
from okrsync.state.records import KrSnapshot, LatestKr, LedgerEntry, ObjectiveSnapshot, ScopeMark

_Snapshot = TypeVar("_Snapshot", KrSnapshot, ObjectiveSnapshot)

# Rows per statement: keeps IN lists and multi-row inserts under SQLite's variable limit.
_CHUNK = 500


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    overrides: Mapping[str, ColumnElement[Any]] | None = None,
) -> None:
    """Insert ``rows``, or update the non-key columns of rows whose ``keys`` already exist.

    ``overrides`` replaces the update expression of some columns (e.g. a counter + 1).
    """
    if not rows:
        return
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = insert(table)
    changes: dict[str, Any] = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    changes.update(overrides or {})
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)
    for start in range(0, len(rows), _CHUNK):
        conn.execute(stmt, list(rows[start : start + _CHUNK]))


def now_or(at: datetime | None) -> datetime:
    """``at``, or the current UTC time when it is None."""
    return datetime.now(UTC) if at is None else at


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    values = list(values)
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _number(result: Mapping[str, Any], key: str) -> float | None:
    value = result.get(key)
    return None if value is None else float(value)


def _count(result: Mapping[str, Any], key: str) -> int | None:
    value = result.get(key)
    return None if value is None else int(value)


def _status(result: Mapping[str, Any]) -> str:
    status = result.get("status")
    if not isinstance(status, str) or not status:
        raise ValueError("a result to record needs a 'status' string")
    return status


class Queries:
    """Operations on the scope cache, results, history and ledger (mixed into StateStore)."""

    def _conn(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    # -- scope cache ------------------------------------------------------------------

    def get_scope_cache(self, scope_key: str) -> dict[str, dict[str, Any]]:
        """Every cached item of a scope, by item id (empty when nothing is cached)."""
        query = select(t.scope_items.c.item_id, t.scope_items.c.item).where(
            t.scope_items.c.scope_key == scope_key
        )
        with self._conn() as conn:
            return {row.item_id: row.item for row in conn.execute(query)}

    def get_scope_items(self, scope_key: str, item_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Some cached items of a scope, by item id (those it does not hold are left out)."""
        items = t.scope_items
        out: dict[str, dict[str, Any]] = {}
        with self._conn() as conn:
            for chunk in _chunks(item_ids):
                query = select(items.c.item_id, items.c.item).where(
                    items.c.scope_key == scope_key, items.c.item_id.in_(chunk)
                )
                out.update({row.item_id: row.item for row in conn.execute(query)})
        return out

    def scope_item_counts(self, scope_keys: Iterable[str]) -> dict[str, int]:
        """How many items each scope's cache holds (scopes with none are left out)."""
        items = t.scope_items
        out: dict[str, int] = {}
        with self._conn() as conn:
            for chunk in _chunks(scope_keys):
                query = (
                    select(items.c.scope_key, func.count())
                    .where(items.c.scope_key.in_(chunk))
                    .group_by(items.c.scope_key)
                )
                out.update({key: int(count) for key, count in conn.execute(query)})
        return out

    def replace_scope_cache(
        self,
        scope_key: str,
        source: str,
        items: Mapping[str, Mapping[str, Any]],
        at: datetime | None = None,
    ) -> None:
        """Make ``items`` the whole cache of the scope (after a full read)."""
        with self._conn(write=True) as conn:
            conn.execute(delete(t.scope_items).where(t.scope_items.c.scope_key == scope_key))
            self._insert_items(conn, scope_key, source, items, at)

    def upsert_scope_items(
        self,
        scope_key: str,
        source: str,
        items: Mapping[str, Mapping[str, Any]],
        at: datetime | None = None,
    ) -> None:
        """Add or replace some items of a scope's cache (after an incremental read)."""
        with self._conn(write=True) as conn:
            self._insert_items(conn, scope_key, source, items, at)

    @staticmethod
    def _insert_items(
        conn: Connection,
        scope_key: str,
        source: str,
        items: Mapping[str, Mapping[str, Any]],
        at: datetime | None,
    ) -> None:
        when = now_or(at)
        rows = [
            {
                "scope_key": scope_key,
                "item_id": item_id,
                "source": source,
                "item": dict(item),
                "updated_at": when,
            }
            for item_id, item in items.items()
        ]
        upsert(conn, t.scope_items, rows, ["scope_key", "item_id"])

    def delete_scope_items(self, scope_key: str, item_ids: Iterable[str]) -> None:
        """Drop items from a scope's cache (they left the scope or were deleted)."""
        items = t.scope_items
        with self._conn(write=True) as conn:
            for chunk in _chunks(item_ids):
                conn.execute(
                    delete(items).where(items.c.scope_key == scope_key, items.c.item_id.in_(chunk))
                )

    def drop_scope(self, scope_key: str) -> None:
        """Forget a scope entirely (cache and mark), e.g. when no KR uses it any more."""
        with self._conn(write=True) as conn:
            conn.execute(delete(t.scope_items).where(t.scope_items.c.scope_key == scope_key))
            conn.execute(delete(t.scope_marks).where(t.scope_marks.c.scope_key == scope_key))

    def scope_keys(self) -> set[str]:
        """Every scope key with a cache or a mark."""
        with self._conn() as conn:
            marked = conn.execute(select(t.scope_marks.c.scope_key)).scalars()
            cached = conn.execute(select(t.scope_items.c.scope_key).distinct()).scalars()
            return set(marked) | set(cached)

    def get_scope_mark(self, scope_key: str) -> ScopeMark | None:
        """How far the scope's incremental sync has come, or None if never synced."""
        query = select(t.scope_marks).where(t.scope_marks.c.scope_key == scope_key)
        with self._conn() as conn:
            row = conn.execute(query).one_or_none()
        return None if row is None else ScopeMark(**row._mapping)

    def get_scope_marks(self, scope_keys: Iterable[str]) -> dict[str, ScopeMark]:
        """:meth:`get_scope_mark` of many scopes at once (those never synced left out)."""
        marks = t.scope_marks
        out: dict[str, ScopeMark] = {}
        with self._conn() as conn:
            for chunk in _chunks(scope_keys):
                query = select(marks).where(marks.c.scope_key.in_(chunk))
                out.update(
                    {row.scope_key: ScopeMark(**row._mapping) for row in conn.execute(query)}
                )
        return out

    def set_scope_mark(
        self,
        scope_key: str,
        *,
        last_success_at: datetime | None,
        last_full_at: datetime | None = None,
        item_count: int = 0,
        baseline_total: int | None = None,
    ) -> None:
        """Set (all fields of) a scope's mark; read it first to change only some."""
        row = {
            "scope_key": scope_key,
            "last_success_at": last_success_at,
            "last_full_at": last_full_at,
            "item_count": item_count,
            "baseline_total": baseline_total,
        }
        with self._conn(write=True) as conn:
            upsert(conn, t.scope_marks, [row], ["scope_key"])

    # -- results and history ----------------------------------------------------------

    def record_kr_snapshot(
        self, run_id: int, at: datetime, kr_id: str, result: Mapping[str, Any], stale: bool
    ) -> None:
        """Append a KR's numbers to its history and make ``result`` its latest result.

        ``result`` is ``KrResult.to_dict()``; the history keeps its ``progress``,
        ``expected``, ``status``, ``score``, ``done_count``, ``total_count``, ``done_points``,
        ``total_points`` and ``value``; the latest result keeps all of it (evidence too).
        """
        snapshot = {
            "run_id": run_id,
            "kr_id": kr_id,
            "at": at,
            "progress": _number(result, "progress"),
            "expected": _number(result, "expected"),
            "status": _status(result),
            "score": _number(result, "score"),
            "done_count": _count(result, "done_count"),
            "total_count": _count(result, "total_count"),
            "done_points": _number(result, "done_points"),
            "total_points": _number(result, "total_points"),
            "value": _number(result, "value"),
            "stale": stale,
        }
        latest = {
            "kr_id": kr_id,
            "run_id": run_id,
            "result": dict(result),
            "stale": stale,
            "updated_at": at,
        }
        with self._conn(write=True) as conn:
            conn.execute(t.kr_snapshots.insert().values(snapshot))
            upsert(conn, t.kr_results, [latest], ["kr_id"])

    def record_objective_snapshot(
        self,
        run_id: int,
        at: datetime,
        objective_id: str,
        result: Mapping[str, Any],
        partially_stale: bool,
    ) -> None:
        """Append an objective's roll-up to its history and make ``result`` its latest."""
        snapshot = {
            "run_id": run_id,
            "objective_id": objective_id,
            "at": at,
            "progress": _number(result, "progress"),
            "expected": _number(result, "expected"),
            "status": _status(result),
            "partially_stale": partially_stale,
        }
        latest = {
            "objective_id": objective_id,
            "run_id": run_id,
            "result": dict(result),
            "partially_stale": partially_stale,
            "updated_at": at,
        }
        with self._conn(write=True) as conn:
            conn.execute(t.objective_snapshots.insert().values(snapshot))
            upsert(conn, t.objective_results, [latest], ["objective_id"])

    def latest_kr_result(self, kr_id: str) -> dict[str, Any] | None:
        """The last recorded result of ``kr_id`` (evidence included), or None."""
        query = select(t.kr_results.c.result).where(t.kr_results.c.kr_id == kr_id)
        with self._conn() as conn:
            found: dict[str, Any] | None = conn.execute(query).scalar_one_or_none()
            return found

    def latest_kr_results(self) -> dict[str, dict[str, Any]]:
        """The last recorded result of every KR, by KR id."""
        query = select(t.kr_results.c.kr_id, t.kr_results.c.result)
        with self._conn() as conn:
            return {row.kr_id: row.result for row in conn.execute(query)}

    def latest_kr_records(self) -> dict[str, LatestKr]:
        """The last recorded result of every KR, by KR id, as typed records."""
        return {k: LatestKr.of(k, data) for k, data in self.latest_kr_results().items()}

    def latest_objective_results(self) -> dict[str, dict[str, Any]]:
        """The last recorded result of every objective, by objective id."""
        query = select(t.objective_results.c.objective_id, t.objective_results.c.result)
        with self._conn() as conn:
            return {row.objective_id: row.result for row in conn.execute(query)}

    def forget_results(
        self, kr_ids: Collection[str] = (), objective_ids: Collection[str] = ()
    ) -> None:
        """Drop the latest results (and check-ins) of KRs and objectives no longer mapped.

        Their history stays; only what reports and metrics show as current goes.
        """
        with self._conn(write=True) as conn:
            for chunk in _chunks(kr_ids):
                conn.execute(delete(t.kr_results).where(t.kr_results.c.kr_id.in_(chunk)))
                conn.execute(delete(t.checkins).where(t.checkins.c.kr_id.in_(chunk)))
            for chunk in _chunks(objective_ids):
                table = t.objective_results
                conn.execute(delete(table).where(table.c.objective_id.in_(chunk)))

    def kr_history(self, kr_id: str, since: datetime | None = None) -> list[KrSnapshot]:
        """A KR's snapshots, oldest first, from ``since`` (inclusive) when given."""
        table = t.kr_snapshots
        return self._history(table, table.c.kr_id == kr_id, since, KrSnapshot)

    def objective_history(
        self, objective_id: str, since: datetime | None = None
    ) -> list[ObjectiveSnapshot]:
        """An objective's snapshots, oldest first, from ``since`` (inclusive) when given."""
        table = t.objective_snapshots
        return self._history(table, table.c.objective_id == objective_id, since, ObjectiveSnapshot)

    def _history(
        self,
        table: Table,
        which: ColumnElement[bool],
        since: datetime | None,
        record: type[_Snapshot],
    ) -> list[_Snapshot]:
        query = select(table).where(which)
        if since is not None:
            query = query.where(table.c.at >= since)
        query = query.order_by(table.c.at, table.c.id)
        names = [f.name for f in fields(record)]
        with self._conn() as conn:
            return [record(**{k: row._mapping[k] for k in names}) for row in conn.execute(query)]

    # -- write ledger -----------------------------------------------------------------

    def record_write(
        self,
        run_id: int | None,
        connection: str,
        target: str,
        field: str,
        before: Any,
        written: Any,
        kind: str = "write",
        note: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Add a ledger entry: a field written, or held / in conflict / left to a person.

        ``before`` and ``written`` are JSON values (datetimes allowed). Returns the entry id.
        """
        if kind not in t.LEDGER_KINDS:
            raise ValueError(f"ledger kind {kind!r} is not one of {', '.join(t.LEDGER_KINDS)}")
        values = {
            "run_id": run_id,
            "at": now_or(at),
            "connection": connection,
            "target": target,
            "field": field,
            "value_before": before,
            "value_written": written,
            "kind": kind,
            "note": None if note is None else redact(note),
        }
        with self._conn(write=True) as conn:
            inserted = conn.execute(t.ledger.insert().values(values).returning(t.ledger.c.id))
            return int(inserted.scalar_one())

    def last_written(self, connection: str, target: str, field: str) -> Any:
        """The value okrsync last wrote to ``field`` of ``target``; None if it never wrote.

        A current value that differs from this one was changed by someone else.
        """
        table = t.ledger
        query = (
            select(table.c.value_written)
            .where(
                table.c.connection == connection,
                table.c.target == target,
                table.c.field == field,
                table.c.kind == "write",
            )
            .order_by(table.c.id.desc())
            .limit(1)
        )
        with self._conn() as conn:
            return conn.execute(query).scalar_one_or_none()

    def last_written_many(
        self, slots: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], Any]:
        """:meth:`last_written` of many ``(connection, target, field)`` slots at once: the
        slots okrsync wrote, with their last value (one query per connection and
        :data:`_CHUNK` targets, not one per slot)."""
        wanted = set(slots)
        targets: dict[str, set[str]] = {}
        for connection, target, _ in wanted:
            targets.setdefault(connection, set()).add(target)
        table = t.ledger
        out: dict[tuple[str, str, str], Any] = {}
        with self._conn() as conn:
            for connection, names in sorted(targets.items()):
                for chunk in _chunks(sorted(names)):
                    latest = (
                        select(func.max(table.c.id))
                        .where(
                            table.c.connection == connection,
                            table.c.target.in_(chunk),
                            table.c.kind == "write",
                        )
                        .group_by(table.c.target, table.c.field)
                    )
                    query = select(table.c.target, table.c.field, table.c.value_written).where(
                        table.c.id.in_(latest.scalar_subquery())
                    )
                    for row in conn.execute(query):
                        slot = (connection, row.target, row.field)
                        if slot in wanted:
                            out[slot] = row.value_written
        return out

    def ledger(self, run_id: int | None = None, limit: int = 100) -> list[LedgerEntry]:
        """The ``limit`` latest ledger entries (of one run when ``run_id`` is given), newest
        first."""
        query = select(t.ledger).order_by(t.ledger.c.id.desc()).limit(limit)
        if run_id is not None:
            query = query.where(t.ledger.c.run_id == run_id)
        with self._conn() as conn:
            return [LedgerEntry(**row._mapping) for row in conn.execute(query)]
