"""A mistyped field name in a mapping's write fields is shown as a typo, not as a field to
create: ``okrsync check`` and ``okrsync sync`` name the close existing field (Jira and
Teambition), and ``okrsync fields bootstrap`` refuses to create a near-duplicate unless
``--allow-similar``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from okrsync.sandbox.server import Sandbox, start_sandbox
from tests.e2e.cli import invoke, write_config

MAPPING = """
version: 1
objectives:
  - id: pay
    title: Payments
    period: {{start: 2026-01-01, end: 2099-12-31}}
    key_results:
      - id: checkout
        title: Ship checkout
        scope: {{kind: jira_epics, epics: [PAY-1]}}
        measure: {{kind: count}}
        write:
          - kind: jira_issue
            key: OKR-1
            fields: {{progress: {jira_progress}, status: OKR Status}}
      - id: onboarding
        title: Ship onboarding
        scope: {{kind: teambition_parent, task: tb-task-onboarding}}
        measure: {{kind: count}}
        write:
          - kind: teambition_task
            task: tb-task-okr-home
            fields: {{progress: {tb_progress}, status: OKR Status}}
"""

# A wide console keeps each message on one line.
_WIDE = {"COLUMNS": "400"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as sb:
        yield sb


def okrsync(
    sandbox: Sandbox,
    tmp_path: Path,
    *args: str,
    jira_progress: str = "OKR Progres",
    tb_progress: str = "okr progres",
) -> Result:
    """Run ``okrsync`` with a mapping whose progress fields are named as given."""
    mapping = tmp_path / "okrs.yaml"
    mapping.write_text(
        MAPPING.format(jira_progress=jira_progress, tb_progress=tb_progress), encoding="utf-8"
    )
    return invoke(write_config(sandbox, tmp_path, mappings=mapping), *args, env=_WIDE)


def test_check_names_the_close_field_instead_of_asking_to_create_the_typo(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    result = okrsync(sandbox, tmp_path, "check")
    assert result.exit_code == 1, result.output
    out = result.output
    assert (
        "  field 'OKR Progres': field 'OKR Progres' does not exist on Jira connection 'cloud' "
        "(did you mean 'OKR Progress'?)\n"
        "    fix: write 'OKR Progress' in the mapping's write fields; only if 'OKR Progres' "
        "is meant to be another field, create it (okrsync fields bootstrap --allow-similar)\n"
    ) in out
    assert (
        "  task 'tb-task-okr-home': Teambition project Mobile App has no custom field "
        "'okr progres' (did you mean 'OKR Progress'?)\n"
        "    fix: write 'OKR Progress' in the mapping's write fields; only if 'okr progres' "
        "is meant to be another field, add custom field 'okr progres' to project Mobile App\n"
    ) in out
    assert "fix: create field 'OKR Progres'" not in out


def test_check_still_says_create_for_a_name_close_to_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    result = okrsync(
        sandbox, tmp_path, "check", jira_progress="OKR Confidence", tb_progress="OKR Confidence"
    )
    assert result.exit_code == 1, result.output
    assert "did you mean" not in result.output
    assert "    fix: create field 'OKR Confidence' (okrsync fields bootstrap)\n" in result.output
    assert "    fix: add custom field 'OKR Confidence' to project Mobile App\n" in result.output


def test_sync_names_the_close_field_for_both_trackers(sandbox: Sandbox, tmp_path: Path) -> None:
    result = okrsync(sandbox, tmp_path, "sync")
    assert result.exit_code == 1, result.output
    assert (
        "OKR-1 not written: field 'OKR Progres' does not exist on Jira connection 'cloud' "
        "(did you mean 'OKR Progress'?): fix the name in the mapping\n"
    ) in result.stdout
    assert (
        "tb-task-okr-home not written: Teambition project Mobile App has no custom field "
        "'okr progres' (did you mean 'OKR Progress'?): fix the name in the mapping\n"
    ) in result.stdout


def _field_posts(sandbox: Sandbox) -> list[object]:
    jira = sandbox.jira["cloud"]
    return [e.body for e in jira.log.entries() if e.method == "POST" and e.path.endswith("/field")]


def test_bootstrap_refuses_a_near_duplicate_and_names_the_existing_field(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    for args in (("--dry-run",), ()):
        result = okrsync(sandbox, tmp_path, "fields", "bootstrap", *args)
        assert result.exit_code == 1, result.output
        assert (
            "  not created   OKR Progres: the site already has 'OKR Progress' "
            "(customfield_10100), nearly the same name; write that name in the mapping's "
            "write fields, or rerun with --allow-similar if 'OKR Progres' is meant to be "
            "another field\n"
        ) in result.output
        assert "  exists        OKR Status\n" in result.output
    assert _field_posts(sandbox) == []
    assert "OKR Progres" not in {f.name for f in sandbox.jira["cloud"].data.fields.values()}


@pytest.mark.parametrize("name", ["OKR  Progress", "OKRProgress", "OKR Prgress", "Okr Progres"])
def test_case_space_and_letter_differences_are_near_duplicates(
    sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    result = okrsync(sandbox, tmp_path, "fields", "bootstrap", jira_progress=name)
    assert result.exit_code == 1, result.output
    assert "the site already has 'OKR Progress' (customfield_10100)" in result.output
    assert _field_posts(sandbox) == []


def test_bootstrap_creates_a_similar_field_when_told_to(sandbox: Sandbox, tmp_path: Path) -> None:
    result = okrsync(sandbox, tmp_path, "fields", "bootstrap", "--allow-similar")
    assert result.exit_code == 0, result.output
    assert "  created       OKR Progres (number) as customfield_" in result.output
    assert [body["name"] for body in _field_posts(sandbox)] == ["OKR Progres"]  # type: ignore[index]


def test_a_numbered_variant_is_another_field_not_a_typo(sandbox: Sandbox, tmp_path: Path) -> None:
    result = okrsync(sandbox, tmp_path, "fields", "bootstrap", jira_progress="OKR Progress 2")
    assert result.exit_code == 0, result.output
    assert "  created       OKR Progress 2 (number) as customfield_" in result.output
