"""``okrsync report --format html|markdown [--out FILE]`` and ``okrsync history --chart``
on the demo: the numbers are the engine's, a stale key result shows its age, the HTML
is one self-contained file, and a title with HTML in it is shown, not interpreted."""

from __future__ import annotations

import re
from pathlib import Path

from okrsync.sandbox.server import Sandbox
from okrsync.views.html import pct
from tests.e2e.cli import invoke, write_config
from tests.status_page.conftest import report_json

AGE = re.compile(r"Stale: numbers (\d+) (s|min|h|days) old \(last fresh ")


def _row(html: str, kr_id: str) -> str:
    """The overview's row of ``kr_id``: from its list item to the next one."""
    start = html.index(f'<li id="row-{kr_id}">')
    end = html.find('<li id="row-', start + 1)
    return html[start : end if end != -1 else len(html)]


def test_the_html_report_shows_the_engines_numbers_and_is_self_contained(
    synced: Path, tmp_path: Path
) -> None:
    out = tmp_path / "okr.html"
    result = invoke(synced, "report", "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    html = out.read_text(encoding="utf-8")
    data = report_json(synced)
    assert data["key_results"]
    for kr in data["key_results"]:
        row = _row(html.split('<section class="kr-detail"')[0], kr["id"])
        valuenow = re.search(r'aria-valuenow="([\d.]+)"', row)
        assert valuenow is not None, kr["id"]
        shown = min(1.0, kr["progress"]) * 100
        assert float(valuenow.group(1)) == round(shown, 1)
        assert f'<div class="pct">{pct(kr["progress"])}</div>' in row
        assert f"left: {kr['expected'] * 100:.1f}%" in row
        label = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}
        assert label.get(kr["status"], kr["status"].replace("_", " ").capitalize()) in row
        # Every key result's page is in the file, linked by an anchor.
        assert f'href="#kr-{kr["id"]}"' in row
        assert f'id="kr-{kr["id"]}"' in html
    for objective in data["objectives"]:
        assert f'id="objective-{objective["id"]}"' in html
    # Self-contained: nothing to fetch, nothing to run.
    assert "<script" not in html.lower()
    assert not re.search(r"\ssrc=|<link\b|@import|url\(", html)


def test_a_stale_key_result_shows_how_old_its_numbers_are(synced: Path) -> None:
    result = invoke(synced, "report", "--format", "html")
    assert result.exit_code == 0, result.output
    html = result.stdout
    stale = [kr for kr in report_json(synced)["key_results"] if kr["stale"]]
    fresh = [kr for kr in report_json(synced)["key_results"] if not kr["stale"]]
    assert stale and fresh
    overview = html.split('<section class="kr-detail"')[0]
    for kr in stale:
        row = _row(overview, kr["id"])
        assert '<span class="badge s-stale">Stale</span>' in row
        assert AGE.search(row), row
    for kr in fresh:
        assert "Stale:" not in _row(overview, kr["id"])
    markdown = invoke(synced, "report", "--format", "markdown").stdout
    for kr in stale:
        line = next(line for line in markdown.splitlines() if f"(`{kr['id']}`)" in line)
        assert re.search(r"\*\*stale\*\*: numbers \d+ (s|min|h|days) old", line), line


def test_the_markdown_report_has_every_key_result_with_its_numbers(
    synced: Path, tmp_path: Path
) -> None:
    out = tmp_path / "okr.md"
    result = invoke(synced, "report", "--format", "markdown", "--out", str(out))
    assert result.exit_code == 0, result.output
    markdown = out.read_text(encoding="utf-8")
    assert markdown.startswith("# OKR status\n")
    data = report_json(synced)
    for kr in data["key_results"]:
        line = next(line for line in markdown.splitlines() if f"(`{kr['id']}`)" in line)
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        assert cells[1].endswith(pct(kr["progress"]))
        assert cells[2] == pct(kr["expected"])
    for objective in data["objectives"]:
        assert f"`{objective['id']}`" in markdown


def test_format_and_output_do_not_combine_and_existing_outputs_still_work(
    synced: Path, tmp_path: Path
) -> None:
    both = invoke(synced, "report", "--format", "html", "--output", "json")
    assert both.exit_code == 2
    assert "not both" in both.output
    text = invoke(synced, "report")
    assert text.exit_code == 0 and "Objective / key result" in text.stdout
    out = tmp_path / "report.json"
    written = invoke(synced, "report", "--output", "json", "--out", str(out))
    assert written.exit_code == 0 and written.stdout == ""
    assert '"schema_version": 1' in out.read_text(encoding="utf-8")


MAPPING = """\
version: 1
defaults:
  write:
    fields: {progress: OKR Progress}
objectives:
  - id: esc-objective
    title: "Objective <b>bold</b> & co"
    period: 2026-Q4
    key_results:
      - id: esc-kr
        title: "<script>alert(1)</script> & \\"quoted\\" | [link](x) *star*"
        scope: {kind: jira_epics, epics: [PAY-1]}
        measure: {kind: count}
"""


def test_titles_with_html_and_markdown_in_them_are_shown_as_text(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    (mappings / "okrs.yaml").write_text(MAPPING, encoding="utf-8")
    config = write_config(sandbox, tmp_path, mappings=mappings)
    synced = invoke(config, "sync")
    assert synced.exit_code == 0, synced.output
    html = invoke(config, "report", "--format", "html").stdout
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quoted&#34;" in html
    assert "Objective &lt;b&gt;bold&lt;/b&gt; &amp; co" in html
    markdown = invoke(config, "report", "--format", "markdown").stdout
    assert "<script>" not in markdown
    line = next(line for line in markdown.splitlines() if "(`esc-kr`)" in line)
    assert r"\| \[link\](x) \*star\*" in line
    # The table keeps its five cells: the title's pipe is escaped.
    assert len(re.findall(r"(?<!\\)\|", line)) == 6


def test_history_chart_draws_progress_and_the_expected_pace(synced: Path) -> None:
    kr = next(kr for kr in report_json(synced)["key_results"] if not kr["stale"])
    result = invoke(synced, "history", kr["id"], "--chart")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{kr['title']} [{kr['id']}]"
    rows = [line for line in lines if line[5:6] in ("┤", "│")]
    assert len(rows) == 10
    assert rows[0].startswith("100% ┤") and rows[-1].startswith("  0% ┤")
    # Progress is drawn at the latest reading's column, up to its row.
    filled = [
        i for i, line in enumerate(rows) if "█" in line[6:] or any(c in line[6:] for c in "▁▂▃▄▅▆▇")
    ]
    assert filled and filled[-1] == len(rows) - 1
    assert round((len(rows) - filled[0]) / len(rows), 1) >= round(kr["progress"] - 0.1, 1)
    # The expected pace: a rising line of dots from the period's start to its end.
    dots = [line.index("·") for line in rows if "·" in line[6:]]
    assert len(dots) >= 8 and dots == sorted(dots, reverse=True)
    assert "expected pace" in lines[-1]
    period = kr["period"].split("..")
    assert period[0] in result.stdout and period[1] in result.stdout
    json_too = invoke(synced, "history", kr["id"], "--chart", "--output", "json")
    assert json_too.exit_code == 2
