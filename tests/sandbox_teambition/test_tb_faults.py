"""Faults as a Teambition client meets them: every one answers with the envelope."""

from __future__ import annotations

import time

import httpx
import pytest

from okrsync.sandbox.server import SandboxServer
from tests.sandbox_teambition.conftest import PROJECT, Api, headers

TASKS = f"/v3/project/{PROJECT}/task/query"
TASK_PATH = f"/api{TASKS}"


def test_the_quota_is_40_per_second_per_endpoint(api: Api, server: SandboxServer) -> None:
    statuses: list[int] = []
    for _ in range(200):  # far more than a second's worth even on a slow machine
        response = api.http.get(TASKS, headers=headers())
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429, "no request was refused"
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["code"] == 429 and body["result"] is None and body["requestId"]
    # the 40 requests admitted just before the refusal all fall within one second of it
    logged = [e for e in server.log.entries() if e.path == TASK_PATH]
    assert [e.status for e in logged] == statuses
    admitted = [e.time for e in logged if e.status == 200]
    assert len(admitted) >= 40
    assert logged[-1].time - admitted[-40] < 1.0
    # another endpoint has its own quota
    status, _ = api.get("/v3/project/query")
    assert status == 200


def test_the_quota_frees_up_after_retry_after(api: Api, server: SandboxServer) -> None:
    server.data.quota.configure(3, retry_after=1)
    statuses = [api.get(TASKS)[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    time.sleep(1.05)
    assert api.get(TASKS)[0] == 200


def test_http_200_with_an_error_in_the_envelope(api: Api, server: SandboxServer) -> None:
    server.faults.fail(status=200, count=1, path=TASKS)
    status, body = api.get(TASKS)
    assert status == 200 and body["code"] == 500 and body["result"] is None
    assert body["errorMessage"]
    status, body = api.get(TASKS)
    assert (status, body["code"]) == (200, 200)


def test_an_envelope_error_with_a_chosen_code(api: Api, server: SandboxServer) -> None:
    server.data.fail_in_envelope(code=403, message="no permission", count=2, path="/task/query")
    answers = [api.get(TASKS) for _ in range(3)]
    assert [(s, b["code"]) for s, b in answers] == [(200, 403), (200, 403), (200, 200)]
    assert answers[0][1]["errorMessage"] == "no permission"


def test_a_503_spell_answers_with_the_envelope(api: Api, server: SandboxServer) -> None:
    server.faults.fail(status=503, count=2, retry_after=2)
    response = api.http.get(TASKS, headers=headers())
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert response.json()["code"] == 503 and "requestId" in response.json()
    api.get(TASKS)
    assert [e.status for e in server.log.entries()] == [503, 503]
    assert api.get(TASKS)[0] == 200


def test_the_write_limit_counts_writes_per_task(api: Api, server: SandboxServer) -> None:
    server.faults.set(write_limit=2, retry_after=3)
    body = {"customfieldId": "cf-okr-progress", "value": [{"id": "", "title": "1"}]}
    home = "/v3/task/tb-task-okr-home/customfield/update"
    statuses = [api.post(home, body)[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert api.post("/v3/task/tb-task-onboarding/customfield/update", body)[0] == 200
    written = [e.body for e in server.log.entries() if e.method == "POST"]
    assert written[0] == body


def test_a_dropped_connection_is_logged(api: Api, server: SandboxServer) -> None:
    server.faults.drop(count=1)
    with pytest.raises(httpx.TransportError):
        api.get(TASKS)
    assert [e.status for e in server.log.entries()] == [0]
