"""A full cycle over the demo data, through both Jira flavours and Teambition over HTTP.

Expected values are worked out by hand from the demo data set:

- PAY-1 (points, unestimated: mean): stories [3,5,2,8,3,-,5,1], PAY-2..5 done. The seven
  estimated stories hold 27 points, so the unestimated one counts 27/7; 18 of 27 + 27/7.
- PAY-20 (count, half credit in progress): 2 of 5 done, none in progress: 0.4.
- Checkout bugs (metric, open count 20 -> 5): 11 open: (11 - 20) / (5 - 20) = 0.6.
- Open bugs' customer impact (maintain avg <= 3.5): 1 + n % 5 over PAY-39..49 = 35 / 11.
- PLAT-1 (count): 6 of 10 done. PLAT-2 and PLAT-3 (milestone): both done.
- Onboarding sub-tasks (points, ignore): "3","5","2" done, "" left out, "8","1" open: 10/19.
- Tag tb-tag-okr (count): 5 of 8. Sprint 42 (count): 4 of 7.
"""

from __future__ import annotations

import pytest

from okrsync.sync.plan import STATUS_OPTIONS
from tests.e2e.conftest import Env, kr

HAND_COMPUTED = {
    "pay-checkout-v2": 18 / (27 + 27 / 7),
    "pay-fraud-scoring": 2 / 5,
    "pay-checkout-bugs": 0.6,
    "pay-bug-impact": 1.0,
    "plat-k8s-services": 6 / 10,
    "plat-first-services": 1.0,
    "plat-oncall-happiness": (3.4 - 3.1) / (4.0 - 3.1),
    "mob-onboarding-flow": 10 / 19,
    "mob-okr-work": 5 / 8,
    "mob-sprint-42": 4 / 7,
    "mob-backend-on-k8s": 6 / 10,
}
# Calls a cycle makes to a tracker whatever its scopes: the field catalog (fields, issue
# types, the signed-in user; Teambition's project and custom fields) and one batch read of
# the fields okrsync owns.
FIXED_CALLS = 4
HOME = {
    "pay-checkout-v2": "OKR-1",
    "pay-fraud-scoring": "OKR-2",
    "pay-checkout-bugs": "OKR-3",
    "plat-k8s-services": "OKR-5",
    "mob-backend-on-k8s": "OKR-6",
}


def test_results_equal_the_hand_computed_demo_values(env: Env) -> None:
    report = env.cycle()
    assert report.outcome == "ok", report.failed_sources
    got = {k.kr_id: k.result.progress for k in report.key_results}
    assert got == pytest.approx(HAND_COMPUTED)
    assert kr(report, "pay-bug-impact").result.value == pytest.approx(35 / 11)
    assert kr(report, "pay-checkout-bugs").result.value == 11
    points = kr(report, "pay-checkout-v2").result
    assert (points.done_points, points.total_points) == pytest.approx((18, 27 + 27 / 7))
    assert kr(report, "plat-first-services").result.status == "done"


def test_the_trackers_hold_the_written_values(env: Env) -> None:
    report = env.cycle()
    for kr_id, key in HOME.items():
        result = kr(report, kr_id).result
        assert result.progress is not None and result.expected is not None
        fields = env.jira_fields(key)
        assert fields["OKR Progress"] == round(result.progress * 100, 1)
        assert fields["OKR Status"] == STATUS_OPTIONS[result.status]
        assert fields["OKR Expected"] == round(result.expected * 100, 1)
        assert fields["OKR Summary"].startswith(f"{result.progress * 100:.1f}% (")
    okr4 = env.jira_fields("OKR-4")  # progress_format: ratio
    assert okr4["OKR Progress"] == 1.0
    assert env.jira_fields("OKR-3")["OKR Forecast"] is None  # forecast: null on that target
    assert env.jira_fields("OKR-1")["OKR Last Synced"] is not None
    onboarding = kr(report, "mob-onboarding-flow").result
    home = env.tb_fields("tb-task-okr-home")
    assert float(home["OKR Progress"] or "nan") == round(10 / 19 * 100, 1)
    assert home["OKR Status"] == STATUS_OPTIONS[onboarding.status]
    assert (home["OKR Summary"] or "").startswith("52.6% (10/19 pts)")


