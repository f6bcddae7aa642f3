"""The sandbox's JQL refuses what Jira refuses, with Jira's messages: ORDER BY rules, the
issue-type functions, Rank, and Epic Link on each flavour."""

from __future__ import annotations

import httpx
import pytest

from okrsync.sandbox.jira import jql
from okrsync.sandbox.jira.demo import demo_jira_seed
from okrsync.sandbox.jira.query import QueryContext, run_query
from okrsync.sandbox.jira.seed import load_store
from okrsync.sandbox.jira.store import JiraStore

FLAVOURS = ("cloud", "datacenter")


@pytest.fixture(scope="module")
def stores() -> dict[str, JiraStore]:
    return {flavour: load_store(demo_jira_seed(), flavour) for flavour in FLAVOURS}


def keys(store: JiraStore, query: str) -> list[str]:
    return [i.key for i in run_query(query, QueryContext(store, store.user_for("demo")))]


def refusal(store: JiraStore, query: str) -> list[str]:
    with pytest.raises(jql.JQLError) as raised:
        keys(store, query)
    return raised.value.messages


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    ("order", "messages"),
    [
        ("nope", ["Not able to sort using field 'nope'."]),
        ("text", ["Not able to sort using field 'text'."]),
        ("statusCategory", ["Not able to sort using field 'statusCategory'."]),
        ("comment", ["Field 'comment' does not support sorting."]),
        ("description", ["Field 'description' does not support sorting."]),
        ("key, key", ["The sort field 'key' is referenced multiple times in the JQL sort."]),
        (
            "key, id",
            [
                "The sort field 'id' is referenced multiple times in the JQL sort. "
                "Field 'id' is an alias for field 'key'."
            ],
        ),
        (
            'cf[10016] DESC, "Story Points"',
            [
                "The sort field 'Story Points' is referenced multiple times in the JQL sort. "
                "Field 'Story Points' is an alias for field 'cf[10016]'."
            ],
        ),
        (
            "created, text, createdDate",
            [
                "Not able to sort using field 'text'.",
                "The sort field 'createdDate' is referenced multiple times in the JQL sort. "
                "Field 'createdDate' is an alias for field 'created'.",
            ],
        ),
    ],
)
def test_order_by_refusals(
    stores: dict[str, JiraStore], flavour: str, order: str, messages: list[str]
) -> None:
    assert refusal(stores[flavour], f"project = PAY ORDER BY {order}") == messages


def test_order_by_parent_by_flavour(stores: dict[str, JiraStore]) -> None:
    # Data Center's parent clause has no field to sort by; Cloud's parent is a field.
    assert refusal(stores["datacenter"], "project = PAY ORDER BY parent") == [
        "Not able to sort using field 'parent'."
    ]
    assert len(keys(stores["cloud"], "project = PAY ORDER BY parent")) == 37


def test_order_by_field_limit_on_cloud(stores: dict[str, JiraStore]) -> None:
    eight = "key, summary, created, updated, priority, status, assignee, reporter"
    assert refusal(stores["cloud"], f"project = PAY ORDER BY {eight}") == [
        "The ORDER BY clause can contain a maximum of 7 fields."
    ]
    seven = eight.rsplit(",", 1)[0]
    assert keys(stores["cloud"], f"project = PAY ORDER BY {seven}")[0] == "PAY-1"
    # Data Center has no such cap.
    assert len(keys(stores["datacenter"], f"project = PAY ORDER BY {eight}")) == 37


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_order_by_rank_is_creation_order(stores: dict[str, JiraStore], flavour: str) -> None:
    store = stores[flavour]
    ranked = keys(store, "project = PAY ORDER BY Rank")
    assert ranked == sorted(ranked, key=lambda k: store.issue(k).id)
    assert keys(store, "project = PAY ORDER BY rank DESC") == ranked[::-1]
    assert refusal(store, "project = PAY AND rank = 1") == [
        "The operator '=' is not supported by the 'Rank' field."
    ]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_issue_type_functions(stores: dict[str, JiraStore], flavour: str) -> None:
    store = stores[flavour]
    everything = set(keys(store, "project = PAY"))
    subtasks = set(keys(store, "project = PAY AND issuetype in subTaskIssueTypes()"))
    assert subtasks == {"PAY-10", "PAY-11"}
    standard = set(keys(store, "project = PAY AND issuetype in standardIssueTypes()"))
    assert standard == everything - subtasks and "PAY-1" in standard  # epics included
    assert set(keys(store, "project = PAY AND issuetype not in subTaskIssueTypes()")) == standard
    assert set(keys(store, "project = PAY AND type not in standardIssueTypes()")) == subtasks
    assert refusal(store, "issuetype in standardIssueTypes(Story)") == [
        "Function 'standardIssueTypes' expected '0' arguments but received '1'."
    ]


def test_epic_link_on_cloud_is_parent_for_epics(stores: dict[str, JiraStore]) -> None:
    cloud, dc = stores["cloud"], stores["datacenter"]
    children = keys(cloud, '"Epic Link" = PAY-1 ORDER BY key')
    assert (
        children
        == keys(cloud, "parent = PAY-1 ORDER BY key")
        == keys(dc, '"Epic Link" = PAY-1 ORDER BY key')
    )
    # Sub-tasks name their parent through parent, never through Epic Link.
    assert keys(cloud, '"Epic Link" = PAY-4') == []
    assert keys(cloud, "parent = PAY-4 ORDER BY key") == ["PAY-10", "PAY-11"]


def test_epic_link_reads(cloud_http: httpx.Client, dc_http: httpx.Client) -> None:
    cloud = cloud_http.get("/rest/api/3/issue/PAY-2").json()["fields"]
    assert cloud["customfield_10014"] is None and cloud["parent"]["key"] == "PAY-1"
    dc = dc_http.get("/rest/api/2/issue/PAY-2").json()["fields"]
    assert dc["customfield_10014"] == "PAY-1" and "parent" not in dc


def test_http_order_by_refusal_is_a_400(cloud_http: httpx.Client, dc_http: httpx.Client) -> None:
    expected = {"errorMessages": ["Field 'comment' does not support sorting."], "errors": {}}
    for answer in (
        cloud_http.get("/rest/api/3/search/jql", params={"jql": "project = PAY ORDER BY comment"}),
        dc_http.get("/rest/api/2/search", params={"jql": "project = PAY ORDER BY comment"}),
    ):
        assert (answer.status_code, answer.json()) == (400, expected)


def test_text_custom_fields_sort_only_when_single_line() -> None:
    store = load_store(demo_jira_seed(), "cloud")
    cf = "com.atlassian.jira.plugin.system.customfieldtypes:"
    store.create_custom_field("OKR Notes", cf + "textarea", None)
    store.create_custom_field("OKR Code", cf + "textfield", None)
    assert refusal(store, 'project = PAY ORDER BY "OKR Notes"') == [
        "Field 'OKR Notes' does not support sorting."
    ]
    assert len(keys(store, 'project = PAY ORDER BY "OKR Code"')) == 37
