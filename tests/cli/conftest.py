"""Every command-line test starts from a clean slate: no ``OKRSYNC_*`` settings from the
machine, no secrets directory, and a working directory of its own (no stray ``.env``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.upper().startswith("OKRSYNC_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("OKRSYNC_SECRETS_DIR", str(tmp_path / "no-secrets"))
    monkeypatch.chdir(tmp_path)
