"""Every settings test starts from a clean environment in an empty working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CANARY = "canary-9f3b2c7e-secret"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.upper().startswith("OKRSYNC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env from the working directory
    monkeypatch.setenv("OKRSYNC_SECRETS_DIR", str(tmp_path / "no-secrets"))


@pytest.fixture
def cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """One Jira Cloud connection named ``cloud`` whose API token is the canary."""
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__URL", "https://acme.atlassian.net")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__EMAIL", "bot@acme.com")
    monkeypatch.setenv("OKRSYNC_JIRA__CLOUD__API_TOKEN", CANARY)
