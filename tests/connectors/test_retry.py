"""The shared retry policy, driven over real HTTP against a scripted local server.

Waits are recorded by an injected sleep that advances an injected clock (no real sleeping),
except in the one test that proves, with server timestamps, that after ``429 Retry-After``
no request from any thread reaches the host sooner.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import requests
from jira.exceptions import JIRAError

from connectors.retry import (
    Failure,
    Fatal,
    HostBusyError,
    Retryable,
    RetryEvent,
    RetryPolicy,
    RetrySettings,
    classify,
    parse_retry_after,
)
from tests.connectors.scripted_server import DROP, ScriptedServer


class FakeTime:
    """A clock that only moves when the policy sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer().start()
    yield srv
    srv.stop()


def policy(fake: FakeTime, events: list[RetryEvent] | None = None, **bounds: float) -> RetryPolicy:
    settings = RetrySettings.model_validate(bounds)
    return RetryPolicy(
        settings,
        sleep=fake.sleep,
        clock=fake.clock,
        on_retry=events.append if events is not None else None,
        rng=random.Random(7),
    )


def get(url: str, method: str = "GET") -> requests.Response:
    response = requests.request(method, url, timeout=5)
    response.raise_for_status()
    return response


# --------------------------------------------------------------------------- classification


def _requests_error(status: int, retry_after: str | None = None) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.url = "https://acme.atlassian.net/rest/api/2/search"
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return requests.HTTPError(response=response)


def _jira_error(status: int, retry_after: str | None = None) -> JIRAError:
    response = _requests_error(status, retry_after).response
    return JIRAError(status_code=status, text="x", response=response)


def _httpx_error(status: int, retry_after: str | None = None) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "https://open.teambition.com/api/task")
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    response = httpx.Response(status, headers=headers, request=request)
    return httpx.HTTPStatusError("x", request=request, response=response)


@pytest.mark.parametrize("make", [_requests_error, _jira_error, _httpx_error])
@pytest.mark.parametrize(
    ("status", "retry_after", "idempotent", "expected"),
    [
        (429, "7", True, Retryable(7.0)),
        (429, "7", False, Retryable(7.0)),  # the server refused it: safe to send again
        (503, "3", False, Retryable(3.0)),
        (503, None, True, Retryable(None)),
        (429, "500", True, Retryable(120.0)),  # capped at max_wait
        (500, None, True, Retryable(None)),
        (502, None, True, Retryable(None)),
        (500, None, False, Fatal()),  # it may have been applied
        (400, None, True, Fatal()),
        (401, None, True, Fatal()),
        (403, None, True, Fatal()),
        (404, None, True, Fatal()),
        (410, None, True, Fatal()),
    ],
)
def test_classification_table(make, status, retry_after, idempotent, expected) -> None:
    got = classify(make(status, retry_after), idempotent=idempotent, max_wait=120.0)
    assert type(got) is type(expected)
    if isinstance(expected, Retryable):
        assert isinstance(got, Retryable)
        assert got.after == expected.after


def test_transport_errors_are_classified_by_whether_the_request_left() -> None:
    request = httpx.Request("POST", "https://open.teambition.com/api/task")
    refused = httpx.ConnectError("refused", request=request)
    dropped = httpx.RemoteProtocolError("peer closed", request=request)
    timeout = httpx.ReadTimeout("slow", request=request)
    assert isinstance(classify(refused, idempotent=False), Retryable)
    assert isinstance(classify(dropped, idempotent=True), Retryable)
    assert isinstance(classify(dropped, idempotent=False), Fatal)
    assert isinstance(classify(timeout, idempotent=False), Fatal)
    assert isinstance(classify(ValueError("bug")), Fatal)
    # A connector's own adapter output is classified the same way.
    assert isinstance(classify(Failure(status=429, retry_after="2")), Retryable)


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    in_90s = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(in_90s, now=now.timestamp()) == pytest.approx(90.0)
    past = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(past, now=now.timestamp()) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# --------------------------------------------------------------------------- the policy over HTTP


