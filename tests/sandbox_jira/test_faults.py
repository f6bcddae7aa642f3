"""Faults injected at the HTTP level: latency, 429s, 503 spells, dropped connections, log."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import requests
from jira import JIRA, JIRAError

from okrsync.sandbox.server import SandboxServer
from tests.sandbox_jira.conftest import CLOUD_AUTH

EDIT = {"fields": {"customfield_10100": 0.5}}


def test_fixed_and_random_latency(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    cloud.faults.set(latency=0.3)
    started = time.monotonic()
    assert cloud_http.get("/rest/api/3/myself").status_code == 200
    assert time.monotonic() - started >= 0.3
    cloud.faults.set(latency=(0.2, 0.25))
    started = time.monotonic()
    cloud_http.get("/rest/api/3/myself")
    assert time.monotonic() - started >= 0.2


def test_burst_rate_limit_answers_429_with_integer_retry_after(
    cloud: SandboxServer, cloud_http: httpx.Client
) -> None:
    cloud.faults.set(rate_limit=2, retry_after=3)
    statuses = [cloud_http.get("/rest/api/3/myself") for _ in range(6)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, "a burst above the limit must be refused"
    first = limited[0]
    assert first.headers["Retry-After"] == "3"
    assert first.headers["RateLimit-Reason"] == "jira-burst-based"
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "0"
    assert first.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}


def test_pycontribs_client_without_retries_raises_on_429(cloud: SandboxServer) -> None:
    client = JIRA(server=cloud.url, basic_auth=CLOUD_AUTH, max_retries=0)
    cloud.faults.set(rate_limit=1, retry_after=1)
    with pytest.raises(JIRAError) as raised:
        for _ in range(5):
            client.issue("PAY-1", fields="summary")
    assert raised.value.status_code == 429


def test_write_limit_counts_writes_per_issue(
    cloud: SandboxServer, cloud_http: httpx.Client
) -> None:
    cloud.faults.set(write_limit=2, retry_after=1)
    first = cloud_http.put("/rest/api/3/issue/OKR-1", json=EDIT)
    by_id = cloud_http.put("/rest/api/3/issue/12001", json=EDIT)  # OKR-1 by its id
    third = cloud_http.put("/rest/api/3/issue/OKR-1", json=EDIT)
    assert (first.status_code, by_id.status_code, third.status_code) == (204, 204, 429)
    assert third.headers["Retry-After"] == "1"
    assert third.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
    assert cloud_http.put("/rest/api/3/issue/OKR-2", json=EDIT).status_code == 204
    assert cloud_http.get("/rest/api/3/issue/OKR-1").status_code == 200


def test_write_limit_is_exact_under_concurrency(
    cloud: SandboxServer, cloud_http: httpx.Client
) -> None:
    cloud.faults.set(write_limit=3)

    def put(_: int) -> int:
        url = f"{cloud.url}/rest/api/3/issue/OKR-3"
        return httpx.put(url, json=EDIT, auth=CLOUD_AUTH, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(put, range(10)))
    assert sorted(codes) == [204] * 3 + [429] * 7


def test_503_spell_then_recovery(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    cloud.faults.fail(status=503, count=2, retry_after=1)
    answers = [cloud_http.get("/rest/api/3/myself") for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "1"
    assert answers[0].json()["errorMessages"]


def test_fail_matches_only_its_path(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    cloud.faults.fail(status=500, count=1, path="/search/jql")
    assert cloud_http.get("/rest/api/3/myself").status_code == 200
    search = cloud_http.get("/rest/api/3/search/jql", params={"jql": "project = OKR"})
    assert search.status_code == 500
    again = cloud_http.get("/rest/api/3/search/jql", params={"jql": "project = OKR"})
    assert again.status_code == 200


def test_dropped_connections_are_client_connection_errors(
    cloud: SandboxServer, cloud_http: httpx.Client
) -> None:
    cloud.faults.drop(count=2)
    with pytest.raises(httpx.TransportError):
        cloud_http.get("/rest/api/3/myself")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{cloud.url}/rest/api/3/myself", auth=CLOUD_AUTH, timeout=10)
    assert cloud_http.get("/rest/api/3/myself").status_code == 200
    assert [e.status for e in cloud.log.entries()] == [0, 0, 200]


def test_dropped_write_is_not_applied(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    cloud.faults.drop(count=1, path="/issue/OKR-4")
    with pytest.raises(httpx.TransportError):
        cloud_http.put("/rest/api/3/issue/OKR-4", json=EDIT)
    assert cloud.data.issue("OKR-4").fields.get("customfield_10100") is None


def test_request_log_records_what_was_asked_and_answered(
    cloud: SandboxServer, cloud_http: httpx.Client
) -> None:
    before = time.time()
    cloud_http.get("/rest/api/3/search/jql", params={"jql": "project = OKR"})
    cloud_http.put("/rest/api/3/issue/PAY-2", json=EDIT)
    search, put = cloud.log.entries()
    assert (search.method, search.path, search.status, search.body) == (
        "GET",
        "/rest/api/3/search/jql",
        200,
        None,
    )
    assert search.query == "jql=project+%3D+OKR"
    assert (put.method, put.path, put.status, put.body) == (
        "PUT",
        "/rest/api/3/issue/PAY-2",
        400,
        EDIT,
    )
    assert before <= search.time <= put.time <= time.time()
    cloud.log.clear()
    assert cloud.log.entries() == []


def test_reset_clears_every_fault(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    cloud.faults.set(latency=5, rate_limit=1, write_limit=1)
    cloud.faults.fail(count=5)
    cloud.faults.drop(count=5)
    cloud.faults.reset()
    assert all(cloud_http.get("/rest/api/3/myself").status_code == 200 for _ in range(3))


def test_admin_endpoints(cloud: SandboxServer, cloud_http: httpx.Client) -> None:
    admin = httpx.Client(base_url=cloud.url, timeout=10)
    answer = admin.post(
        "/_sandbox/faults",
        json={"rate_limit": 1, "retry_after": 4, "fail": {"status": 502, "count": 1}},
    )
    assert answer.status_code == 200 and answer.json()["rate_limit"] == 1
    assert cloud_http.get("/rest/api/3/myself").status_code == 502
    assert cloud_http.get("/rest/api/3/myself").status_code == 200
    limited = cloud_http.get("/rest/api/3/myself")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "4"
    # Admin calls are never faulted (the rate limit is exhausted) and never logged.
    log = admin.get("/_sandbox/log").json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/rest/api/3/myself", 502),
        ("GET", "/rest/api/3/myself", 200),
        ("GET", "/rest/api/3/myself", 429),
    ]
    assert admin.post("/_sandbox/faults", json={"drop": {"count": 1}}).status_code == 200
    assert admin.delete("/_sandbox/log").status_code == 204
    assert admin.get("/_sandbox/log").json() == []
    assert admin.post("/_sandbox/reset").status_code == 200
    assert cloud_http.get("/rest/api/3/myself").status_code == 200
    assert admin.post("/_sandbox/faults", content=b"not json").status_code == 400
    assert admin.post("/_sandbox/faults", json={"bogus": 1}).status_code == 400
