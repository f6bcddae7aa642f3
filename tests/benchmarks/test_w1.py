"""The W1 benchmark's pure parts: the workload is reproducible, the bound adds up."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from benchmarks.w1 import bound
from benchmarks.w1.changes import Changer
from benchmarks.w1.workload import Sizes, build

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
TINY = Sizes(issues=800, epics=16, tasks=1000)


def test_the_same_sizes_and_clock_give_the_same_workload() -> None:
    one, two = build(TINY, NOW), build(TINY, NOW)
    assert json.dumps(one.seed, sort_keys=True) == json.dumps(two.seed, sort_keys=True)
    assert json.dumps(one.files, sort_keys=True) == json.dumps(two.files, sort_keys=True)
    assert Changer(one).round() == Changer(two).round()


def test_the_workload_has_its_shape() -> None:
    w = build(TINY, NOW)
    jira = w.seed["jira"]["issues"]
    assert sum(1 for i in jira if not i["key"].startswith("OKR-")) == TINY.issues
    assert len(w.epic_keys) == TINY.epics
    assert len(w.seed["teambition"]["tasks"]) == TINY.tasks
    assert len({t["projectId"] for t in w.seed["teambition"]["tasks"]}) == TINY.tb_projects
    assert len(w.kr_scopes) == 160
    assert sum(len(f["objectives"]) for f in w.files.values()) == 40
    assert len(set(w.kr_targets.values())) == len(w.kr_targets)  # one target per KR


def test_the_cold_bound_reads_each_scope_item_once_at_the_largest_page() -> None:
    w = build(TINY, NOW)
    jira = set().union(*(s.items for s in w.scopes.values() if s.tracker == "jira"))
    projects = {s.tracker for s in w.scopes.values()} - {"jira"}
    b = bound.cold(w, "cloud", latency=0.025, concurrency=4, rate=40)
    assert b.jira_reads == math.ceil(len(jira) / 100)
    assert b.tb_reads == len(projects)  # at most 1,000 tasks a project here
    jira_targets = sum(1 for t, _ in w.kr_targets.values() if t == "jira")
    assert b.jira_writes == 2 * jira_targets
    dc = bound.cold(w, "datacenter", latency=0.025, concurrency=4, rate=40)
    assert dc.jira_reads == math.ceil(len(jira) / 1000)


def test_the_time_floor_takes_rounds_of_requests_and_the_rate_limit() -> None:
    # Jira: 10 reads and 5 writes, 4 at a time: 3 + 2 rounds of 25 ms.
    assert bound.time_floor((10, 5), (0, 0), 0.025, 4, 40) == 5 * 0.025
    # Teambition: 80 requests at 40 a second outlast their 20 rounds of 25 ms.
    assert bound.time_floor((0, 0), (40, 40), 0.025, 4, 40) == 2.0
    assert bound.warm(build(TINY, NOW), "cloud", 0.025, 4, 40).requests == 2 + 2 * 5


def test_writes_needed_are_counted_per_request() -> None:
    report = {
        "writes": [
            {"connection": "jira:cloud", "target": "OKR-1", "field": "OKR Progress"},
            {"connection": "jira:cloud", "target": "OKR-1", "field": "OKR Status"},
            {"connection": "jira:cloud", "target": "OKR-1", "field": "property:okrsync"},
            {"connection": "teambition:main", "target": "t1", "field": "OKR Progress"},
            {"connection": "teambition:main", "target": "t1", "field": "OKR Status"},
            {"connection": "jira:cloud", "target": "OKR-2", "field": "x", "applied": False},
        ]
    }
    assert bound.writes_in_report(report) == (2, 2)
