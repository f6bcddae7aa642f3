"""Checking incremental reads against Jira's counts in few requests
(``JiraConnector.confirm_counts``).

After an incremental read, each scope's merged size (cache plus changes) must equal the
tracker's count of the scope (``okrsync.sync.fetch``). One count per scope is one round trip
per scope, which a cycle after nothing changed should not pay for every epic.

Jira epic scopes without sub-tasks whose epics do not overlap hold disjoint items (an
issue has one epic), and their union is itself an epic scope. So they are counted
together: one count of the union per group of up to :data:`EPICS_PER_COUNT` epics,
compared with the sum of the group's merged sizes. When the two agree, each scope's
merged size stands as its count. When they disagree, the group is halved and each half
is counted again, down to single scopes, whose own count then decides.

Why the sum is enough: a scope's merged size is too large when cached items left it
unseen (deleted, moved out) and too small when items entered it without their update
time changing. An item moved from one scope of a group to another comes back in the
second scope's incremental read while the first still caches it: it counts twice in the
sum, so the sum disagrees and the halving finds the first scope. Only an unseen entry
into one scope balanced by an unseen departure from another scope of the same group
passes; the per-scope check has the same blind spot within a single scope, and the
periodic full read settles both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from connectors.base import ConnectorError, Counts, K
from mappings.schema import JiraEpicsScope, Scope

__all__ = ["EPICS_PER_COUNT", "confirm_counts", "count_groups"]

#: Epics named in one merged count (the JQL ``parent in (...)`` stays short enough for a
#: GET on Data Center).
EPICS_PER_COUNT = 100


def _summable(scope: Scope) -> JiraEpicsScope | None:
    """The scope if its count may be added to others' (epic children, no sub-tasks)."""
    if isinstance(scope, JiraEpicsScope) and not scope.include_subtasks:
        return scope
    return None


def count_groups(scopes: Mapping[K, Scope]) -> list[list[K]]:
    """Keys grouped so that each group's scopes can be counted as one: epic scopes with
    pairwise disjoint epics, at most :data:`EPICS_PER_COUNT` epics a group; every other
    scope alone. First fit, in the given order."""
    groups: list[list[K]] = []
    epics_of: list[set[str]] = []
    for key, scope in scopes.items():
        epics = _summable(scope)
        if epics is None:
            groups.append([key])
            epics_of.append(set())
            continue
        wanted = set(epics.epics)
        for index, taken in enumerate(epics_of):
            first = scopes[groups[index][0]]
            fits = len(taken) + len(wanted) <= EPICS_PER_COUNT and not taken & wanted
            if _summable(first) is not None and fits:
                groups[index].append(key)
                taken |= wanted
                break
        else:
            groups.append([key])
            epics_of.append(wanted)
    return groups


def _union(scopes: Sequence[Scope]) -> Scope:
    if len(scopes) == 1:
        return scopes[0]
    first = scopes[0]
    assert isinstance(first, JiraEpicsScope)
    epics = tuple(
        dict.fromkeys(e for s in scopes if isinstance(s, JiraEpicsScope) for e in s.epics)
    )
    return JiraEpicsScope(kind="jira_epics", connection=first.connection, epics=epics)


def _count(count: Callable[[Sequence[Scope]], Counts], scopes: list[Scope]) -> Counts:
    try:
        return count(scopes)
    except ConnectorError as exc:
        return dict.fromkeys(scopes, exc)


def confirm_counts(
    count: Callable[[Sequence[Scope]], Counts], expected: Mapping[K, tuple[Scope, int]]
) -> dict[K, int | ConnectorError]:
    """Each key's count as the tracker sees it, given its scope and the size it should have.

    A key whose scope was counted together with others and agreed gets its expected size
    back; any other gets the tracker's count of its own scope (or the error). Each round
    sends its counts in one ``count`` call (``Connector.count``, run concurrently by the
    connector); there are at most ``log2(EPICS_PER_COUNT) + 1`` rounds.
    """
    scopes = {key: scope for key, (scope, _) in expected.items()}
    out: dict[K, int | ConnectorError] = {}
    pending = count_groups(scopes)
    while pending:
        unions = [_union([scopes[k] for k in group]) for group in pending]
        counted = _count(count, list(dict.fromkeys(unions)))
        halves: list[list[K]] = []
        for group, union in zip(pending, unions, strict=True):
            value = counted.get(union)
            if value is None:
                value = ConnectorError("the tracker gave no count for the scope")
            if len(group) == 1:
                out[group[0]] = value
            elif isinstance(value, int) and value == sum(expected[k][1] for k in group):
                out.update({k: expected[k][1] for k in group})
            elif isinstance(value, ConnectorError) and value.retryable:
                out.update(dict.fromkeys(group, value))  # an outage: do not multiply requests
            else:
                half = len(group) // 2
                halves += [group[:half], group[half:]]
        pending = halves
    return out
