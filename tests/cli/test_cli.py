"""The command line's edge: `check --offline`, `schema`, `config show` and the one error
handler (one clear line per problem, no traceback for a user's mistake)."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from okrsync.cli import main
from okrsync.sandbox.server import start_sandbox

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "mappings" / "examples"
BROKEN = ROOT / "tests" / "mappings" / "broken"
CANARY = "canary-5d1e0a77-secret"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --------------------------------------------------------------------------- check --offline


def test_check_offline_passes_on_the_examples() -> None:
    result = run("check", "--offline", "--mappings", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"{EXAMPLES}: 5 objectives, 11 key results, 8 distinct scopes: OK\n")


def test_check_offline_reports_every_located_problem_and_exits_2(tmp_path: Path) -> None:
    for name in ("unknown_key.yaml", "missing_parent.yaml"):
        shutil.copy(BROKEN / name, tmp_path / name)
    result = run("check", "--offline", "--mappings", ".")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: the mappings have problems:",
        "  missing_parent.yaml:8:13 objectives[1].parent: "
        "unknown parent objective 'compnay' (did you mean 'company'?)",
        "  unknown_key.yaml:2:9 objectives[0].id: duplicate objective id 'pay' "
        "(first defined at missing_parent.yaml:5:9)",
        "  unknown_key.yaml:8:9 objectives[0].key_results[0].wieght: "
        "unknown key 'wieght' (did you mean 'weight'?)",
    ]
    no_traceback(result)


def test_check_offline_with_the_default_mappings_path_missing() -> None:
    result = run("check", "--offline")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: the mappings have problems:",
        "  mappings:1:1 <file>: no such file or directory",
        "  hint: point --mappings or the 'mappings' setting at them",
    ]


def test_check_offline_uses_the_mappings_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "okrs")
    monkeypatch.setenv("OKRSYNC_MAPPINGS", "okrs")
    result = run("check", "--offline")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("okrs: 5 objectives")


def test_check_offline_checks_connection_names_when_settings_name_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", "https://acme.atlassian.net")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__PAT", CANARY)
    result = run("check", "--offline", "--mappings", str(EXAMPLES))
    # The examples also read Teambition, which is not configured here.
    assert result.exit_code == 2
    assert "scope.connection: no teambition connection is configured" in result.stderr


def test_check_offline_goes_on_without_settings_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKRSYNC_LISTEN", "nowhere")
    result = run("check", "--offline", "--mappings", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "note: the settings have 1 problem (see 'okrsync config show'); "
        "connection names in the mappings were not checked\n"
    )


def test_check_without_offline_needs_good_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRSYNC_LISTEN", "nowhere")
    result = run("check", "--mappings", str(EXAMPLES))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "error: the settings have problems:"


def test_check_online_needs_a_connection_for_every_scope() -> None:
    result = run("check", "--mappings", str(EXAMPLES / "payments-platform.yaml"))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: the mappings have problems:"
    assert lines[1].endswith(
        "payments-platform.yaml:55:16 objectives[1].key_results[0].scope.connection: "
        "no jira connection is configured"
    )


def test_check_reports_an_unreachable_tracker_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on the loopback refuses at once; one attempt, no retry waits.
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", "http://127.0.0.1:1")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__PAT", CANARY)
    monkeypatch.setenv("OKRSYNC_RETRY__MAX_ATTEMPTS", "1")
    result = run("check", "--mappings", str(EXAMPLES / "payments-platform.yaml"))
    assert result.exit_code == 1
    assert "cannot reach Jira at http://127.0.0.1:1" in result.stdout
    assert CANARY not in result.output
    no_traceback(result)


EPICS_TARGET = """
version: 1
defaults:
  write:
    fields: {progress: OKR Progress}
objectives:
  - id: pay
    title: Payments
    period: 2026-Q4
    key_results:
      - id: checkout
        title: Ship checkout v2
        scope: {kind: jira_epics, epics: [PAY-1], connection: dc}
        measure: {kind: count}
        write: [{kind: jira_epics}]
