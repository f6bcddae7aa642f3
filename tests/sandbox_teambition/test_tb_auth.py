"""App-token auth, tenant and operator headers: every refusal is an envelope with a reason."""

from __future__ import annotations

import time

import pytest

from tests.sandbox_teambition.conftest import Api, app_token, headers

PROJECTS = "/v3/project/query"


def test_a_fresh_token_reads_projects(api: Api) -> None:
    status, body = api.get(PROJECTS)
    assert status == 200
    assert body["code"] == 200 and body["errorMessage"] == "" and body["requestId"]
    assert [p["id"] for p in body["result"]] == ["tb-proj-mobile"]


def test_a_token_issued_at_the_top_of_the_hour_is_accepted(api: Api) -> None:
    # Teambition's own client rounds iat down to the hour and sets exp = iat + 3960.
    issued = time.time() - 3590
    status, body = api.call("GET", PROJECTS, hdrs=headers(app_token(iat=issued)))
    assert (status, body["code"]) == (200, 200)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (app_token(iat=time.time() - 7200, exp=time.time() - 3240), "expired"),
        (app_token(iat=time.time() - 600, exp=time.time() - 120), "expired"),
        (app_token(secret="wrong-secret"), "signature"),
        (app_token(app_id="someone-else"), "unknown app"),
        (app_token(iat=time.time() - 7200, exp=time.time() + 600), "more than an hour ago"),
        (app_token(alg="HS512"), "HS256"),
        ("not-a-jwt", "malformed"),
    ],
)
def test_bad_tokens_get_401_in_the_envelope(api: Api, token: str, reason: str) -> None:
    status, body = api.call("GET", PROJECTS, hdrs=headers(token))
    assert status == 401
    assert body["code"] == 401 and body["result"] is None and body["requestId"]
    assert reason in body["errorMessage"]


def test_a_missing_authorization_header_is_401(api: Api) -> None:
    status, body = api.call("GET", PROJECTS, hdrs={"X-Tenant-Id": "tb-org-demo"})
    assert (status, body["code"]) == (401, 401)
    assert "Authorization" in body["errorMessage"]


def test_the_secret_never_appears_in_an_answer(api: Api) -> None:
    _, body = api.call("GET", PROJECTS, hdrs=headers(app_token(secret="wrong-secret")))
    assert "demo-secret" not in str(body) and "wrong-secret" not in str(body)


def test_the_tenant_header_is_required(api: Api) -> None:
    status, body = api.call("GET", PROJECTS, hdrs=headers(tenant=None))
    assert (status, body["code"]) == (400, 400)
    assert "X-Tenant-Id" in body["errorMessage"]


def test_an_unknown_tenant_is_403(api: Api) -> None:
    status, body = api.call("GET", PROJECTS, hdrs=headers(tenant="tb-org-other"))
    assert (status, body["code"]) == (403, 403)
    assert "tb-org-other" in body["errorMessage"]


def test_an_operator_outside_the_organization_is_403(api: Api) -> None:
    status, body = api.call("GET", PROJECTS, hdrs=headers(operator="tb-user-stranger"))
    assert (status, body["code"]) == (403, 403)
    assert "tb-user-stranger" in body["errorMessage"]


def test_reads_work_without_an_operator(api: Api) -> None:
    status, _ = api.call("GET", PROJECTS, hdrs=headers(operator=None))
    assert status == 200