def test_a_second_cycle_over_unchanged_data_sends_no_write(env: Env) -> None:
    first = env.cycle()
    assert first.applied_writes
    assert all(w.error is None for w in first.writes)
    env.clear_logs()
    second = env.cycle()
    assert second.writes == []
    assert env.mutations() == []
    assert second.mode == "incremental"
    assert {name: s.up for name, s in second.sources.items()} == {
        f"jira:{env.flavour}": True,
        "teambition:main": True,
    }


def test_a_change_in_jira_is_written_on_the_next_cycle(env: Env) -> None:
    env.cycle()
    env.transition("PAY-6", "Done")  # 3 more points of checkout v2
    env.clear_logs()
    report = env.cycle()
    assert kr(report, "pay-checkout-v2").result.progress == pytest.approx(21 / (27 + 27 / 7))
    okr1 = env.jira.data.get("OKR-1")
    writes = env.mutations()
    assert {e.path for e in writes} <= {
        f"/rest/api/2/issue/{okr1.id}",
        f"/rest/api/2/issue/{okr1.key}",
        f"/rest/api/2/issue/{okr1.key}/properties/okrsync",
        f"/rest/api/2/issue/{okr1.id}/properties/okrsync",
    }
    assert env.jira_fields("OKR-1")["OKR Progress"] == 68.1


@pytest.mark.parametrize("flavour", ["datacenter"], indirect=True)
def test_a_status_change_posts_one_checkin_comment(env: Env) -> None:
    # plat-k8s-services (checkins: true) gets its first status (on track or at risk,
    # with the pace expected today): remembered, no comment.
    before = kr(env.cycle(), "plat-k8s-services").result.status
    assert before in ("on_track", "at_risk")
    assert env.jira.data.get("OKR-5").comments == []
    for key in ("PLAT-8", "PLAT-9", "PLAT-10", "PLAT-11"):
        env.transition(key, "Done")
    report = env.cycle()
    assert [(c.kr_id, c.previous, c.status, c.posted) for c in report.checkins] == [
        ("plat-k8s-services", before, "done", True)
    ]
    (comment,) = env.jira.data.get("OKR-5").comments
    body = str(comment.get("body"))
    assert f"Migrate all ten services is now Done (was {STATUS_OPTIONS[before]})" in body
    assert "PLAT-11:" in body
    env.cycle()
    assert len(env.jira.data.get("OKR-5").comments) == 1


@pytest.mark.parametrize("flavour", ["cloud"], indirect=True)
def test_teambition_changes_reach_the_incremental_read(env: Env) -> None:
    env.cycle()
    env.tb.data.set_done("tb-task-sprint42-5")  # 5 of 7 done
    env.tb.data.delete_task("tb-task-crash-8")  # an open tagged task goes: 5 of 7
    env.tb.data.update_task("tb-task-backlog-1", tagIds=["tb-tag-okr"])  # and one comes: 5/8
    env.tb.data.set_story_point("tb-task-onboarding-6", "4")  # 10 of 22 points
    report = env.cycle()
    assert kr(report, "mob-sprint-42").result.progress == pytest.approx(5 / 7)
    assert kr(report, "mob-okr-work").result.progress == pytest.approx(5 / 8)
    assert kr(report, "mob-okr-work").result.total_count == 8
    assert kr(report, "mob-onboarding-flow").result.progress == pytest.approx(10 / 22)
    assert float(env.tb_fields("tb-task-okr-home")["OKR Progress"] or 0) == 45.5


def test_the_run_records_the_requests_each_tracker_received(env: Env) -> None:
    for _ in range(2):
        env.clear_logs()
        report = env.cycle()
        received = {
            f"jira:{env.flavour}": len(env.jira.log.entries()),
            "teambition:main": len(env.tb.log.entries()),
        }
        assert {name: s.requests for name, s in report.sources.items()} == received
        run = env.store.last_run()
        assert run is not None and run.request_count == sum(received.values())
    # Nothing changed: per scope, one read of what changed and at most one count; beyond
    # that a few fixed calls per tracker (its field catalog, the owned fields' values).
    for name, server in ((f"jira:{env.flavour}", env.jira), ("teambition:main", env.tb)):
        scopes = report.sources[name].scopes
        reads = [e for e in server.log.entries() if e.method == "GET" or "search" in e.path]
        assert scopes >= 3
        assert len(server.log.entries()) == len(reads) <= 2 * scopes + FIXED_CALLS, [
            (e.method, e.path) for e in server.log.entries()
        ]
