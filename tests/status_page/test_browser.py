"""The daemon's status page in a real browser (Chromium through Playwright) on the demo,
at desktop and phone widths: the tree, a bar as wide as the key result's progress, the
stale badge with its age, a key result's page with its evidence linked to Jira, no
Content-Security-Policy violation, and no sideways scrolling on a phone."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from okrsync.sandbox.server import Sandbox
from tests.e2e.cli import write_config
from tests.service.daemon_process import DaemonProcess
from tests.status_page.conftest import fail_teambition, report_json

CHROMIUM = Path(os.environ.get("OKRSYNC_CHROMIUM", "/usr/bin/chromium"))
FINISHED = r"\bcycle \w+ \("
WIDTHS = {"desktop": 1280, "phone": 390}

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (make browser installs it)"
)


@pytest.fixture
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def served(
    synced: Path, sandbox: Sandbox, daemons: list[DaemonProcess]
) -> tuple[DaemonProcess, dict[str, Any]]:
    """A daemon over the synced demo (Teambition still failing), after its first cycle."""
    daemon = DaemonProcess(synced, synced.parent / "daemon.log")
    daemons.append(daemon)
    daemon.wait_for_log(FINISHED)
    return daemon, report_json(synced)


@pytest.mark.parametrize("device", list(WIDTHS))
def test_the_status_page_in_a_browser(
    served: tuple[DaemonProcess, dict[str, Any]], browser: Any, device: str, tmp_path: Path
) -> None:
    daemon, data = served
    page = browser.new_page(viewport={"width": WIDTHS[device], "height": 900})
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    response = page.goto(daemon.url + "/", timeout=30_000)
    assert response is not None and response.status == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]

    # The tree: every objective, aligned ones inside their parent's section.
    assert page.locator("section.objective").count() == len(data["objectives"])
    for objective in data["objectives"]:
        if objective["parent"]:
            nested = page.locator(
                f"section.objective:has(> .row #objective-{objective['parent']}) "
                f"#objective-{objective['id']}"
            )
            assert nested.count() == 1, objective["id"]

    # A bar is as wide as its key result's progress; the marker sits at the expected pace.
    kr = next(k for k in data["key_results"] if not k["stale"] and 0.2 < k["progress"] < 0.9)
    row = page.locator(f"#row-{kr['id']}")
    track = row.locator(".bar").bounding_box()
    fill = row.locator(".bar .fill").bounding_box()
    mark = row.locator(".bar .mark").bounding_box()
    assert track and fill and mark
    assert fill["width"] / track["width"] == pytest.approx(kr["progress"], abs=0.015)
    middle = mark["x"] + mark["width"] / 2 - track["x"]
    assert middle / track["width"] == pytest.approx(kr["expected"], abs=0.015)
    assert row.locator("[role=progressbar]").get_attribute("aria-valuenow") == (
        f"{kr['progress'] * 100:.1f}"
    )
    assert row.locator(".pct").inner_text() == f"{kr['progress'] * 100:.1f}%"

    # A stale key result: the badge says so in words, with the age of its numbers.
    stale = next(k for k in data["key_results"] if k["stale"])
    stale_row = page.locator(f"#row-{stale['id']}")
    badge = stale_row.locator(".badge")
    assert badge.is_visible() and badge.inner_text() == "Stale"
    assert re.search(
        r"numbers \d+ (s|min|h|days) old", stale_row.locator(".stale-note").inner_text()
    )
    assert stale_row.locator("svg.chart").is_visible()

    # Nothing runs off the side of a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device] + 1
    page.screenshot(path=str(tmp_path / f"status-{device}.png"), full_page=True)
    if device == "desktop" and os.environ.get("OKRSYNC_SCREENSHOT"):
        page.screenshot(path=os.environ["OKRSYNC_SCREENSHOT"])

    # A key result's page: its numbers, chart, evidence linked to Jira, write history.
    row.locator(".name a").click()
    page.wait_for_url(re.compile(rf"/key-results/{kr['id']}$"), timeout=30_000)
    assert page.locator("h1").inner_text() == kr["title"]
    assert page.locator("svg.chart").count() == 1
    jira = daemon_jira_url(daemon)
    links = page.locator("table a[href*='/browse/']")
    assert links.count() > 0
    assert links.first.get_attribute("href").startswith(jira + "/browse/")
    assert "Write history" in page.content()
    page.screenshot(path=str(tmp_path / f"key-result-{device}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device] + 1
    assert not errors, errors


def daemon_jira_url(daemon: DaemonProcess) -> str:
    """The sandbox Jira's URL as the daemon's config names it."""
    config = (daemon.log_path.parent / "okrsync.toml").read_text(encoding="utf-8")
    found = re.search(r'^url = "([^"]+)"', config, re.MULTILINE)
    assert found is not None
    return found.group(1).rstrip("/")


def test_the_page_asks_for_a_password_when_one_is_set_and_the_probes_do_not(
    sandbox: Sandbox, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    config = write_config(sandbox, tmp_path)
    secret = "page-pass-7f3a"
    daemon = DaemonProcess(
        config,
        tmp_path / "daemon.log",
        {"OKRSYNC_STATUS_PAGE__USERNAME": "pm", "OKRSYNC_STATUS_PAGE__PASSWORD": secret},
    )
    daemons.append(daemon)
    daemon.wait_for_log(FINISHED)
    for path in ("/", "/objectives/pay-reliable-checkout", "/key-results/pay-checkout-v2"):
        refused = daemon.get(path)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic ")
        wrong = httpx.get(daemon.url + path, auth=("pm", "nope"), timeout=30)
        assert wrong.status_code == 401
        allowed = httpx.get(daemon.url + path, auth=("pm", secret), timeout=30)
        assert allowed.status_code == 200, path
        assert allowed.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in allowed.headers["content-security-policy"]
        assert secret not in allowed.text
    assert httpx.get(daemon.url + "/key-results/nope", auth=("pm", secret)).status_code == 404
    for probe in ("/metrics", "/healthz", "/readyz"):
        assert daemon.get(probe).status_code == 200, probe
    # Read-only: the page answers GET (and HEAD) only.
    assert httpx.post(daemon.url + "/", auth=("pm", secret), timeout=30).status_code == 405
    assert secret not in daemon.log()


def test_a_page_without_a_password_is_open_and_links_carry_no_credentials(
    sandbox: Sandbox, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    jira = sandbox.jira["cloud"].url
    with_user = jira.replace("http://", "http://robot:url-pass-91@")
    config = write_config(sandbox, tmp_path)
    text = config.read_text(encoding="utf-8").replace(f'url = "{jira}"', f'url = "{with_user}"')
    config.write_text(text, encoding="utf-8")
    fail_teambition(sandbox)  # the page shows what it has, whatever the trackers do
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    daemons.append(daemon)
    daemon.wait_for_log(FINISHED)
    page = daemon.get("/key-results/pay-checkout-v2")
    assert page.status_code == 200
    assert "url-pass-91" not in page.text and "robot" not in page.text
    assert f'href="{jira.rstrip("/")}/browse/PAY-2"' in page.text
    assert daemon.get("/").status_code == 200
