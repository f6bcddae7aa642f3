"""Opening the state database: URL checks, a private SQLite file, engine set-up, migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from okrsync.state.errors import StateError, mask_url, redact

SCRIPT_LOCATION = "okrsync.state:migrations"
# Connection option: this connection's transactions take SQLite's write lock at BEGIN.
WRITE_OPTION = "okrsync_write"
_SQLITE_BUSY_TIMEOUT_S = 30.0
_PG_CONNECT_TIMEOUT_S = 10
# Arbitrary constant naming okrsync's migration lock among PostgreSQL advisory locks.
_MIGRATION_LOCK = 0x6F6B7273


def parse_url(raw: str) -> URL:
    """Parse a database URL, or raise :class:`StateError` naming it with the password masked."""
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise StateError(
            f"state database URL {mask_url(raw)!r} is malformed; expected e.g. "
            "'sqlite:///okrsync.db' or 'postgresql+psycopg://user@host:5432/db'"
        ) from exc
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise StateError(
            f"state database URL {mask_url(url)!r}: okrsync supports sqlite and postgresql"
        )
    return url


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def prepare_sqlite_file(url: URL) -> None:
    """Create the SQLite file (and missing parent dirs) owner-only, before SQLite opens it.

    A file created by SQLite itself would get the umask's mode (often world-readable) for
    the moment before we could chmod it; creating it ourselves with 0600 leaves no window.
    """
    if _is_memory(url):
        return
    path = Path(str(url.database)).expanduser()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StateError(
            f"cannot create state database file {str(path)!r}: {exc.strerror}; "
            "check the directory exists and is writable"
        ) from exc


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (SQLAlchemy's
    # documented pysqlite recipe); then WAL for readers alongside the writer, and FKs.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # A deferred transaction that reads and then writes can fail at once with "database is
    # locked" when another writer got there first; taking the lock up front makes writers
    # wait their turn (up to the busy timeout) instead.
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: URL) -> Engine:
    """Create the engine for ``url`` with okrsync's per-backend settings."""
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": _SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        if _is_memory(url):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
        if "connect_timeout" not in url.query:
            kwargs["connect_args"] = {"connect_timeout": _PG_CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise StateError(f"state database URL {mask_url(url)!r}: {exc}") from exc
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def describe_failure(url: URL, exc: BaseException) -> str:
    """The driver's own words for a failure, without SQL, parameters or passwords."""
    orig = getattr(exc, "orig", None) or exc
    reason = " ".join(str(orig).split()) or type(orig).__name__
    return redact(reason, url.password if isinstance(url.password, str) else None)


def _config(connection: Connection | None = None) -> Config:
    # Built in code: the migrations ship inside the package, no alembic.ini is needed.
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str | None:
    """The newest schema revision this okrsync knows."""
    return _script().get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The schema revision recorded in the database, or None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, url: URL) -> None:
    """Upgrade the database to head; refuse a database newer than this okrsync.

    Check and upgrade run in one transaction under a lock (SQLite's write lock, a
    PostgreSQL advisory lock), so replicas starting together migrate once.
    """
    script = _script()
    head = script.get_current_head()
    try:
        with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            found = current_revision(conn)
            if found is not None and not _known(script, found):
                raise StateError(
                    f"state database {mask_url(url)!r} has schema revision {found!r}, newer "
                    f"than this okrsync (which knows up to {head!r}); upgrade okrsync or "
                    "point it at another database; downgrades are refused"
                )
            if found != head:
                command.upgrade(_config(conn), "head")
    except StateError:
        raise
    except (SQLAlchemyError, CommandError, OSError) as exc:
        raise StateError(
            f"cannot open state database {mask_url(url)!r}: {describe_failure(url, exc)}"
        ) from exc


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False
