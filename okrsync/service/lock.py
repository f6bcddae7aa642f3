"""The writer lock: one okrsync at a time writes to the trackers for one state.

``okrsync sync`` holds it for its cycle (:func:`exclusive_writer`); ``okrsync daemon``
replicas compete for it to elect the one that runs cycles (:func:`writer_lock`).

* SQLite file: an OS lock (``flock``) on ``<database>.lock`` beside it, holding the
  holder's pid, host and start time; the OS drops it with the process, never stale.
* PostgreSQL: an advisory lock held by a connection of its own, dropped by the server
  when that connection ends (TCP keepalives on both sides end it when a peer vanishes);
  one per database and schema (``search_path`` in the URL's options), separate states.
* in-memory SQLite: nothing else can share the state, so the lock always succeeds.

Every method is safe to call from any thread (the daemon checks the lock from its loop
while a cycle thread checks it before writing), and none waits for the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg
from sqlalchemy.engine import URL

from okrsync.errors import UserError
from okrsync.state.database import parse_url
from okrsync.state.errors import StateError, mask_url, redact

__all__ = ["WriterLock", "default_identity", "exclusive_writer", "lock_key", "writer_lock"]

# What libpq passes to the server, e.g. "-csearch_path=okr" or "-c search_path=okr".
_SEARCH_PATH = re.compile(r"search_path\s*=\s*(\S+)")
# A vanished peer is noticed after about idle + interval * count seconds: the server then
# ends the connection (freeing the lock for another replica), the client fails held().
_KEEPALIVE = {"idle": 5, "interval": 2, "count": 3}
_USER_TIMEOUT_MS = 10_000
_CONNECT_TIMEOUT_S = 10
# The lock's row in pg_locks: a bigint key is split into two 32-bit halves, objsubid 1.
_OURS = (
    "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.classid::bigint = %(high)s AND l.objid::bigint = %(low)s"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class WriterLock(Protocol):
    """The right to write to the trackers for one state; at most one holder at a time."""

    def acquire(self) -> bool:
        """Try to take the lock without waiting; True when it is held now (also when it
        already was)."""
        ...

    def held(self) -> bool:
        """Whether the lock is still ours, checked afresh (any error counts as no)."""
        ...

    def release(self) -> None:
        """Give the lock up; doing so twice, or without holding it, is harmless."""
        ...

    def holder(self) -> str | None:
        """Who holds the lock, in words for a message; None when unknown or free."""
        ...

    def close(self) -> None:
        """Release the lock and everything it keeps open."""
        ...


def default_identity() -> str:
    """How this process names itself to other okrsyncs: ``"<host> pid <pid>"``."""
    return f"{socket.gethostname()} pid {os.getpid()}"


def lock_key(url: URL) -> int:
    """The PostgreSQL advisory lock key of the state at ``url``: a signed 64-bit number
    from ``"okrsync writer"``, and the URL's ``search_path`` when it names one."""
    name = "okrsync writer"
    options = url.query.get("options")
    found = _SEARCH_PATH.search(" ".join(options) if isinstance(options, tuple) else options or "")
    if found:
        name += " " + found.group(1).strip("'\"")
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Lock:
    """What the implementations share: no problem yet, nobody named, closing releases."""

    #: Why the last ``acquire`` could not even try (a server down, a read-only folder).
    problem: str | None = None

    def release(self) -> None:
        """Give the lock up."""

    def holder(self) -> str | None:
        return None

    def close(self) -> None:
        self.release()


class MemoryLock(_Lock):
    """The lock of an in-memory database, which no other process can reach: always free."""

    def __init__(self) -> None:
        self._held = False

    def acquire(self) -> bool:
        self._held = True
        return True

    def held(self) -> bool:
        return self._held

    def release(self) -> None:
        self._held = False


class FileLock(_Lock):
    """An exclusive ``flock`` on ``path``; the holder's details are the file's content."""

    def __init__(self, path: str, identity: str) -> None:
        self.path = path
        self.identity = identity
        self._fd: int | None = None
        self._mutex = threading.RLock()

    def acquire(self) -> bool:
        with self._mutex:
            if self._fd is not None and self.held():
                return True
            self.release()
            self.problem = None
            try:
                parent = os.path.dirname(self.path)
                os.makedirs(parent, mode=0o700, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                self.problem = f"cannot open {self.path}: {exc.strerror}"
                return False
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self._fd = fd
            if not self.held():  # the file was replaced between open and flock
                self.release()
                return False
            details = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": _stamp(datetime.now(UTC)),
            }
            data = json.dumps({**details, "identity": self.identity}).encode()
            with contextlib.suppress(OSError):  # the lock holds even if the note fails
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            return True

    def held(self) -> bool:
        with self._mutex:
            if self._fd is None:
                return False
            try:
                mine, there = os.fstat(self._fd), os.stat(self.path)
            except OSError:
                return False
            # Someone deleting the file would let a newcomer lock a new one beside ours.
            return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)

    def release(self) -> None:
        with self._mutex:
            fd, self._fd = self._fd, None
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)  # no stale details for the next reader
                os.close(fd)  # closing the last descriptor drops the flock

    def holder(self) -> str | None:
        try:
            with open(self.path, encoding="utf-8") as note:
                found: dict[str, Any] = json.loads(note.read())
            described = f"pid {found['pid']} on host {found['host']} since {found['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return None
        named = found.get("identity")
        if named and named != f"{found['host']} pid {found['pid']}":
            described = f"{named}: {described}"
        return described


