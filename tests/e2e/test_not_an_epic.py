"""An "epic" that is not one, as people meet it: the example OKRs with one epics scope
naming a Story. ``okrsync check`` names it and fails; ``okrsync sync`` keeps that key
result's last value, writes nothing for it, says why and exits 1, and writes the rest."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result

from okrsync.commands.demo import EXAMPLES
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from tests.e2e.cli import invoke, write_config
from tests.e2e.conftest import JIRA_FIELD, mutating

AUTH: dict[str, dict[str, Any]] = {
    "cloud": {"auth": ("demo@okrsync.example", "demo-token")},
    "datacenter": {"headers": {"Authorization": "Bearer demo-pat"}},
}
# pay-fraud-scoring's epic PAY-20, replaced by PAY-7, a story of epic PAY-1.
GOOD_SCOPE = "epics: [PAY-20]"
BROKEN_SCOPE = "epics: [PAY-7]"
MESSAGE = "PAY-7 is a Story, not an epic: an epics scope counts an epic's children"
FIX = "name the epic, or use a jira_issues scope for single issues"
_ISSUE = re.compile(r"/issue/([^/]+)")
_WIDE = {"COLUMNS": "200"}


class World:
    """A sandbox, a copy of the example mappings and a config file pointing at both."""

    def __init__(self, sandbox: Sandbox, flavour: str, tmp: Path):
        self.sandbox = sandbox
        self.flavour = flavour
        self.mappings = tmp / "mappings"
        shutil.copytree(EXAMPLES, self.mappings)
        self.payments = self.mappings / "payments-platform.yaml"
        self.config = write_config(sandbox, tmp, flavour=flavour, mappings=self.mappings)

    @property
    def jira(self) -> SandboxServer:
        return self.sandbox.jira[self.flavour]

    def __call__(self, *args: str) -> Result:
        return invoke(self.config, *args, env=_WIDE)

    def name_a_story_as_the_epic(self) -> None:
        text = self.payments.read_text(encoding="utf-8")
        assert text.count(GOOD_SCOPE) == 1
        self.payments.write_text(text.replace(GOOD_SCOPE, BROKEN_SCOPE), encoding="utf-8")

    def scope_line(self) -> int:
        """The line of pay-fraud-scoring's definition in the mapping file."""
        lines = self.payments.read_text(encoding="utf-8").splitlines()
        return next(n for n, line in enumerate(lines, 1) if "id: pay-fraud-scoring" in line)

    def progress(self, key: str) -> Any:
        answer = httpx.get(
            f"{self.jira.url}/rest/api/2/issue/{key}", timeout=10, **AUTH[self.flavour]
        )
        answer.raise_for_status()
        return answer.json()["fields"][JIRA_FIELD["OKR Progress"]]

    def written_targets(self) -> set[str]:
        """Keys of the issues any mutating request touched (fields, properties, comments),
        whether it named them by key or by id."""
        out = set()
        for entry in mutating(self.jira.log.entries()):
            found = _ISSUE.search(entry.path)
            if found:
                out.add(self.jira.data.issue(found.group(1)).key)
        return out


@pytest.fixture(params=["cloud", "datacenter"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    flavour = str(request.param)
    with start_sandbox(seed="demo", jira=(flavour,), teambition=True) as sandbox:
        yield World(sandbox, flavour, tmp_path)


def test_check_names_the_story_and_the_key_result_that_uses_it(world: World) -> None:
    world.name_a_story_as_the_epic()
    result = world("check")
    assert result.exit_code == 1, result.output
    out = result.output
    assert f"jira:{world.flavour}: 1 problem(s)" in out
    assert (
        f"  epics scope PAY-7: {MESSAGE}\n"
        f"    used by: pay-fraud-scoring ({world.payments}:{world.scope_line()})\n"
        f"    fix: {FIX}"
    ) in out


def test_check_of_the_examples_as_shipped_is_clean(world: World) -> None:
    result = world("check")
    assert result.exit_code == 0, result.output
    assert "not an epic" not in result.output


def test_sync_keeps_the_last_value_writes_nothing_for_it_and_says_why(world: World) -> None:
    first = world("sync")
    assert first.exit_code == 0, first.output
    fraud_before, checkout_before = world.progress("OKR-2"), world.progress("OKR-1")
    assert fraud_before is not None and checkout_before is not None
    world.name_a_story_as_the_epic()
    world.jira.data.transition("PAY-6", "Done")  # checkout v2 moves: OKR-1 must be written
    world.jira.log.clear()

    result = world("sync")
    assert result.exit_code == 1, result.output
    assert MESSAGE in result.output
    # Nothing reached the KR's home issue; the rest was written.
    targets = world.written_targets()
    assert "OKR-2" not in targets and "OKR-1" in targets
    assert world.progress("OKR-2") == fraud_before
    assert world.progress("OKR-1") > checkout_before

    report = world("report", "--output", "json")
    assert report.exit_code == 0, report.output
    results = {k["id"]: k for k in json.loads(report.stdout)["key_results"]}
    fraud = results["pay-fraud-scoring"]
    assert fraud["status"] == "stale"
    assert MESSAGE in fraud["stale_reason"]
    assert fraud["progress"] * 100 == pytest.approx(fraud_before, abs=0.05)
    assert results["pay-checkout-v2"]["status"] != "stale"
