"""An epics scope that names an issue of another type is refused, on both flavours: by
``okrsync check`` (one search for every epic key of the connection) and by a read (from
the search that already returns the epics), never measured as zero."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs

from connectors.base import FetchRequest, FetchResult, NotFoundError
from connectors.jira import JiraConnector
from mappings.schema import JiraEpicsScope, JqlScope, Scope
from okrsync.sandbox.server import SandboxServer
from tests.connectors.jira.conftest import searches

FIX = "name the epic, or use a jira_issues scope for single issues"


def epics(*keys: str, subtasks: bool = False) -> JiraEpicsScope:
    return JiraEpicsScope(kind="jira_epics", epics=keys, include_subtasks=subtasks)


def story_message(key: str, kind: str = "a Story") -> str:
    return f"{key} is {kind}, not an epic: an epics scope counts an epic's children"


def jql_of(entry: object) -> str:
    """The JQL a logged search carried (query string on GET, body on POST)."""
    body = getattr(entry, "body", None)
    if isinstance(body, dict) and "jql" in body:
        return str(body["jql"])
    return parse_qs(str(getattr(entry, "query", ""))).get("jql", [""])[0]


def test_a_story_named_as_an_epic_refuses_only_its_scope(
    connector: JiraConnector, server: SandboxServer
) -> None:
    good, story, mixed = (
        FetchRequest(epics("PAY-1")),
        FetchRequest(epics("PAY-4")),
        FetchRequest(epics("PAY-20", "PAY-7")),
    )
    _ = connector.flavour
    server.log.clear()
    results = connector.fetch([good, story, mixed])
    refused = results[story]
    assert isinstance(refused, NotFoundError)
    assert refused.message == story_message("PAY-4")
    assert isinstance(results[mixed], NotFoundError)
    assert results[mixed].message == story_message("PAY-7")  # type: ignore[union-attr]
    # The epic scope read in the same search is whole: PAY-4 and PAY-7 are its children,
    # not epics to leave out.
    read = results[good]
    assert isinstance(read, FetchResult)
    assert sorted(i.key for i in read.items) == sorted(f"PAY-{n}" for n in range(2, 10))
    assert read.total == 8
    # The issue types came with the epics: still one search, no read per key.
    assert len(searches(server)) == 1
    assert not [e for e in server.log.entries() if "/issue/" in e.path]


def test_a_sub_task_named_as_an_epic_is_refused_with_its_sub_tasks_asked_for(
    connector: JiraConnector,
) -> None:
    request = FetchRequest(epics("PAY-10", subtasks=True))
    refused = connector.fetch([request])[request]
    assert isinstance(refused, NotFoundError)
    assert refused.message == story_message("PAY-10", "a Sub-task")


def test_an_incremental_read_still_checks_the_type(connector: JiraConnector) -> None:
    since = datetime(2026, 11, 25, tzinfo=UTC)
    good, story = (
        FetchRequest(epics("PAY-1"), since=since),
        FetchRequest(epics("PAY-4"), since=since),
    )
    results = connector.fetch([good, story])
    assert isinstance(results[good], FetchResult)
    assert isinstance(results[story], NotFoundError)


def test_an_epic_whose_type_changed_is_refused_on_the_next_read(
    connector: JiraConnector, server: SandboxServer
) -> None:
    request = FetchRequest(epics("PAY-20"))
    assert isinstance(connector.fetch([request])[request], FetchResult)
    server.data.update_fields("PAY-20", {"issuetype": server.data.issue_type_json("Task")})
    refused = connector.fetch([request])[request]
    assert isinstance(refused, NotFoundError)
    assert refused.message == story_message("PAY-20", "a Task")


def test_an_epic_moved_to_another_project_is_still_an_epic(
    connector: JiraConnector, server: SandboxServer
) -> None:
    server.data.move_to_project("PAY-20", "PLAT")  # read again by its old key, with its type
    request = FetchRequest(epics("PAY-20"))
    read = connector.fetch([request])[request]
    assert isinstance(read, FetchResult), read
    assert len(read.items) == 5


def test_check_names_every_non_epic_with_its_scope_and_fix(
    connector: JiraConnector, server: SandboxServer
) -> None:
    scopes: list[Scope] = [
        epics("PAY-1", "PAY-20"),
        epics("PAY-4"),
        epics("PLAT-1", "PAY-7", "PAY-10"),
        epics("PAY-999"),
        JqlScope(kind="jql", jql="project = PAY"),
    ]
    _ = connector.flavour
    server.log.clear()
    report = connector.preflight(scopes, {})
    got = [(p.where, p.message, p.fix, p.scope) for p in report.problems]
    assert (
        "epics scope PAY-4",
        story_message("PAY-4"),
        FIX,
        scopes[1],
    ) in got
    assert ("epics scope PLAT-1, PAY-7, PAY-10", story_message("PAY-7"), FIX, scopes[2]) in got
    assert (
        "epics scope PLAT-1, PAY-7, PAY-10",
        story_message("PAY-10", "a Sub-task"),
        FIX,
        scopes[2],
    ) in got
    # A missing key is reported as before, once: the type check leaves it out.
    missing = [p for p in report.problems if p.scope == scopes[3]]
    assert len(missing) == 1 and "PAY-999" in missing[0].message
    assert len(report.problems) == 4
    # Every epic key of the connection is looked up in one search.
    lookups = [e for e in searches(server) if jql_of(e).startswith("key in")]
    assert len(lookups) == 1
    assert "issuetype" in lookups[0].query or "issuetype" in str(lookups[0].body)


def test_check_of_real_epics_finds_nothing(connector: JiraConnector) -> None:
    report = connector.preflight([epics("PAY-1"), epics("PAY-20", "PLAT-1", subtasks=True)], {})
    assert report.problems == []
