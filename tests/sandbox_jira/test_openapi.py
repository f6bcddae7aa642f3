"""The Cloud flavour answers as Atlassian's OpenAPI spec documents.

Each response's status must be one the spec lists for that path and method, and its JSON
body must validate against the spec's response schema (``$ref`` resolved in the spec).
Error bodies without a documented schema are checked against ``ErrorCollection``, the
shape real Jira sends. v2 paths are held to the v3 entry of the same path.

The spec is the full one when present (``$OKRSYNC_JIRA_OPENAPI`` or
``../shared/reference``), else the subset vendored in ``tests/sandbox_jira/spec``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from okrsync.sandbox.server import SandboxServer
from tests.sandbox_jira.conftest import CLOUD_AUTH, VIEWER_AUTH
from tests.sandbox_jira.spec.trim import (
    VENDORED,
    full_spec_path,
    render,
    served_operations,
    trim,
)

FULL_SPEC = full_spec_path()
# The full spec when it is at hand, else the subset vendored with the tests (never skip).
SPEC_PATH = FULL_SPEC or VENDORED
SPEC_URI = "urn:jira-cloud-platform-openapi-v3"


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


@cache
def registry() -> Registry:
    resource = Resource.from_contents(spec(), default_specification=DRAFT4)
    return Registry().with_resource(SPEC_URI, resource)


@cache
def templates() -> list[tuple[re.Pattern[str], str]]:
    """Spec paths as regexes, literal paths first (``/search/jql`` before ``/{id}``)."""
    found = []
    for path in spec()["paths"]:
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"
        found.append((re.compile(regex), path))
    found.sort(key=lambda item: item[1].count("{"))
    return found


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def validate_schema(body: Any, pointer: str) -> None:
    validator = OAS30ReadValidator(
        {"$ref": f"{SPEC_URI}#/{pointer}"},
        registry=registry(),
        format_checker=oas30_format_checker,
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def conforms(response: httpx.Response) -> Any:
    """Assert the response is one the spec documents; return its JSON body (or None)."""
    path = response.request.url.path.replace("/rest/api/2/", "/rest/api/3/", 1)
    method = response.request.method.lower()
    template = next((t for regex, t in templates() if regex.match(path)), None)
    assert template is not None, f"{path} is not in the spec"
    operation = spec()["paths"][template].get(method)
    assert operation is not None, f"{method.upper()} {template} is not in the spec"
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{method.upper()} {template} answered {status}; the spec documents "
        f"{sorted(operation['responses'])}"
    )
    if not response.content:
        return None
    body = response.json()
    media = operation["responses"][status].get("content", {}).get("application/json", {})
    if "schema" in media:
        validate_schema(
            body,
            _pointer(
                "paths",
                template,
                method,
                "responses",
                status,
                "content",
                "application/json",
                "schema",
            ),
        )
    elif response.status_code >= 400:
        validate_schema(body, "components/schemas/ErrorCollection")
    return body


@pytest.fixture
def http(cloud: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=cloud.url, auth=CLOUD_AUTH, timeout=10)


def test_server_info_myself_and_fields(http: httpx.Client) -> None:
    for version in ("2", "3"):
        info = conforms(
            httpx.get(f"{str(http.base_url).rstrip('/')}/rest/api/{version}/serverInfo")
        )
        assert info["deploymentType"] == "Cloud"
        assert conforms(http.get(f"/rest/api/{version}/myself"))["accountId"]
        fields = conforms(http.get(f"/rest/api/{version}/field"))
        assert {"customfield_10100", "summary"} <= {f["id"] for f in fields}


def test_create_field(http: httpx.Client) -> None:
    created = conforms(
        http.post(
            "/rest/api/3/field",
            json={
                "name": "OKR Confidence",
                "type": "com.atlassian.jira.plugin.system.customfieldtypes:float",
                "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:exactnumber",
            },
        )
    )
    assert created["name"] == "OKR Confidence" and created["custom"] is True


def test_search_pages_to_the_last(http: httpx.Client) -> None:
    params: dict[str, Any] = {
        "jql": "project = PAY ORDER BY key",
        "maxResults": 15,
        "fields": ["summary", "status", "customfield_10016"],
    }
    pages = []
    for _ in range(10):
        page = conforms(http.get("/rest/api/3/search/jql", params=params))
        pages.append(page)
        if page["isLast"]:
            break
        params["nextPageToken"] = page["nextPageToken"]
    assert pages[-1]["isLast"] is True and "nextPageToken" not in pages[-1]
    assert sum(len(p["issues"]) for p in pages) == 37  # PAY-1..11, PAY-20..25, PAY-30..49


def test_search_post_with_names_and_schema(http: httpx.Client) -> None:
    body = conforms(
        http.post(
            "/rest/api/3/search/jql",
            json={
                "jql": '"Epic Link" = PAY-1',
                "fields": ["*all"],
                "expand": "names,schema",
                "maxResults": 100,
            },
        )
    )
    assert body["names"]["customfield_10016"] == "Story Points"
    assert len(body["issues"]) == 8


def test_search_default_only_ids_v2(http: httpx.Client) -> None:
    body = conforms(http.get("/rest/api/2/search/jql", params={"jql": "project = OKR"}))
    assert body["issues"] and all(set(i) == {"id"} for i in body["issues"])


def test_approximate_count(http: httpx.Client) -> None:
    body = conforms(
        http.post(
            "/rest/api/3/search/approximate-count",
            json={"jql": "labels = checkout AND statusCategory != Done"},
        )
    )
    assert body == {"count": 11}


def test_invalid_jql_is_a_documented_400(http: httpx.Client) -> None:
    response = http.get("/rest/api/3/search/jql", params={"jql": "project = = PAY"})
    assert response.status_code == 400
    assert conforms(response)["errorMessages"][0].startswith("Error in the JQL Query:")


def test_issue_reads(http: httpx.Client) -> None:
    http.put("/rest/api/3/issue/OKR-1/properties/okrsync", json={"kr": "KR-1"})
    issue = conforms(
        http.get(
            "/rest/api/3/issue/OKR-1", params={"expand": "names,schema", "properties": "okrsync"}
        )
    )
    assert issue["properties"] == {"okrsync": {"kr": "KR-1"}}
    conforms(http.get("/rest/api/2/issue/PAY-4", params={"fields": "subtasks,parent"}))
    meta = conforms(http.get("/rest/api/3/issue/OKR-1/editmeta"))
    assert "customfield_10101" in meta["fields"]
    missing = http.get("/rest/api/3/issue/PAY-999")
    assert missing.status_code == 404
    conforms(missing)


def test_issue_edits(http: httpx.Client) -> None:
    edit = {"fields": {"customfield_10100": 0.4}}
    assert conforms(http.put("/rest/api/3/issue/OKR-2", json=edit)) is None
    returned = conforms(
        http.put(
            "/rest/api/3/issue/OKR-2",
            params={"returnIssue": "true"},
            json={"fields": {"customfield_10102": "ok"}},
        )
    )
    assert returned["fields"]["customfield_10102"] == "ok"
    off_screen = http.put("/rest/api/3/issue/PAY-2", json=edit)
    assert off_screen.status_code == 400
    conforms(off_screen)
    viewer = httpx.put(
        f"{str(http.base_url).rstrip('/')}/rest/api/3/issue/OKR-2", json=edit, auth=VIEWER_AUTH
    )
    assert viewer.status_code == 403
    conforms(viewer)


def test_properties_lifecycle(http: httpx.Client) -> None:
    url = "/rest/api/3/issue/OKR-3/properties/okrsync.state"
    assert http.put(url, json={"v": 1}).status_code == 201
    conforms(http.put(url, json={"v": 2}))
    assert conforms(http.get(url)) == {"key": "okrsync.state", "value": {"v": 2}}
    keys = conforms(http.get("/rest/api/3/issue/OKR-3/properties"))["keys"]
    assert [k["key"] for k in keys] == ["okrsync.state"]
    assert http.delete(url).status_code == 204
    gone = http.get(url)
    assert gone.status_code == 404
    conforms(gone)


def test_comments(http: httpx.Client) -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "synced"}]}],
    }
    created = http.post("/rest/api/3/issue/OKR-1/comment", json={"body": adf})
    assert created.status_code == 201
    conforms(created)
    page = conforms(http.get("/rest/api/3/issue/OKR-1/comment"))
    assert page["total"] == 1


def test_bulk_edit_and_queue(http: httpx.Client) -> None:
    submitted = http.post(
        "/rest/api/3/bulk/issues/fields",
        json={
            "selectedIssueIdsOrKeys": ["OKR-4", "OKR-5"],
            "selectedActions": ["customfield_10100"],
            "editedFieldsInput": {
                "clearableNumberFields": [{"fieldId": "customfield_10100", "value": 0.75}]
            },
        },
    )
    assert submitted.status_code == 201
    task = conforms(submitted)["taskId"]
    statuses = []
    for _ in range(5):
        progress = conforms(http.get(f"/rest/api/3/bulk/queue/{task}"))
        statuses.append(progress["status"])
        if progress["status"] == "COMPLETE":
            break
    assert statuses[-1] == "COMPLETE"
    assert sorted(progress["processedAccessibleIssues"]) == [12004, 12005]


def test_unauthenticated_is_a_documented_401(cloud: SandboxServer) -> None:
    response = httpx.get(f"{cloud.url}/rest/api/3/myself")
    assert response.status_code == 401
    conforms(response)


def test_removed_search_answers_410(http: httpx.Client) -> None:
    # The spec still lists /rest/api/3/search; real Cloud removed it: the known exception.
    assert http.get("/rest/api/3/search", params={"jql": "project = PAY"}).status_code == 410


def test_checker_rejects_what_the_spec_does_not_allow(dc: SandboxServer) -> None:
    # Data Center's serverInfo carries keys the Cloud spec forbids; the checker must see it.
    response = httpx.get(f"{dc.url}/rest/api/2/serverInfo")
    with pytest.raises(AssertionError, match="databaseBuildNumber"):
        conforms(response)


def test_projects(http: httpx.Client, cloud: SandboxServer) -> None:
    for version in ("2", "3"):
        listed = conforms(http.get(f"/rest/api/{version}/project"))
        assert [p["key"] for p in listed] == ["PAY", "PLAT", "OKR"]
        one = conforms(http.get(f"/rest/api/{version}/project/{listed[0]['id']}"))
        assert one["key"] == "PAY" and one["issueTypes"]
    missing = http.get("/rest/api/3/project/NOPE")
    assert missing.status_code == 404
    conforms(missing)


def test_issue_types(http: httpx.Client) -> None:
    for version in ("2", "3"):
        types = conforms(http.get(f"/rest/api/{version}/issuetype"))
        levels = {t["name"]: (t["hierarchyLevel"], t["subtask"]) for t in types}
        assert levels == {
            "Epic": (1, False),
            "Story": (0, False),
            "Task": (0, False),
            "Bug": (0, False),
            "Sub-task": (-1, True),
        }
        sub = next(t for t in types if t["subtask"])
        assert conforms(http.get(f"/rest/api/{version}/issuetype/{sub['id']}")) == sub
    for unknown in ("99999", "story"):
        response = http.get(f"/rest/api/3/issuetype/{unknown}")
        assert response.status_code in (400, 404)
        conforms(response)


def test_field_contexts_and_options(http: httpx.Client) -> None:
    created = conforms(
        http.post(
            "/rest/api/3/field",
            json={
                "name": "OKR Confidence",
                "type": "com.atlassian.jira.plugin.system.customfieldtypes:select",
                "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:"
                "multiselectsearcher",
            },
        )
    )
    base = f"/rest/api/3/field/{created['id']}/context"
    contexts = conforms(http.get(base))
    assert contexts["total"] == 1 and contexts["isLast"] is True
    (default,) = contexts["values"]
    assert default["isGlobalContext"] is True and default["isAnyIssueType"] is True
    options = f"{base}/{default['id']}/option"
    assert conforms(http.get(options))["values"] == []
    added = conforms(http.post(options, json={"options": [{"value": "High"}, {"value": "Low"}]}))
    assert [o["value"] for o in added["options"]] == ["High", "Low"]
    low = added["options"][1]
    renamed = conforms(
        http.put(
            options,
            json={"options": [{"id": low["id"], "value": "Low-ish", "disabled": True}]},
        )
    )
    assert renamed["options"] == [{"id": low["id"], "value": "Low-ish", "disabled": True}]
    page = conforms(http.get(options, params={"maxResults": 1}))
    assert page["isLast"] is False and [o["value"] for o in page["values"]] == ["High"]
    scoped = http.post(base, json={"name": "Payments only", "projectIds": ["10000"]})
    assert scoped.status_code == 201
    assert conforms(scoped)["projectIds"] == ["10000"]
    assert conforms(http.get(base, params={"isGlobalContext": "false"}))["total"] == 1
    duplicate = http.post(options, json={"options": [{"value": "High"}]})
    assert duplicate.status_code == 400
    conforms(duplicate)
    for missing in (
        http.get("/rest/api/3/field/customfield_99999/context"),
        http.get(f"{base}/99999/option"),
        http.put(options, json={"options": [{"id": "99999", "value": "x"}]}),
    ):
        assert missing.status_code == 404
        conforms(missing)
    not_select = http.get("/rest/api/3/field/customfield_10100/context")
    number_context = conforms(not_select)["values"][0]["id"]
    refused = http.get(f"/rest/api/3/field/customfield_10100/context/{number_context}/option")
    assert refused.status_code == 400
    conforms(refused)


def test_every_served_operation_is_in_the_vendored_subset() -> None:
    vendored = json.loads(VENDORED.read_text(encoding="utf-8"))
    # Trimming the subset again keeps all of it: nothing the sandbox serves is missing, and
    # every component it references is there.
    assert trim(vendored) == vendored
    assert len(served_operations()) >= 25


@pytest.mark.skipif(FULL_SPEC is None, reason="the full spec is not present to compare with")
def test_vendored_subset_is_a_fresh_trim_of_the_full_spec() -> None:
    assert FULL_SPEC is not None
    fresh = render(trim(json.loads(FULL_SPEC.read_text(encoding="utf-8"))))
    assert fresh == VENDORED.read_text(encoding="utf-8"), (
        "the vendored spec subset is stale: run .venv/bin/python -m tests.sandbox_jira.spec.trim"
    )
