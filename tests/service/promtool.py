"""Debian's Prometheus tools, which ``make test`` installs: promtool and the server."""

from __future__ import annotations

import shutil
import subprocess


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/local/bin")
    assert found, f"{name} is missing: `make test` installs Debian's prometheus package"
    return found


def prometheus_binary() -> str:
    """The Prometheus server's executable."""
    return _tool("prometheus")


def promtool_check_metrics(exposition: str) -> None:
    """Assert that ``promtool check metrics`` accepts the exposition without a warning."""
    checked = subprocess.run(
        [_tool("promtool"), "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    said = checked.stdout + checked.stderr
    assert checked.returncode == 0 and not said.strip(), said
