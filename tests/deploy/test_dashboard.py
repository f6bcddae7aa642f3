"""okrsync's Grafana dashboard (deploy/grafana/okrsync-dashboard.json): it loads with a
stable uid and a templated Prometheus data source used by every panel, it names only
metrics a live okrsync daemon exports, and every panel's query, its template variables
filled in as Grafana would, returns data from a real Prometheus scraping that daemon."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.live_daemon import REPO, LiveMonitoring, metric_names, shared_live

DASHBOARD = REPO / "deploy" / "grafana" / "okrsync-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: Grafana's own variables, as a short window suited to a 1 s scrape interval.
BUILTIN = {"__rate_interval": "30s", "__interval": "5s", "__range": "5m"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
_LABEL_VALUES = re.compile(r"^label_values\((.*),\s*(\w+)\)$")


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMonitoring]:
    yield from shared_live(tmp_path_factory)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels() -> list[dict[str, Any]]:
    """Every panel that queries (rows, and panels folded into rows, included)."""
    found: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        found += [panel, *panel.get("panels", [])]
    return [panel for panel in found if panel["type"] != "row"]


def variables() -> dict[str, dict[str, Any]]:
    return {var["name"]: var for var in dashboard()["templating"]["list"]}


def variable_query(name: str) -> str:
    query = variables()[name]["query"]
    return str(query["query"] if isinstance(query, dict) else query)


def fill(expr: str, values: dict[str, str]) -> str:
    """``expr`` with its ``$variables`` replaced; an unknown one fails the test."""

    def value(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(2)
        assert name in values, f"unknown variable ${name} in {expr!r}"
        return values[name]

    return _VARIABLE.sub(value, expr)


def test_the_dashboard_loads_with_a_stable_uid_and_a_templated_datasource() -> None:
    board = dashboard()
    assert board["uid"] == "okrsync-overview"
    assert board["schemaVersion"] >= 36
    assert board["title"]
    datasource = variables()["datasource"]
    assert datasource["type"] == "datasource" and datasource["query"] == "prometheus"
    assert variable_query("objective") == "label_values(okrsync_objective_progress_ratio, id)"
    assert (
        variable_query("kr")
        == 'label_values(okrsync_key_result_progress_ratio{objective=~"$objective"}, id)'
    )
    for name in ("objective", "kr"):
        var = variables()[name]
        assert var["type"] == "query" and var["datasource"] == DATASOURCE, var
        assert var["includeAll"] and var["allValue"] == ".*", var


def test_every_panel_queries_through_the_datasource_variable() -> None:
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids)), ids
    assert len(panels()) >= 10
    for panel in panels():
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["expr"].strip(), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_the_panels_cover_progress_sync_health_the_tracker_api_and_writes() -> None:
    exprs = " ".join(t["expr"] for panel in panels() for t in panel["targets"])
    for metric in (
        "okrsync_objective_progress_ratio",
        "okrsync_objective_expected_ratio",
        "okrsync_key_result_progress_ratio",
        "okrsync_key_result_expected_ratio",
        "okrsync_key_result_status",
        "okrsync_key_result_stale",
        "okrsync_key_result_last_updated_timestamp_seconds",
        "okrsync_cycles_total",
        "okrsync_cycle_duration_seconds_bucket",
        "okrsync_last_success_timestamp_seconds",
        "okrsync_requests_total",
        "okrsync_retries_total",
        "okrsync_rate_limit_waits_total",
        "okrsync_writes_total",
    ):
        assert metric in exprs, metric


def test_every_metric_in_the_dashboard_is_one_the_daemon_exports(live: LiveMonitoring) -> None:
    named = {name for p in panels() for t in p["targets"] for name in metric_names(t["expr"])}
    for var in ("objective", "kr"):
        found = _LABEL_VALUES.match(variable_query(var))
        assert found, variable_query(var)
        named |= metric_names(found.group(1))
    unknown = named - live.sample_names()
    assert not unknown, f"not exported by okrsync: {sorted(unknown)}"


def real_ids(live: LiveMonitoring) -> tuple[str, str]:
    """An objective the objective variable offers, and a key result the key result
    variable offers for it, as Grafana asks Prometheus for them."""

    def label_values(var: str, **values: str) -> list[str]:
        found = _LABEL_VALUES.match(fill(variable_query(var), values))
        assert found, variable_query(var)
        ids: list[str] = live.api(f"label/{found.group(2)}/values", **{"match[]": found.group(1)})
        return ids

    objectives = label_values("objective")
    assert objectives
    for objective in objectives:
        krs = label_values("kr", objective=objective)
        if krs:
            return objective, krs[0]
    raise AssertionError(f"no key result offered for any of {objectives}")


@pytest.mark.parametrize("selection", ["all", "one"])
def test_every_panel_query_returns_data_from_a_real_prometheus(
    live: LiveMonitoring, selection: str
) -> None:
    if selection == "all":
        values = BUILTIN | {"objective": ".*", "kr": ".*"}
    else:
        objective, kr = real_ids(live)
        values = BUILTIN | {"objective": objective, "kr": kr}
    for panel in panels():
        for target in panel["targets"]:
            expr = fill(target["expr"], values)
            result = live.wait_for_data(expr)
            if selection == "one" and "$kr" in target["expr"]:
                ids = {series["metric"].get("id") for series in result} - {None}
                assert ids <= {values["kr"]}, (panel["title"], ids)
