"""``okrsync check`` as people run it against the Teambition sandbox: every problem at once,
each with its fix, and a failing exit code."""

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
app_secret = "{secret}"
tenant_id = "tb-org-demo"
operator_id = "tb-user-ana"
"""

MAPPING = """
version: 1
objectives:
  - id: mob
    title: Mobile
    owner: mobile-lead@okrsync.example
    period: 2026-Q4
    key_results:
      - id: onboarding
        title: Ship onboarding
        scope: {kind: teambition_parent, task: tb-task-onboarding}
        measure: {kind: count}
        write:
          - kind: teambition_task
            task: tb-task-okr-home
            fields: {progress: OKR Progress, forecast: OKR Forecast}
      - id: open-work
        title: Open work
        scope: {kind: teambition_tql, project: tb-proj-mobile, tql: "isDone = = false"}
        measure: {kind: count}
      - id: crashes
        title: Crash fixes
        scope: {kind: teambition_tags, project: tb-proj-mobile, tags: [tb-tag-crash]}
        measure: {kind: count}
"""

# Settings from the environment would override the config file.
_CLEAN_ENV = {"OKRSYNC_CONFIG": None, "OKRSYNC_STATE_URL": None, "OKRSYNC_MAPPINGS": None}


def _check(tb: SandboxServer, tmp_path: Path, secret: str = "demo-secret") -> Result:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "mobile.yaml").write_text(MAPPING, encoding="utf-8")
    config = tmp_path / "okrsync.toml"
    config.write_text(
        CONFIG.format(state=tmp_path / "state.db", mappings=mappings, url=tb.url, secret=secret),
        encoding="utf-8",
    )
    return CliRunner().invoke(main, ["--config", str(config), "check"], env=_CLEAN_ENV)


def test_check_lists_every_teambition_problem_with_its_fix(
    tb: SandboxServer, tmp_path: Path
) -> None:
    result = _check(tb, tmp_path)
    assert result.exit_code == 1, result.output
    out = result.output
    assert "teambition:main: 3 problem(s)" in out
    assert "sub-tasks of task 'tb-task-onboarding': 6 tasks" in out
    assert (
        "task 'tb-task-okr-home': Teambition project Mobile App has no custom field "
        "'OKR Forecast'\n    fix: add custom field 'OKR Forecast' to project Mobile App"
    ) in out
    assert (
        "project 'tb-proj-mobile' TQL 'isDone = = false': Teambition rejected the TQL "
        "'isDone = = false' for connection 'main': TQL error at position 10"
    ) in out
    assert (
        f"    used by: open-work ({tmp_path}/mappings/mobile.yaml:17)\n"
        "    fix: fix the TQL in the mapping"
    ) in out
    assert (
        "tags tb-tag-crash in project 'tb-proj-mobile': Teambition project Mobile App has no "
        "tag 'tb-tag-crash': the scope would stay empty\n"
        f"    used by: crashes ({tmp_path}/mappings/mobile.yaml:21)\n"
        "    fix: check the tag id in the mapping"
    ) in out
    assert [e.method for e in tb.log.entries()] == ["GET"] * len(tb.log.entries())


def test_check_with_a_wrong_secret_says_which_setting_to_fix(
    tb: SandboxServer, tmp_path: Path
) -> None:
    result = _check(tb, tmp_path, secret="not-the-secret")
    assert result.exit_code == 1, result.output
    assert "teambition:main: 1 problem(s)" in result.output
    assert "Teambition rejected the app token for connection 'main'" in result.output
    assert "fix: set app_id and app_secret to those of the Teambition app" in result.output
    assert "not-the-secret" not in result.output