def test_429_waits_exactly_retry_after_then_succeeds(server: ScriptedServer) -> None:
    fake, events = FakeTime(), list[RetryEvent]()
    server.script.extend([(429, {"Retry-After": "2"}), (429, {"Retry-After": "3"})])
    response = policy(fake, events).call(
        lambda: get(server.url + "/rest/api/2/search"),
        idempotent=True,
        describe="search",
        host=server.url,
    )
    assert response.status_code == 200
    assert fake.waits == [2.0, 3.0]
    assert [(e.attempt, e.wait, e.reason) for e in events] == [
        (1, 2.0, "HTTP 429"),
        (2, 3.0, "HTTP 429"),
    ]
    assert [a.status for a in server.arrivals] == [429, 429, 200]


def test_http_date_retry_after_is_honoured(server: ScriptedServer) -> None:
    fake = FakeTime()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.script.append((503, {"Retry-After": when}))
    policy(fake).call(lambda: get(server.url), idempotent=True, describe="x", host=server.url)
    assert len(fake.waits) == 1
    assert 27.0 <= fake.waits[0] <= 30.0


def test_503_spell_backs_off_exponentially_with_jitter(server: ScriptedServer) -> None:
    fake = FakeTime()
    server.script.extend([(503, {}), (502, {}), (500, {})])
    p = policy(fake, initial_wait=2.0, max_backoff=5.0)
    assert p.call(lambda: get(server.url), idempotent=True, describe="x").status_code == 200
    first, second, third = fake.waits
    assert 1.4 <= first <= 2.6  # 2 s x 0.7-1.3
    assert 2.8 <= second <= 5.0  # 4 s x 0.7-1.3, capped at max_backoff
    assert third <= 5.0  # 8 s capped
    assert len(server.arrivals) == 4


def test_attempts_are_bounded(server: ScriptedServer) -> None:
    fake = FakeTime()
    server.script.extend([(503, {})] * 10)
    with pytest.raises(requests.HTTPError) as raised:
        policy(fake, max_attempts=3).call(lambda: get(server.url), idempotent=True, describe="x")
    assert raised.value.response.status_code == 503
    assert len(server.arrivals) == 3
    assert len(fake.waits) == 2


def test_total_wait_is_bounded(server: ScriptedServer) -> None:
    fake = FakeTime()
    server.script.extend([(429, {"Retry-After": "10"})] * 10)
    with pytest.raises(requests.HTTPError):
        policy(fake, max_total_wait=25.0).call(
            lambda: get(server.url), idempotent=True, describe="x"
        )
    assert fake.waits == [10.0, 10.0]  # a third wait would pass 25 s
    assert len(server.arrivals) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_client_errors_fail_at_once(server: ScriptedServer, status: int) -> None:
    fake = FakeTime()
    server.script.append((status, {}))
    with pytest.raises(requests.HTTPError):
        policy(fake).call(lambda: get(server.url), idempotent=True, describe="x")
    assert len(server.arrivals) == 1
    assert fake.waits == []


def test_non_idempotent_call_is_not_retried_after_a_5xx(server: ScriptedServer) -> None:
    fake = FakeTime()
    server.script.append((500, {}))
    with pytest.raises(requests.HTTPError):
        policy(fake).call(lambda: get(server.url, "POST"), idempotent=False, describe="comment")
    assert len(server.arrivals) == 1


def test_non_idempotent_call_is_retried_after_429(server: ScriptedServer) -> None:
    fake = FakeTime()
    server.script.append((429, {"Retry-After": "1"}))
    p = policy(fake)
    assert p.call(lambda: get(server.url, "POST"), idempotent=False, describe="c").ok
    assert [a.method for a in server.arrivals] == ["POST", "POST"]


def test_dropped_connection_retried_only_when_idempotent(server: ScriptedServer) -> None:
    fake = FakeTime()
    server.script.extend([DROP, DROP])
    assert policy(fake).call(lambda: get(server.url), idempotent=True, describe="x").ok
    assert [a.status for a in server.arrivals] == [None, None, 200]

    server.arrivals.clear()
    server.script.append(DROP)
    with pytest.raises(requests.ConnectionError):
        policy(fake).call(lambda: get(server.url, "POST"), idempotent=False, describe="x")
    assert len(server.arrivals) == 1


