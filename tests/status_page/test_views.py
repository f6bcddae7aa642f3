"""The pieces of the page on their own: links without credentials, ages, the SVG chart
on edge cases (no history, over-achievement, no period), the status page settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from mappings.period import Period
from okrsync.config.settings import Settings, StatusPageSettings, masked
from okrsync.views.chart import series, svg_chart
from okrsync.views.html import age, bar_value, status_label
from okrsync.views.links import ItemLinks, public_url
from okrsync.views.term_chart import chart_text

Q4 = Period(date(2026, 10, 1), date(2026, 12, 31))


def _snapshot(day: int, progress: float | None, status: str = "on_track") -> dict[str, object]:
    at = datetime(2026, 11, day, 12, tzinfo=UTC)
    return {"at": at, "progress": progress, "expected": 0.5, "status": status}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://bot:s3cret@jira.example/", "https://jira.example"),
        ("https://bot@jira.example:8443/jira/?x=1#f", "https://jira.example:8443/jira"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_public_urls_carry_no_user_password_query_or_fragment(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_item_links_per_tracker_and_none_when_the_connection_is_ambiguous() -> None:
    settings = Settings(
        jira={
            "cloud": {"url": "https://u:p@acme.atlassian.net", "email": "a@b.c", "api_token": "t"}
        },
        teambition={"main": {"app_id": "a", "app_secret": "s", "tenant_id": "t"}},
    )
    links = ItemLinks.from_settings(settings)
    assert links.item(["jira:cloud"], {"key": "PAY-2"}) == "https://acme.atlassian.net/browse/PAY-2"
    assert links.item(["teambition:main"], {"item_id": "t1", "key": "MOB-3"}) == (
        "https://www.teambition.com/task/t1"
    )
    assert links.item(["jira:cloud", "teambition:main"], {"key": "PAY-2"}) is None
    assert links.target("jira:cloud", "OKR-1") == "https://acme.atlassian.net/browse/OKR-1"


def test_ages_statuses_and_bar_widths_read_as_people_read_them() -> None:
    assert age(timedelta(seconds=42)) == "42 s"
    assert age(timedelta(minutes=12, seconds=5)) == "12 min"
    assert age(timedelta(hours=30)) == "30 h"
    assert age(timedelta(days=3, hours=1)) == "3 days"
    assert status_label("off_track") == "Off track"
    assert status_label(None) == "Unknown"
    assert bar_value(1.4) == "100.0" and bar_value(-0.1) == "0.0" and bar_value(None) == "0.0"


def test_the_chart_spans_the_period_with_the_expected_line_from_0_to_100() -> None:
    laid = series([_snapshot(1, 0.3), _snapshot(20, 0.6, "stale")], Q4)
    assert laid is not None
    assert laid.expected == [(0.0, 0.0), (1.0, 1.0)]
    assert [round(x, 3) for x, _ in laid.progress] == [0.342, 0.549]  # 31.5 and 50.5 of 92 days
    assert laid.stale == [False, True]
    svg = str(svg_chart([_snapshot(1, 0.3), _snapshot(2, 1.7)], Q4, title="<b>T</b>"))
    assert 'role="img"' in svg and "&lt;b&gt;T&lt;/b&gt;" in svg and "<b>" not in svg
    assert ",2.0" in svg  # over-achievement is drawn at the top (y = the top margin)


def test_charts_with_nothing_to_draw_say_so() -> None:
    assert series([], None) is None
    assert "no history recorded yet" in str(svg_chart([], None, title="x"))
    assert "nothing to draw" in chart_text([_snapshot(1, None)], None).plain
    # No period: the expected line follows the recorded expectations.
    laid = series([_snapshot(1, 0.2), _snapshot(3, 0.4)], None)
    assert laid is not None and laid.expected == [(0.0, 0.5), (1.0, 0.5)]


def test_the_status_page_password_needs_its_user_and_is_masked() -> None:
    with pytest.raises(ValidationError, match="both username and password"):
        StatusPageSettings(username="pm")
    settings = Settings(status_page={"username": "pm", "password": "hunter2"})
    shown = masked(settings)
    assert shown["status_page"] == {"username": "pm", "password": "**********"}
