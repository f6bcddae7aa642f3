"""Opening a database: migrations from nothing, reopening, newer schemas, file permissions."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from okrsync.state import StateError, StateStore
from okrsync.state.tables import metadata

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _columns(db_url: str) -> dict[str, dict[str, tuple[bool, bool]]]:
    """Every table of the database: column name -> (nullable, part of primary key)."""
    engine = create_engine(db_url)
    try:
        found = inspect(engine)
        return {
            table: {
                col["name"]: (bool(col["nullable"]), col["name"] in pk)
                for col in found.get_columns(table)
            }
            for table in found.get_table_names()
            for pk in [set(found.get_pk_constraint(table)["constrained_columns"])]
        }
    finally:
        engine.dispose()


def test_migrations_create_every_table_as_the_code_expects(db_url: str) -> None:
    with StateStore.open(db_url) as store:
        assert store.schema_version() == "0002"
    tables = _columns(db_url)
    assert set(tables) == set(metadata.tables) | {"alembic_version"}
    for name, table in metadata.tables.items():
        expected = {col.name: (bool(col.nullable), col.primary_key) for col in table.columns}
        assert tables[name] == expected, name


def test_reopening_keeps_data_and_schema(db_url: str) -> None:
    with StateStore.open(db_url) as store:
        run_id = store.start_run("full", at=T0)
        store.set_checkin("kr-1", "at_risk", at=T0)
    for _ in range(2):
        with StateStore.open(db_url) as store:
            assert store.schema_version() == "0002"
            assert [run.id for run in store.runs()] == [run_id]
            checkin = store.get_checkin("kr-1")
            assert checkin is not None and checkin.status == "at_risk"


def test_a_database_newer_than_the_code_is_refused(db_url: str) -> None:
    with StateStore.open(db_url):
        pass
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0042_future'"))
    engine.dispose()
    with pytest.raises(StateError) as raised:
        StateStore.open(db_url)
    message = str(raised.value)
    assert "0042_future" in message
    assert "newer than this okrsync" in message
    assert "downgrades are refused" in message


def test_foreign_keys_are_enforced(store: StateStore) -> None:
    with pytest.raises(StateError):
        store.record_kr_snapshot(999, T0, "kr-1", {"status": "on_track"}, stale=False)
    assert store.latest_kr_results() == {}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_file_and_its_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "nested" / "okrsync.db"
    old_umask = os.umask(0o022)
    try:
        with StateStore.open(f"sqlite:///{path}") as store:
            store.start_run("incremental", at=T0)
            sidecars = [p for p in path.parent.iterdir() if p != path]
            assert sidecars, "WAL mode keeps a -wal file while the database is open"
            assert {p.name: _mode(p) for p in sidecars} == {p.name: 0o600 for p in sidecars}
    finally:
        os.umask(old_umask)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_an_existing_world_readable_sqlite_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "okrsync.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    with StateStore.open(f"sqlite:///{path}") as store:
        assert store.schema_version() == "0002"
    assert _mode(path) == 0o600
