"""``okrsync history KR --chart``: the key result's progress over time in the terminal,
with the expected pace, laid out like the status page's chart (``okrsync.views.chart``).

Progress fills each column up to its value with block characters (eighths of a row);
``·`` marks the expected pace where progress does not cover it. Columns after the latest
reading stay empty; a stale reading is drawn in the stale colour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from rich.text import Text

from mappings.period import Period
from okrsync.views.chart import Series, last_day, series

__all__ = ["EXPECTED_MARK", "chart_text"]

EXPECTED_MARK = "·"
_EIGHTHS = " ▁▂▃▄▅▆▇█"
_LABEL = 5  # "100% "


def _at(points: Sequence[tuple[float, float]], x: float) -> float | None:
    """The expected line's value at ``x`` (linear between its points)."""
    for (x0, y0), (x1, y1) in pairwise(points):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def _columns(laid: Series, width: int) -> list[tuple[float | None, bool, float | None]]:
    """Per column: the progress shown (the last reading up to the column's end), whether
    that reading was stale, and the expected pace at the column's middle."""
    out: list[tuple[float | None, bool, float | None]] = []
    last_x = laid.progress[-1][0] if laid.progress else -1.0
    for column in range(width):
        left, right = column / width, (column + 1) / width
        value: float | None = None
        stale = False
        if left <= last_x:
            for (x, y), was_stale in zip(laid.progress, laid.stale, strict=True):
                if x <= right:
                    value, stale = y, was_stale
        out.append((value, stale, _at(laid.expected, (left + right) / 2)))
    return out


def chart_text(
    history: Sequence[Mapping[str, Any]],
    period: Period | None,
    *,
    width: int = 60,
    height: int = 10,
) -> Text:
    """The chart as rich Text: ``height`` rows from 100% down to 0%, ``width`` columns
    from the period's start to its end, the axis with its first and last day, a legend."""
    laid = series(history, period)
    if laid is None or not laid.progress:
        return Text("no progress recorded yet: nothing to draw", style="dim")
    columns = _columns(laid, width)
    text = Text()
    for row in range(height - 1, -1, -1):
        low, high = row / height, (row + 1) / height
        label = {height - 1: "100%", height // 2: " 50%", 0: "  0%"}.get(row, "")
        text.append(f"{label:>4} ", style="dim")
        text.append("┤" if label else "│", style="dim")
        for value, stale, expected in columns:
            style = "magenta" if stale else "green"
            shown = None if value is None else max(0.0, min(1.0, value))
            if shown is not None and shown >= high:
                text.append("█", style=style)
            elif shown is not None and shown > low:
                eighth = round((shown - low) / (high - low) * 8)
                if eighth == 0 and expected is not None and low <= expected < high:
                    text.append(EXPECTED_MARK, style="bold yellow")
                else:
                    text.append(_EIGHTHS[eighth], style=style)
            elif expected is not None and (
                low <= expected < high or (row == height - 1 and expected >= 1.0)
            ):
                text.append(EXPECTED_MARK, style="bold yellow")
            else:
                text.append(" ")
        text.append("\n")
    text.append(" " * _LABEL + "└" + "─" * width + "\n", style="dim")
    first, last = laid.start.date().isoformat(), last_day(laid).isoformat()
    gap = max(1, width + 1 - len(first) - len(last))
    text.append(" " * _LABEL + first + " " * gap + last + "\n", style="dim")
    text.append(" " * _LABEL)
    text.append("█", style="green")
    text.append(" progress  ")
    text.append("█", style="magenta")
    text.append(" stale  ")
    text.append(EXPECTED_MARK, style="bold yellow")
    text.append(" expected pace")
    return text
