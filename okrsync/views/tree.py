"""The objectives-and-key-results tree of the text output, laid out for the console's width.

One row per objective and key result: the tree branch and title (cut with an ellipsis
when long), the id (dim), a progress bar with ``│`` at the expected pace, the percentage
and the status. At 100 columns and more the id has its own column; on narrower consoles
(80 columns, or a pipe, where rich assumes 80) it goes on a second, dim line below the
title, so titles keep room. Stale, held and other notes go on a line of their own, as
does why a key result has no forecast yet (in short; ``okrsync explain`` has it all).
An objective whose every key result is stale says so, with its last values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

__all__ = ["BAR_WIDTH", "bar", "pct", "print_tree", "status_text"]

BAR_WIDTH = 20
STATUS_STYLE = {
    "done": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "stale": "magenta",
    "not_started": "dim",
}
_PCT_WIDTH = len("100.0%")
_GAP = "  "
# Narrowest title column (tree branch included) worth an id column beside it.
_MIN_TITLE = 36
# Longest stale reason shown in the tree; the sources section has the whole error.
_REASON_WIDTH = 60
_NO_FORECAST = "no forecast yet: "


def pct(value: float | None) -> str:
    """A ratio as a percentage with one decimal; ``—`` when unknown."""
    return "—" if value is None else f"{value * 100:.1f}%"


def bar(progress: float | None, expected: float | None, width: int = BAR_WIDTH) -> str:
    """A progress bar with ``│`` where the expected pace is: ``█████░░│░░░``."""
    if progress is None:
        cells = ["·"] * width
    else:
        filled = round(max(0.0, min(1.0, progress)) * width)
        cells = ["█"] * filled + ["░"] * (width - filled)
    if expected is not None:
        cells[min(width - 1, max(0, int(expected * width)))] = "│"
    return "".join(cells)


def status_text(status: object) -> Text:
    """A status as people read it (``on track``), in its colour."""
    name = str(status or "")
    return Text(name.replace("_", " "), style=STATUS_STYLE.get(name, ""))


@dataclass
class _Node:
    """One row of the tree: the branch drawn before it and what continues below it."""

    lead: str
    below: str  # drawn before the node's own extra lines (id, notes)
    title: str
    node_id: str
    data: Mapping[str, Any]
    bold: bool
    notes: list[tuple[str, str]] = field(default_factory=list)


def _stale_note(kr: Mapping[str, Any], down: set[str]) -> str:
    failed = [name for name in kr.get("sources", ()) if name in down]
    if failed:
        return f"STALE: {', '.join(failed)} failed; last good numbers shown"
    reason = str(kr.get("stale_reason") or "progress unknown")
    if len(reason) > _REASON_WIDTH:
        reason = reason[: _REASON_WIDTH - 1] + "…"
    return f"STALE: {reason}"


def _forecastable(kr: Mapping[str, Any]) -> bool:
    """Whether a forecast is looked for: not for a final, stale (its own note says why),
    done or fully achieved key result, nor for one recorded without any forecast."""
    if kr.get("final") or kr.get("frozen") or kr.get("stale") or kr.get("status") == "done":
        return False
    progress = kr.get("progress")
    if isinstance(progress, int | float) and progress >= 1.0:
        return False
    return isinstance(kr.get("forecast"), Mapping)


def _no_forecast_reason(kr: Mapping[str, Any]) -> str | None:
    """Why a KR has no forecast, in short ("too little history"); ``okrsync explain``
    gives the whole reason. None when it has one, or when none is looked for."""
    if not _forecastable(kr) or kr["forecast"].get("projected_progress") is not None:
        return None
    # The basis reads "<reason>: <details>"; the tree keeps the reason.
    return str(kr["forecast"].get("basis") or "unknown").split(":", 1)[0].strip()


def _forecast_note(kr: Mapping[str, Any]) -> str | None:
    reason = _no_forecast_reason(kr)
    return None if reason is None else _NO_FORECAST + reason


def _shared_forecast_reason(krs: Sequence[Mapping[str, Any]]) -> str | None:
    """The reason when no key result has a forecast, all for the same reason (say, on
    the first cycles): said once below the tree, not on every row."""
    reasons = {_no_forecast_reason(kr) for kr in krs if _forecastable(kr)}
    return next(iter(reasons)) if len(reasons) == 1 and None not in reasons else None


def _kr_notes(kr: Mapping[str, Any], down: set[str]) -> list[tuple[str, str]]:
    notes: list[tuple[str, str]] = []
    if kr.get("unknown"):
        shown = "last good numbers shown" if kr.get("progress") is not None else "no number"
        notes.append((f"UNKNOWN: {kr['unknown']}; {shown}, nothing written", "bold red"))
    elif kr.get("stale"):
        notes.append((_stale_note(kr, down), "magenta"))
    if kr.get("held"):
        notes.append((f"HELD: {kr['held']}; previous numbers shown, nothing written", "yellow"))
    if kr.get("final"):
        since = f" since {_day(kr['final_since'])}" if kr.get("final_since") else ""
        notes.append(
            (f"final{since}: not recomputed, fields kept as final (--recompute-final)", "dim")
        )
    elif kr.get("final_on"):
        notes.append(
            (f"period closed: still computed until {_day(kr['final_on'])}, then final", "dim")
        )
    if kr.get("override") is not None:
        notes.append(("progress set by a person (manual_override)", "cyan"))
    forecast = _forecast_note(kr)
    if forecast is not None:
        notes.append((forecast, "dim"))
    return notes


def _day(value: str) -> str:
    return str(value)[:10]


def _objective_notes(objective: Mapping[str, Any]) -> list[tuple[str, str]]:
    count = len(objective.get("stale_krs", ()))
    if objective.get("status") == "stale":
        # Every input is stale: the numbers are the last good ones, not this cycle's.
        shown = "no values yet" if objective.get("progress") is None else "last values shown"
        return [(f"STALE: every KR is stale ({count}); {shown}", "magenta")]
    if not objective.get("partially_stale"):
        return []
    return [(f"partially stale: {count} KR{'' if count == 1 else 's'} not fresh", "magenta")]


def _nodes(
    objectives: Sequence[Mapping[str, Any]],
    krs: Sequence[Mapping[str, Any]],
    down: set[str],
) -> list[_Node]:
    """The rows in tree order: roots, then each objective's KRs and child objectives."""
    by_id = {o["id"]: o for o in objectives}
    krs_of: dict[str, list[Mapping[str, Any]]] = {}
    for kr in krs:
        krs_of.setdefault(str(kr.get("objective")), []).append(kr)
    out: list[_Node] = []
    seen: set[str] = set()

    def children_of(objective: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
        kids: list[tuple[str, Mapping[str, Any]]] = [
            ("kr", kr) for kr in krs_of.pop(objective["id"], [])
        ]
        kids += [
            ("objective", child)
            for child in objectives
            if child.get("parent") == objective["id"] and child["id"] not in seen
        ]
        return kids

    def add(objective: Mapping[str, Any], lead: str, mark: str, inner: str) -> None:
        seen.add(objective["id"])
        kids = children_of(objective)
        below = inner + ("│  " if kids else "   ")
        out.append(
            _Node(
                lead + mark,
                below,
                str(objective["title"]),
                str(objective["id"]),
                objective,
                True,
                _objective_notes(objective),
            )
        )
        for index, (kind, child) in enumerate(kids):
            last = index == len(kids) - 1
            child_mark = "└─ " if last else "├─ "
            child_inner = inner + ("   " if last else "│  ")
            if kind == "objective":
                add(child, inner, child_mark, child_inner)
            else:
                out.append(
                    _Node(
                        inner + child_mark,
                        child_inner,
                        str(child["title"]),
                        str(child["id"]),
                        child,
                        False,
                        _kr_notes(child, down),
                    )
                )

    for objective in objectives:
        if objective.get("parent") not in by_id and objective["id"] not in seen:
            add(objective, "", "", "")
    for leftover in krs_of.values():  # KRs whose objective is not shown
        for kr in leftover:
            out.append(
                _Node("", "", str(kr["title"]), str(kr["id"]), kr, False, _kr_notes(kr, down))
            )
    return out


def legend(objectives: Sequence[Mapping[str, Any]], krs: Sequence[Mapping[str, Any]]) -> Text:
    """What the bar's marker means, with each period's expected pace when rows agree on it."""
    paces: dict[str, set[float]] = {}
    for row in [*objectives, *krs]:
        expected = row.get("expected")
        if row.get("period") and expected is not None:
            paces.setdefault(str(row["period"]), set()).add(round(float(expected), 3))
    known = [f"{pct(next(iter(v)))} of {period}" for period, v in paces.items() if len(v) == 1]
    text = Text("█ progress  │ expected pace", style="dim")
    if known:
        text.append(f" ({', '.join(known)} elapsed)", style="dim")
    return text


def _cut(text: str, width: int, style: str = "") -> Text:
    """``text`` fitted to ``width`` cells: cut with an ellipsis, padded with spaces."""
    out = Text(text, style=style, no_wrap=True, overflow="ellipsis")
    out.truncate(max(1, width), overflow="ellipsis", pad=True)
    return out


def print_tree(
    console: Console,
    objectives: Sequence[Mapping[str, Any]],
    krs: Sequence[Mapping[str, Any]],
    sources: Mapping[str, Mapping[str, Any]],
) -> None:
    """Print the tree, laid out for ``console.width``."""
    down = {name for name, source in sources.items() if not source.get("up", True)}
    nodes = _nodes(objectives, krs, down)
    if not nodes:
        return
    shared_reason = _shared_forecast_reason(krs)
    if shared_reason is not None:
        for node in nodes:
            node.notes = [n for n in node.notes if not n[0].startswith(_NO_FORECAST)]
    width = console.width
    bar_width = BAR_WIDTH if width >= 70 else 10
    status_width = max(cell_len(status_text(n.data.get("status")).plain) for n in nodes)
    status_width = max(status_width, len("Status"))
    id_width = min(max(cell_len(n.node_id) for n in nodes), 40)
    right = len(_GAP) + bar_width + 1 + _PCT_WIDTH + len(_GAP) + status_width
    title_width = width - right - len(_GAP) - id_width
    wide = title_width >= _MIN_TITLE
    if not wide:
        title_width = width - right

    header = _cut("Objective / key result", title_width, "bold")
    if wide:
        header.append(_GAP)
        header.append_text(_cut("ID", id_width, "bold"))
    header.append(_GAP)
    header.append_text(_cut("Progress", bar_width + 1 + _PCT_WIDTH, "bold"))
    header.append(_GAP)
    header.append("Status", style="bold")
    console.print(header, no_wrap=True, crop=True)

    for node in nodes:
        line = Text(node.lead, style="dim", no_wrap=True)
        line.append_text(
            _cut(node.title, title_width - cell_len(node.lead), "bold" if node.bold else "")
        )
        if wide:
            line.append(_GAP)
            line.append_text(_cut(node.node_id, id_width, "dim"))
        line.append(_GAP)
        line.append(bar(node.data.get("progress"), node.data.get("expected"), bar_width))
        line.append(" " + pct(node.data.get("progress")).rjust(_PCT_WIDTH))
        line.append(_GAP)
        line.append_text(status_text(node.data.get("status")))
        console.print(line, no_wrap=True, crop=True)
        extra: list[tuple[str, str]] = [] if wide else [(node.node_id, "dim")]
        extra += node.notes
        for note, style in extra:
            sub = Text(node.below, style="dim", no_wrap=True)
            sub.append_text(_cut(note, width - cell_len(node.below), style))
            sub.rstrip()
            console.print(sub, no_wrap=True, crop=True)
    console.print(legend(objectives, krs), no_wrap=True, crop=True)
    if shared_reason is not None:
        text = f"No forecast yet for any key result: {shared_reason} (see okrsync explain)"
        console.print(Text(text, style="dim"))
