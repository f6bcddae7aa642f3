"""What a user reads when Jira fails, and how the connector rides out faults.

Faults are injected by the sandbox over HTTP (statuses, Retry-After, dropped connections).
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from connectors.base import (
    AuthError,
    ConnectorError,
    FetchRequest,
    FetchResult,
    FieldRef,
    FieldWrite,
    NotFoundError,
    QueryError,
)
from connectors.jira import JiraConnector
from connectors.retry import RetryEvent, RetryPolicy, RetrySettings
from mappings.schema import JiraEpicsScope, JqlScope
from okrsync.sandbox.server import SandboxServer
from tests.connectors.jira.conftest import FAST, VIEWER, ConnectorFactory, searches

EPIC = FetchRequest(JiraEpicsScope(kind="jira_epics", epics=("PAY-20",)))


def fetch_error(connector: JiraConnector, request: FetchRequest = EPIC) -> ConnectorError:
    result = connector.fetch([request])[request]
    assert isinstance(result, ConnectorError), result
    return result


def test_401_bad_credentials(make_connector: ConnectorFactory, flavour: str) -> None:
    wrong = {"pat": "not-the-pat"} if flavour == "datacenter" else {"api_token": "wrong-token"}
    connector = make_connector(**wrong)
    error = fetch_error(connector)
    assert isinstance(error, AuthError)
    assert error.message == (
        f"Jira rejected the credentials for connection '{flavour}' (check email/api_token or pat)"
    )
    report = connector.preflight([EPIC.scope], {"OKR-1": ["OKR Progress"]})
    assert [p.message for p in report.problems] == [error.message]
    secret = next(iter(wrong.values()))
    assert secret not in error.message and secret not in repr(report)


def test_403_no_permission_to_edit(make_connector: ConnectorFactory, flavour: str) -> None:
    viewer = make_connector(**VIEWER[flavour])
    write = FieldWrite("OKR-1", "OKR Progress", 50.0)
    error = viewer.write_fields([write])[write]
    assert isinstance(error, AuthError) and error.status == 403
    assert error.message.startswith(
        f"Jira denied the field update on OKR-1 to connection '{flavour}' (HTTP 403)"
    )
    assert "You do not have permission to edit issues" in error.message


def test_404_missing_issue(connector: JiraConnector, server: SandboxServer, flavour: str) -> None:
    ref = FieldRef("PAY-999", "OKR Progress")
    error = connector.read_fields([ref])[ref]
    assert isinstance(error, NotFoundError)
    assert error.message == (
        f"issue PAY-999 does not exist on Jira at {server.url} or connection '{flavour}' "
        "cannot see it: check the key in the mapping, or grant that user Browse permission "
        "on the project"
    )
    with pytest.raises(NotFoundError, match="issue PAY-999 does not exist"):
        connector.add_comment("PAY-999", "hello")


def test_400_bad_jql_keeps_jiras_words_and_the_users_query(connector: JiraConnector) -> None:
    request = FetchRequest(JqlScope(kind="jql", jql="project = = PAY"))
    error = fetch_error(connector, request)
    assert isinstance(error, QueryError) and not error.retryable
    # Jira's words, its position pointing into the JQL the user wrote, not the one okrsync
    # sent with its sub-task filter added.
    assert error.message == (
        "Jira rejected the query: Error in the JQL Query: Expecting either a value, list or "
        "function but got '='. You must surround '=' in quotation marks to use it as a "
        "value. (line 1, character 11) (JQL: project = = PAY)"
    )
    report = connector.preflight([request.scope], {})
    (problem,) = report.problems
    assert problem.where == "jql scope 'project = = PAY'"
    assert problem.message == error.message
    assert problem.fix == "fix the query in the mapping"


def test_400_position_on_a_later_line_of_an_incremental_read(connector: JiraConnector) -> None:
    jql = "labels = checkout\n  AND status = = Done ORDER BY key"
    since = datetime(2026, 11, 1, tzinfo=UTC)
    error = fetch_error(connector, FetchRequest(JqlScope(kind="jql", jql=jql), since=since))
    assert isinstance(error, QueryError)
    assert "(line 2, character 16)" in error.message
    assert error.message.endswith(f"(JQL: {jql})")
    assert "issuetype" not in error.message and "updated" not in error.message


@pytest.mark.parametrize("flavour", ["cloud"])  # only Cloud removed the old search API
def test_410_old_search_api_on_cloud(make_connector: ConnectorFactory) -> None:
    # Told it is Data Center, the library would use the removed /search.
    error = fetch_error(make_connector(flavour="datacenter"))
    assert error.status == 410
    assert "needs the new one (/rest/api/3/search/jql)" in error.message
    assert 'flavour = "cloud"' in error.message


def test_cloud_connector_never_calls_the_removed_search(
    connector: JiraConnector, server: SandboxServer, flavour: str
) -> None:
    requests = [
        EPIC,
        FetchRequest(JqlScope(kind="jql", jql="labels = checkout")),
        FetchRequest(JiraEpicsScope(kind="jira_epics", epics=("PAY-1",), include_subtasks=True)),
    ]
    assert all(isinstance(r, FetchResult) for r in connector.fetch(requests).values())
    connector.count([r.scope for r in requests])
    old_api = [e for e in server.log.entries() if e.path.rstrip("/").endswith("/search")]
    assert bool(old_api) == (flavour == "datacenter")
    assert all(e.status < 400 for e in searches(server))


def test_429_next_request_waits_retry_after(
    make_connector: ConnectorFactory, server: SandboxServer
) -> None:
    events: list[RetryEvent] = []
    connector = make_connector(retry=RetryPolicy(FAST, on_retry=events.append), concurrency=4)
    _ = connector.flavour
    requests = [
        FetchRequest(JqlScope(kind="jql", jql=f"labels = checkout AND key = PAY-{n}"))
        for n in range(30, 36)
    ]
    connector.refresh()
    _ = connector.client.catalog()
    server.log.clear()
    server.faults.fail(status=429, count=1, retry_after=1)
    results = connector.fetch(requests)
    assert all(isinstance(r, FetchResult) and len(r.items) == 1 for r in results.values())
    entries = server.log.entries()
    limited = [e for e in entries if e.status == 429]
    assert len(limited) == 1
    later = [e for e in entries if e.time > limited[0].time]
    assert later, "the request was retried"
    # No request from any thread reached Jira sooner than Retry-After.
    assert all(e.time - limited[0].time >= 1.0 for e in later)
    assert [e.reason for e in events] == ["HTTP 429"]


def test_429_that_does_not_stop_gives_wait_advice(
    make_connector: ConnectorFactory, server: SandboxServer, flavour: str
) -> None:
    retry = RetryPolicy(RetrySettings(max_attempts=2, max_wait=5))
    connector = make_connector(retry=retry)
    _ = connector.flavour
    server.faults.fail(status=429, count=5, retry_after=1)
    error = fetch_error(connector)
    assert error.retryable and error.status == 429
    assert error.message.startswith(
        f"Jira at {server.url} is rate limiting okrsync (HTTP 429) and asked to wait 1 s"
    )
    assert "the next cycle will try again" in error.message


def test_503_spell_then_recovery(connector: JiraConnector, server: SandboxServer) -> None:
    _ = connector.flavour
    server.log.clear()
    server.faults.fail(status=503, count=2)
    result = connector.fetch([EPIC])[EPIC]
    assert isinstance(result, FetchResult) and len(result.items) == 5
    statuses = [e.status for e in server.log.entries()]
    assert statuses[:2] == [503, 503] and all(s == 200 for s in statuses[2:])


def test_503_outage_is_retryable_and_says_so(
    connector: JiraConnector, server: SandboxServer
) -> None:
    _ = connector.flavour
    server.log.clear()
    server.faults.fail(status=503, count=50)
    error = fetch_error(connector)
    assert error.retryable and error.status == 503
    assert error.message.startswith(f"Jira at {server.url} is unavailable (HTTP 503)")
    assert len(server.log.entries()) == FAST.max_attempts


def test_dropped_connections_then_recovery(connector: JiraConnector, server: SandboxServer) -> None:
    _ = connector.flavour
    server.log.clear()
    server.faults.drop(count=2, path="/search")
    result = connector.fetch([EPIC])[EPIC]
    assert isinstance(result, FetchResult) and len(result.items) == 5
    assert [e.status for e in searches(server)] == [0, 0, 200]


def test_dropped_connections_that_persist_say_so(
    connector: JiraConnector, server: SandboxServer, flavour: str
) -> None:
    _ = connector.flavour
    server.log.clear()
    server.faults.drop(count=50, path="/search")
    error = fetch_error(connector)
    assert error.retryable
    assert error.message == (
        f"Jira at {server.url} dropped the connection or did not answer the search in time "
        f"(ConnectionError) for connection '{flavour}', also on retry; the next cycle will "
        "try again (if it persists, check proxies or raise 'timeout')"
    )
    assert len(searches(server)) == FAST.max_attempts


def test_dropped_comment_is_not_sent_twice(
    connector: JiraConnector, server: SandboxServer, flavour: str
) -> None:
    _ = connector.flavour
    before = len(server.data.issue("OKR-1").comments)
    server.log.clear()
    server.faults.drop(count=1, path="/comment")
    with pytest.raises(ConnectorError) as raised:
        connector.add_comment("OKR-1", "Status changed")
    assert raised.value.retryable
    assert raised.value.message == (
        f"Jira at {server.url} dropped the connection during the comment on OKR-1 "
        f"(ConnectionError) for connection '{flavour}'; okrsync did not send it again, as "
        "Jira may have applied it: check before repeating it"
    )
    assert len([e for e in server.log.entries() if e.path.endswith("/comment")]) == 1
    assert len(server.data.issue("OKR-1").comments) == before


def test_unreachable_jira(make_connector: ConnectorFactory, flavour: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    connector = make_connector(url=url)
    error = fetch_error(connector)
    assert error.retryable
    assert error.message.startswith(f"cannot reach Jira at {url} (ConnectionError)")
    report = connector.preflight([EPIC.scope], {})
    assert report.problems[0].message == error.message
