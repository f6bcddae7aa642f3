"""The sync commands as people run them (click's CliRunner), against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from okrsync.cli import main
from okrsync.sandbox.server import start_sandbox
from okrsync.sync.plan import STATUS_OPTIONS
from tests.e2e.cli import CLEAN_ENV, Cli


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sandbox:
        yield Cli(sandbox, tmp_path)


def test_dry_run_json_lists_results_and_planned_writes_and_sends_none(cli: Cli) -> None:
    data = cli.json("sync", "--dry-run")
    assert set(data) == {
        "schema_version",
        "run",
        "objectives",
        "key_results",
        "writes",
        "held",
        "conflicts",
        "checkins",
        "sources",
    }
    assert data["run"]["dry_run"] is True
    checkout = next(k for k in data["key_results"] if k["id"] == "pay-checkout-v2")
    assert checkout["progress"] == pytest.approx(18 / (27 + 27 / 7))
    assert checkout["objective"] == "pay-reliable-checkout"
    progress = next(
        w for w in data["writes"] if (w["target"], w["field"]) == ("OKR-1", "OKR Progress")
    )
    assert progress == {
        "kr": "pay-checkout-v2",
        "connection": "jira:cloud",
        "target": "OKR-1",
        "field": "OKR Progress",
        "before": None,
        "after": 58.3,
        "applied": False,
        "error": None,
    }
    assert {o["id"] for o in data["objectives"]} >= {"co-grow-paying-customers", "mob-release"}
    assert data["sources"]["jira:cloud"]["up"] is True
    assert cli.mutations() == []


def _written(stdout: str, target: str) -> dict[str, str]:
    """The writes the text output lists under one target: field name -> "before → after"."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {target} on "))
    out: dict[str, str] = {}
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        name, _, change = line.strip().partition("  ")
        out[name] = change.strip()
    return out


def test_sync_shows_the_tree_and_the_writes_then_nothing_to_write(cli: Cli) -> None:
    first = cli("sync")
    assert first.exit_code == 0, first.output
    assert "Ship checkout v2" in first.stdout
    assert "Writes: 40 fields on 7 targets" in first.stdout
    assert "  OKR-1 on jira:cloud for pay-checkout-v2 · percent, 0-100" in first.stdout
    okr1 = _written(first.stdout, "OKR-1")
    assert okr1["OKR Progress"] == "(empty) → 58.3"
    # The status follows the pace expected today: the one okrsync reports is written.
    reported = json.loads(cli("report", "--output", "json").stdout)
    status = next(k for k in reported["key_results"] if k["id"] == "pay-checkout-v2")["status"]
    assert okr1["OKR Status"] == f"(empty) → {STATUS_OPTIONS[status]}"
    gist = status.replace("_", " ")
    assert okr1["issue property okrsync"] == f"(empty) → progress 58.3%, {gist}"
    # OKR-4 writes ratios: each is shown with its percentage too.
    assert "  OKR-4 on jira:cloud for pay-bug-impact · ratios, 1.0 = 100%" in first.stdout
    assert _written(first.stdout, "OKR-4")["OKR Progress"] == "(empty) → 1.0 (100.0%)"
    assert _written(first.stdout, "tb-task-okr-home")["OKR Progress"] == "(empty) → 52.6"
    cli.clear_logs()
    second = cli("sync")
    assert second.exit_code == 0, second.output
    assert "Nothing to write: every field already holds its value." in second.stdout
    assert "Writes:" not in second.stdout
    assert second.stdout.rstrip().endswith("0 writes, 0 held, 0 conflicts, 0 stale")
    assert cli.mutations() == []


@pytest.mark.parametrize("columns", ["80", "120"])
def test_the_text_tree_reads_well_at_80_and_120_columns(cli: Cli, columns: str) -> None:
    result = cli("sync", "--dry-run", env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("█ progress"))
    tree = lines[:end]
    # A header, 5 objectives and 11 KRs, one line each; at 80 columns each id on a line below.
    assert len(tree) == (1 + 16 * 2 if columns == "80" else 1 + 16)
    assert all(len(line) <= int(columns) for line in tree)
    for kr_id in ("pay-checkout-v2", "plat-oncall-happiness", "mob-backend-on-k8s"):
        assert any(kr_id in line.split() for line in tree)
    assert lines[end].startswith("█ progress  │ expected pace (")


