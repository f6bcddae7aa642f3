"""The fewest requests a correct okrsync cycle needs on W1, and the time they take.

Reads: every distinct scope's items, merged into one query per tracker project so that
no item is read twice, at the largest page each flavour allows (Jira Cloud 100 issues a
page when fields are asked for, Data Center 1,000; Teambition 1,000 tasks), so
``ceil(|union of scope items| / page)`` pages per Jira connection and per Teambition
project. A warm cycle with nothing changed must still ask each tracker what changed
(one search) and check that nothing left (one count): 2 per Jira connection and per
Teambition project. After changes, the changed items' pages take the search's place.
After a webhook that names one Jira issue, reading that issue is enough.

Writes: Jira takes one edit per target issue for its fields plus one PUT for the
``okrsync`` issue property; Teambition one ``customfield/update`` per field. Cold, every
field is written; warm, only those whose value changed (taken from the cycle's report).

Time floor, per connection (the connections run side by side): the reads and then the
writes go ``concurrency`` at a time, each round taking the latency ``L``; Teambition's
requests are also capped at ``rate`` a second::

    floor = max(jira, teambition)
    jira = (ceil(R_j / c) + ceil(W_j / c)) * L
    teambition = max((ceil(R_t / c) + ceil(W_t / c)) * L, (R_t + W_t) / rate)
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from benchmarks.w1.workload import Workload

__all__ = ["PAGE", "TB_PAGE", "Bound", "cold", "hint", "warm", "writes_in_report"]

PAGE = {"cloud": 100, "datacenter": 1000}
TB_PAGE = 1000
PROPERTY = "property:"


@dataclass(frozen=True)
class Bound:
    """Requests per tracker (reads, writes) and the time floor in seconds."""

    jira_reads: int
    jira_writes: int
    tb_reads: int
    tb_writes: int
    floor: float

    @property
    def requests(self) -> int:
        """Every request."""
        return self.jira_reads + self.jira_writes + self.tb_reads + self.tb_writes

    @property
    def writes(self) -> int:
        """Write requests."""
        return self.jira_writes + self.tb_writes

    def to_dict(self) -> dict[str, Any]:
        """JSON output."""
        return {
            "jira_reads": self.jira_reads,
            "jira_writes": self.jira_writes,
            "teambition_reads": self.tb_reads,
            "teambition_writes": self.tb_writes,
            "requests": self.requests,
            "floor_s": round(self.floor, 3),
        }


def time_floor(
    jira: tuple[int, int], tb: tuple[int, int], latency: float, concurrency: int, rate: float
) -> float:
    """The formula of the module's doc; ``jira`` and ``tb`` are (reads, writes)."""

    def rounds(n: int) -> int:
        return math.ceil(n / concurrency)

    jira_time = (rounds(jira[0]) + rounds(jira[1])) * latency
    tb_time = max((rounds(tb[0]) + rounds(tb[1])) * latency, sum(tb) / rate)
    return max(jira_time, tb_time)


def _unions(w: Workload) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for scope in w.scopes.values():
        found[scope.tracker] |= scope.items
    return found


def cold(
    w: Workload, flavour: str, latency: float, concurrency: int, rate: float, fields: int = 2
) -> Bound:
    """The first cycle: every scope read once, every field written."""
    unions = _unions(w)
    jira_reads = math.ceil(len(unions.pop("jira", set())) / PAGE[flavour])
    tb_reads = sum(math.ceil(len(items) / TB_PAGE) for items in unions.values())
    targets = set(w.kr_targets.values())
    jira_writes = 2 * sum(1 for tracker, _ in targets if tracker == "jira")
    tb_writes = fields * sum(1 for tracker, _ in targets if tracker == "teambition")
    floor = time_floor((jira_reads, jira_writes), (tb_reads, tb_writes), latency, concurrency, rate)
    return Bound(jira_reads, jira_writes, tb_reads, tb_writes, floor)


def writes_in_report(report: dict[str, Any] | None) -> tuple[int, int]:
    """Write requests a cycle's changed values need: (Jira, Teambition), from the
    ``writes`` of ``okrsync sync --output json`` (one Jira edit per target issue, one
    request per property and per Teambition field)."""
    if not report:
        return 0, 0
    jira_targets: set[str] = set()
    jira_props = tb = 0
    for write in report.get("writes", []):
        if write.get("applied") is False:
            continue
        if str(write.get("connection", "")).startswith("teambition"):
            tb += 1
        elif str(write.get("field", "")).startswith(PROPERTY):
            jira_props += 1
        else:
            jira_targets.add(str(write.get("target")))
    return len(jira_targets) + jira_props, tb


def warm(
    w: Workload,
    flavour: str,
    latency: float,
    concurrency: int,
    rate: float,
    *,
    changed: set[str] = frozenset(),  # type: ignore[assignment]
    writes: tuple[int, int] = (0, 0),
) -> Bound:
    """A later cycle: what changed (``changed`` item ids) read once, one count per
    tracker (Jira connection, Teambition project) for deletions, ``writes`` sent."""
    unions = _unions(w)
    jira_changed = changed & unions.pop("jira", set())
    jira_reads = max(1, math.ceil(len(jira_changed) / PAGE[flavour])) + 1
    tb_reads = sum(
        max(1, math.ceil(len(changed & items) / TB_PAGE)) + 1 for items in unions.values()
    )
    floor = time_floor((jira_reads, writes[0]), (tb_reads, writes[1]), latency, concurrency, rate)
    return Bound(jira_reads, writes[0], tb_reads, writes[1], floor)


def hint(
    latency: float, concurrency: int, rate: float, *, writes: tuple[int, int] = (0, 0)
) -> Bound:
    """A cycle after a webhook named one Jira issue: that issue read once, ``writes``
    sent; nothing else needs asking."""
    floor = time_floor((1, writes[0]), (0, writes[1]), latency, concurrency, rate)
    return Bound(1, writes[0], 0, writes[1], floor)
