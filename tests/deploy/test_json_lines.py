"""``--output jsonl``: the JSON document on one line, and ``schema_version`` in every JSON
output, as scripts and log shippers read them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okrsync.sandbox.server import start_sandbox
from tests.e2e.cli import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sandbox:
        yield Cli(sandbox, tmp_path)


def _one_line(cli: Cli, *args: str) -> Any:
    result = cli(*args, "--output", "jsonl")
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("\n")
    assert len(lines) == 2 and lines[1] == "", result.stdout  # one line, newline-terminated
    document = json.loads(lines[0])
    assert isinstance(document, dict)
    return document


def test_sync_jsonl_is_the_json_document_on_one_line(cli: Cli) -> None:
    pretty = cli.json("sync", "--dry-run")
    compact = _one_line(cli, "sync", "--dry-run")
    assert next(iter(compact)) == "schema_version"
    assert compact["schema_version"] == pretty["schema_version"] == 1
    assert set(compact) == set(pretty)
    # Expected pace moves with the clock between the two runs; what was measured does not.
    for key, fields in (("key_results", ("id", "progress")), ("writes", ("target", "field"))):
        assert [[row[f] for f in fields] for row in compact[key]] == [
            [row[f] for f in fields] for row in pretty[key]
        ]


def test_runs_appended_to_a_log_read_back_line_by_line(cli: Cli, tmp_path: Path) -> None:
    log = tmp_path / "sync.jsonl"
    with log.open("a", encoding="utf-8") as out:
        for _ in range(2):
            result = cli("sync", "--output", "jsonl")
            assert result.exit_code == 0, result.output
            out.write(result.stdout)
    runs = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [run["schema_version"] for run in runs] == [1, 1]
    assert runs[0]["run"]["writes"] > 0
    assert runs[1]["run"]["writes"] == 0  # the second cycle finds nothing to change


def test_report_explain_and_history_carry_the_schema_version(cli: Cli) -> None:
    assert cli("sync").exit_code == 0
    for args in (("report",), ("explain", "pay-checkout-v2"), ("history", "pay-checkout-v2")):
        pretty = cli.json(*args)
        assert next(iter(pretty)) == "schema_version" and pretty["schema_version"] == 1
        compact = _one_line(cli, *args)
        assert compact == pretty


def test_the_pretty_form_stays_indented(cli: Cli) -> None:
    result = cli("sync", "--dry-run", "--output", "json")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('{\n  "schema_version": 1,\n')


def test_an_unknown_output_form_is_refused(cli: Cli) -> None:
    result = cli("sync", "--output", "ndjson")
    assert result.exit_code == 2
    assert "'text', 'json', 'jsonl'" in result.output