def test_sync_exits_1_and_shows_staleness_when_a_tracker_is_down(cli: Cli) -> None:
    assert cli("sync").exit_code == 0
    cli.sandbox.jira["cloud"].faults.fail(status=503, count=10_000, retry_after=0)
    result = cli("sync")
    assert result.exit_code == 1
    assert "jira:cloud DOWN" in result.stdout
    assert "STALE" in result.stdout
    data = cli.json("sync", code=1)
    assert data["run"]["outcome"] == "partial"
    assert data["sources"]["jira:cloud"]["up"] is False
    assert data["sources"]["teambition:main"]["up"] is True
    stale = {k["id"] for k in data["key_results"] if k["stale"]}
    assert "pay-checkout-v2" in stale and "mob-okr-work" not in stale


def test_only_one_key_result(cli: Cli) -> None:
    data = cli.json("sync", "--only", "pay-fraud-scoring")
    assert [k["id"] for k in data["key_results"]] == ["pay-fraud-scoring"]
    assert {w["target"] for w in data["writes"]} == {"OKR-2"}
    unknown = cli("sync", "--only", "nope")
    assert unknown.exit_code == 2
    assert "no key result 'nope'" in unknown.output


def test_explain_history_and_report_read_the_state_store_only(cli: Cli) -> None:
    assert cli("sync").exit_code == 0
    assert cli("sync").exit_code == 0
    cli.clear_logs()
    explained = cli.json("explain", "pay-checkout-v2")
    contributions = {e["key"]: e["contribution"] for e in explained["evidence"]}
    done = {"PAY-2": 3, "PAY-3": 5, "PAY-4": 2, "PAY-5": 8}
    open_ = {"PAY-6": 0, "PAY-7": 0, "PAY-8": 0, "PAY-9": 0}
    assert contributions == pytest.approx(done | open_)
    counted = {e["key"]: e["counted_estimate"] for e in explained["evidence"]}
    assert counted["PAY-7"] == pytest.approx(27 / 7)  # unestimated: the mean
    text = cli("explain", "pay-checkout-v2")
    assert text.exit_code == 0
    assert "PAY-7" in text.stdout and "Points: 18 of 30.86" in text.stdout
    history = cli.json("history", "pay-checkout-v2")
    assert [round(row["progress"], 4) for row in history["snapshots"]] == [0.5833, 0.5833]
    assert {(row["done_count"], row["total_count"]) for row in history["snapshots"]} == {(4, 8)}
    table = cli("history", "pay-checkout-v2")
    assert table.exit_code == 0 and table.stdout.count("58.3%") == 2
    report = cli.json("report")
    assert report["run"]["outcome"] == "ok"
    by_id = {k["id"]: k for k in report["key_results"]}
    assert by_id["pay-checkout-bugs"]["progress"] == pytest.approx(0.6)
    assert by_id["mob-sprint-42"]["progress"] == pytest.approx(4 / 7)
    assert report["sources"]["jira:cloud"]["up"] is True
    text_report = cli("report")
    assert text_report.exit_code == 0 and "Migrate all ten services" in text_report.stdout
    for server in cli.sandbox.servers:
        assert server.log.entries() == []  # not a single tracker call


def test_explain_and_history_of_an_unknown_kr_say_what_to_do(cli: Cli) -> None:
    for command in ("explain", "history"):
        result = cli(command, "nope")
        assert result.exit_code == 2
        assert "okrsync sync" in result.output


def test_demo_writes_on_the_first_cycle_and_nothing_on_the_second() -> None:
    result = CliRunner().invoke(main, ["demo"], env=CLEAN_ENV)
    assert result.exit_code == 0, result.output
    first, second = result.stdout.split("Second cycle")
    assert _written(first, "OKR-1")["OKR Progress"] == "(empty) → 58.3"
    assert _written(first, "tb-task-okr-home")["OKR Status"] == "(empty) → At risk"
    assert "Ship checkout v2" in first
    assert "Nothing to write: every field already holds its value." in second
    assert "Writes:" not in second
    assert second.rstrip().endswith("0 writes, 0 held, 0 conflicts, 0 stale")


def test_an_unreachable_state_database_is_one_clear_error(cli: Cli) -> None:
    text = cli.config.read_text(encoding="utf-8").splitlines()
    line = next(n for n, entry in enumerate(text) if entry.startswith("state_url = "))
    text[line] = 'state_url = "postgresql+psycopg://okrsync@127.0.0.1:1/okrsync"'
    cli.config.write_text("\n".join(text), encoding="utf-8")
    result = cli("report")
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot open state database")
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_reading_commands_before_any_sync_create_no_state_file(cli: Cli) -> None:
    state = cli.config.parent / "state.db"
    for command in (["report"], ["explain", "pay-checkout-v2"], ["history", "pay-checkout-v2"]):
        result = cli(*command)
        assert result.exit_code == 2
        assert f"error: no state database at {state}: nothing recorded yet" in result.output
        assert "run 'okrsync sync' first" in result.output
    assert not state.exists()
