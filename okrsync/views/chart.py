"""A key result's progress over time, with the expected pace, as an inline SVG (drawn on
the server: no script, no external asset, allowed under a strict Content-Security-Policy).

``series`` lays the history out on the period (the x axis runs from the period's start
to its end, widened to the snapshots outside it); the same layout draws the terminal
chart of ``okrsync history --chart`` (``okrsync.views.term_chart``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import Any

from markupsafe import Markup

from mappings.period import Period

__all__ = ["Series", "last_day", "series", "svg_chart"]


@dataclass(frozen=True)
class Series:
    """Points as (x, y): x from 0 (start) to 1 (end) of the time shown, y a ratio."""

    start: datetime
    end: datetime
    progress: list[tuple[float, float]]
    stale: list[bool]
    expected: list[tuple[float, float]]


def _aware(moment: Any) -> datetime | None:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def series(history: Sequence[Mapping[str, Any]], period: Period | None) -> Series | None:
    """The history (snapshots, oldest first) laid out on the period; None when there is
    nothing to draw (no snapshot with a number and no period)."""
    points = [
        (at, float(s["progress"]), bool(s.get("stale") or s.get("status") == "stale"))
        for s in history
        if isinstance(s.get("progress"), int | float) and (at := _aware(s.get("at"))) is not None
    ]
    times = [p[0] for p in points]
    if period is not None:
        times += [period.starts_at, period.ends_at]
    if not times:
        return None
    start, end = min(times), max(times)
    span = (end - start).total_seconds() or 1.0

    def x(at: datetime) -> float:
        return (at - start).total_seconds() / span

    if period is not None:
        expected = [(x(period.starts_at), 0.0), (x(period.ends_at), 1.0)]
    else:
        expected = [
            (x(at), float(s["expected"]))
            for s in history
            if isinstance(s.get("expected"), int | float)
            and (at := _aware(s.get("at"))) is not None
        ]
    return Series(
        start=start,
        end=end,
        progress=[(x(at), value) for at, value, _ in points],
        stale=[stale for _, _, stale in points],
        expected=expected,
    )


def last_day(laid: Series) -> date:
    """The last day the chart covers (a period ends at midnight of the day after)."""
    end = laid.end
    if end > laid.start and end.time() == time():
        end -= timedelta(seconds=1)
    return end.date()


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def svg_chart(
    history: Sequence[Mapping[str, Any]],
    period: Period | None,
    *,
    title: str,
    width: int = 160,
    height: int = 40,
    axes: bool = False,
) -> Markup:
    """The chart as an ``<svg>`` element (``role="img"`` with a text alternative).

    ``axes`` adds the 0%/100% labels and the first and last day, for the large chart of a
    key result's page. Progress above 100% is drawn at the top.
    """
    laid = series(history, period)
    left, bottom, top, right = (34, 16, 6, 6) if axes else (2, 2, 2, 2)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(point: tuple[float, float]) -> tuple[float, float]:
        x, y = point
        return left + x * plot_w, top + (1 - max(0.0, min(1.0, y))) * plot_h

    label = escape(title)
    if laid is None or not laid.progress:
        desc = f"{label}: no history recorded yet"
    else:
        last = laid.progress[-1][1]
        desc = f"{label}: {len(laid.progress)} readings, latest {last * 100:.1f}%"
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{desc}">',
        f"<title>{desc}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for ratio in (0.5,) if not axes else (0.25, 0.5, 0.75):
        y = _fmt(top + (1 - ratio) * plot_h)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y}" y2="{y}" class="grid"/>')
    if laid is not None and len(laid.expected) >= 2:
        line = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in map(px, laid.expected))
        parts.append(f'<polyline points="{line}" class="expected"/>')
    if laid is not None and laid.progress:
        line = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in map(px, laid.progress))
        parts.append(f'<polyline points="{line}" class="progress"/>')
        for point, stale in zip(laid.progress, laid.stale, strict=True):
            a, b = px(point)
            kind = "dot stale" if stale else "dot"
            parts.append(f'<circle cx="{_fmt(a)}" cy="{_fmt(b)}" r="2" class="{kind}"/>')
    if axes:
        for ratio, text in ((1.0, "100%"), (0.0, "0%")):
            y = _fmt(top + (1 - ratio) * plot_h + 4)
            parts.append(
                f'<text x="{left - 4}" y="{y}" class="axis" text-anchor="end">{text}</text>'
            )
        if laid is not None:
            y = _fmt(height - 3)
            first, final = laid.start.date().isoformat(), last_day(laid).isoformat()
            parts.append(f'<text x="{left}" y="{y}" class="axis">{first}</text>')
            parts.append(
                f'<text x="{left + plot_w}" y="{y}" class="axis" text-anchor="end">{final}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
