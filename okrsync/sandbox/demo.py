"""Combined seeds: the Jira data plus the matching Teambition data."""

from __future__ import annotations

from typing import Any

from okrsync.sandbox.jira.demo import demo_jira_seed
from okrsync.sandbox.jira.generated import generated_seed
from okrsync.sandbox.teambition import demo as teambition_demo


def demo_seed() -> dict[str, Any]:
    """``{"jira": ..., "teambition": ...}`` for ``--seed demo``."""
    return {"jira": demo_jira_seed(), "teambition": teambition_demo.demo_section()}


def generated(count: int) -> dict[str, Any]:
    """``{"jira": ..., "teambition": ...}`` with ``count`` generated issues/tasks each."""
    return {"jira": generated_seed(count), "teambition": teambition_demo.generated(count)}
