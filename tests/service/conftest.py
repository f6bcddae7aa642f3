"""Fixtures of the daemon tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.daemon_process import DaemonProcess


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemons a test started (append them); each is stopped afterwards."""
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.stop()
