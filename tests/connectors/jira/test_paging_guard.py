"""Paging refuses to loop forever when a server misbehaves (a tiny fake Jira over HTTP)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.base import ConnectorError, FetchRequest, FetchResult
from connectors.jira import JiraConnection, JiraConnector
from connectors.retry import RetryPolicy
from mappings.schema import JqlScope
from tests.connectors.jira.conftest import FAST

SEARCH = FetchRequest(JqlScope(kind="jql", jql="project = A"))


def _issue(n: int) -> dict[str, Any]:
    return {"id": str(n), "key": f"A-{n}", "fields": {"summary": f"issue {n}"}}


@Request.application
def broken_jira(request: Request) -> Response:
    path = request.path
    calls = broken_jira.calls  # type: ignore[attr-defined]
    calls.append(path)
    body: Any
    if path.endswith("/field") or path.endswith("/issuetype"):
        body = []
    elif path.endswith("/search/jql"):
        # Cloud: always the same next page token.
        body = {"issues": [_issue(len(calls))], "nextPageToken": "same-token"}
    elif path.endswith("/search"):
        # DC: claims 500 matches but serves one and then nothing.
        start = int(request.args.get("startAt", 0))
        issues = [_issue(1)] if start == 0 else []
        body = {"startAt": start, "maxResults": 50, "total": 500, "issues": issues}
    else:
        return Response("{}", 404, content_type="application/json")
    return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def fake_url() -> Iterator[str]:
    broken_jira.calls = []  # type: ignore[attr-defined]
    server = make_server("127.0.0.1", 0, broken_jira, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def connector(url: str, flavour: str) -> JiraConnector:
    settings = JiraConnection.model_validate({"url": url, "flavour": flavour, "pat": "x"})
    return JiraConnector("fake", settings, RetryPolicy(FAST))


def test_repeated_page_token_stops_paging(fake_url: str) -> None:
    error = connector(fake_url, "cloud").fetch([SEARCH])[SEARCH]
    assert isinstance(error, ConnectorError)
    assert "returned the same page token twice" in error.message
    searches = [p for p in broken_jira.calls if p.endswith("/search/jql")]  # type: ignore[attr-defined]
    assert len(searches) == 2


def test_offset_paging_stops_when_pages_run_dry(fake_url: str) -> None:
    result = connector(fake_url, "datacenter").fetch([SEARCH])[SEARCH]
    assert isinstance(result, FetchResult)
    assert [item.key for item in result.items] == ["A-1"]
    searches = [p for p in broken_jira.calls if p.endswith("/search")]  # type: ignore[attr-defined]
    assert len(searches) == 2
