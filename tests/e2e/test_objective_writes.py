"""Objectives written to their home issues: the roll-up reaches Jira under the rules a key
result's values follow (changes only, people's edits repaired, nothing while stale)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from okrsync.commands.demo import EXAMPLES
from okrsync.sync.plan import STATUS_OPTIONS
from tests.e2e.conftest import Env

CHILD, PARENT = "pay-reliable-checkout", "co-grow-paying-customers"


def _with_objective_homes(folder: Path) -> Path:
    """The example mappings, the two objectives writing to OKR-7 and OKR-8."""
    shutil.copytree(EXAMPLES, folder)
    file = folder / "payments-platform.yaml"
    text = file.read_text(encoding="utf-8")
    for objective, key in ((PARENT, "OKR-7"), (CHILD, "OKR-8")):
        line = f"  - id: {objective}\n"
        assert line in text
        text = text.replace(line, f"{line}    write: [{{kind: jira_issue, key: {key}}}]\n")
    file.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    made = Env("cloud", f"sqlite:///{tmp_path / 'state.db'}", _with_objective_homes(tmp_path / "m"))
    for title in ("Objective: grow paying customers", "Objective: reliable checkout"):
        made.jira.data.create_issue("OKR", title, "Task")
    yield made
    made.close()


def _objective(report: object, objective_id: str) -> dict[str, object]:
    (found,) = [o.to_dict() for o in report.objectives if o.objective_id == objective_id]  # type: ignore[attr-defined]
    return found


def test_objectives_reach_their_home_issues_once(env: Env) -> None:
    report = env.cycle()
    assert report.outcome == "ok"

    for key, objective_id in (("OKR-7", PARENT), ("OKR-8", CHILD)):
        rolled = _objective(report, objective_id)
        shown = env.jira_fields(key)
        assert shown["OKR Progress"] == pytest.approx(round(rolled["progress"] * 100, 1))
        assert shown["OKR Expected"] == pytest.approx(round(rolled["expected"] * 100, 1))
        assert shown["OKR Status"] == STATUS_OPTIONS[str(rolled["status"])]
        for kr_id in rolled["key_results"]:
            assert kr_id in shown["OKR Summary"]
    parent_summary = env.jira_fields("OKR-7")["OKR Summary"]
    assert "aligned: " in parent_summary and CHILD in parent_summary
    written = {w.kr_id for w in report.writes if w.target in ("OKR-7", "OKR-8")}
    assert written == {f"objective:{PARENT}", f"objective:{CHILD}"}

    env.clear_logs()
    again = env.cycle()
    assert again.writes == []
    assert env.mutations() == []


def test_a_person_editing_an_objective_field_is_repaired(env: Env) -> None:
    env.cycle()
    ours = env.jira_fields("OKR-8")["OKR Progress"]
    env.jira.data.update_fields("OKR-8", {"customfield_10100": 99.0})

    report = env.cycle()

    (conflict,) = [c for c in report.conflicts if c.target == "OKR-8"]
    assert conflict.kr_id == f"objective:{CHILD}"
    assert env.jira_fields("OKR-8")["OKR Progress"] == pytest.approx(ours)


def test_an_objective_with_a_stale_key_result_keeps_its_last_values(env: Env) -> None:
    env.cycle()
    before = env.jira_fields("OKR-7")
    # The company objective rolls up Teambition key results too; Teambition fails.
    env.tb.faults.fail(status=503, count=10_000, retry_after=0)
    env.transition("PAY-2", "In Progress")
    env.clear_logs()

    report = env.cycle()

    assert _objective(report, PARENT)["partially_stale"] is True
    assert env.jira_fields("OKR-7") == before
    assert not [w for w in report.writes if w.target == "OKR-7"]
    # The checkout objective reads Jira only: its home follows the reopened story.
    assert [w for w in report.writes if w.target == "OKR-8" and w.applied]
