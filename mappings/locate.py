"""Reading a mapping file as YAML while keeping where every value came from.

ruamel.yaml's round-trip loader records the line and column of every mapping key, mapping
value and sequence item. A document keeps that tree (to locate problems) next to the same
values as plain Python (to validate): pydantic then never sees ruamel's scalar subclasses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarint import ScalarInt

from mappings.problems import DOCUMENT_PATH, SYNTAX_PATH, MappingProblem

Loc = Sequence[str | int]


@dataclass(frozen=True, slots=True)
class Located:
    """Where a value is (1-based) and its display path; ``found`` is False for a missing key."""

    line: int
    col: int
    path: str
    found: bool


@dataclass
class Document:
    """One parsed mapping file: ``root`` keeps positions, ``data`` is plain Python.

    ``root`` and ``data`` are None when the file could not be parsed or is empty; the
    reason is then in ``problems``.
    """

    file: str
    root: Any = None
    data: Any = None
    problems: list[MappingProblem] = field(default_factory=list)

    def locate(self, loc: Loc, *, at_key: bool = False) -> Located:
        """Position of ``loc`` (see :func:`locate`)."""
        return locate(self.root, loc, at_key=at_key)

    def problem(self, loc: Loc, message: str, *, at_key: bool = False) -> MappingProblem:
        """A problem located at ``loc`` in this document."""
        where = self.locate(loc, at_key=at_key)
        return MappingProblem(self.file, where.line, where.col, where.path, message)

    def where(self, loc: Loc) -> str:
        """``file:line:col`` of ``loc``, for messages that point at another place."""
        where = self.locate(loc)
        return f"{self.file}:{where.line}:{where.col}"


class _RecordingConstructor(RoundTripConstructor):
    """Keeps the first of duplicate keys and records each later one instead of stopping."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (the mapping holding the key, the key, 0-based line and col of the duplicate)
        self.duplicates: list[tuple[Any, Any, int, int]] = []

    def check_mapping_key(
        self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any
    ) -> bool:
        if key in mapping:
            mark = key_node.start_mark
            self.duplicates.append((mapping, key, mark.line, mark.column))
            return False
        return True


# Dates stay text, so that a bad one (2026-13-01) is a located validation error instead of
# an exception while parsing; pydantic reads ISO dates from text.
_RecordingConstructor.add_constructor(
    "tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str
)


