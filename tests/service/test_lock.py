"""The writer lock: one holder per state on SQLite and PostgreSQL, gone with its holder.

Each test runs on both backends where the behaviour is the same (``db_url``: a SQLite file
in the test's folder, or a fresh PostgreSQL schema, which has a lock of its own).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from okrsync.errors import UserError
from okrsync.service.lock import WriterLock, exclusive_writer, writer_lock
from tests.state.conftest import db_url  # noqa: F401  (SQLite and PostgreSQL)

REPO = Path(__file__).resolve().parents[2]
CANARY = "s3cret-canary-7f"
# Holds the lock of argv[1] until stdin closes, having said so on stdout.
HOLD = (
    "import sys; from okrsync.service.lock import writer_lock; "
    "lock = writer_lock(sys.argv[1]); print('held' if lock.acquire() else 'taken', flush=True); "
    "sys.stdin.read()"
)


@pytest.fixture
def locks(db_url: str) -> Iterator[list[WriterLock]]:  # noqa: F811
    """Two locks on one state, as two okrsyncs would have them; closed afterwards."""
    made = [writer_lock(db_url, identity=f"replica-{n}") for n in (1, 2)]
    try:
        yield made
    finally:
        for lock in made:
            lock.close()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_only(test: Callable[..., None]) -> Callable[..., None]:
    """Run ``test`` with ``db_url`` on PostgreSQL alone."""
    indirect = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
    return pytest.mark.postgres(indirect(test))


def test_exactly_one_of_two_acquires_and_the_other_gets_it_after_release(
    locks: list[WriterLock],
) -> None:
    first, second = locks
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire()  # asking again while holding it is a yes
    assert first.held() and not second.held()

    first.release()
    first.release()  # harmless twice
    assert not first.held()
    assert second.acquire()
    assert not first.acquire()
    assert second.held()


def test_the_holder_is_named_to_the_others(locks: list[WriterLock]) -> None:
    first, second = locks
    assert first.acquire()
    named = second.holder()
    assert named is not None and "replica-1" in named
    assert "replica-2" not in named


def test_a_killed_holder_leaves_a_lock_that_another_takes(db_url: str) -> None:  # noqa: F811
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, db_url],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    lock = writer_lock(db_url)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert not lock.acquire()
        named = lock.holder()
        assert named is not None and f"pid {holder.pid}" in named  # the default identity

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        if db_url.startswith("sqlite"):
            assert lock.acquire()  # the OS dropped the file lock with the process
        else:
            # The server ends the connection once it reads the closed socket.
            deadline = time.monotonic() + 30
            while not lock.acquire() and time.monotonic() < deadline:
                time.sleep(0.1)
        assert lock.held()
    finally:
        holder.kill()
        holder.wait(timeout=30)
        lock.close()


def test_exclusive_writer_refuses_naming_the_holder_and_releases_on_exit(
    db_url: str,  # noqa: F811
) -> None:
    other = writer_lock(db_url, identity="cron on web-1")
    try:
        assert other.acquire()
        with pytest.raises(UserError) as refused, exclusive_writer(db_url):
            pytest.fail("the lock was taken twice")
        assert refused.value.exit_code == 1
        assert refused.value.message.startswith("another okrsync is writing to this state (")
        assert "cron on web-1" in refused.value.message
        assert refused.value.message.endswith("; nothing was written")
        other.release()

        with exclusive_writer(db_url) as lock:
            assert lock.held()
            assert not other.acquire()
        assert other.acquire()
    finally:
        other.close()


def test_sqlite_lock_file_sits_beside_the_database_and_names_pid_and_host(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'state' / 'okrsync.db'}"
    lock, other = writer_lock(url), writer_lock(url)
    try:
        assert lock.acquire()
        assert (tmp_path / "state" / "okrsync.db.lock").exists()
        named = other.holder()
        assert named is not None
        assert named.startswith(f"pid {os.getpid()} on host ")
        assert " since 20" in named and named.endswith("Z")
        lock.release()
        assert other.holder() is None  # a released lock names nobody
    finally:
        lock.close()
        other.close()


def test_a_deleted_lock_file_is_no_longer_held(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'okrsync.db'}"
    lock = writer_lock(url)
    try:
        assert lock.acquire()
        (tmp_path / "okrsync.db.lock").unlink()
        assert not lock.held()  # a newcomer could lock a new file now
        assert lock.acquire()
        assert lock.held()
    finally:
        lock.close()


def test_an_in_memory_state_is_always_free() -> None:
    first, second = writer_lock("sqlite://"), writer_lock("sqlite:///:memory:")
    assert first.acquire() and second.acquire()
    assert first.held() and first.holder() is None
    first.close()
    assert not first.held()


@postgres_only
def test_a_killed_lock_connection_loses_the_lock_and_the_other_takes_it(
    db_url: str,  # noqa: F811
) -> None:
    name = f"winner {secrets.token_hex(4)}"
    winner, other = writer_lock(db_url, identity=name), writer_lock(db_url)
    try:
        assert winner.acquire() and winner.held()
        assert not other.acquire()
        named = other.holder()
        assert named is not None and named.startswith(f"okrsync {name} (PostgreSQL backend ")
        with psycopg.connect(_dsn(db_url), autocommit=True) as admin:
            # Waits (up to 10 s) until the connection has ended and its locks are gone.
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (f"okrsync {name}",),
            ).fetchall()
        assert ended == [(True,)]

        assert not winner.held()
        assert other.acquire() and other.held()
        assert not winner.acquire()  # it tries again, and finds the lock taken
    finally:
        winner.close()
        other.close()


@postgres_only
def test_closing_the_holder_frees_the_lock_at_once(db_url: str) -> None:  # noqa: F811
    winner, other = writer_lock(db_url), writer_lock(db_url)
    try:
        assert winner.acquire()
        winner.close()
        assert not winner.held()
        assert other.acquire()
    finally:
        other.close()


@postgres_only
def test_each_schema_is_a_state_with_a_lock_of_its_own(db_url: str) -> None:  # noqa: F811
    elsewhere = make_url(db_url).update_query_dict({"options": "-csearch_path=elsewhere"})
    here, there = writer_lock(db_url), writer_lock(elsewhere.render_as_string(hide_password=False))
    try:
        assert here.acquire() and there.acquire()
    finally:
        here.close()
        there.close()


@postgres_only
def test_a_password_in_the_url_never_reaches_a_message(db_url: str) -> None:  # noqa: F811
    # The test server trusts local connections: the password is sent and not needed.
    url = make_url(db_url).set(password=CANARY).render_as_string(hide_password=False)
    winner, other = writer_lock(url), writer_lock(url)
    try:
        assert winner.acquire()
        assert CANARY not in str(other.holder())
        with pytest.raises(UserError) as refused, exclusive_writer(url):
            pass
        assert CANARY not in refused.value.message
    finally:
        winner.close()
        other.close()

    down = make_url(url).set(port=1).render_as_string(hide_password=False)
    with pytest.raises(UserError) as unreachable, exclusive_writer(down):
        pass
    shown = "\n".join([unreachable.value.message, *unreachable.value.problems])
    assert "cannot open state database" in shown and "writer lock" in shown
    assert CANARY not in shown and ":***@127.0.0.1:1/" in shown
