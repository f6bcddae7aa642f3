"""Fixtures: Jira sandboxes (demo data) over real HTTP on ephemeral ports."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox

CLOUD_AUTH = ("demo@okrsync.example", "demo-token")
VIEWER_AUTH = ("viewer@okrsync.example", "viewer-token")
DC_HEADERS = {"Authorization": "Bearer demo-pat"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh demo sandbox (both Jira flavours, no Teambition) per test."""
    with start_sandbox("demo", jira=("cloud", "datacenter"), teambition=False) as sb:
        yield sb


@pytest.fixture
def cloud(sandbox: Sandbox) -> SandboxServer:
    """The Cloud flavour of the fresh sandbox."""
    return sandbox.jira["cloud"]


@pytest.fixture
def dc(sandbox: Sandbox) -> SandboxServer:
    """The Data Center flavour of the fresh sandbox."""
    return sandbox.jira["datacenter"]


@pytest.fixture
def cloud_http(cloud: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the demo user on Cloud."""
    with httpx.Client(base_url=cloud.url, auth=CLOUD_AUTH, timeout=10) as client:
        yield client


@pytest.fixture
def dc_http(dc: SandboxServer) -> Iterator[httpx.Client]:
    """An httpx client authenticated with the demo PAT on Data Center."""
    with httpx.Client(base_url=dc.url, headers=DC_HEADERS, timeout=10) as client:
        yield client
