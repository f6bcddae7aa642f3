"""Round-trips of every StateStore method, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from okrsync.state import StateStore

T0 = datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)
CET = timezone(timedelta(hours=1))

# JSON values a caller may store: exact floats, unicode, None, nested, datetimes, and a
# string that only looks like a datetime (it must stay a string).
ODD_VALUES = {
    "tenth": 0.1,
    "tiny": 1e-300,
    "third": 1 / 3,
    "big": 12345678901234567890,
    "text": "Zahlung 💳 «v2»",
    "nothing": None,
    "flag": True,
    "nested": {"labels": ["checkout", "p1"], "points": [3.0, None]},
    "when": datetime(2026, 10, 1, 8, 0, 0, 1, tzinfo=UTC),
    "iso_text": "2026-10-01T08:00:00+00:00",
}


def kr_result(progress: float | None, status: str, **extra: object) -> dict[str, object]:
    return {
        "progress": progress,
        "expected": 0.4,
        "status": status,
        "score": progress,
        "done_count": 4,
        "total_count": 8,
        "done_points": 18.0,
        "total_points": 27.0,
        "value": None,
        "evidence": [{"item": "PAY-2", "counted": "done", "points": 3.0}],
        **extra,
    }


def test_runs_round_trip(store: StateStore) -> None:
    assert store.last_run() is None
    first = store.start_run("full", at=T0)
    second = store.start_run("incremental", at=T0 + timedelta(minutes=5))
    store.finish_run(
        first,
        "partial",
        request_count=12,
        write_count=3,
        held_count=1,
        conflict_count=2,
        error="teambition: 503",
        at=T0 + timedelta(seconds=42),
    )
    newest, oldest = store.runs(limit=10)
    assert newest.id == second and newest.outcome is None and newest.finished_at is None
    assert (oldest.id, oldest.mode, oldest.outcome) == (first, "full", "partial")
    assert (oldest.request_count, oldest.write_count, oldest.held_count) == (12, 3, 1)
    assert (oldest.conflict_count, oldest.error) == (2, "teambition: 503")
    assert oldest.started_at == T0 and oldest.finished_at == T0 + timedelta(seconds=42)
    assert store.last_run() == newest
    assert [run.id for run in store.runs(limit=1)] == [second]


def test_a_run_that_fell_back_to_full_reads_ends_as_full(store: StateStore) -> None:
    run_id = store.start_run("incremental", at=T0)
    store.finish_run(run_id, "ok", at=T0, mode="full")
    assert store.runs(limit=1)[0].mode == "full"
    with pytest.raises(ValueError, match="mode"):
        store.finish_run(run_id, "ok", mode="partly")


def test_run_values_are_checked(store: StateStore) -> None:
    with pytest.raises(ValueError, match="mode"):
        store.start_run("sometimes")
    run_id = store.start_run("full")
    with pytest.raises(ValueError, match="outcome"):
        store.finish_run(run_id, "fine")
    assert store.runs()[0].outcome is None


def test_times_come_back_as_the_same_instant_in_utc(store: StateStore) -> None:
    local = datetime(2026, 11, 2, 10, 30, 15, 123456, tzinfo=CET)
    run_id = store.start_run("full", at=local)
    run = store.runs()[0]
    assert run.id == run_id
    assert run.started_at == T0
    assert run.started_at.tzinfo == UTC
    assert run.started_at.microsecond == 123456


def test_naive_times_are_refused(store: StateStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.start_run("full", at=datetime(2026, 11, 2, 9, 30))
    assert store.runs() == []


def test_scope_cache_round_trip(store: StateStore) -> None:
    assert store.get_scope_cache("s1") == {}
    store.replace_scope_cache("s1", "jira", {"10001": ODD_VALUES, "10002": {"key": "PAY-3"}})
    store.replace_scope_cache("s2", "teambition", {"tb-1": {"key": "tb-1"}})
    assert store.get_scope_cache("s1") == {"10001": ODD_VALUES, "10002": {"key": "PAY-3"}}
    cached = store.get_scope_cache("s1")["10001"]
    assert isinstance(cached["when"], datetime) and cached["iso_text"] == ODD_VALUES["iso_text"]

    store.upsert_scope_items("s1", "jira", {"10002": {"key": "PAY-3", "v": 2}, "10003": {}})
    assert store.get_scope_cache("s1") == {
        "10001": ODD_VALUES,
        "10002": {"key": "PAY-3", "v": 2},
        "10003": {},
    }
    store.delete_scope_items("s1", ["10001", "10003", "not-cached"])
    assert store.get_scope_cache("s1") == {"10002": {"key": "PAY-3", "v": 2}}

    store.replace_scope_cache("s1", "jira", {"10009": {"key": "PAY-9"}})
    assert store.get_scope_cache("s1") == {"10009": {"key": "PAY-9"}}
    assert store.get_scope_cache("s2") == {"tb-1": {"key": "tb-1"}}


def test_large_scope_caches_round_trip(store: StateStore) -> None:
    items = {str(n): {"key": f"PAY-{n}", "estimate": n / 7} for n in range(1200)}
    store.replace_scope_cache("big", "jira", items)
    assert store.get_scope_cache("big") == items
    store.delete_scope_items("big", [str(n) for n in range(1100)])
    assert sorted(store.get_scope_cache("big"), key=int) == [str(n) for n in range(1100, 1200)]


def test_scope_marks_round_trip_and_drop(store: StateStore) -> None:
    assert store.get_scope_mark("s1") is None
    store.set_scope_mark("s1", last_success_at=T0, last_full_at=T0, item_count=9)
    store.set_scope_mark(
        "s1",
        last_success_at=T0 + timedelta(hours=1),
        last_full_at=T0,
        item_count=8,
        baseline_total=9,
    )
    mark = store.get_scope_mark("s1")
    assert mark is not None
    assert (mark.last_success_at, mark.last_full_at) == (T0 + timedelta(hours=1), T0)
    assert (mark.item_count, mark.baseline_total) == (8, 9)

    store.replace_scope_cache("s2", "jira", {"1": {}})
    assert store.scope_keys() == {"s1", "s2"}
    store.drop_scope("s1")
    assert store.get_scope_mark("s1") is None
    assert store.scope_keys() == {"s2"}


def test_kr_history_is_ordered_by_time_and_filtered_by_since(store: StateStore) -> None:
    run_id = store.start_run("full", at=T0)
    days = [3, 1, 2]  # recorded out of order
    for day in days:
        progress = day / 10
        store.record_kr_snapshot(
            run_id, T0 + timedelta(days=day), "kr-1", kr_result(progress, "on_track"), False
        )
    store.record_kr_snapshot(run_id, T0, "kr-2", kr_result(None, "stale"), stale=True)

    history = store.kr_history("kr-1")
    assert [snap.at for snap in history] == [T0 + timedelta(days=d) for d in (1, 2, 3)]
    assert [snap.progress for snap in history] == [0.1, 0.2, 0.3]
    first = history[0]
    assert (first.run_id, first.expected, first.status, first.score) == (
        run_id,
        0.4,
        "on_track",
        0.1,
    )
    assert (first.done_count, first.total_count) == (4, 8)
    assert (first.done_points, first.total_points, first.value, first.stale) == (
        18,
        27,
        None,
        False,
    )

    since = store.kr_history("kr-1", since=T0 + timedelta(days=2))
    assert [snap.progress for snap in since] == [0.2, 0.3]
    (stale,) = store.kr_history("kr-2")
    assert stale.stale and stale.progress is None and stale.status == "stale"
    assert store.kr_history("kr-unknown") == []


def test_latest_results_keep_the_whole_result(store: StateStore) -> None:
    run_id = store.start_run("full", at=T0)
    assert store.latest_kr_result("kr-1") is None
    store.record_kr_snapshot(run_id, T0, "kr-1", kr_result(0.25, "at_risk"), False)
    latest = kr_result(0.5, "on_track", forecast=ODD_VALUES)
    store.record_kr_snapshot(run_id, T0 + timedelta(hours=1), "kr-1", latest, False)
    store.record_kr_snapshot(run_id, T0, "kr-2", kr_result(1.0, "done"), False)

    assert store.latest_kr_result("kr-1") == latest
    assert store.latest_kr_results() == {"kr-1": latest, "kr-2": kr_result(1.0, "done")}

    objective = {"progress": 0.75, "expected": 0.4, "status": "on_track", "krs": ["kr-1"]}
    store.record_objective_snapshot(run_id, T0, "obj-1", {"status": "at_risk"}, True)
    store.record_objective_snapshot(run_id, T0 + timedelta(hours=1), "obj-1", objective, False)
    assert store.latest_objective_results() == {"obj-1": objective}
    older, newer = store.objective_history("obj-1")
    assert (older.progress, older.status, older.partially_stale) == (None, "at_risk", True)
    assert (newer.progress, newer.expected, newer.partially_stale) == (0.75, 0.4, False)

    store.set_checkin("kr-2", "done", at=T0)
    store.forget_results(kr_ids=["kr-2"], objective_ids=["obj-1"])
    assert set(store.latest_kr_results()) == {"kr-1"}
    assert store.latest_objective_results() == {}
    assert store.get_checkin("kr-2") is None
    assert len(store.kr_history("kr-2")) == 1, "history outlives the mapping"


def test_a_result_without_status_is_refused(store: StateStore) -> None:
    run_id = store.start_run("full", at=T0)
    with pytest.raises(ValueError, match="status"):
        store.record_kr_snapshot(run_id, T0, "kr-1", {"progress": 0.5}, False)


def test_ledger_and_last_written(store: StateStore) -> None:
    run_1 = store.start_run("full", at=T0)
    run_2 = store.start_run("incremental", at=T0 + timedelta(minutes=5))
    assert store.last_written("jira:cloud", "OKR-1", "OKR Progress") is None

    store.record_write(run_1, "jira:cloud", "OKR-1", "OKR Progress", None, 0.1, at=T0)
    store.record_write(run_1, "jira:cloud", "OKR-1", "OKR Status", None, "On track", at=T0)
    store.record_write(run_2, "jira:cloud", "OKR-1", "OKR Progress", 0.1, 0.30000000000000004)
    # A person's edit found and a write held: neither is what okrsync last wrote.
    store.record_write(run_2, "jira:cloud", "OKR-1", "OKR Progress", 0.9, 0.35, kind="conflict")
    store.record_write(run_2, "jira:cloud", "OKR-1", "OKR Progress", 0.9, 0.0, kind="held")
    when = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    store.record_write(run_2, "jira:dc", "OKR-1", "OKR Last Synced", "2026-11-01", when)

    assert store.last_written("jira:cloud", "OKR-1", "OKR Progress") == 0.30000000000000004
    assert store.last_written("jira:cloud", "OKR-1", "OKR Status") == "On track"
    assert store.last_written("jira:dc", "OKR-1", "OKR Last Synced") == when
    assert store.last_written("jira:dc", "OKR-1", "OKR Progress") is None
    slots = [
        ("jira:cloud", "OKR-1", "OKR Progress"),
        ("jira:cloud", "OKR-1", "OKR Status"),
        ("jira:dc", "OKR-1", "OKR Last Synced"),
        ("jira:dc", "OKR-1", "OKR Progress"),
        ("jira:cloud", "OKR-2", "OKR Progress"),
    ]
    # Many slots in one go: the same answers, the slots never written left out.
    assert store.last_written_many(slots) == {
        ("jira:cloud", "OKR-1", "OKR Progress"): 0.30000000000000004,
        ("jira:cloud", "OKR-1", "OKR Status"): "On track",
        ("jira:dc", "OKR-1", "OKR Last Synced"): when,
    }
    assert store.last_written_many([]) == {}

    entries = store.ledger(run_id=run_2)
    assert [e.kind for e in entries] == ["write", "held", "conflict", "write"]
    assert entries[0].value_before == "2026-11-01" and entries[0].value_written == when
    assert all(e.run_id == run_2 for e in entries)
    first = store.ledger()[-1]
    assert (first.at, first.connection, first.target, first.field) == (
        T0,
        "jira:cloud",
        "OKR-1",
        "OKR Progress",
    )
    assert (first.value_before, first.value_written, first.note) == (None, 0.1, None)
    assert len(store.ledger(limit=2)) == 2
    with pytest.raises(ValueError, match="kind"):
        store.record_write(run_2, "jira:cloud", "OKR-1", "OKR Progress", 0, 1, kind="maybe")


def test_source_health_counts_failures_until_success(store: StateStore) -> None:
    assert store.source_health() == {}
    store.set_source_health("jira:cloud", up=True, at=T0)
    store.set_source_health("teambition", up=False, error="503 Service Unavailable", at=T0)
    store.set_source_health(
        "teambition", up=False, error="connection refused", at=T0 + timedelta(1)
    )
    health = store.source_health()
    assert health["jira:cloud"].up and health["jira:cloud"].last_success_at == T0
    assert health["jira:cloud"].consecutive_failures == 0
    down = health["teambition"]
    assert (down.up, down.consecutive_failures, down.last_error) == (False, 2, "connection refused")
    assert down.last_failure_at == T0 + timedelta(1) and down.last_success_at is None

    store.set_source_health("teambition", up=True, at=T0 + timedelta(2))
    back = store.source_health()["teambition"]
    assert (back.up, back.consecutive_failures, back.last_success_at) == (
        True,
        0,
        T0 + timedelta(2),
    )
    assert back.last_failure_at == T0 + timedelta(1)


def test_checkins_remember_the_last_status(store: StateStore) -> None:
    assert store.get_checkin("kr-1") is None
    store.set_checkin("kr-1", "at_risk", at=T0)
    store.set_checkin("kr-1", "off_track", at=T0 + timedelta(days=1))
    checkin = store.get_checkin("kr-1")
    assert checkin is not None
    assert (checkin.kr_id, checkin.status, checkin.at) == ("kr-1", "off_track", T0 + timedelta(1))
