"""Seed files: the documented example serves both trackers, Jira's own issue JSON is a seed,
and a bad seed stops the sandbox with located problems and exit code 2."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruamel.yaml import YAML

import okrsync.sandbox
from okrsync.sandbox.server import SandboxError, SeedError, load_seed, start_sandbox
from tests.sandbox_jira.conftest import CLOUD_AUTH, DC_HEADERS
from tests.sandbox_teambition.conftest import app_token

EXAMPLE = Path(okrsync.sandbox.__file__).parent / "examples" / "seed.yaml"
README = Path(__file__).resolve().parents[2] / "README.md"


def keys(client: httpx.Client, path: str, jql: str) -> list[str]:
    page = client.get(path, params={"jql": jql, "fields": "summary"}).json()
    return [i["key"] for i in page["issues"]]


def test_the_readme_shows_the_shipped_example() -> None:
    section = README.read_text(encoding="utf-8").split("## The sandbox", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the sandbox section shows one YAML seed"
    yaml = YAML(typ="safe")
    assert yaml.load(blocks[0]) == yaml.load(EXAMPLE.read_text(encoding="utf-8"))


def test_the_example_serves_both_trackers() -> None:
    with start_sandbox(EXAMPLE) as sb:
        alex = ("alex@shop.example", "alex-token")
        with httpx.Client(base_url=sb.jira["cloud"].url, auth=alex, timeout=10) as cloud:
            assert keys(cloud, "/rest/api/3/search/jql", "parent = SHOP-1 ORDER BY key") == [
                "SHOP-2",
                "SHOP-3",
            ]
            assert keys(cloud, "/rest/api/3/search/jql", '"Story Points" > 4') == ["SHOP-2"]
            blocked = cloud.get("/rest/api/2/issue/SHOP-3").json()["fields"]["status"]
            assert blocked["statusCategory"]["key"] == "indeterminate"
            okr = cloud.get("/rest/api/2/issue/SHOP-4").json()["fields"]
            assert okr["customfield_10101"]["value"] == "On track"
            robin = cloud.put(
                "/rest/api/2/issue/SHOP-4",
                json={"fields": {"customfield_10101": {"value": "At risk"}}},
                auth=("robin@shop.example", "robin-token"),
            )
            assert robin.status_code == 403
        dc_auth = {"Authorization": "Bearer alex-pat"}
        with httpx.Client(base_url=sb.jira["datacenter"].url, headers=dc_auth) as dc:
            assert keys(dc, "/rest/api/2/search", '"Epic Link" = SHOP-1 ORDER BY key') == [
                "SHOP-2",
                "SHOP-3",
            ]
        assert sb.teambition is not None
        headers = {
            "Authorization": f"Bearer {app_token('shop-okrsync', 'shop-secret')}",
            "X-Tenant-Id": "org-shop",
            "X-Operator-Id": "user-alex",
        }
        with httpx.Client(base_url=sb.teambition.url, headers=headers, timeout=10) as tb:
            tasks = tb.get("/v3/project/proj-app/task/query", params={"pageSize": 10}).json()
            assert [t["id"] for t in tasks["result"]] == ["task-home", "task-cart", "task-pay"]
            pay = tasks["result"][2]
            assert pay["customfields"][0]["value"][0]["title"] == "At risk"
            assert pay["ancestorIds"] == ["task-cart"]
            fields = tb.get("/v3/project/proj-app/customfield/search").json()["result"]
            assert [f["name"] for f in fields] == ["OKR Progress", "OKR Status"]
            tagged = tb.get(
                "/v3/project/proj-app/task/query", params={"q": "tagId IN ('tag-okr')"}
            ).json()["result"]
            assert [t["id"] for t in tagged] == ["task-cart", "task-pay"]


def _issues(client: httpx.Client, api: str, wanted: list[str]) -> list[dict[str, Any]]:
    params = {"expand": "names,schema"}
    return [client.get(f"/rest/api/{api}/issue/{key}", params=params).json() for key in wanted]


@pytest.mark.parametrize(("flavour", "api"), [("cloud", "2"), ("cloud", "3"), ("datacenter", "2")])
def test_issues_as_the_rest_api_returns_them_are_a_seed(flavour: str, api: str) -> None:
    wanted = ["PAY-1", "PAY-4", "PAY-6", "PAY-10", "PAY-11", "OKR-1"]
    options: dict[str, Any] = (
        {"auth": CLOUD_AUTH} if flavour == "cloud" else {"headers": DC_HEADERS}
    )
    with start_sandbox("demo", jira=(flavour,), teambition=False) as demo:
        with httpx.Client(base_url=demo.jira[flavour].url, timeout=10, **options) as client:
            exported = _issues(client, api, wanted)
        old_base = demo.jira[flavour].url
    # No "fields" section: the issues' names and schema declare the custom fields.
    with start_sandbox({"jira": {"issues": exported}}, jira=(flavour,), teambition=False) as sb:
        with httpx.Client(base_url=sb.jira[flavour].url, timeout=10, **options) as client:
            served = _issues(client, api, wanted)
        new_base = sb.jira[flavour].url
    as_before = [_rebase(issue, new_base, old_base) for issue in served]
    assert as_before == exported
    assert exported[2]["fields"]["customfield_10016"] == 3  # points survived the trip


def _rebase(value: Any, new: str, old: str) -> Any:
    if isinstance(value, str):
        return value.replace(new, old)
    if isinstance(value, list):
        return [_rebase(v, new, old) for v in value]
    if isinstance(value, dict):
        return {k: _rebase(v, new, old) for k, v in value.items()}
    return value


BAD_SEEDS = [
    ("jira: {issues: [{fields: {}}]}", "jira.issues[0].key: expected an issue key like"),
    (
        "jira: {issues: [{key: A-1, fields: {status: {name: X, statusCategory: {key: wip}}}}]}",
        "jira.issues[0].fields.status.statusCategory.key: 'wip' is not one of",
    ),
    (
        "jira: {issues: [{key: A-1, fields: {updated: soon}}]}",
        "jira.issues[0].fields.updated: expected a Jira or ISO 8601 time, got 'soon'",
    ),
    ("jira: {issues: [{key: A-1}, {key: a-1}]}", "jira.issues[1].key: duplicate issue key"),
    ("jira: {fields: [{name: Points}]}", "jira.fields[0]: missing 'id'"),
    ("jira: {statuses: [{name: Blocked, category: wip}]}", "jira.statuses[0].category: 'wip'"),
    ("jira: {isues: []}", "jira: unknown key 'isues'"),
    ("jira: [1]", "jira: expected a mapping, got a list"),
    ("teambition: {tasks: {}}", "teambition.tasks: expected a list, got a mapping"),
    (
        "teambition: {projects: [{id: p, organizationId: o}], "
        "tasks: [{id: a, projectId: p, customfields: [{value: []}]}]}",
        "teambition.tasks[0].customfields[0]: missing 'cfId'",
    ),
    (
        "teambition: {projects: [{id: p, organizationId: o}], "
        "tasks: [{id: a, projectId: p, customfields: [{cfId: c, value: 3}]}]}",
        "teambition.tasks[0].customfields[0].value: expected a list, got a number",
    ),
    (
        "teambition: {projects: [{id: p, organizationId: o}], tasks: [{id: a, projectId: q}]}",
        "teambition.tasks[0].projectId: unknown project 'q'",
    ),
    (
        "teambition: {projects: [{id: p, organizationId: o}], tags: [{id: t, name: x}]}",
        "teambition.tags[0]: missing 'projectId' (the project)",
    ),
    (
        "teambition: {organizations: [{id: o}], projects: [{id: p, organizationId: x}]}",
        "teambition.projects[0].organizationId: unknown organization 'x'",
    ),
    (
        "teambition: {projects: [{id: p, organizationId: o}], "
        "tasks: [{id: a, projectId: p, dueDate: tomorrow}]}",
        "teambition.tasks[0]: dueDate: expected an ISO 8601 time, got 'tomorrow'",
    ),
    ("jira: {}\nteambition: {}\nextra: 1", "seed: unknown key 'extra'"),
]


@pytest.mark.parametrize(("text", "problem"), BAD_SEEDS)
def test_a_bad_seed_names_the_file_and_the_entry(tmp_path: Path, text: str, problem: str) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(text, encoding="utf-8")
    with pytest.raises(SeedError) as raised:
        start_sandbox(seed, jira=("cloud",), teambition=True)
    # YAML seeds also give the line of the entry.
    located = rf"^{re.escape(str(seed))}(:\d+)?: {re.escape(problem)}"
    assert re.search(located, str(raised.value), flags=re.M), str(raised.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text('{"jira": {"issues": [{"key": "A"}]}, "teambition": {"apps": [{}]}}')
    with pytest.raises(SeedError) as raised:
        load_seed(seed)
    assert str(raised.value).splitlines() == [
        f"{seed}: jira.issues[0].key: expected an issue key like 'PAY-12', got 'A'",
        f"{seed}: teambition.apps[0]: missing 'appId'",
        f"{seed}: teambition.apps[0]: missing 'appSecret'",
    ]
    assert isinstance(raised.value, SandboxError)


def test_a_seed_given_as_data_is_checked_too() -> None:
    with pytest.raises(SeedError, match=r"^seed: jira\.issues\[0\]\.key"):
        start_sandbox({"jira": {"issues": [{"key": 7}]}}, jira=("cloud",), teambition=False)


def test_the_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "teambition:\n"
        "  projects: [{id: p1, organizationId: org}]\n"
        "  tasks:\n"
        "    - {id: a, projectId: p1}\n"
        "    - {id: b, projectId: p1}\n"
        "    - {id: c, projectId: p1}\n"
        "    - {id: d, projectId: p1, customfields: [{type: number, value: [{title: '3'}]}]}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "okrsync", "sandbox", "--seed", str(bad), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"Error: {bad}:7: teambition.tasks[3].customfields[0]: missing 'cfId'"
    )
    assert "Traceback" not in done.stderr + done.stdout


def test_the_command_prints_the_credentials_the_seed_declares() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "okrsync", "sandbox", "--seed", str(EXAMPLE), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Ctrl-C" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    text = "".join(lines)
    assert "basic auth alex@shop.example / API token alex-token (read-write)" in text
    assert "bearer token robin-pat (user robin, read-only)" in text
    assert "app id shop-okrsync / secret shop-secret, tenant org-shop" in text
    assert "operator user-alex" in text


def test_what_no_check_foresaw_still_names_the_issue() -> None:
    odd = {"key": "A-1", "fields": {"issuetype": {"name": 3}}}  # a type name that is no text
    with pytest.raises(SeedError, match=r"^seed: jira\.issues\[0\]: cannot load: "):
        start_sandbox({"jira": {"issues": [odd]}}, jira=("cloud",), teambition=False)
