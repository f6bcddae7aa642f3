"""Fixtures for the Teambition sandbox tests: a running server and a small HTTP client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from okrsync.sandbox.server import SandboxServer, start_teambition
from okrsync.sandbox.teambition.demo import demo_section

APP_ID = "okrsync-demo"
SECRET = "demo-secret"
TENANT = "tb-org-demo"
OPERATOR = "tb-user-ana"
PROJECT = "tb-proj-mobile"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def app_token(
    app_id: str = APP_ID,
    secret: str = SECRET,
    *,
    iat: float | None = None,
    exp: float | None = None,
    alg: str = "HS256",
) -> str:
    """An app token signed by hand, the way Teambition's own auth library builds it."""
    issued = int(time.time() if iat is None else iat)
    claims = {"_appId": app_id, "iat": issued, "exp": int(issued + 3960 if exp is None else exp)}
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def headers(
    token: str | None = None, tenant: str | None = TENANT, operator: str | None = OPERATOR
) -> dict[str, str]:
    """Request headers as okrsync's connector sends them."""
    found = {"Authorization": f"Bearer {token or app_token()}"}
    if tenant is not None:
        found["X-Tenant-Id"] = tenant
    if operator is not None:
        found["X-Operator-Id"] = operator
    return found


class Api:
    """A thin client of one sandbox server: ``get``/``post``/``put`` return (status, body)."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=10)

    def call(
        self, method: str, path: str, *, hdrs: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        response = self.http.request(method, path, headers=hdrs or headers(), **kwargs)
        return response.status_code, response.json()

    def get(self, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        return self.call("POST", path, json=body)

    def put(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        return self.call("PUT", path, json=body)

    def all_pages(self, path: str, **params: Any) -> tuple[list[Any], list[dict[str, Any]]]:
        """Every item of a listing, following nextPageToken; also every envelope seen."""
        items: list[Any] = []
        pages: list[dict[str, Any]] = []
        token = ""
        for _ in range(1000):
            status, body = self.get(path, **params, **({"pageToken": token} if token else {}))
            assert status == 200, body
            pages.append(body)
            items.extend(body["result"])
            token = body.get("nextPageToken") or ""
            if not token:
                return items, pages
        raise AssertionError("paging did not end")


@pytest.fixture(scope="session")
def shared_server() -> Iterator[SandboxServer]:
    """One Teambition sandbox for the whole test run (stopping a server takes half a second)."""
    srv = start_teambition(demo_section())
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def server(shared_server: SandboxServer) -> SandboxServer:
    """The Teambition sandbox with fresh demo data, no faults, an empty log, a fresh quota."""
    shared_server.data.reset()
    shared_server.data.clear_envelope_faults()
    shared_server.faults.reset()
    shared_server.log.clear()
    shared_server.data.quota.configure(40, 1)
    return shared_server


@pytest.fixture
def api(server: SandboxServer) -> Iterator[Api]:
    """A client of :func:`server`."""
    client = Api(server)
    try:
        yield client
    finally:
        client.http.close()
