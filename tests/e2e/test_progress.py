"""A running cycle shows how far it got, on stderr, and never in stdout.

Without a terminal each step logs one info line with its counts; on a terminal a live
display runs and leaves one summary line. Every figure shown is checked against the
cycle's own report and the requests the sandbox received.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from okrsync.cli import main
from okrsync.sandbox.server import start_sandbox
from okrsync.sync.hooks import PHASES, READING_SCOPES, WRITING, CycleHooks
from okrsync.views.progress import cycle_progress
from tests.e2e.cli import CLEAN_ENV, Cli
from tests.e2e.conftest import Env

NUMBER = r"([\d,]+)"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sandbox:
        yield Cli(sandbox, tmp_path)


def number(pattern: str, text: str) -> list[int]:
    """The numbers captured by ``pattern`` (with ``NUMBER`` groups) in its one match."""
    found = re.findall(pattern, text)
    assert len(found) == 1, (pattern, text)
    groups = found[0] if isinstance(found[0], tuple) else (found[0],)
    return [int(g.replace(",", "")) for g in groups]


def sent(cli: Cli) -> dict[str, int]:
    """Requests each tracker received, from the sandbox's own logs."""
    assert cli.sandbox.teambition is not None
    return {
        "jira:cloud": len(cli.sandbox.jira["cloud"].log.entries()),
        "teambition:main": len(cli.sandbox.teambition.log.entries()),
    }


def check_step_lines(stderr: str, data: dict[str, Any], received: dict[str, int]) -> None:
    """The step lines of one cycle agree with its JSON report and the sandbox's logs."""
    sources = data["sources"].values()
    scopes, items, read_requests = number(
        rf"read {NUMBER} scopes \({NUMBER} items, {NUMBER} requests\) in [\d.]+ s", stderr
    )
    assert scopes == sum(s["scopes"] for s in sources)
    assert items == sum(s["items"] for s in sources)
    assert number(rf"computed {NUMBER} key results", stderr) == [len(data["key_results"])]
    [fields, field_requests] = number(
        rf"read the values of {NUMBER} fields \({NUMBER} requests?\)", stderr
    )
    assert fields > 0
    assert number(rf"planned {NUMBER} writes", stderr) == [len(data["writes"])]
    write_requests = 0
    if data["writes"]:
        [wrote, write_requests] = number(
            rf"wrote {NUMBER} values in [\d.]+ s \({NUMBER} requests\)", stderr
        )
        assert wrote == data["run"]["writes"] == len(data["writes"])
    else:
        assert "wrote" not in stderr
    assert "recorded the run in" in stderr
    [total, jira, teambition] = number(
        rf"cycle done in [\d.]+ s: {NUMBER} requests "
        rf"\(jira:cloud {NUMBER}, teambition:main {NUMBER}\)",
        stderr,
    )
    assert [jira, teambition] == [received["jira:cloud"], received["teambition:main"]]
    assert total == data["run"]["requests"] == sum(received.values())
    # Computing and recording send nothing: the steps' requests add up to the cycle's.
    assert read_requests + field_requests + write_requests == total