def test_connect_errors_are_retried_even_for_non_idempotent_calls() -> None:
    fake = FakeTime()
    srv = ScriptedServer().start()
    url = srv.url
    srv.stop()  # nothing listens on the port any more
    calls = []

    def post() -> requests.Response:
        calls.append(1)
        return get(url, "POST")

    with pytest.raises(requests.ConnectionError):
        policy(fake, max_attempts=3).call(post, idempotent=False, describe="x")
    assert len(calls) == 3


def test_httpx_error_responses_are_retried_and_the_last_is_returned(
    server: ScriptedServer,
) -> None:
    fake = FakeTime()
    server.script.extend([(503, {"Retry-After": "1"}), (200, {})])
    with httpx.Client() as client:
        p = policy(fake, max_attempts=2)
        assert p.call(lambda: client.get(server.url), idempotent=True, describe="x").is_success
        server.script.extend([(503, {}), (503, {})])
        last = p.call(lambda: client.get(server.url), idempotent=True, describe="x")
    assert last.status_code == 503
    assert [a.status for a in server.arrivals] == [503, 200, 503, 503]


def test_retry_after_beyond_max_wait_fails_fast_and_holds_the_host(
    server: ScriptedServer,
) -> None:
    fake = FakeTime()
    server.script.append((429, {"Retry-After": "600"}))
    p = policy(fake, max_wait=60.0)
    with pytest.raises(requests.HTTPError):
        p.call(lambda: get(server.url), idempotent=True, describe="x", host=server.url)
    assert fake.waits == []
    # Any later call to that host is refused without reaching it, until the time passed.
    with pytest.raises(HostBusyError):
        p.call(lambda: get(server.url), idempotent=True, describe="y", host=server.url)
    assert len(server.arrivals) == 1
    fake.now += 600
    assert p.call(lambda: get(server.url), idempotent=True, describe="z", host=server.url).ok


def test_gate_holds_other_threads_after_429_with_real_waits(server: ScriptedServer) -> None:
    """After 429 + Retry-After: 1, no request (from any thread) arrives sooner than 1 s."""
    server.script.append((429, {"Retry-After": "1"}))
    first_failed = threading.Event()
    seen: list[RetryEvent] = []

    def on_retry(event: RetryEvent) -> None:
        seen.append(event)
        first_failed.set()

    p = RetryPolicy(RetrySettings(), on_retry=on_retry)
    results: list[bool] = []

    def first() -> None:
        results.append(
            p.call(
                lambda: get(server.url + "/a"), idempotent=True, describe="a", host=server.url
            ).ok
        )

    def other() -> None:
        assert first_failed.wait(5)
        results.append(
            p.call(
                lambda: get(server.url + "/b"), idempotent=True, describe="b", host=server.url
            ).ok
        )

    threads = [threading.Thread(target=first), threading.Thread(target=other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [True, True]
    limited = server.arrivals[0]
    assert limited.status == 429
    later = server.arrivals[1:]
    assert sorted(a.path for a in later) == ["/a", "/b"]
    assert all(a.time - limited.time >= 1.0 for a in later)


def test_waiting_at_the_host_gate_counts_toward_the_total_wait(server: ScriptedServer) -> None:
    fake = FakeTime()
    p = policy(fake, max_total_wait=25.0, max_wait=60.0)
    host = server.url.split("//", 1)[1]
    # Another thread was told to pause 20 s: this call waits that out, then gets a 429
    # asking for 10 s more, which would take it past its 25 s budget.
    p.gate.hold(host, 20.0)
    server.script.extend([(429, {"Retry-After": "10"}), (200, {})])
    with pytest.raises(requests.HTTPError):
        p.call(lambda: get(server.url), idempotent=True, describe="x", host=server.url)
    assert fake.waits == [20.0]
    assert [a.status for a in server.arrivals] == [429]

    # A hold longer than what is left of the budget is not waited for at all.
    server.arrivals.clear()
    p.gate.hold(host, 30.0)
    with pytest.raises(HostBusyError):
        p.call(lambda: get(server.url), idempotent=True, describe="y", host=server.url)
    assert server.arrivals == []
