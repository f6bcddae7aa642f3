"""Custom-field updates of one batch go out concurrently, yet keep the endpoint's pace."""

from __future__ import annotations

import math
from collections.abc import Iterable

from connectors.base import FieldRef, FieldWrite
from okrsync.sandbox.faults import LoggedRequest
from okrsync.sandbox.server import SandboxServer
from tests.connectors.teambition.conftest import HOME, MakeConnector, api_entries

OTHER = "tb-task-onboarding"  # a task of the same project, so with the same fields

# The pace of the rate test: slow enough that its pacing interval (1/RATE = 0.25 s) is
# longer than a busy machine holds back one arrival while later ones go through on time.
RATE = 4.0  # requests per second, per endpoint
WINDOW = 1.0  # seconds


def _updates(server: SandboxServer) -> list[LoggedRequest]:
    return [e for e in api_entries(server) if e.path.endswith("/customfield/update")]


def most_in_any_window(times: Iterable[float], window: float) -> int:
    """The most of ``times`` that fall within any ``window`` seconds (edges included)."""
    ordered = sorted(times)
    most = start = 0
    for end, time in enumerate(ordered):
        while time - ordered[start] > window:
            start += 1
        most = max(most, end - start + 1)
    return most


def _batch() -> list[FieldWrite]:
    return [
        write
        for task, n in ((HOME, 1), (OTHER, 2))
        for write in (
            FieldWrite(task, "OKR Progress", 10.0 * n),
            FieldWrite(task, "OKR Status", "At risk" if n == 1 else "Off track"),
            FieldWrite(task, "OKR Summary", f"batch {n}"),
            FieldWrite(task, "OKR Expected", 20.0 * n),
        )
    ]


def test_updates_overlap_within_the_concurrency_limit(
    make_connector: MakeConnector, tb: SandboxServer
) -> None:
    connector = make_connector(concurrency=3, requests_per_second=40)
    writes = _batch()
    latency = 0.3
    tb.faults.set(latency=latency)
    assert connector.write_fields(writes) == dict.fromkeys(writes)
    arrived = sorted(e.time for e in _updates(tb))
    assert len(arrived) == 8
    # A fourth update starts only once one of the three before it was answered...
    assert all(arrived[i] - arrived[i - 3] >= latency for i in range(3, len(arrived)))
    # ...and the first three were in flight together (the pace spaces them 25 ms apart).
    assert arrived[2] - arrived[0] < latency
    tb.faults.reset()
    refs = {FieldRef(w.target, w.field): w.value for w in writes}
    assert connector.read_fields(list(refs)) == refs


def test_concurrent_updates_keep_the_pace(make_connector: MakeConnector, tb: SandboxServer) -> None:
    connector = make_connector(concurrency=8, requests_per_second=RATE)
    writes = _batch()
    assert connector.write_fields(writes) == dict.fromkeys(writes)
    arrived = [e.time for e in _updates(tb)]
    assert len(arrived) == 8
    # Eight threads ready at once, one endpoint (the update of a task's custom fields): the
    # pacer lets at most RATE of them through a second. In any WINDOW seconds the sandbox
    # sees at most RATE * WINDOW of them, plus one for the window's edges (two requests
    # exactly WINDOW apart both fall inside). Unpaced, all eight arrive within a few ms.
    # Only an upper bound: a busy machine that delays arrivals never breaks it, unless it
    # holds one back a whole pacing interval while the ones after it arrive on time.
    limit = math.floor(RATE * WINDOW) + 1
    assert most_in_any_window(arrived, WINDOW) <= limit, sorted(t - min(arrived) for t in arrived)


def test_a_field_written_twice_in_a_batch_is_sent_once_with_the_last_value(
    make_connector: MakeConnector, tb: SandboxServer
) -> None:
    connector = make_connector()
    first, last = FieldWrite(HOME, "OKR Progress", 30.0), FieldWrite(HOME, "OKR Progress", 45.0)
    assert connector.write_fields([first, last]) == {first: None, last: None}
    updates = _updates(tb)
    assert len(updates) == 1 and updates[0].body["value"][0]["title"] == "45"
    # Back to the value the task holds: nothing to send at all.
    again = [FieldWrite(HOME, "OKR Progress", 50.0), FieldWrite(HOME, "OKR Progress", 45.0)]
    tb.log.clear()
    assert connector.write_fields(again) == dict.fromkeys(again)
    assert _updates(tb) == []
