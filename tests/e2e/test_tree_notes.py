"""What the sync and report trees say beside the numbers, on the demo over real HTTP:

- when no key result has a forecast yet, the tree says why once, in short (``okrsync
  explain`` has the rest; a tree where only some lack one says it on their rows, see
  ``tests/cycle/test_render_forecast.py``);
- an objective whose key results are all stale is stale (its last values shown), while
  one with only some stale keeps its status and says it is partially stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from okrsync.sandbox.server import Sandbox, start_sandbox
from tests.e2e.cli import invoke, write_config

# Wide enough for the id column.
_WIDE = {"COLUMNS": "120"}
_BAR = set("█░·│")


class Cli:
    """``okrsync`` with a config file pointing at a running demo sandbox."""

    def __init__(self, sandbox: Sandbox, tmp: Path) -> None:
        self.config = write_config(sandbox, tmp)

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = invoke(self.config, *args, env=_WIDE)
        assert result.exit_code == code, result.output
        return result


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sb:
        yield sb


@pytest.fixture
def cli(sandbox: Sandbox, tmp_path: Path) -> Cli:
    return Cli(sandbox, tmp_path)


def tree(output: str) -> dict[str, tuple[str, list[str]]]:
    """Each tree row by id: its status and the notes printed below it."""
    rows: dict[str, tuple[str, list[str]]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith("█ progress"):
            break
        words = line.split()
        # A row: title, id, the bar, the percentage, the status.
        bar = next((w for w in words if len(w) > 5 and set(w) <= _BAR), None)
        if bar is not None and "%" in line:
            node_id = line[: line.index(bar)].split()[-1]
            current = []
            rows[node_id] = (line.split("%", 1)[1].strip(), current)
        elif current is not None:
            current.append(line.lstrip("│├└─ "))
    return rows


def test_without_any_forecast_yet_the_tree_says_why_once(cli: Cli) -> None:
    out = cli("sync").stdout
    rows = tree(out)
    assert all(not any(n.startswith("no forecast") for n in notes) for _, notes in rows.values())
    legend_at = out.index("█ progress")
    assert out[legend_at:].splitlines()[1] == (
        "No forecast yet for any key result: too little history (see okrsync explain)"
    )
    # The report tree says the same as sync's; explain gives the whole reason.
    assert "No forecast yet for any key result: too little history" in cli("report").stdout
    explain = cli("explain", "pay-checkout-v2").stdout
    assert "Forecast: none yet (too little history: need 2 samples" in explain


def _objectives(cli: Cli) -> dict[str, dict[str, Any]]:
    data = json.loads(cli("report", "--output", "json").stdout)
    return {o["id"]: o for o in data["objectives"]}


def test_an_objective_whose_key_results_are_all_stale_is_stale(cli: Cli, sandbox: Sandbox) -> None:
    cli("sync")
    before = _objectives(cli)
    assert sandbox.teambition is not None
    sandbox.teambition.faults.fail(status=503, count=10_000, retry_after=0)
    rows = tree(cli("sync", code=1).stdout)

    # Both of its key results read Teambition.
    assert rows["mob-onboarding"] == (
        "stale",
        ["STALE: every KR is stale (2); last values shown"],
    )
    # One of two reads Teambition: its pace status stays, and it says what is stale.
    assert rows["mob-release"] == (
        before["mob-release"]["status"].replace("_", " "),
        ["partially stale: 1 KR not fresh"],
    )
    after = _objectives(cli)
    assert after["mob-onboarding"]["status"] == "stale"
    assert after["mob-onboarding"]["progress"] == before["mob-onboarding"]["progress"]
    assert after["mob-onboarding"]["stale_krs"] == ["mob-okr-work", "mob-onboarding-flow"]
    assert after["mob-release"]["status"] == before["mob-release"]["status"] != "stale"
    assert after["co-grow-paying-customers"]["status"] != "stale"

    sandbox.jira["cloud"].faults.fail(status=503, count=10_000, retry_after=0)
    rows = tree(cli("sync", code=1).stdout)
    assert rows["pay-reliable-checkout"] == (
        "stale",
        ["STALE: every KR is stale (4); last values shown"],
    )
    assert rows["mob-release"][0] == "stale"
    # A manual key result is never stale: its objective is partially stale only, and so
    # is the root above it.
    assert rows["plat-kubernetes"][0] != "stale"
    assert rows["co-grow-paying-customers"][0] != "stale"
    assert rows["co-grow-paying-customers"][1] == ["partially stale: 10 KRs not fresh"]
