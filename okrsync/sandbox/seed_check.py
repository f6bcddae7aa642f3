"""Located problems in a sandbox seed: each names the path of the bad entry.

A problem reads ``teambition.tasks[3].customfields[0]: missing 'cfId'``; the sandbox
collects every problem of a seed and reports them together, before serving anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Problems", "SeedProblems", "kind_of"]


class SeedProblems(ValueError):
    """A seed the sandbox refuses; ``problems`` lists each, with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def kind_of(value: Any) -> str:
    """What a parsed JSON/YAML value is, in the words of those formats."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class Problems:
    """Collects located problems while a seed section is walked."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path``."""
        self.found.append(f"{path}: {message}")

    def is_mapping(self, value: Any, path: str) -> bool:
        """Whether ``value`` is a mapping; records a problem when it is not."""
        if isinstance(value, Mapping):
            return True
        self.add(path, f"expected a mapping, got {kind_of(value)}")
        return False

    def is_list(self, value: Any, path: str) -> bool:
        """Whether ``value`` is a list; records a problem when it is not."""
        if isinstance(value, list):
            return True
        self.add(path, f"expected a list, got {kind_of(value)}")
        return False

    def records(self, value: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(path, record)`` for each mapping in the list ``value`` (None: no records)."""
        if value is None or not self.is_list(value, path):
            return
        for index, record in enumerate(value):
            where = f"{path}[{index}]"
            if self.is_mapping(record, where):
                yield where, record

    def required(self, record: Mapping[str, Any], path: str, *keys: str) -> bool:
        """Whether every key is present and not empty; records each that is missing."""
        ok = True
        for key in keys:
            if record.get(key) in (None, ""):
                self.add(path, f"missing {key!r}")
                ok = False
        return ok

    def known_keys(self, record: Mapping[str, Any], path: str, allowed: frozenset[str]) -> None:
        """Record every key of ``record`` that is not ``allowed`` (a closed section)."""
        for key in record:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.add(path, f"unknown key {key!r} (expected any of: {expected})")

    def one_of(self, value: Any, path: str, allowed: tuple[str, ...]) -> bool:
        """Whether ``value`` is one of ``allowed``; records a problem when it is not."""
        if value in allowed:
            return True
        self.add(path, f"{value!r} is not one of {', '.join(map(repr, allowed))}")
        return False

    def raise_any(self) -> None:
        """Raise :class:`SeedProblems` when anything was found."""
        if self.found:
            raise SeedProblems(self.found)