class PostgresLock(_Lock):
    """An advisory lock on ``key``, held by a connection kept for it alone."""

    def __init__(self, url: URL, key: int, identity: str) -> None:
        self.url = url
        self.key = key
        self.identity = identity
        unsigned = key % 2**64
        self._halves = {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF}
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False
        self._mutex = threading.RLock()

    def _connect(self) -> psycopg.Connection[Any]:
        conninfo = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        options: dict[str, Any] = {
            "autocommit": True,
            "application_name": f"okrsync {self.identity}"[:63],
            "keepalives": 1,
            **{f"keepalives_{name}": value for name, value in _KEEPALIVE.items()},
            "tcp_user_timeout": _USER_TIMEOUT_MS,
        }
        if "connect_timeout" not in self.url.query:
            options["connect_timeout"] = _CONNECT_TIMEOUT_S
        conn = psycopg.connect(conninfo, **options)
        # The server's side of the keepalives, which frees the lock of a vanished client;
        # a server that lacks one of these settings still works, only notices later.
        with contextlib.suppress(psycopg.Error):
            conn.execute(
                "SELECT set_config('tcp_keepalives_idle', %(idle)s, false),"
                " set_config('tcp_keepalives_interval', %(interval)s, false),"
                " set_config('tcp_keepalives_count', %(count)s, false),"
                " set_config('tcp_user_timeout', %(timeout)s, false)",
                {**{k: str(v) for k, v in _KEEPALIVE.items()}, "timeout": str(_USER_TIMEOUT_MS)},
            )
        return conn

    def _drop(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()  # ending the connection frees the lock on the server

    def acquire(self) -> bool:
        with self._mutex:
            if self._held and self.held():
                return True
            self.problem = None
            try:
                if self._conn is None or self._conn.closed:
                    self._drop()
                    self._conn = self._connect()
                row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            except psycopg.Error as exc:
                self._drop()
                reason = " ".join(str(exc).split()) or type(exc).__name__
                password = self.url.password if isinstance(self.url.password, str) else None
                self.problem = redact(reason, password)
                return False
            self._held = bool(row and row[0])
            return self._held

    def held(self) -> bool:
        with self._mutex:
            if not self._held or self._conn is None or self._conn.closed:
                return False
            try:
                row = self._conn.execute(
                    f"SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE {_OURS}"
                    " AND l.pid = pg_backend_pid())",
                    self._halves,
                ).fetchone()
            except Exception:
                row = None
            if not (row and row[0]):
                self._drop()  # lost: whatever is left of the connection must not keep it
                return False
            return True

    def release(self) -> None:
        with self._mutex:
            if self._held and self._conn is not None:
                try:
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                except Exception:
                    self._drop()  # ending the connection is the other way to let go
            self._held = False

    def holder(self) -> str | None:
        query = (
            "SELECT a.application_name, l.pid, host(a.client_addr), a.backend_start"
            f" FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE {_OURS}"
            " LIMIT 1"
        )
        try:
            with self._mutex:
                if self._conn is not None and not self._conn.closed:
                    row = self._conn.execute(query, self._halves).fetchone()
                else:
                    with self._connect() as conn:
                        row = conn.execute(query, self._halves).fetchone()
        except psycopg.Error:
            return None
        if row is None:
            return None
        name, pid, address, start = row
        since = _stamp(start) if start else "unknown"
        return (
            f"{name or 'an unnamed client'} (PostgreSQL backend {pid}, from "
            f"{address or 'a local socket'}, connected since {since})"
        )

    def close(self) -> None:
        with self._mutex:
            self.release()
            self._drop()


def writer_lock(state_url: str, *, identity: str | None = None) -> WriterLock:
    """The writer lock of the state at ``state_url``, not yet taken.

    ``identity`` (default :func:`default_identity`) is how other okrsyncs name this one
    while it holds the lock. Raises :class:`~okrsync.state.errors.StateError` for a URL
    okrsync cannot use; nothing is opened before :meth:`WriterLock.acquire`.
    """
    return _open(state_url, identity or default_identity())


def _open(state_url: str, identity: str) -> FileLock | MemoryLock | PostgresLock:
    url = parse_url(state_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLock(url, lock_key(url), identity)
    if url.database in (None, "", ":memory:"):
        return MemoryLock()
    return FileLock(f"{os.path.abspath(os.path.expanduser(url.database))}.lock", identity)


@contextmanager
def exclusive_writer(state_url: str) -> Iterator[WriterLock]:
    """Hold the writer lock of ``state_url`` for the ``with`` block, or raise.

    Raises :class:`UserError` with exit code 1 naming the holder when another okrsync
    has the lock; when the lock cannot be tried at all (a server down, a folder not
    writable) the error says why, with exit code 2 as for a state database that cannot
    be opened. The lock is released on exit.
    """
    try:
        lock = _open(state_url, default_identity())
    except StateError as exc:
        raise UserError(str(exc)) from None
    try:
        if not lock.acquire():
            if lock.problem is not None:
                raise UserError(
                    f"cannot open state database {mask_url(state_url)!r} to take the writer "
                    f"lock: {lock.problem}",
                    ["check that the state database is reachable and writable"],
                )
            who = lock.holder() or "holder unknown"
            raise UserError(
                f"another okrsync is writing to this state ({who}); nothing was written",
                [
                    "it finishes on its own, and the next run syncs as usual; "
                    "'okrsync sync --dry-run' shows the writes meanwhile"
                ],
                exit_code=1,
            )
        yield lock
    finally:
        lock.close()
