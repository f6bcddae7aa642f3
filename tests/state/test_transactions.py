"""Transactions: all or nothing, isolated from other threads, safe with concurrent writers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from okrsync.state import StateError, StateStore

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def record_cycle(store: StateStore, marker: str) -> int:
    """What one cycle records: a run, a cache, a mark, results, a write, health, a check-in."""
    run_id = store.start_run("full", at=T0)
    store.replace_scope_cache("s1", "jira", {"10001": {"key": marker}})
    store.set_scope_mark("s1", last_success_at=T0, item_count=1)
    store.record_kr_snapshot(run_id, T0, "kr-1", {"status": "on_track", "note": marker}, False)
    store.record_objective_snapshot(run_id, T0, "obj-1", {"status": "on_track"}, False)
    store.record_write(run_id, "jira:cloud", "OKR-1", "OKR Summary", None, marker)
    store.set_source_health("jira:cloud", up=True, at=T0)
    store.set_checkin("kr-1", "on_track", at=T0)
    store.finish_run(run_id, "ok", write_count=1)
    return run_id


def assert_nothing_recorded(store: StateStore) -> None:
    assert store.runs() == []
    assert store.get_scope_cache("s1") == {} and store.get_scope_mark("s1") is None
    assert store.latest_kr_results() == {} and store.kr_history("kr-1") == []
    assert store.latest_objective_results() == {}
    assert store.ledger() == [] and store.last_written("jira:cloud", "OKR-1", "OKR Summary") is None
    assert store.source_health() == {} and store.get_checkin("kr-1") is None


def test_an_exception_rolls_back_the_whole_cycle(store: StateStore) -> None:
    with pytest.raises(RuntimeError, match="tracker went away"), store.transaction():
        record_cycle(store, "first")
        assert store.latest_kr_result("kr-1") is not None  # visible inside the transaction
        raise RuntimeError("tracker went away")
    assert_nothing_recorded(store)


def test_a_database_error_midway_rolls_back_what_came_before(store: StateStore) -> None:
    with pytest.raises(StateError), store.transaction():
        run_id = store.start_run("full", at=T0)
        store.record_write(run_id, "jira:cloud", "OKR-1", "OKR Summary", None, "x")
        store.record_kr_snapshot(run_id + 1000, T0, "kr-1", {"status": "done"}, False)
    assert_nothing_recorded(store)


def test_a_committed_transaction_keeps_everything(store: StateStore) -> None:
    with store.transaction() as tx, tx.transaction():  # nested use joins the outer one
        run_id = record_cycle(tx, "kept")
    assert [run.id for run in store.runs()] == [run_id]
    assert store.get_scope_cache("s1") == {"10001": {"key": "kept"}}
    assert store.last_written("jira:cloud", "OKR-1", "OKR Summary") == "kept"
    assert store.latest_kr_result("kr-1") == {"status": "on_track", "note": "kept"}


def test_other_threads_do_not_see_an_open_transaction(store: StateStore) -> None:
    seen: list[object] = []

    def look() -> None:
        seen.append(store.runs())

    with store.transaction():
        store.start_run("full", at=T0)
        reader = threading.Thread(target=look)
        reader.start()
        reader.join(timeout=30)
    assert seen == [[]]
    assert len(store.runs()) == 1


def test_concurrent_writers_do_not_corrupt(store: StateStore) -> None:
    per_thread = 15
    failures: list[BaseException] = []
    recorded: dict[str, list[int]] = {}

    def writer(name: str) -> None:
        ids = recorded.setdefault(name, [])
        try:
            for n in range(per_thread):
                with store.transaction():
                    run_id = store.start_run("incremental")
                    store.record_write(run_id, name, "OKR-1", "OKR Progress", None, n)
                    store.set_source_health(name, up=False, error=f"failure {n}")
                    store.finish_run(run_id, "ok", write_count=1)
                ids.append(run_id)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("jira:cloud", "tb")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert not any(thread.is_alive() for thread in threads)

    runs = store.runs(limit=100)
    all_ids = recorded["jira:cloud"] + recorded["tb"]
    assert sorted(run.id for run in runs) == sorted(all_ids)
    assert len(set(all_ids)) == 2 * per_thread
    assert all(run.outcome == "ok" and run.write_count == 1 for run in runs)
    for name, ids in recorded.items():
        assert store.last_written(name, "OKR-1", "OKR Progress") == per_thread - 1
        assert store.source_health()[name].consecutive_failures == per_thread
        entries = store.ledger(limit=100)
        mine = [e.run_id for e in entries if e.connection == name]
        assert len(mine) == per_thread and set(mine) == set(ids)
