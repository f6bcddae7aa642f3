"""Fixtures that run every state test on SQLite and on PostgreSQL.

PostgreSQL is reached at ``OKRSYNC_TEST_POSTGRES_URL`` (default: the local server, user
postgres, database test); each test gets a fresh schema, dropped afterwards. Without the
server the PostgreSQL tests are skipped, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from okrsync.state import StateStore

POSTGRES_URL = os.environ.get(
    "OKRSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@cache
def _postgres_problem() -> str | None:
    try:
        with psycopg.connect(_libpq_dsn(POSTGRES_URL), connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {make_url(POSTGRES_URL)!r} unreachable: {exc}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'okrsync.db'}"
        return
    problem = _postgres_problem()
    if problem and os.environ.get("CI"):
        pytest.fail(f"{problem} (CI must run the PostgreSQL half of the suite)")
    if problem:
        pytest.skip(problem)
    schema = f"okrsync_test_{secrets.token_hex(6)}"
    dsn = _libpq_dsn(POSTGRES_URL)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def store(db_url: str) -> Iterator[StateStore]:
    """An opened, migrated store on each backend."""
    opened = StateStore.open(db_url)
    try:
        yield opened
    finally:
        opened.close()
