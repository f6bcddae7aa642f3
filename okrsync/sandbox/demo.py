"""Combined seeds: the Jira data plus, when available, the matching Teambition data."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from okrsync.sandbox.jira.demo import demo_jira_seed
from okrsync.sandbox.jira.generated import generated_seed


def _teambition() -> ModuleType | None:
    try:
        return importlib.import_module("okrsync.sandbox.teambition.demo")
    except ModuleNotFoundError:
        return None


def demo_seed() -> dict[str, Any]:
    """``{"jira": ..., "teambition": ...}`` for ``--seed demo``."""
    seed: dict[str, Any] = {"jira": demo_jira_seed()}
    module = _teambition()
    if module is not None and hasattr(module, "demo_section"):
        seed["teambition"] = module.demo_section()
    return seed


def generated(count: int) -> dict[str, Any]:
    """``{"jira": ..., "teambition": ...}`` with ``count`` generated issues/tasks each."""
    seed: dict[str, Any] = {"jira": generated_seed(count)}
    module = _teambition()
    if module is not None and hasattr(module, "generated"):
        seed["teambition"] = module.generated(count)
    return seed
