"""StateStore: okrsync's memory between cycles, on SQLite (default) or PostgreSQL.

Every method runs in its own short transaction, unless called inside
:meth:`StateStore.transaction`, where everything commits together or not at all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Self

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

from okrsync.state import database as _engine
from okrsync.state import tables as t
from okrsync.state.errors import StateError, mask_url, redact
from okrsync.state.objects import CreatedObjects
from okrsync.state.queries import Queries, now_or, upsert
from okrsync.state.records import Checkin, Run, SourceHealth

DEFAULT_URL = "sqlite:///okrsync.db"


class StateStore(Queries, CreatedObjects):
    """Runs, scope caches, result snapshots, the write ledger, source health, check-ins.

    Open with :meth:`open`; safe to share between threads (each thread gets its own
    connection and its own transaction).
    """

    def __init__(self, engine: Engine, url: URL) -> None:
        self._engine = engine
        self._url = url
        self._local = threading.local()

    @classmethod
    def open(cls, url: str = DEFAULT_URL) -> Self:
        """Open (creating if needed) the database at ``url`` and migrate it to this version.

        A SQLite file and its missing parent directories are created owner-only (0600 /
        0700) before SQLite touches them. Raises :class:`StateError` when the URL is
        malformed, the server unreachable, or the schema newer than this okrsync.
        """
        parsed = _engine.parse_url(url)
        if parsed.get_backend_name() == "sqlite":
            _engine.prepare_sqlite_file(parsed)
        engine = _engine.make_engine(parsed)
        try:
            _engine.migrate(engine, parsed)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, parsed)

    @property
    def url(self) -> str:
        """The database URL with its password masked."""
        return mask_url(self._url)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def schema_version(self) -> str | None:
        """The schema revision the database is at (the newest migration applied)."""
        with self._conn() as conn:
            return _engine.current_revision(conn)

    @contextmanager
    def transaction(self) -> Iterator[StateStore]:
        """Group calls into one transaction: an exception rolls every one of them back.

        Nested use joins the outer transaction. On SQLite the write lock is taken at the
        start, so concurrent writers queue instead of failing halfway.
        """
        if getattr(self._local, "conn", None) is not None:
            yield self
            return
        with self._errors(), self._begin(write=True) as conn:
            self._local.conn = conn
            try:
                yield self
            finally:
                self._local.conn = None

    @contextmanager
    def _conn(self, *, write: bool = False) -> Iterator[Connection]:
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            with self._errors():
                yield current
            return
        with self._errors(), self._begin(write=write) as conn:
            yield conn

    @contextmanager
    def _begin(self, *, write: bool) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            if write:
                conn = conn.execution_options(**{_engine.WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except StatementError as exc:
            # A value the caller passed that cannot be stored (naive datetime, NaN) is the
            # caller's mistake, not the database's: surface it as itself.
            if not isinstance(exc, DBAPIError) and isinstance(exc.orig, ValueError | TypeError):
                raise exc.orig from None
            raise self._failure(exc) from exc
        except SQLAlchemyError as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: SQLAlchemyError) -> StateError:
        return StateError(
            f"state database {self.url!r}: {_engine.describe_failure(self._url, exc)}"
        )

    # -- runs -------------------------------------------------------------------------

    def start_run(self, mode: str, at: datetime | None = None) -> int:
        """Record the start of a cycle (``full`` or ``incremental``); return its id."""
        if mode not in t.MODES:
            raise ValueError(f"run mode {mode!r} is not one of {', '.join(t.MODES)}")
        values = {"started_at": now_or(at), "mode": mode}
        with self._conn(write=True) as conn:
            result = conn.execute(t.runs.insert().values(values).returning(t.runs.c.id))
            return int(result.scalar_one())

    def finish_run(
        self,
        run_id: int,
        outcome: str,
        *,
        request_count: int = 0,
        write_count: int = 0,
        held_count: int = 0,
        conflict_count: int = 0,
        error: str | None = None,
        at: datetime | None = None,
        mode: str | None = None,
    ) -> None:
        """Record how a cycle ended (``ok``, ``partial``, ``failed`` or ``dry_run``).

        ``error`` is stored with URL passwords and ``password=`` pairs removed. ``mode``
        corrects the mode given at the start (an incremental cycle that had to read a
        scope in full ends as ``full``).
        """
        if outcome not in t.OUTCOMES:
            raise ValueError(f"run outcome {outcome!r} is not one of {', '.join(t.OUTCOMES)}")
        if mode is not None and mode not in t.MODES:
            raise ValueError(f"run mode {mode!r} is not one of {', '.join(t.MODES)}")
        values = {
            "finished_at": now_or(at),
            "outcome": outcome,
            "request_count": request_count,
            "write_count": write_count,
            "held_count": held_count,
            "conflict_count": conflict_count,
            "error": None if error is None else redact(error),
        }
        if mode is not None:
            values["mode"] = mode
        with self._conn(write=True) as conn:
            found = conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(values))
            if found.rowcount != 1:
                raise StateError(f"no run {run_id} in state database {self.url!r}")

    def last_run(self) -> Run | None:
        """The most recently started run, finished or not."""
        found = self.runs(limit=1)
        return found[0] if found else None

    def runs(self, limit: int = 20) -> list[Run]:
        """The ``limit`` most recent runs, newest first."""
        query = select(t.runs).order_by(t.runs.c.id.desc()).limit(limit)
        with self._conn() as conn:
            return [Run(**row._mapping) for row in conn.execute(query)]

    # -- source health ----------------------------------------------------------------

    def set_source_health(
        self, connection: str, up: bool, error: str | None = None, at: datetime | None = None
    ) -> None:
        """Record that ``connection`` answered (``up``) or failed with ``error`` at ``at``.

        A success resets the failure count; the last error text stays for reference.
        """
        when = now_or(at)
        health = t.source_health
        row: dict[str, Any] = {"connection": connection, "up": up}
        extra: dict[str, Any] = {}
        if up:
            row |= {"last_success_at": when, "consecutive_failures": 0}
        else:
            row |= {
                "last_failure_at": when,
                "last_error": None if error is None else redact(error),
                "consecutive_failures": 1,
            }
            extra["consecutive_failures"] = health.c.consecutive_failures + 1
        with self._conn(write=True) as conn:
            upsert(conn, health, [row], ["connection"], extra)

    def source_health(self) -> dict[str, SourceHealth]:
        """Health of every connection seen so far, by connection name."""
        with self._conn() as conn:
            rows = conn.execute(select(t.source_health).order_by(t.source_health.c.connection))
            return {row.connection: SourceHealth(**row._mapping) for row in rows}

    # -- check-ins --------------------------------------------------------------------

    def get_checkin(self, kr_id: str) -> Checkin | None:
        """The last status okrsync commented on for ``kr_id``, if any."""
        query = select(t.checkins).where(t.checkins.c.kr_id == kr_id)
        with self._conn() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        return Checkin(kr_id=row.kr_id, status=row.last_status_commented, at=row.at)

    def set_checkin(self, kr_id: str, status: str, at: datetime | None = None) -> None:
        """Remember that ``status`` of ``kr_id`` has been commented on."""
        row = {"kr_id": kr_id, "last_status_commented": status, "at": now_or(at)}
        with self._conn(write=True) as conn:
            upsert(conn, t.checkins, [row], ["kr_id"])
