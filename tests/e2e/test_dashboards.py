"""``okrsync dashboards bootstrap`` against the sandbox, on Jira Cloud and Data Center."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result

from okrsync.commands.demo import EXAMPLES
from okrsync.sandbox.jira.dashboards import Boards, boards
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from okrsync.state import StateStore
from tests.e2e.cli import JIRA_CREDENTIALS, invoke, write_config
from tests.e2e.conftest import JIRA_FIELD, mutating

#: The example mappings' objectives with Jira home issues, and those issues.
OBJECTIVES = {
    "objective:pay-reliable-checkout": "OKRs: Checkout that never loses a sale",
    "objective:plat-kubernetes": "OKRs: Every service runs on Kubernetes",
    "objective:mob-release": "OKRs: Release 4.0 on the new platform",
    "all": "OKRs: every key result",
}


@dataclass
class World:
    sandbox: Sandbox
    flavour: str
    config: Path
    tmp: Path

    @property
    def jira(self) -> SandboxServer:
        return self.sandbox.jira[self.flavour]

    @property
    def boards(self) -> Boards:
        return boards(self.jira.data)

    def run(self, *args: str) -> Result:
        return invoke(self.config, "dashboards", "bootstrap", *args)

    def http(self) -> httpx.Client:
        creds = JIRA_CREDENTIALS[self.flavour]
        if self.flavour == "cloud":
            return httpx.Client(
                base_url=self.jira.url, auth=(creds["email"], creds["api_token"]), timeout=10
            )
        headers = {"Authorization": f"Bearer {creds['pat']}"}
        return httpx.Client(base_url=self.jira.url, headers=headers, timeout=10)

    def mutations(self) -> list[Any]:
        return mutating(self.jira.log.entries())

    def recorded(self) -> dict[tuple[str, str], str]:
        with StateStore.open(f"sqlite:///{self.tmp / 'state.db'}") as store:
            return store.created_objects(self.flavour)

    def share(self, table: str) -> None:
        self.config.write_text(self.config.read_text() + f"\n[dashboards]\n{table}\n")


def _world(flavour: str, tmp: Path) -> Iterator[World]:
    with start_sandbox("demo", jira=(flavour,), teambition=True) as sandbox:
        world = World(sandbox, flavour, write_config(sandbox, tmp, flavour=flavour), tmp)
        synced = invoke(world.config, "sync")
        assert synced.exit_code == 0, synced.output
        world.jira.log.clear()
        yield world


@pytest.fixture(params=["cloud", "datacenter"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    yield from _world(str(request.param), tmp_path)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[World]:
    yield from _world("cloud", tmp_path)


def _filters_by_name(world: World) -> dict[str, Any]:
    recorded = world.recorded()
    return {
        name: world.boards.filters[int(recorded[("filter", name)])]
        for name in OBJECTIVES
        if ("filter", name) in recorded
    }


def test_bootstrap_creates_the_filters_and_on_cloud_the_dashboard(world: World) -> None:
    result = world.run()
    assert result.exit_code == 0, result.output
    filters = _filters_by_name(world)
    assert {n: f.name for n, f in filters.items()} == OBJECTIVES
    assert filters["objective:pay-reliable-checkout"].jql == (
        "key in (OKR-1, OKR-2, OKR-3, OKR-4) ORDER BY key"
    )
    assert filters["all"].jql.startswith("key in (") and "OKR-6" in filters["all"].jql
    okr_columns = [JIRA_FIELD[n] for n in ("OKR Progress", "OKR Status", "OKR Expected")]
    for found in filters.values():
        assert found.columns[:2] == ["issuekey", "summary"]
        assert set(okr_columns) <= set(found.columns)
        assert found.shares == []  # private by default
    assert "private to the okrsync user" in result.output
    if world.flavour == "datacenter":
        assert world.boards.dashboards == {}
        assert "cannot create dashboards; make it once by hand" in result.output
        assert "saved filter 'OKRs: Checkout that never loses a sale'" in result.output
        assert "statistic type: OKR Status (customfield_10101)" in result.output
        return
    (dashboard,) = world.boards.dashboards.values()
    assert dashboard.name == "OKRs" and dashboard.shares == []
    gadgets = {g.title: g for g in dashboard.gadgets.values()}
    assert len(gadgets) == 4
    for name, title in OBJECTIVES.items():
        if name == "all":
            continue
        gadget = gadgets[title]
        assert gadget.module_key == "com.atlassian.jira.gadgets:filter-results-gadget"
        assert gadget.properties["config"]["filterId"] == f"filter-{filters[name].id}"
    chart = gadgets["Key results by OKR Status"]
    assert chart.module_key == "com.atlassian.jira.gadgets:pie-chart-gadget"
    assert chart.properties["config"]["statType"] == JIRA_FIELD["OKR Status"]
    assert chart.properties["config"]["projectOrFilterId"] == f"filter-{filters['all'].id}"


def test_a_second_run_sends_no_mutating_request(world: World) -> None:
    assert world.run().exit_code == 0
    world.jira.log.clear()
    again = world.run()
    assert again.exit_code == 0, again.output
    assert world.mutations() == []
    assert world.jira.log.entries(), "the second run reads what it finds"
    assert "nothing to change" in again.output
    assert len(world.boards.filters) == 4


def test_a_renamed_filter_is_found_by_id_and_not_recreated(world: World) -> None:
    assert world.run().exit_code == 0
    filter_id = world.recorded()[("filter", "objective:pay-reliable-checkout")]
    with world.http() as http:
        path = f"/rest/api/2/filter/{filter_id}"
        jql = http.get(path).raise_for_status().json()["jql"]
        http.put(path, json={"name": "Checkout (Ana's)", "jql": jql}).raise_for_status()
    world.jira.log.clear()
    again = world.run()
    assert again.exit_code == 0, again.output
    assert world.mutations() == []
    assert len(world.boards.filters) == 4
    assert world.boards.filters[int(filter_id)].name == "Checkout (Ana's)"
    assert "exists        filter 'Checkout (Ana's)'" in again.output
    assert "renamed from 'OKRs: Checkout that never loses a sale'" in again.output


def _search(world: World, http: httpx.Client, jql: str) -> dict[str, dict[str, Any]]:
    params: dict[str, Any] = {"jql": jql, "fields": ",".join(JIRA_FIELD.values())}
    path = "/rest/api/3/search/jql" if world.flavour == "cloud" else "/rest/api/2/search"
    answer = http.get(path, params={**params, "maxResults": 100}).raise_for_status().json()
    return {issue["key"]: issue["fields"] for issue in answer["issues"]}


def test_the_filters_find_the_home_issues_with_the_values_okrsync_wrote(world: World) -> None:
    assert world.run().exit_code == 0
    recorded = world.recorded()
    with world.http() as http:
        every = http.get(f"/rest/api/2/filter/{recorded[('filter', 'all')]}").json()
        found = _search(world, http, every["jql"])
        assert sorted(found) == ["OKR-1", "OKR-2", "OKR-3", "OKR-4", "OKR-5", "OKR-6"]
        for key, fields in found.items():
            issue = http.get(f"/rest/api/2/issue/{key}").raise_for_status().json()["fields"]
            assert fields[JIRA_FIELD["OKR Progress"]] is not None, key
            for field_id in JIRA_FIELD.values():
                assert fields[field_id] == issue[field_id], (key, field_id)
        checkout = recorded[("filter", "objective:pay-reliable-checkout")]
        jql = http.get(f"/rest/api/2/filter/{checkout}").json()["jql"]
        assert sorted(_search(world, http, jql)) == ["OKR-1", "OKR-2", "OKR-3", "OKR-4"]


def test_dry_run_prints_the_plan_and_writes_nothing(world: World) -> None:
    result = world.run("--dry-run")
    assert result.exit_code == 0, result.output
    assert world.mutations() == []
    assert world.recorded() == {}
    assert "would create  filter 'OKRs: Checkout that never loses a sale'" in result.output
    if world.flavour == "cloud":
        assert "would create  dashboard 'OKRs'" in result.output
        assert "would create  gadget 'Key results by OKR Status'" in result.output
    assert world.boards.filters == {} and world.boards.dashboards == {}


def test_shared_with_the_configured_group_and_project(world: World) -> None:
    world.share('share_group = "okr-readers"\nshare_project = "OKR"')
    result = world.run()
    assert result.exit_code == 0, result.output
    expected = [{"type": "group", "group": "okr-readers"}, {"type": "project", "project": "OKR"}]
    for found in world.boards.filters.values():
        assert found.shares == expected
    for dashboard in world.boards.dashboards.values():
        assert dashboard.shares == expected
    assert "shared with group 'okr-readers' and project OKR" in result.output


def test_a_deleted_filter_is_created_again_and_its_gadget_follows(cloud: World) -> None:
    assert cloud.run().exit_code == 0
    name = "objective:plat-kubernetes"
    old = cloud.recorded()[("filter", name)]
    with cloud.http() as http:
        assert http.delete(f"/rest/api/3/filter/{old}").status_code == 204
    again = cloud.run()
    assert again.exit_code == 0, again.output
    new = cloud.recorded()[("filter", name)]
    assert new != old and len(cloud.boards.filters) == 4
    (dashboard,) = cloud.boards.dashboards.values()
    gadget = dashboard.gadgets[int(cloud.recorded()[("gadget", name)])]
    assert gadget.properties["config"]["filterId"] == f"filter-{new}"
    assert len(dashboard.gadgets) == 4
    assert "created again filter 'OKRs: Every service runs on Kubernetes'" in again.output


def test_a_changed_mapping_updates_the_jql_and_keeps_the_name(world: World) -> None:
    assert world.run().exit_code == 0
    name = "objective:pay-reliable-checkout"
    filter_id = world.recorded()[("filter", name)]
    world.boards.filters[int(filter_id)].name = "Checkout (Ana's)"
    mappings = world.tmp / "mappings"
    shutil.copytree(EXAMPLES, mappings)
    payments = mappings / "payments-platform.yaml"
    payments.write_text(payments.read_text().replace("key: OKR-4,", "key: OKR-5,"))
    config = world.config.read_text().replace(str(EXAMPLES), str(mappings))
    world.config.write_text(config)
    world.jira.log.clear()
    again = world.run()
    assert again.exit_code == 0, again.output
    found = world.boards.filters[int(filter_id)]
    assert found.jql == "key in (OKR-1, OKR-2, OKR-3, OKR-5) ORDER BY key"
    assert found.name == "Checkout (Ana's)"
    every = world.recorded()[("filter", "all")]
    assert "OKR-4" not in world.boards.filters[int(every)].jql
    api = "3" if world.flavour == "cloud" else "2"
    assert sorted((e.method, e.path) for e in world.mutations()) == [
        ("PUT", f"/rest/api/{api}/filter/{filter_id}"),
        ("PUT", f"/rest/api/{api}/filter/{every}"),
    ]
    assert "updated       filter 'Checkout (Ana's)'" in again.output


def test_a_filter_of_the_same_name_okrsync_did_not_record_is_named(cloud: World) -> None:
    with cloud.http() as http:
        body = {"name": "OKRs: every key result", "jql": "project = OKR"}
        http.post("/rest/api/3/filter", json=body).raise_for_status()
    result = cloud.run()
    assert result.exit_code == 1
    assert "already has a filter named 'OKRs: every key result'" in result.output
    assert "choose another [dashboards] name" in result.output