def test_without_a_terminal_each_step_logs_one_line_with_the_real_counts(cli: Cli) -> None:
    first = cli("sync", "--output", "json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)  # stdout is one JSON document, nothing else
    assert data["writes"]
    check_step_lines(first.stderr, data, sent(cli))
    assert all(" INFO okrsync.views.progress: " in line for line in first.stderr.splitlines())

    cli.clear_logs()
    second = cli("sync", "--output", "json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["writes"] == []
    check_step_lines(second.stderr, again, sent(cli))
    assert "planned 0 writes" in second.stderr


def test_json_log_lines_and_json_output_stay_apart(cli: Cli) -> None:
    result = cli("sync", "--output", "json", env={"OKRSYNC_LOG_FORMAT": "json"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert {r["logger"] for r in records} == {"okrsync.views.progress"}
    assert {r["level"] for r in records} == {"info"}
    messages = "\n".join(r["message"] for r in records)
    check_step_lines(messages, data, sent(cli))


def test_a_dry_run_says_it_sends_nothing(cli: Cli) -> None:
    result = cli("sync", "--dry-run")
    assert result.exit_code == 0, result.output
    planned = number(rf"planned {NUMBER} writes \(dry run: none sent\)", result.stderr)
    assert planned == number(rf"{NUMBER} planned writes", result.stdout)
    assert "wrote" not in result.stderr
    assert "dry run done in" in result.stderr
    assert cli.mutations() == []


def test_a_failing_tracker_is_in_the_summary_line(cli: Cli) -> None:
    cli.sandbox.jira["cloud"].faults.fail(status=503, count=10_000, retry_after=0)
    result = cli("sync", "--output", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert number(rf"cycle done with failures in [\d.]+ s: {NUMBER} requests", result.stderr) == [
        data["run"]["requests"]
    ]
    assert "jira:cloud is failing" in result.stderr  # the operator's warning is still there


def test_refused_writes_are_counted_apart(cli: Cli) -> None:
    assert cli.sandbox.teambition is not None
    cli.sandbox.teambition.faults.fail(status=400, count=10_000, path="/customfield/update")
    result = cli("sync", "--output", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    failed = [w for w in data["writes"] if w["error"]]
    assert failed and all(w["connection"] == "teambition:main" for w in failed)
    wrote = number(rf"wrote {NUMBER} values, {NUMBER} failed in", result.stderr)
    assert wrote == [data["run"]["writes"], len(failed)]
    assert "cycle done with failures in" in result.stderr


def test_on_a_terminal_the_progress_is_live_and_collapses_to_one_line(cli: Cli) -> None:
    # rich treats stderr as a terminal under TTY_COMPATIBLE=1, as it would on a real one.
    result = cli("sync", "--output", "json", env={"TTY_COMPATIBLE": "1", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    shown = ANSI.sub("", result.stderr)
    for step in PHASES:
        assert step in shown
    assert "okrsync.views.progress" not in shown  # no log lines on a terminal
    last = re.split(r"[\r\n]", shown.strip())[-1]
    received = sent(cli)
    seconds = re.findall(r"in ([\d.]+) s:", last)
    assert last == (
        f"✓ cycle done in {seconds[0]} s: "
        f"{sum(s['scopes'] for s in data['sources'].values())} scopes "
        f"({sum(s['items'] for s in data['sources'].values())} items), "
        f"{len(data['writes'])} of {len(data['writes'])} writes done, "
        f"{data['run']['requests']} requests (jira:cloud {received['jira:cloud']}, "
        f"teambition:main {received['teambition:main']})"
    )


def test_on_a_narrow_terminal_the_summary_stays_on_one_line(cli: Cli) -> None:
    result = cli("sync", "--dry-run", env={"TTY_COMPATIBLE": "1", "COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    last = re.split(r"[\r\n]", ANSI.sub("", result.stderr).strip())[-1]
    assert last.startswith("✓ dry run done in ")
    assert len(last) <= 80
    assert re.search(r"\d+ writes planned, \d+ requests$", last)


class Recorder(CycleHooks):
    """What the cycle tells its hooks: steps, and progress with the thread it came from."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, int | None]] = []
        self.progress: list[tuple[str, int, int, str]] = []

    def phase(self, name: str, total: int | None = None) -> None:
        self.steps.append((name, total))

    def advanced(self, done: int = 1, items: int = 0) -> None:
        step = self.steps[-1][0]
        self.progress.append((step, done, items, threading.current_thread().name))

    def done(self, step: str) -> tuple[int, int]:
        rows = [p for p in self.progress if p[0] == step]
        return sum(p[1] for p in rows), sum(p[2] for p in rows)


def test_the_cycle_reports_each_step_and_progress_as_it_lands(env: Env) -> None:
    hooks = Recorder()
    report = env.cycle(hooks=hooks)
    assert report.outcome == "ok"
    assert [name for name, _ in hooks.steps] == list(PHASES)
    totals = dict(hooks.steps)
    scopes = sum(s.scopes for s in report.sources.values())
    assert totals[READING_SCOPES] == scopes
    assert hooks.done(READING_SCOPES) == (scopes, sum(s.items for s in report.sources.values()))
    # Scopes and writes are counted from the threads doing the work, as each batch lands.
    assert all(p[3] != "MainThread" for p in hooks.progress)
    assert totals[WRITING] == len(report.writes) == hooks.done(WRITING)[0] > 0


def test_a_terminal_console_renders_the_steps_and_a_summary(env: Env) -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=160)
    with cycle_progress(env.connectors, console=console) as hooks:
        report = env.cycle(hooks=hooks)
    shown = ANSI.sub("", stream.getvalue())
    for step in PHASES:
        assert step in shown
    received = sum(len(server.log.entries()) for server in env.servers)
    assert received == report.request_count
    last = re.split(r"[\r\n]", shown.strip())[-1]
    assert last.startswith("✓ cycle done in ")
    assert f"{len(report.writes)} of {len(report.writes)} writes done, " in last
    assert f", {report.request_count} requests (" in last


def test_the_demo_shows_progress_for_both_cycles() -> None:
    result = CliRunner().invoke(main, ["demo"], env=CLEAN_ENV)
    assert result.exit_code == 0, result.output
    assert "Second cycle" in result.stdout
    assert "okrsync.views.progress" not in result.stdout
    assert len(re.findall(r"read \d+ scopes \(\d+ items, \d+ requests\)", result.stderr)) == 2
    [first, second] = re.findall(rf"planned {NUMBER} writes", result.stderr)
    assert int(first) > 0 and second == "0"
    assert result.stderr.count("cycle done in") == 2
