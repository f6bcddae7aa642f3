"""A fresh, throw-away state database for one benchmark run: SQLite or PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["DEFAULT_POSTGRES_URL", "fresh_state_url"]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_state_url(kind: str, tmp: Path, postgres_url: str) -> Iterator[str]:
    """The URL of an empty state database; a PostgreSQL schema is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'state.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(postgres_url)
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"okrsync_bench_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
