"""What a user sees when Teambition fails: each fault injected at the sandbox over HTTP."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from connectors.base import (
    AuthError,
    ConnectorError,
    FetchRequest,
    FetchResult,
    NotFoundError,
    QueryError,
)
from connectors.teambition import TeambitionConnector
from mappings.schema import TeambitionTagsScope, TeambitionTqlScope
from okrsync.sandbox.server import SandboxServer
from tests.connectors.teambition.conftest import (
    FAST_RETRY,
    HOME,
    PROJECT,
    SECRET,
    MakeConnector,
    Recorder,
    api_entries,
    fetch_scripted,
)

TAG = TeambitionTagsScope(kind="teambition_tags", project=PROJECT, tags=("tb-tag-okr",))


def _error(connector: TeambitionConnector, scope: object = TAG) -> ConnectorError:
    request = FetchRequest(scope)  # type: ignore[arg-type]
    answer = connector.fetch([request])[request]
    assert isinstance(answer, ConnectorError), answer
    return answer


def _items(connector: TeambitionConnector, scope: object = TAG) -> int:
    request = FetchRequest(scope)  # type: ignore[arg-type]
    answer = connector.fetch([request])[request]
    assert isinstance(answer, FetchResult), answer
    return len(answer.items)


def _statuses(server: SandboxServer) -> list[int]:
    return [e.status for e in api_entries(server)]


# ------------------------------------------------------------------ credentials and queries


def test_wrong_secret_is_an_auth_error_sent_once(
    make_connector: MakeConnector, tb: SandboxServer
) -> None:
    error = _error(make_connector(app_secret="not-the-secret"))
    assert isinstance(error, AuthError)
    assert error.message.startswith(
        "Teambition rejected the app token for connection 'main': check app_id/app_secret"
    )
    assert "not-the-secret" not in error.message
    assert not error.retryable
    assert _statuses(tb) == [401]


def test_unknown_tenant_names_tenant_id(make_connector: MakeConnector, tb: SandboxServer) -> None:
    error = _error(make_connector(tenant_id="tb-org-nope"))
    assert isinstance(error, AuthError)
    assert error.message.startswith(
        "Teambition refused organization (tenant_id) 'tb-org-nope' for connection 'main'"
    )
    assert not error.retryable
    assert _statuses(tb) == [403]


def test_operator_outside_the_organization_names_operator_id(
    make_connector: MakeConnector,
) -> None:
    error = _error(make_connector(operator_id="tb-user-stranger"))
    assert isinstance(error, AuthError)
    assert "operator_id 'tb-user-stranger'" in error.message


def test_bad_tql_is_a_query_error_with_the_server_words_and_the_tql(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    scope = TeambitionTqlScope(kind="teambition_tql", project=PROJECT, tql="isDone = = true")
    error = _error(connector, scope)
    assert isinstance(error, QueryError)
    assert error.message.startswith(
        "Teambition rejected the TQL 'isDone = = true' for connection 'main': TQL error at "
    )
    assert not error.retryable
    assert _statuses(tb) == [400]


def test_unknown_project_is_not_found(connector: TeambitionConnector) -> None:
    scope = TeambitionTqlScope(kind="teambition_tql", project="tb-proj-gone")
    error = _error(connector, scope)
    assert isinstance(error, NotFoundError)
    assert error.message.startswith("Teambition has no project 'tb-proj-gone'")


# ------------------------------------------------------------------ rate limits


def test_429_waits_for_retry_after_then_reads_everything(
    make_connector: MakeConnector, tb: SandboxServer
) -> None:
    tb.faults.set(rate_limit=2, retry_after=1)
    assert _items(make_connector(page_size=2)) == 8
    entries = api_entries(tb)
    limited = [i for i, e in enumerate(entries) if e.status == 429]
    assert limited, "the sandbox limit was never reached"
    for index in limited:
        gap = entries[index + 1].time - entries[index].time
        assert gap >= 0.99, f"request {index + 1} came {gap:.3f} s after a 429 (Retry-After: 1)"
    assert entries[-1].status == 200


def test_429_that_persists_gives_up_retryable_after_bounded_attempts(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.faults.fail(status=429, count=50, retry_after=0)
    error = _error(connector)
    assert error.retryable and error.status == 429
    assert error.message.startswith(f"Teambition at {tb.url} is rate limiting requests (HTTP 429)")
    assert "after 4 attempts" in error.message
    assert _statuses(tb) == [429] * FAST_RETRY.max_attempts


def test_client_side_pacing_keeps_a_burst_under_the_limit(
    make_connector: MakeConnector, tb: SandboxServer
) -> None:
    scopes = [
        TeambitionTqlScope(kind="teambition_tql", project=PROJECT, tql=f"uniqueId = {n}")
        for n in range(1, 21)
    ]
    tb.faults.set(rate_limit=7, retry_after=1)
    counts = make_connector(requests_per_second=5, concurrency=8).count(scopes)
    assert all(isinstance(v, int) for v in counts.values()), counts
    assert _statuses(tb) == [200] * 20

    # The same burst without pacing does trip the limit (so the check above can fail).
    tb.log.clear()
    tb.faults.set(retry_after=0)
    make_connector(requests_per_second=40, concurrency=8).count(scopes)
    assert 429 in _statuses(tb)


# ------------------------------------------------------------------ outages


def test_5xx_spell_then_recovery(connector: TeambitionConnector, tb: SandboxServer) -> None:
    tb.faults.fail(status=503, count=2)
    assert _items(connector) == 8
    assert _statuses(tb)[:3] == [503, 503, 200]


def test_5xx_that_persists_is_retryable_and_says_where(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.faults.fail(status=502, count=50)
    error = _error(connector)
    assert error.retryable and error.status == 502
    assert error.message.startswith(
        f"Teambition at {tb.url} is failing (HTTP 502) after 4 attempts"
    )
    assert len(api_entries(tb)) == FAST_RETRY.max_attempts


def test_envelope_error_with_http_200_is_an_error(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.data.fail_in_envelope(code=404, message="project is archived", count=1)
    error = _error(connector)
    assert isinstance(error, NotFoundError)
    assert error.message.endswith("(Teambition said: project is archived)")
    assert _statuses(tb) == [200]


def test_envelope_server_error_is_retried_then_reported(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.data.fail_in_envelope(code=500, message="storage busy", count=1)
    assert _items(connector) == 8

    tb.log.clear()
    tb.faults.fail(status=200, count=50)
    error = _error(connector)
    assert error.retryable
    assert "is failing (HTTP 200 with envelope code 500) after 4 attempts" in error.message
    assert "The service is temporarily unavailable" in error.message
    assert _statuses(tb) == [200] * FAST_RETRY.max_attempts


def test_dropped_connection_then_recovery(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.faults.drop(count=1)
    assert _items(connector) == 8
    assert _statuses(tb)[:2] == [0, 200]


def test_connection_that_stays_down_says_cannot_reach(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.faults.drop(count=50)
    error = _error(connector)
    assert error.retryable
    assert error.message.startswith(f"cannot reach Teambition at {tb.url}")


def test_nothing_listening_says_cannot_reach(make_connector: MakeConnector) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    error = _error(make_connector(base_url=url))
    assert error.retryable
    assert error.message.startswith(f"cannot reach Teambition at {url}")


def test_a_comment_is_not_resent_after_a_lost_answer(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.faults.drop(count=1, path="/comment")
    with pytest.raises(ConnectorError) as caught:
        connector.add_comment(HOME, "Status: on track")
    assert caught.value.message.startswith(f"cannot reach Teambition at {tb.url}")
    assert [e.method for e in api_entries(tb)] == ["POST"]


# ------------------------------------------------------------------ secrets


def test_secret_and_tokens_stay_out_of_logs_reprs_and_messages(
    make_connector: MakeConnector, tb: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()
    good = make_connector(transport=recorder)
    bad = make_connector(app_secret="canary-secret-123", transport=recorder)
    tb.faults.fail(status=429, count=1, retry_after=0)
    messages = [str(_items(good)), _error(bad).message]
    tokens = {s.headers["authorization"].split()[1] for s in recorder.sent}
    assert len(tokens) == 2
    seen = "\n".join([caplog.text, *messages, repr(good), repr(bad), repr(good.settings)])
    for secret in (SECRET, "canary-secret-123", *tokens):
        assert secret not in seen


def test_envelope_permission_error_points_at_permissions(
    connector: TeambitionConnector, tb: SandboxServer
) -> None:
    tb.data.fail_in_envelope(code=403, message="no permission to read tasks", count=1)
    error = _error(connector)
    assert isinstance(error, AuthError)
    assert "(HTTP 403): check the app's permissions in organization 'tb-org-demo'" in error.message
    assert error.message.endswith("(Teambition said: no permission to read tasks)")


def test_an_empty_page_ends_a_listing_even_with_a_next_token() -> None:
    """A server that keeps handing out fresh tokens for empty pages must not be followed."""
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        n = len(calls)
        tasks = [{"id": "t1", "projectId": "p", "content": "x", "isDone": True}] if n == 1 else []
        body = {"code": 200, "result": tasks, "nextPageToken": f"page-{n}", "totalSize": 1}
        return httpx.Response(200, json=body)

    result = fetch_scripted(answer)
    assert isinstance(result, FetchResult), result
    assert [i.id for i in result.items] == ["t1"]
    assert len([c for c in calls if c.url.path.endswith("/task/query")]) == 2


@pytest.mark.parametrize("code", ["InvalidParameter", 40013])
def test_an_envelope_code_of_teambition_s_own_is_a_refusal_not_an_outage(
    connector: TeambitionConnector, tb: SandboxServer, code: object
) -> None:
    tb.data.fail_in_envelope(code=code, message="tagId is invalid", count=1)
    error = _error(connector)
    assert not error.retryable
    assert error.message == (
        "Teambition refused reading project 'tb-proj-mobile' for connection 'main' "
        f"(HTTP 200 with envelope code {code}): tagId is invalid"
    )
    assert _statuses(tb) == [200]  # sent once: retrying cannot help


def test_default_pacing_stays_under_teambition_s_40_per_second(
    make_connector: MakeConnector, tb: SandboxServer
) -> None:
    """Eight threads counting 60 scopes with default settings meet no 429 from the
    sandbox's own quota of 40 requests per second per endpoint."""
    tb.data.quota.configure(40, 1)
    scopes = [
        TeambitionTqlScope(kind="teambition_tql", project=PROJECT, tql=f"uniqueId = {n}")
        for n in range(1, 61)
    ]
    counts = make_connector(concurrency=8).count(scopes)
    assert all(isinstance(v, int) for v in counts.values()), counts
    assert _statuses(tb) == [200] * 60


def test_a_task_seen_on_two_pages_counts_once_and_one_without_id_is_skipped() -> None:
    """Paging while people edit can repeat a task on the next page."""
    pages = {
        "": ([{"id": "t1"}, {"id": "t2"}], "p2"),
        "p2": ([{"id": "t2"}, {"content": "no id"}, {"id": "t3"}], ""),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/task/query"):  # the project look-up
            return httpx.Response(200, json={"code": 200, "result": [], "nextPageToken": ""})
        tasks, token = pages[request.url.params.get("pageToken", "")]
        full = [{"projectId": "p", "content": "x", "isDone": False, **t} for t in tasks]
        body = {"code": 200, "result": full, "nextPageToken": token, "totalSize": 3}
        return httpx.Response(200, json=body)

    result = fetch_scripted(answer)
    assert isinstance(result, FetchResult), result
    assert [i.id for i in result.items] == ["t1", "t2", "t3"]
