"""``okrsync check`` names a ``teambition_parent`` scope whose task has no sub-tasks: such a
key result would measure nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from okrsync.cli import main
from okrsync.sandbox.server import SandboxServer

CONFIG = """
state_url = "sqlite:///{state}"
mappings = "{mappings}"

[teambition.main]
base_url = "{url}"
app_id = "okrsync-demo"
app_secret = "demo-secret"
tenant_id = "tb-org-demo"
operator_id = "tb-user-ana"
"""

MAPPING = """
version: 1
objectives:
  - id: mob
    title: Mobile
    period: 2026-Q4
    key_results:
      - id: onboarding
        title: Ship onboarding
        scope: {kind: teambition_parent, task: tb-task-onboarding}
        measure: {kind: count}
      - id: home
        title: The home task named by mistake
        scope: {kind: teambition_parent, task: tb-task-okr-home}
        measure: {kind: count}
      - id: step
        title: A sub-task named as the parent
        scope: {kind: teambition_parent, task: tb-task-onboarding-1}
        measure: {kind: count}
"""

_CLEAN_ENV = {"OKRSYNC_CONFIG": None, "OKRSYNC_STATE_URL": None, "OKRSYNC_MAPPINGS": None}


def _check(tb: SandboxServer, tmp_path: Path) -> Result:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "mobile.yaml").write_text(MAPPING, encoding="utf-8")
    config = tmp_path / "okrsync.toml"
    config.write_text(
        CONFIG.format(state=tmp_path / "state.db", mappings=mappings, url=tb.url),
        encoding="utf-8",
    )
    return CliRunner().invoke(main, ["--config", str(config), "check"], env=_CLEAN_ENV)


def _problem(task: str, kr_id: str, line: int, mappings: Path) -> str:
    return (
        f"  sub-tasks of task '{task}': task '{task}' has no sub-tasks: a teambition_parent "
        "scope counts a task's sub-tasks\n"
        f"    used by: {kr_id} ({mappings}/mobile.yaml:{line})\n"
        "    fix: name the parent task whose sub-tasks the key result tracks, or add "
        f"sub-tasks to task '{task}'"
    )


def test_a_parent_without_sub_tasks_is_named_with_its_key_result(
    tb: SandboxServer, tmp_path: Path
) -> None:
    result = _check(tb, tmp_path)
    assert result.exit_code == 1, result.output
    out = result.output
    assert "teambition:main: 2 problem(s)" in out
    mappings = tmp_path / "mappings"
    assert _problem("tb-task-okr-home", "home", 12, mappings) in out
    assert _problem("tb-task-onboarding-1", "step", 16, mappings) in out
    assert "sub-tasks of task 'tb-task-onboarding': 6 tasks" in out
    assert "task 'tb-task-onboarding' has no sub-tasks" not in out


def test_a_parent_whose_sub_tasks_are_all_archived_is_named(
    tb: SandboxServer, tmp_path: Path
) -> None:
    for n in range(1, 7):
        tb.data.archive_task(f"tb-task-onboarding-{n}")
    result = _check(tb, tmp_path)
    assert result.exit_code == 1, result.output
    assert "teambition:main: 3 problem(s)" in result.output
    assert "task 'tb-task-onboarding' has no sub-tasks" in result.output
