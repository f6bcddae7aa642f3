"""The ids of objects okrsync created in a tracker (mixed into StateStore).

``okrsync dashboards bootstrap`` records each Jira filter, dashboard and gadget it
creates under the name okrsync knows it by (``filter``/``objective:ID``, ...), so that a
later run finds it by id even after people renamed it, and creates nothing twice.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Connection, delete, select

from okrsync.state import tables as t
from okrsync.state.queries import now_or, upsert


class CreatedObjects:
    """Operations on ``created_objects``."""

    def _conn(self, *, write: bool = False) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def created_objects(self, connection: str) -> dict[tuple[str, str], str]:
        """Every object recorded for ``connection``: (kind, name) -> tracker id."""
        table = t.created_objects
        query = select(table.c.kind, table.c.name, table.c.object_id).where(
            table.c.connection == connection
        )
        with self._conn() as conn:
            return {(row.kind, row.name): row.object_id for row in conn.execute(query)}

    def record_created_object(
        self, connection: str, kind: str, name: str, object_id: str, at: datetime | None = None
    ) -> None:
        """Remember (or replace) the tracker id of an object okrsync created."""
        row = {
            "connection": connection,
            "kind": kind,
            "name": name,
            "object_id": object_id,
            "created_at": now_or(at),
        }
        with self._conn(write=True) as conn:
            upsert(conn, t.created_objects, [row], ["connection", "kind", "name"])

    def forget_created_object(self, connection: str, kind: str, name: str) -> None:
        """Forget an object (people deleted it in the tracker)."""
        table = t.created_objects
        with self._conn(write=True) as conn:
            conn.execute(
                delete(table).where(
                    table.c.connection == connection, table.c.kind == kind, table.c.name == name
                )
            )
