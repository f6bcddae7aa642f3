"""Counting many epic scopes together to confirm incremental reads (connectors.jira.counts)."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import ConnectorError
from connectors.jira.counts import EPICS_PER_COUNT, confirm_counts, count_groups
from mappings.items import StatusCategory
from mappings.schema import JiraEpicsScope, JqlScope, Scope
from tests.cycle.memory import MemoryTracker


def epics(*keys: str, subtasks: bool = False) -> JiraEpicsScope:
    return JiraEpicsScope(kind="jira_epics", epics=keys, include_subtasks=subtasks)


def tracker(epic_count: int, children: int = 3) -> MemoryTracker:
    """Epics EP-1..EP-n with ``children`` stories each (S-<epic>-<i>)."""
    memory = MemoryTracker()
    for n in range(1, epic_count + 1):
        for i in range(children):
            memory.add(f"S-{n}-{i}", parent=f"EP-{n}", category=StatusCategory.DONE)
    return memory


class Refusing(MemoryTracker):
    """Refuses (not retryable) every count naming epic ``bad``, as Jira does for JQL
    naming an issue that no longer exists."""

    def __init__(self, bad: str) -> None:
        super().__init__()
        self.bad = bad

    def count(self, scopes: Sequence[Scope]) -> dict[Scope, int | ConnectorError]:
        out = super().count(scopes)
        for scope in scopes:
            if isinstance(scope, JiraEpicsScope) and self.bad in scope.epics:
                out[scope] = ConnectorError(f"issue {self.bad} does not exist", status=400)
        return out


def test_disjoint_epic_scopes_are_counted_in_one_request_per_hundred_epics() -> None:
    memory = tracker(250)
    expected = {n: (epics(f"EP-{n}"), 3) for n in range(1, 251)}
    assert confirm_counts(memory.count, expected) == dict.fromkeys(expected, 3)
    assert len(memory.calls.counts) == 3  # 100 + 100 + 50 epics
    sent = [s for s in memory.calls.counts if isinstance(s, JiraEpicsScope)]
    assert [len(s.epics) for s in sent] == [EPICS_PER_COUNT, EPICS_PER_COUNT, 50]


def test_a_scope_that_lost_an_item_unseen_is_found_by_halving() -> None:
    memory = tracker(100)
    memory.delete("S-37-1")
    expected = {n: (epics(f"EP-{n}"), 3) for n in range(1, 101)}  # the cache still holds 3
    counted = confirm_counts(memory.count, expected)
    assert counted[37] == 2
    assert all(counted[n] == 3 for n in expected if n != 37)
    # One merged count, then two counts per level down to the scope: 1 + 2 * 7.
    assert len(memory.calls.counts) <= 15


def test_a_story_moved_between_two_scopes_of_one_count_is_caught() -> None:
    memory = tracker(4)
    memory.change("S-1-0", parent_key="EP-2", parent_id="id-EP-2")
    # After the incremental read: EP-1 still caches the story, EP-2 got it with its new
    # parent. The union's count is unchanged (12), but the sizes sum to 13.
    expected = {1: (epics("EP-1"), 3), 2: (epics("EP-2"), 4), 3: (epics("EP-3"), 3)}
    assert confirm_counts(memory.count, expected) == {1: 2, 2: 4, 3: 3}


def test_only_disjoint_epic_scopes_without_subtasks_share_a_count() -> None:
    scopes: dict[str, Scope] = {
        "a": epics("EP-1"),
        "b": epics("EP-2", "EP-3"),
        "ab": epics("EP-1", "EP-2"),  # overlaps both
        "subtasks": epics("EP-4", subtasks=True),
        "jql": JqlScope(kind="jql", jql="project = PAY"),
        "c": epics("EP-5"),
        "d": epics("EP-4"),  # overlaps only the sub-task scope, which counts alone
    }
    assert count_groups(scopes) == [["a", "b", "c", "d"], ["ab"], ["subtasks"], ["jql"]]
    many = {n: epics(*(f"EP-{n * 100 + i + 1}" for i in range(30))) for n in range(4)}
    assert count_groups(many) == [[0, 1, 2], [3]]  # at most 100 epics per count


def test_a_tracker_outage_fails_the_group_without_more_requests() -> None:
    memory = tracker(10)
    memory.down = True
    expected = {n: (epics(f"EP-{n}"), 3) for n in range(1, 11)}
    counted = confirm_counts(memory.count, expected)
    assert all(isinstance(v, ConnectorError) and v.retryable for v in counted.values())
    assert len(memory.calls.counts) == 1


def test_a_refused_count_lands_on_its_own_scope() -> None:
    memory = Refusing("EP-3")
    for n in range(1, 9):
        memory.add(f"S-{n}", parent=f"EP-{n}")
    expected = {n: (epics(f"EP-{n}"), 1) for n in range(1, 9)}
    counted = confirm_counts(memory.count, expected)
    assert isinstance(counted.pop(3), ConnectorError)
    assert counted == {n: 1 for n in range(1, 9) if n != 3}
