"""``okrsync report --format markdown``: the status page as Markdown, for chat and wikis.

One heading per objective (aligned objectives one level deeper), a table of its key
results with a text progress bar (``│`` at the expected pace), the status as a word, and
notes: staleness with its age, forecast, scope change. Titles are escaped so that no
Markdown or HTML in them is interpreted.
"""

from __future__ import annotations

import re
from typing import Any

from okrsync.views.html import age, pct, signed_pct, status_label, when
from okrsync.views.status_data import KrView, ObjectiveView, Overview
from okrsync.views.tree import bar

__all__ = ["md_escape", "render_markdown"]

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_BAR = 10


def md_escape(text: Any) -> str:
    """``text`` with Markdown punctuation backslash-escaped, ``<``, ``>`` and ``&`` as
    HTML entities, and line breaks as spaces (a table cell is one line)."""
    plain = " ".join(str(text).split())
    plain = plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", plain)


def _notes(kr: KrView) -> str:
    d = kr.data
    notes: list[str] = []
    if d.get("stale"):
        if kr.stale_age is not None and kr.fresh_at is not None:
            notes.append(f"**stale**: numbers {age(kr.stale_age)} old (since {when(kr.fresh_at)})")
        else:
            notes.append("**stale**: no fresh numbers yet")
    if d.get("unknown"):
        notes.append(f"unknown: {md_escape(d['unknown'])}")
    if d.get("held"):
        notes.append(f"held: {md_escape(d['held'])}")
    forecast = d.get("forecast") or {}
    if forecast.get("projected_progress") is not None:
        text = f"forecast {pct(forecast['projected_progress'])} by the end"
        if forecast.get("projected_completion"):
            text += f", 100% on {str(forecast['projected_completion'])[:10]}"
        notes.append(text)
    if d.get("scope_change"):
        notes.append(f"scope {signed_pct(d['scope_change'])}")
    if d.get("final"):
        notes.append("final")
    return "; ".join(notes)


def _objective(node: ObjectiveView, level: int, lines: list[str]) -> None:
    d = node.data
    hashes = "#" * min(level, 6)
    lines.append(
        f"{hashes} {md_escape(d.get('title', node.id))} — {pct(d.get('progress'))} · "
        f"{status_label(d.get('status'))}"
    )
    lines.append("")
    meta = f"`{node.id}` · {d.get('period') or ''} · expected {pct(d.get('expected'))}"
    if d.get("partially_stale") or d.get("status") == "stale":
        count = len(d.get("stale_krs") or ())
        meta += f" · **{count} key result{'' if count == 1 else 's'} stale**"
    lines.append(meta)
    lines.append("")
    if node.key_results:
        lines.append("| Key result | Progress | Expected | Status | Notes |")
        lines.append("|---|---|---|---|---|")
        for kr in node.key_results:
            k = kr.data
            shown = f"`{bar(k.get('progress'), k.get('expected'), _BAR)}` {pct(k.get('progress'))}"
            lines.append(
                f"| {md_escape(k.get('title', kr.id))} (`{kr.id}`) | {shown} | "
                f"{pct(k.get('expected'))} | {status_label(k.get('status'))} | {_notes(kr)} |"
            )
        lines.append("")
    for child in node.children:
        _objective(child, level + 1, lines)


def render_markdown(overview: Overview) -> str:
    """The report as one Markdown document."""
    report = overview.report
    lines = ["# OKR status", ""]
    run = report.get("run")
    if run:
        at = run.get("finished_at") or run.get("started_at")
        failing = run.get("failed_sources") or ()
        tail = f"; failing: {', '.join(failing)}" if failing else ""
        lines += [
            f"As of the last cycle, {when(at)} ({run.get('outcome') or 'unfinished'}{tail}).",
            "",
        ]
    for node in overview.roots:
        _objective(node, 2, lines)
    lines.append(
        f"Progress bars: `█` done, `│` the expected pace (the share of the period elapsed). "
        f"Made {when(overview.now)} by okrsync from its state store."
    )
    return "\n".join(lines) + "\n"