"""


def test_check_online_checks_an_epics_target_on_its_scopes_connection(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Two Jira sites and an epics target naming none: a sync writes each epic through the
    # connection of the scope that names it, so that is where check must look.
    mapping = tmp_path / "okrs.yaml"
    mapping.write_text(EPICS_TARGET, encoding="utf-8")
    with start_sandbox(seed="demo", jira=("cloud", "datacenter"), teambition=False) as sb:
        cloud, dc = sb.jira["cloud"], sb.jira["datacenter"]
        monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", cloud.url)
        monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__EMAIL", "demo@okrsync.example")
        monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__API_TOKEN", "demo-token")
        monkeypatch.setenv("OKRSYNC_JIRA__DC__URL", dc.url)
        monkeypatch.setenv("OKRSYNC_JIRA__DC__PAT", "demo-pat")
        result = run("check", "--mappings", str(mapping))
        assert cloud.log.entries() == []
    assert result.exit_code == 1, result.output
    assert "jira:dc: 1 problem(s)" in result.stdout
    assert "  PAY-1: field 'OKR Progress' cannot be set on PAY-1" in result.stdout
    assert "jira:cloud" not in result.stdout
    no_traceback(result)


# --------------------------------------------------------------------------- schema


def test_schema_prints_a_draft_2020_12_schema_that_takes_the_examples() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == "okrsync mapping file"
    assert set(schema["properties"]) == {"version", "defaults", "objectives"}


# --------------------------------------------------------------------------- config show


def test_config_show_masks_every_secret_and_reads_back_as_toml(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "pat").write_text(CANARY)
    config = tmp_path / "okrsync.toml"
    config.write_text(
        f'[jira.dc]\nurl = "https://okrsync:{CANARY}@jira.acme.internal"\n'
        f'pat_file = "{tmp_path / "pat"}"\n'
        '[teambition.main]\napp_id = "okrsync-demo"\ntenant_id = "tb-org-demo"\n'
    )
    monkeypatch.setenv("OKRSYNC_TEAMBITION__MAIN__APP_SECRET", CANARY)
    monkeypatch.setenv("OKRSYNC_STATE_URL", f"postgresql+psycopg://okrsync:{CANARY}@db/okrsync")
    result = run("--config", str(config), "config", "show")
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output
    shown = tomllib.loads(result.stdout)
    assert shown["state_url"] == "postgresql+psycopg://okrsync:**********@db/okrsync"
    assert shown["jira"]["dc"]["url"] == "https://okrsync:**********@jira.acme.internal/"
    assert shown["jira"]["dc"]["pat"] == "**********"
    assert "api_token" not in shown["jira"]["dc"]  # unset values are comments
    assert "# api_token is not set" in result.stdout
    assert shown["teambition"]["main"]["app_secret"] == "**********"
    assert shown["teambition"]["main"]["tenant_id"] == "tb-org-demo"
    assert shown["sync"]["drop_threshold"] == 0.5
    as_json = json.loads(run("--config", str(config), "config", "show", "--output", "json").stdout)
    assert as_json["teambition"]["main"]["app_secret"] == "**********"
    assert as_json["jira"]["dc"]["email"] is None


def test_config_show_with_bad_settings_exits_2_with_one_line_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OKRSYNC_LISTEN", "nowhere")
    monkeypatch.setenv("OKRSYNC_STATE_URL", "mysql://okrsync@db/okrsync")
    monkeypatch.setenv("OKRSYNC_STATE_URI", "sqlite:///typo.db")
    result = run("config", "show")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: the settings have problems:",
        "  OKRSYNC_STATE_URL: okrsync supports sqlite and postgresql, not mysql",
        "  OKRSYNC_LISTEN: must be HOST:PORT, e.g. 0.0.0.0:9464 (port 0: any free port)",
        "  note: OKRSYNC_STATE_URI is not a setting (did you mean OKRSYNC_STATE_URL?)",
    ]
    no_traceback(result)


def test_a_missing_config_file_given_on_the_command_line() -> None:
    result = run("--config", "nope.toml", "config", "show")
    assert result.exit_code == 2
    assert (
        result.stderr == "error: the settings have problems:\n  nope.toml: config file not found\n"
    )


def test_a_misspelt_variable_is_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKRSYNC_LOG_LEVL", "debug")
    result = run("config", "show")
    assert result.exit_code == 0
    assert "OKRSYNC_LOG_LEVL is not a setting (did you mean OKRSYNC_LOG_LEVEL?)" in result.stderr


# --------------------------------------------------------------------------- state errors


def test_a_state_database_that_cannot_be_opened_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello, this is not SQLite\n" * 100)
    monkeypatch.setenv("OKRSYNC_STATE_URL", f"sqlite:///{not_a_db}")
    result = run("report")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot open state database")
    no_traceback(result)
