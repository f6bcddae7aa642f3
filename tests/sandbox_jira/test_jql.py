"""The sandbox's JQL: parsing, precedence, supported clauses, ordering and Jira's errors."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from okrsync.sandbox.jira import jql
from okrsync.sandbox.jira.demo import demo_jira_seed
from okrsync.sandbox.jira.generated import generated_seed
from okrsync.sandbox.jira.model import parse_time
from okrsync.sandbox.jira.query import QueryContext, run_query
from okrsync.sandbox.jira.seed import load_store
from okrsync.sandbox.jira.store import JiraStore
from okrsync.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def cloud_store() -> JiraStore:
    return load_store(demo_jira_seed(), "cloud")


@pytest.fixture(scope="module")
def dc_store() -> JiraStore:
    return load_store(demo_jira_seed(), "datacenter")


def keys(store: JiraStore, query: str) -> list[str]:
    demo = store.user_for("demo")
    return [i.key for i in run_query(query, QueryContext(store, demo))]


def keyset(store: JiraStore, query: str) -> set[str]:
    return set(keys(store, query))


def pay(*numbers: int) -> set[str]:
    return {f"PAY-{n}" for n in numbers}


def test_parser_builds_precedence_and_order() -> None:
    parsed = jql.parse(
        'project = PAY OR NOT (labels in (a, "b c")) AND x is not EMPTY ORDER BY updated DESC, key'
    )
    assert isinstance(parsed.where, jql.Or)
    left, right = parsed.where.children
    assert left == jql.Clause(jql.FieldRef("project", 1), "=", jql.Value("PAY"))
    assert isinstance(right, jql.And) and isinstance(right.children[0], jql.Not)
    assert isinstance(right.children[1], jql.Clause) and right.children[1].op == "IS NOT"
    assert [(k.field.name, k.descending) for k in parsed.order_by] == [
        ("updated", True),
        ("key", False),
    ]


def test_parser_reads_custom_field_references_and_properties() -> None:
    parsed = jql.parse("cf[10016] > 3 AND issue.property[okrsync].kr.id = x")
    assert isinstance(parsed.where, jql.And)
    first, second = parsed.where.children
    assert isinstance(first, jql.Clause) and isinstance(second, jql.Clause)
    assert first.field.name == "cf[10016]"
    assert (second.field.prop_key, second.field.prop_path) == ("okrsync", "kr.id")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "project = ",
            "Error in the JQL Query: Expecting either a value, list or function "
            "before the end of the query.",
        ),
        ("project PAY", "Error in the JQL Query: Expecting operator but got 'PAY'."),
        (
            'summary ~ "open',
            "Error in the JQL Query: The quoted string 'open' has not been "
            "completed. (line 1, character 11)",
        ),
        ("(project = PAY", "Error in the JQL Query: Expecting ')' before the end of the query."),
        (
            "project = PAY status = Done",
            "Error in the JQL Query: Expecting either 'OR' or "
            "'AND' but got 'status'. (line 1, character 15)",
        ),
        (
            "project = PAY\nAND status = Done\n  labels = x",
            "Error in the JQL Query: Expecting either 'OR' or "
            "'AND' but got 'labels'. (line 3, character 3)",
        ),
        ("project = P%Y", "Error in the JQL Query: The character '%' is a reserved JQL character."),
        ("status WAS Done", "Error in the JQL Query: The operator 'WAS' is not supported"),
        (
            "status is Done",
            "Error in the JQL Query: The operator 'IS' can only be used with "
            "the value EMPTY or NULL.",
        ),
    ],
)
def test_syntax_errors(query: str, message: str) -> None:
    with pytest.raises(jql.JQLError) as raised:
        jql.parse(query)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("nope = 1", "Field 'nope' does not exist or you do not have permission to view it."),
        ("project ~ PAY", "The operator '~' is not supported by the 'project' field."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("status = Blocked", "The value 'Blocked' does not exist for the field 'status'."),
        ("key = PAY-999", "An issue with key 'PAY-999' does not exist for field 'key'."),
        ('"OKR Status" = Maybe', "The option 'Maybe' for field 'OKR Status' does not exist."),
        ("updated > yesterday", "Date value 'yesterday' for field 'updated' is invalid."),
        ('"Story Points" > many', "The value 'many' is invalid for the field 'Story Points'."),
        ("summary = x", "The operator '=' is not supported by the 'summary' field."),
        ("assignee = whoever()", "Unable to find JQL function 'whoever()'."),
    ],
)
def test_semantic_errors(cloud_store: JiraStore, query: str, message: str) -> None:
    with pytest.raises(jql.JQLError) as raised:
        keys(cloud_store, query)
    assert str(raised.value).startswith(message)


def test_equality_lists_and_precedence(cloud_store: JiraStore) -> None:
    assert keyset(cloud_store, "project = PAY AND issuetype = Bug AND status = Done") == pay(
        *range(30, 39)
    )
    and_first = keyset(cloud_store, "project = PLAT OR project = PAY AND issuetype = Epic")
    assert and_first == {f"PLAT-{n}" for n in range(1, 12)} | pay(1, 20)
    grouped = keyset(cloud_store, "(project = PLAT OR project = PAY) AND issuetype = Epic")
    assert grouped == {"PLAT-1"} | pay(1, 20)
    assert keyset(cloud_store, "key in (pay-1, PLAT-1) OR id = 12001") == {
        "PAY-1",
        "PLAT-1",
        "OKR-1",
    }
    assert keyset(cloud_store, "project = OKR AND key not in (OKR-1, OKR-2)") == {
        f"OKR-{n}" for n in range(3, 7)
    }
    assert keyset(cloud_store, "project = PAY AND key > PAY-45") == pay(46, 47, 48, 49)


def test_negative_operators_skip_empty_values(cloud_store: JiraStore) -> None:
    # Points of PAY-2..PAY-9 are 3,5,2,8,3,-,5,1: != never matches the empty PAY-7.
    assert keyset(cloud_store, 'parent = PAY-1 AND "Story Points" != 3') == pay(3, 4, 5, 8, 9)
    assert keyset(cloud_store, 'parent = PAY-1 AND NOT "Story Points" = 3') == pay(3, 4, 5, 7, 8, 9)
    assert keyset(cloud_store, 'parent = PAY-1 AND "Story Points" is EMPTY') == pay(7)
    assert keyset(cloud_store, "parent = PAY-1 AND cf[10016] >= 5") == pay(3, 5, 8)
    assert keyset(cloud_store, "parent = PAY-1 AND cf[10016] in (1, 2)") == pay(4, 9)


def test_status_category_resolution_and_labels(cloud_store: JiraStore) -> None:
    done = keyset(cloud_store, "project = PAY AND statusCategory = Done")
    assert done == keyset(cloud_store, "project = PAY AND statusCategory = done")
    assert done == keyset(cloud_store, "project = PAY AND resolution = Done")
    unresolved = keyset(cloud_store, "project = PAY AND resolution = Unresolved")
    assert unresolved == keyset(cloud_store, "project = PAY AND resolution is EMPTY")
    assert done.isdisjoint(unresolved) and len(done | unresolved) == 37
    assert len(keyset(cloud_store, "labels = checkout")) == 20
    assert keyset(cloud_store, "labels = checkout AND statusCategory != Done") == pay(
        *range(39, 50)
    )
    assert keyset(cloud_store, 'statusCategory = "In Progress" AND issuetype = Epic') == {
        "PAY-1",
        "PAY-20",
        "PLAT-1",
    }


def test_epic_children_by_flavour(cloud_store: JiraStore, dc_store: JiraStore) -> None:
    stories = pay(*range(2, 10))
    assert keyset(cloud_store, "parent = PAY-1") == stories
    assert keyset(cloud_store, '"Epic Link" = PAY-1') == stories
    assert keyset(dc_store, '"Epic Link" = PAY-1') == stories
    assert keyset(dc_store, "cf[10014] = PAY-1") == stories
    assert keyset(dc_store, "parent = PAY-1") == set()  # DC: parent is for sub-tasks only
    assert keyset(dc_store, "parent = PAY-4") == pay(10, 11)
    assert keyset(cloud_store, "parent in (PAY-4, 10020)") == pay(10, 11, *range(21, 26))


def test_text_search(cloud_store: JiraStore) -> None:
    found = keyset(cloud_store, 'summary ~ "checkout"')
    expected = {
        i.key for i in cloud_store.all_issues() if "checkout" in i.fields["summary"].lower()
    }
    assert found == expected and len(found) > 20
    assert keyset(cloud_store, 'summary ~ "one-page checkout" AND issuetype = Story') == pay(4)
    assert keyset(cloud_store, 'summary !~ "checkout" AND project = OKR') == {
        f"OKR-{n}" for n in range(1, 7)
    }


def test_dates_absolute_and_relative(cloud_store: JiraStore) -> None:
    cutoff = datetime(2026, 11, 1, tzinfo=UTC)
    expected = {i.key for i in cloud_store.all_issues() if parse_time(i.updated) >= cutoff}
    assert 0 < len(expected) < 60
    assert keyset(cloud_store, 'updated >= "2026-11-01"') == expected
    assert keyset(cloud_store, "updated >= 2026/11/01") == expected
    assert (
        keyset(cloud_store, 'updated < "2026-11-01 00:00"')
        == {i.key for i in cloud_store.all_issues()} - expected
    )

    store = load_store(demo_jira_seed(), "cloud")
    store.clock = lambda: datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    store.transition("PAY-8", "In Progress")
    assert keyset(store, "updated >= -1d") == {"PAY-8"}
    assert keyset(store, "updated >= startOfDay()") == {"PAY-8"}
    assert keyset(store, "created > now()") == set()


def test_ordering(cloud_store: JiraStore) -> None:
    by_points = keys(cloud_store, 'parent = PAY-1 ORDER BY "Story Points" DESC, key ASC')
    assert by_points == ["PAY-7", "PAY-5", "PAY-3", "PAY-8", "PAY-2", "PAY-6", "PAY-4", "PAY-9"]
    by_key = keys(cloud_store, "project = PAY ORDER BY key DESC")
    assert by_key[:3] == ["PAY-49", "PAY-48", "PAY-47"] and by_key[-1] == "PAY-1"
    updated = [
        cloud_store.issue(k).updated for k in keys(cloud_store, "project = PLAT ORDER BY updated")
    ]
    assert updated == sorted(updated)


def test_properties_and_current_user(cloud_store: JiraStore) -> None:
    store = load_store(demo_jira_seed(), "cloud")
    store.issue("OKR-2").properties["okrsync"] = {"kr": {"id": "KR-7"}, "count": 3}
    assert keyset(store, 'issue.property[okrsync].kr.id = "KR-7"') == {"OKR-2"}
    assert keyset(store, "issue.property[okrsync].count = 3") == {"OKR-2"}
    assert keyset(store, "project = OKR AND assignee = currentUser()") == set()
    me = store.user_for("demo")
    assert me is not None
    store.update_fields(
        "OKR-3", {"assignee": {"accountId": me.account_id, "displayName": me.display_name}}
    )
    assert keyset(store, "project = OKR AND assignee = currentUser()") == {"OKR-3"}
    assert keyset(store, "project = OKR AND assignee is EMPTY") == {
        f"OKR-{n}" for n in (1, 2, 4, 5, 6)
    }


def test_indexes_agree_with_a_full_scan() -> None:
    store = load_store(generated_seed(600), "cloud")
    everything = store.all_issues()
    epic = "GEN-3"
    assert keyset(store, f"parent = {epic}") == {i.key for i in everything if i.epic == epic}
    cutoff = datetime(2026, 7, 1, tzinfo=UTC)
    expected = {i.key for i in everything if parse_time(i.updated) > cutoff}
    assert keyset(store, 'project = GEN AND updated > "2026-07-01"') == expected
    either = keyset(store, "parent = GEN-1 OR parent = GEN-2")
    assert either == {i.key for i in everything if i.epic in {"GEN-1", "GEN-2"}}


def test_http_error_body_is_jiras(cloud: SandboxServer, dc: SandboxServer) -> None:
    cloud_answer = httpx.get(
        f"{cloud.url}/rest/api/3/search/jql",
        params={"jql": "nope = 1"},
        auth=("demo@okrsync.example", "demo-token"),
    )
    dc_answer = httpx.get(
        f"{dc.url}/rest/api/2/search",
        params={"jql": "nope = 1"},
        headers={"Authorization": "Bearer demo-pat"},
    )
    expected = {
        "errorMessages": ["Field 'nope' does not exist or you do not have permission to view it."],
        "errors": {},
    }
    assert (cloud_answer.status_code, cloud_answer.json()) == (400, expected)
    assert (dc_answer.status_code, dc_answer.json()) == (400, expected)


def test_unbounded_queries(cloud: SandboxServer, dc: SandboxServer) -> None:
    auth = ("demo@okrsync.example", "demo-token")
    for path in ("/rest/api/3/search/jql", "/rest/api/2/search/jql"):
        answer = httpx.get(f"{cloud.url}{path}", params={"jql": "order by key"}, auth=auth)
        assert answer.status_code == 400
        assert "Unbounded JQL queries are not allowed" in answer.json()["errorMessages"][0]
    count = httpx.post(
        f"{cloud.url}/rest/api/3/search/approximate-count", json={"jql": ""}, auth=auth
    )
    assert count.status_code == 400
    dc_all = httpx.get(
        f"{dc.url}/rest/api/2/search",
        params={"jql": "order by key"},
        headers={"Authorization": "Bearer demo-pat"},
    )
    assert dc_all.status_code == 200 and dc_all.json()["total"] == 54


def test_dc_validate_query_warn(dc: SandboxServer) -> None:
    answer = httpx.get(
        f"{dc.url}/rest/api/2/search",
        params={"jql": "project = NOPE", "validateQuery": "warn"},
        headers={"Authorization": "Bearer demo-pat"},
    )
    body = answer.json()
    assert answer.status_code == 200 and body["total"] == 0
    assert body["warningMessages"] == ["The value 'NOPE' does not exist for the field 'project'."]


def test_priority_versions_components_and_sprints() -> None:
    store = load_store(demo_jira_seed(), "cloud")
    sprint = {"id": 42, "name": "Sprint 42", "state": "active", "boardId": 1}
    old_sprint = {"id": 41, "name": "Sprint 41", "state": "closed", "boardId": 1}
    store.update_fields(
        "PAY-2",
        {
            "priority": {"id": "1", "name": "Highest"},
            "fixVersions": [{"id": "10000", "name": "2.0"}],
            "components": [{"id": "10001", "name": "Checkout"}],
            "customfield_10020": [old_sprint, sprint],
        },
    )
    store.update_fields("PAY-3", {"customfield_10020": [old_sprint]})
    assert keyset(store, "project = PAY AND priority = Highest") == pay(2)
    assert keyset(store, "project = PAY AND priority > High") == pay(2)
    assert keyset(store, "project = PAY AND priority >= 2") == pay(2)
    assert len(keyset(store, "project = PAY AND priority <= Medium")) == 36
    assert len(keyset(store, "project = PAY AND priority != Highest")) == 36
    assert keyset(store, 'fixVersion = "2.0"') == pay(2)
    assert keyset(store, "component in (Checkout, Ledger)") == pay(2)
    assert keyset(store, "project = PAY AND component is EMPTY") == {
        f"PAY-{n}" for n in (*range(3, 12), *range(20, 26), *range(30, 50))
    } | {"PAY-1"}
    assert keyset(store, "sprint = 42") == pay(2)
    assert keyset(store, 'sprint = "Sprint 41"') == pay(2, 3)
    assert keyset(store, "sprint in openSprints()") == pay(2)
    assert keyset(store, "sprint in closedSprints()") == pay(2, 3)