def parse_document(text: str, file: str) -> Document:
    """Parse YAML text; syntax errors, duplicate keys and emptiness become located problems."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _RecordingConstructor
    doc = Document(file)
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        doc.problems.append(_syntax_problem(file, exc))
        return doc
    except ValueError as exc:  # a value ruamel cannot build, with no position attached
        doc.problems.append(MappingProblem(file, 1, 1, SYNTAX_PATH, str(exc)))
        return doc
    if root is None:
        doc.problems.append(
            MappingProblem(file, 1, 1, DOCUMENT_PATH, "file is empty; expected a mapping")
        )
        return doc
    try:
        data = _plain(root, ())
    except RecursionError:
        doc.problems.append(
            MappingProblem(file, 1, 1, DOCUMENT_PATH, "recursive YAML aliases are not allowed")
        )
        return doc
    doc.root, doc.data = root, data
    constructor = yaml.constructor
    assert isinstance(constructor, _RecordingConstructor)
    for mapping, key, line, col in constructor.duplicates:
        first = _pos(mapping, "key", key)
        first_at = f" (first at line {first[0] + 1})" if first is not None else ""
        path = format_path([*_path_of(root, mapping), key])
        doc.problems.append(
            MappingProblem(file, line + 1, col + 1, path, f"duplicate key '{key}'{first_at}")
        )
    return doc


# ruamel's wording for the most common slips, with what usually causes them.
_HINTS = {
    "mapping values are not allowed here": " (check the indentation, or quote a value with ': ')",
    "found character '\\t' that cannot start any token": " (indent with spaces, not tabs)",
    "but found another document": " (a mapping file holds one document: remove the '---')",
}


def _syntax_problem(file: str, exc: MarkedYAMLError) -> MappingProblem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    message = str(exc.problem or exc.context or "invalid YAML")
    hint = _HINTS.get(message, "")
    message += hint
    cmark = exc.context_mark
    if exc.problem and exc.context and cmark is not None and not hint:
        message = f"{message} ({exc.context} started at {cmark.line + 1}:{cmark.column + 1})"
    return MappingProblem(file, line, col, SYNTAX_PATH, message)


def _plain(value: Any, active: tuple[int, ...], done: dict[int, Any] | None = None) -> Any:
    # Aliases may make one node appear twice (fine) or inside itself (refused). Each node
    # is converted once and shared wherever an alias repeats it, so that nested aliases
    # ("billion laughs") cost their size in the file, not their size expanded.
    done = {} if done is None else done
    if isinstance(value, dict | list):
        if id(value) in done:
            return done[id(value)]
        if id(value) in active:
            raise RecursionError
        inner = (*active, id(value))
        plain: Any
        if isinstance(value, dict):
            plain = {_plain(k, inner, done): _plain(v, inner, done) for k, v in value.items()}
        else:
            plain = [_plain(v, inner, done) for v in value]
        done[id(value)] = plain
        return plain
    if isinstance(value, ScalarBoolean):
        return bool(value)
    if isinstance(value, ScalarFloat):
        return float(value)
    if isinstance(value, ScalarInt):
        return int(value)
    if isinstance(value, str):
        return str(value)
    return value


def _path_of(root: Any, target: Any) -> list[str | int]:
    """The path from ``root`` to the container ``target`` (found by identity)."""
    stack: list[tuple[Any, list[str | int]]] = [(root, [])]
    seen: set[int] = set()  # aliases share nodes: visit each once
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            stack.extend((v, [*path, k]) for k, v in node.items() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(node) if isinstance(v, dict | list))
    return []


def format_path(parts: Sequence[str | int]) -> str:
    """``["objectives", 0, "weight"]`` -> ``objectives[0].weight``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or DOCUMENT_PATH


def _pos(container: Any, kind: str, key: Any) -> tuple[int, int] | None:
    lc = getattr(container, "lc", None)
    if lc is None:
        return None
    try:
        pos = lc.key(key) if kind == "key" else lc.value(key) if kind == "value" else lc.item(key)
    except (KeyError, IndexError, TypeError):
        return None
    return (int(pos[0]), int(pos[1])) if pos is not None else None


def locate(root: Any, loc: Loc, *, at_key: bool = False) -> Located:
    """Find the deepest node of ``loc`` that exists in the document.

    A missing key is reported at its enclosing mapping with the key in the path. An int step
    into a mapping is skipped: a single mapping stands for a list of one (e.g. ``scope``).
    ``at_key`` points at the last key itself rather than its value (for unknown keys).
    """
    node = root
    lc = getattr(root, "lc", None)
    line, col = (lc.line, lc.col) if lc is not None and lc.line is not None else (0, 0)
    parts: list[str | int] = []
    for i, step in enumerate(loc):
        if isinstance(step, int) and not isinstance(node, list):
            continue
        exists = (
            0 <= step < len(node)
            if isinstance(step, int) and isinstance(node, list)
            else isinstance(node, dict) and step in node
        )
        if not exists:
            parts.extend(loc[i:])
            return Located(line + 1, col + 1, format_path(parts), False)
        child = node[step]
        if isinstance(step, int):
            pos = _pos(node, "item", step)
        else:
            last = i == len(loc) - 1
            # An empty value has no position of its own; its key stands for it.
            pos = _pos(node, "key" if (at_key and last) or child is None else "value", step)
        if pos is not None:
            line, col = pos
        parts.append(step)
        node = child
    return Located(line + 1, col + 1, format_path(parts), True)
