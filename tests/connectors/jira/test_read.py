"""Reading scopes: what a measure gets from Jira, on both flavours."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from connectors.base import ConnectorError, FetchRequest, FetchResult, FieldRef, FieldWrite
from connectors.jira import JiraConnector
from mappings.items import StatusCategory, WorkItem
from mappings.schema import JiraEpicsScope, JiraIssuesScope, JqlScope
from okrsync.sandbox.server import SandboxServer, start_sandbox
from tests.connectors.jira.conftest import CREDENTIALS, ConnectorFactory, requests_to, searches
from tests.connectors.jira.seeds import many_seed


def epics(*keys: str, subtasks: bool = False) -> JiraEpicsScope:
    return JiraEpicsScope(kind="jira_epics", epics=keys, include_subtasks=subtasks)


def listed(*keys: str, subtasks: bool = False) -> JiraIssuesScope:
    return JiraIssuesScope(kind="jira_issues", issues=keys, include_subtasks=subtasks)


def jql(text: str) -> JqlScope:
    return JqlScope(kind="jql", jql=text)


def fetch_one(connector: JiraConnector, request: FetchRequest) -> FetchResult:
    result = connector.fetch([request])[request]
    assert isinstance(result, FetchResult), result
    return result


def by_key(items: list[WorkItem]) -> dict[str, WorkItem]:
    return {item.key: item for item in items}


def test_flavour_is_detected_from_server_info(
    connector: JiraConnector, server: SandboxServer, flavour: str
) -> None:
    assert connector.flavour == flavour
    assert len(requests_to(server, "/serverInfo")) == 1


def test_configured_flavour_skips_server_info(
    make_connector: ConnectorFactory, server: SandboxServer, flavour: str
) -> None:
    connector = make_connector(flavour=flavour)
    fetch_one(connector, FetchRequest(epics("PAY-20")))
    assert requests_to(server, "/serverInfo") == []


def test_epic_children_with_estimates_and_status_categories(connector: JiraConnector) -> None:
    result = fetch_one(connector, FetchRequest(epics("PAY-1")))
    items = by_key(result.items)
    assert sorted(items, key=lambda k: int(k.split("-")[1])) == [f"PAY-{n}" for n in range(2, 10)]
    assert result.total == 8
    assert [items[f"PAY-{n}"].estimate for n in range(2, 10)] == [3, 5, 2, 8, 3, None, 5, 1]
    categories = [items[f"PAY-{n}"].status_category for n in range(2, 10)]
    assert (
        categories
        == [StatusCategory.DONE] * 4 + [StatusCategory.IN_PROGRESS] * 2 + [StatusCategory.TODO] * 2
    )
    story = items["PAY-2"]
    assert (story.parent_key, story.type, story.is_epic, story.is_subtask) == (
        "PAY-1",
        "Story",
        False,
        False,
    )
    assert story.resolution == "Done" and items["PAY-8"].resolution is None
    assert story.project == "PAY"
    assert story.updated == datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    # Keyed by the immutable id; the epic's id is known even where Epic Link names a key.
    epic = connector.client.issue("PAY-1", ["summary"])
    assert {item.parent_id for item in result.items} == {epic["id"]}
    assert all(item.id.isdigit() and item.id != epic["id"] for item in result.items)


def test_an_epic_never_counts_itself(connector: JiraConnector) -> None:
    result = fetch_one(connector, FetchRequest(epics("PAY-1", "PAY-20")))
    assert "PAY-1" not in by_key(result.items) and "PAY-20" not in by_key(result.items)
    assert len(result.items) == 13


def test_subtasks_only_when_asked(connector: JiraConnector) -> None:
    without = fetch_one(connector, FetchRequest(epics("PAY-1")))
    with_subtasks = fetch_one(connector, FetchRequest(epics("PAY-1", subtasks=True)))
    assert not any(item.is_subtask for item in without.items)
    extra = {k: v for k, v in by_key(with_subtasks.items).items() if k not in by_key(without.items)}
    assert sorted(extra) == ["PAY-10", "PAY-11"]
    assert all(item.is_subtask and item.parent_key == "PAY-4" for item in extra.values())
    assert with_subtasks.total == 10

    story = fetch_one(connector, FetchRequest(listed("PAY-4", subtasks=True)))
    assert sorted(by_key(story.items)) == ["PAY-10", "PAY-11", "PAY-4"]
    assert sorted(by_key(fetch_one(connector, FetchRequest(listed("PAY-4"))).items)) == ["PAY-4"]


def test_scopes_are_merged_into_few_searches_and_split_back(
    connector: JiraConnector, server: SandboxServer
) -> None:
    requests = [
        FetchRequest(epics("PAY-1")),
        FetchRequest(epics("PAY-20")),
        FetchRequest(epics("PAY-20", "PLAT-1")),
        FetchRequest(listed("PAY-30", "PAY-31")),
        FetchRequest(listed("PAY-31", "PLAT-2")),
    ]
    _ = connector.flavour
    server.log.clear()
    results = connector.fetch(requests)
    got = {r: sorted(by_key(v.items)) for r, v in results.items() if isinstance(v, FetchResult)}
    assert got[requests[1]] == [f"PAY-{n}" for n in range(21, 26)]
    assert len(got[requests[2]]) == 8
    assert got[requests[3]] == ["PAY-30", "PAY-31"]
    assert got[requests[4]] == ["PAY-31", "PLAT-2"]
    assert len(got[requests[0]]) == 8
    # One search for every epic scope, one for every issue list.
    assert len(searches(server)) == 2


def test_paging_reads_every_page(make_connector: ConnectorFactory, flavour: str) -> None:
    with start_sandbox(seed=many_seed(250), jira=(flavour,), teambition=False) as sb:
        srv = sb.jira[flavour]
        connector = make_connector(url=srv.url, page_size=50)
        srv.log.clear()
        children = fetch_one(connector, FetchRequest(epics("BIG-1")))
        assert len({item.id for item in children.items}) == 250
        srv.log.clear()
        everything = fetch_one(connector, FetchRequest(jql("project = BIG ORDER BY key")))
        assert len(everything.items) == 251
        assert len(searches(srv)) == math.ceil(251 / 50)
        # Asking for more than the server serves per page (Cloud: 100 with fields, DC:
        # 1000) still reads to the end, page by page as the server cuts them.
        greedy = make_connector(url=srv.url, page_size=5000)
        srv.log.clear()
        assert len(fetch_one(greedy, FetchRequest(jql("project = BIG"))).items) == 251
        assert len(searches(srv)) == (3 if flavour == "cloud" else 1)


def test_jql_scope_keeps_order_by_and_narrows_by_since(
    connector: JiraConnector, server: SandboxServer
) -> None:
    bugs = fetch_one(
        connector,
        FetchRequest(jql("labels = checkout ORDER BY key DESC"), fields=("Customer Impact",)),
    )
    items = by_key(bugs.items)
    assert len(items) == 20
    assert all(items[f"PAY-{n}"].fields == {"Customer Impact": 1 + n % 5} for n in range(30, 50))
    assert sum(item.status_category is StatusCategory.DONE for item in bugs.items) == 9

    since = datetime(2026, 11, 15, 0, 0, tzinfo=UTC)
    server.log.clear()
    recent = fetch_one(
        connector,
        FetchRequest(jql("project = PAY AND issuetype = Story ORDER BY created"), since=since),
    )
    assert sorted(by_key(recent.items)) == ["PAY-5", "PAY-6", "PAY-7", "PAY-8", "PAY-9"]
    assert recent.total == 13  # every story still matching, for reconciling the cache
    sent = " ".join(e.query + str(e.body or "") for e in searches(server))
    assert "2026%2F11%2F15" in sent or "2026/11/15" in sent


def test_moved_issue_keeps_its_id(connector: JiraConnector, server: SandboxServer) -> None:
    before = by_key(fetch_one(connector, FetchRequest(epics("PAY-1"))).items)["PAY-5"]
    server.data.move("PAY-5", "PAY-20")
    results = connector.fetch([FetchRequest(epics("PAY-1")), FetchRequest(epics("PAY-20"))])
    old, new = (results[FetchRequest(epics(k))] for k in ("PAY-1", "PAY-20"))
    assert isinstance(old, FetchResult) and isinstance(new, FetchResult)
    assert "PAY-5" not in by_key(old.items)
    moved = by_key(new.items)["PAY-5"]
    assert moved.id == before.id and moved.parent_key == "PAY-20"


def test_issue_moved_to_another_project_is_still_itself(
    connector: JiraConnector, server: SandboxServer
) -> None:
    bug, story = FetchRequest(listed("PAY-30")), FetchRequest(epics("PAY-1"))
    first = connector.fetch([bug, story])
    ids = {i.key: i.id for r in first.values() if isinstance(r, FetchResult) for i in r.items}
    server.data.move_to_project("PAY-30", "PLAT")  # becomes PLAT-5
    server.data.move_to_project("PAY-3", "PLAT")  # becomes PLAT-6, still in epic PAY-1
    again = connector.fetch([bug, story])
    (moved,) = again[bug].items  # type: ignore[union-attr]
    assert (moved.id, moved.key, moved.project) == (ids["PAY-30"], "PLAT-5", "PLAT")
    children = by_key(again[story].items)  # type: ignore[union-attr]
    assert children["PLAT-6"].id == ids["PAY-3"] and len(children) == 8
    # A write addressed by the old key lands on the moved issue.
    points = FieldWrite("PAY-30", "Story Points", 13.0)
    assert connector.write_fields([points]) == {points: None}
    assert server.data.issue("PLAT-5").fields["customfield_10016"] == 13.0
    assert connector.read_fields([FieldRef("PAY-30", "Story Points")]) == {
        FieldRef("PAY-30", "Story Points"): 13.0
    }


def test_deleted_issue_is_gone(connector: JiraConnector, server: SandboxServer) -> None:
    server.data.delete_issue("PAY-6")
    result = fetch_one(connector, FetchRequest(epics("PAY-1")))
    assert "PAY-6" not in by_key(result.items)
    assert result.total == 7


def test_a_bad_scope_fails_alone(connector: JiraConnector) -> None:
    good, bad = FetchRequest(epics("PAY-20")), FetchRequest(epics("PAY-999"))
    results = connector.fetch([good, bad])
    assert isinstance(results[good], FetchResult)
    assert len(results[good].items) == 5  # type: ignore[union-attr]
    error = results[bad]
    assert isinstance(error, ConnectorError) and "PAY-999" in error.message


def test_unknown_measure_field_is_named(connector: JiraConnector) -> None:
    request = FetchRequest(epics("PAY-1"), fields=("Business Value",))
    error = connector.fetch([request])[request]
    assert isinstance(error, ConnectorError)
    assert "field 'Business Value' does not exist" in error.message
    assert "okrsync fields bootstrap" in error.message


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (epics("PAY-1"), 8),
        (epics("PAY-1", subtasks=True), 10),
        (listed("PAY-4", "PAY-30", subtasks=True), 4),
        (jql("labels = checkout AND statusCategory != Done"), 11),
    ],
)
def test_count(
    connector: JiraConnector, server: SandboxServer, flavour: str, scope: object, expected: int
) -> None:
    _ = connector.flavour
    server.log.clear()
    assert connector.count([scope]) == {scope: expected}  # type: ignore[list-item]
    if flavour == "cloud":
        assert requests_to(server, "/search/approximate-count")
    else:
        assert any("maxResults=0" in e.query for e in searches(server))


def test_credentials_never_show_in_reprs(connector: JiraConnector, flavour: str) -> None:
    secrets = [v for k, v in CREDENTIALS[flavour].items() if k in ("api_token", "pat")]
    shown = repr(connector) + repr(connector.settings) + repr(connector.client)
    assert secrets and not any(secret in shown for secret in secrets)


def test_epic_children_updated_since(connector: JiraConnector) -> None:
    since = datetime(2026, 11, 15, 0, 0, tzinfo=UTC)
    recent = FetchRequest(epics("PAY-1"), since=since)
    with_subtasks = FetchRequest(epics("PAY-1", subtasks=True), since=since)
    results = connector.fetch([recent, with_subtasks])
    for request in (recent, with_subtasks):
        result = results[request]
        assert isinstance(result, FetchResult)
        assert sorted(by_key(result.items)) == ["PAY-5", "PAY-6", "PAY-7", "PAY-8", "PAY-9"]
    assert results[recent].total == 8  # type: ignore[union-attr]
    assert results[with_subtasks].total == 10  # type: ignore[union-attr]


def test_independent_searches_run_concurrently_within_the_limit(
    make_connector: ConnectorFactory, server: SandboxServer
) -> None:
    connector = make_connector(concurrency=3)
    _ = connector.client.catalog(), connector.client.not_subtask()
    requests = [FetchRequest(jql(f"labels = checkout AND key = PAY-{n}")) for n in range(30, 36)]
    server.faults.set(latency=0.4)
    server.log.clear()
    results = connector.fetch(requests)
    assert all(isinstance(r, FetchResult) and len(r.items) == 1 for r in results.values())
    arrived = sorted(e.time for e in searches(server))
    assert len(arrived) == 6
    # A fourth search starts only when one of the first three has been answered (each
    # answer takes the injected 0.4 s): never more than 3 in flight.
    assert all(arrived[i] - arrived[i - 3] >= 0.4 for i in range(3, 6))
    # ...and they do overlap: the six take two waves, not six turns.
    assert arrived[2] - arrived[0] < 0.4
