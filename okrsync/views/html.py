"""The status page and the HTML report, rendered on the server from the Jinja2 templates
in ``okrsync/views/templates/`` (autoescaped; inline CSS, inline SVG, no script and no
external asset, so that a page works offline and under ``CONTENT_SECURITY_POLICY``).

The daemon serves ``index.html`` at ``/``, ``objective.html`` at ``/objectives/<id>`` and
``kr.html`` at ``/key-results/<id>``; ``okrsync report --format html`` writes
``report.html``: the same tree followed by every key result's page, linked by anchors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from okrsync.views.chart import svg_chart
from okrsync.views.links import ItemLinks
from okrsync.views.status_data import KrDetail, ObjectiveView, Overview

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PageLinks",
    "age",
    "render_index",
    "render_kr",
    "render_objective",
    "render_report",
    "status_label",
]

#: What a page may load: nothing but its own inline styles (and data: images).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "off_track": "Off track",
    "done": "Done",
    "stale": "Stale",
    "not_started": "Not started",
}


def status_label(status: Any) -> str:
    """A status as people read it: ``at_risk`` -> ``At risk``; ``—`` when none."""
    if not status:
        return "Unknown"
    name = str(status)
    return _LABELS.get(name, name.replace("_", " ").capitalize())


def pct(value: Any) -> str:
    """A ratio as a percentage with one decimal; ``—`` when unknown."""
    return "—" if not isinstance(value, int | float) else f"{value * 100:.1f}%"


def signed_pct(value: Any) -> str:
    """A relative change as ``+25.0%`` / ``-10.0%``."""
    return "—" if not isinstance(value, int | float) else f"{value * 100:+.1f}%"


def bar_value(value: Any) -> str:
    """A ratio as the bar's width in percent, 0..100 (over-achievement fills the bar)."""
    ratio = max(0.0, min(1.0, float(value))) if isinstance(value, int | float) else 0.0
    return f"{ratio * 100:.1f}"


def age(delta: timedelta) -> str:
    """How old something is, in the largest unit that fits: ``40 s``, ``12 min``, ``5 h``,
    ``3 days``."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _moment(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


def when(value: Any) -> str:
    """A moment in UTC to the minute: ``2026-12-05 05:43 UTC``."""
    moment = _moment(value)
    if moment is None:
        return "—" if value is None else str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def day(value: Any) -> str:
    """A date (or the day of a moment) as ``2026-12-20``."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    return str(value)[:10]


def number(value: Any) -> str:
    """A number without a needless ``.0``; ``—`` when none."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    if float(value) == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def shown_value(value: Any) -> str:
    """A ledger value, in short (a property's JSON is summarised by its keys)."""
    if value is None:
        return "—"
    if isinstance(value, Mapping):
        return (
            "{" + ", ".join(str(k) for k in list(value)[:6]) + (", …}" if len(value) > 6 else "}")
        )
    return number(value) if isinstance(value, int | float) else str(value)


@dataclass(frozen=True)
class PageLinks:
    """Where a page links to objectives and key results: the daemon's paths (relative to
    ``prefix``, the way back to ``/``), or anchors within one report file."""

    prefix: str = ""
    anchors: bool = False

    def kr(self, kr_id: str) -> str:
        if self.anchors:
            return f"#kr-{quote(kr_id, safe='')}"
        return f"{self.prefix}key-results/{quote(kr_id, safe='')}"

    def objective(self, objective_id: str) -> str:
        if self.anchors:
            return f"#objective-{quote(objective_id, safe='')}"
        return f"{self.prefix}objectives/{quote(objective_id, safe='')}"

    @property
    def home(self) -> str:
        return "#main" if self.anchors else (self.prefix or "./")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("okrsync.views", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=pct,
        signed_pct=signed_pct,
        bar_value=bar_value,
        age=age,
        when=when,
        day=day,
        number=number,
        value=shown_value,
        status_label=status_label,
    )
    env.globals["chart"] = svg_chart
    return env


_ENV = _environment()


def _render(name: str, overview: Overview, links: PageLinks, **values: Any) -> str:
    template = _ENV.get_template(name)
    return template.render(
        report=overview.report,
        now=overview.now,
        overview=overview,
        links=links,
        home=links.home,
        **values,
    )


def render_index(overview: Overview) -> str:
    """The status page: every objective as a tree with its key results."""
    return _render("index.html", overview, PageLinks(prefix=""))


def render_objective(overview: Overview, node: ObjectiveView) -> str:
    """One objective's page: it, its key results and the objectives aligned under it."""
    return _render("objective.html", overview, PageLinks(prefix="../"), node=node)


def render_kr(overview: Overview, detail: KrDetail, item_links: ItemLinks) -> str:
    """One key result's page: its numbers, chart, evidence and write history."""
    return _render(
        "kr.html", overview, PageLinks(prefix="../"), detail=detail, item_links=item_links
    )


def render_report(overview: Overview, details: Sequence[KrDetail], item_links: ItemLinks) -> str:
    """One self-contained file: the tree, then every key result's page (anchors link them)."""
    return _render(
        "report.html",
        overview,
        PageLinks(anchors=True),
        details=details,
        item_links=item_links,
    )
