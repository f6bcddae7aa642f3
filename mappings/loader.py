"""Load the OKR mapping files into an :class:`OkrTree`, or report every problem at once.

Each file is parsed with ruamel.yaml (round-trip, so that every value keeps its line and
column), validated against :class:`MappingFile`, then all files are checked together
(duplicate ids, alignment, write targets, connection names). Every problem of every file is
collected and raised together in one :class:`MappingError`, each as
``file:line:col path: message``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mappings.checks import FileEntry, KrEntry, ObjectiveEntry, cross_file_problems
from mappings.locate import Document, parse_document
from mappings.messages import validation_problems
from mappings.problems import FILE_PATH, MappingError, MappingProblem
from mappings.schema import Defaults, KeyResult, MappingFile
from mappings.tree import KrNode, ObjectiveNode, OkrTree

__all__ = ["MappingError", "MappingProblem", "load_mappings", "mapping_files"]

SUFFIXES = (".yaml", ".yml")
# Parsing with positions reads about a megabyte every few seconds; a mapping file is a few
# kilobytes. A bigger file is almost surely not a mapping (a data dump under --mappings).
MAX_FILE_BYTES = 1024 * 1024
M = TypeVar("M", bound=BaseModel)


def mapping_files(path: Path) -> list[Path]:
    """The mapping files at ``path``: the file itself, or every ``*.yaml``/``*.yml`` below
    the directory (recursively, sorted), leaving out hidden files and directories."""
    if not path.is_dir():
        return [path]
    found = []
    for candidate in path.rglob("*"):
        relative = candidate.relative_to(path)
        if candidate.suffix not in SUFFIXES or not candidate.is_file():
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        found.append(candidate)
    return sorted(found, key=lambda p: p.relative_to(path).as_posix())


def display_name(path: Path) -> str:
    """The path as people should read it: relative to the working directory when it is
    below it, else as given."""
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return str(path)
    return path.as_posix()


def load_mappings(
    path: Path, *, connections: Mapping[str, Collection[str]] | None = None
) -> OkrTree:
    """Load one mapping file or a directory of them.

    ``connections`` names the configured tracker connections (``{"jira": {"cloud", "dc"},
    "teambition": {"main"}}``); when given, every scope's and write target's connection is
    checked against it. Raises :class:`MappingError` listing every problem found.
    """
    if not path.exists():
        raise MappingError(
            [MappingProblem(display_name(path), 1, 1, FILE_PATH, "no such file or directory")]
        )
    paths = mapping_files(path)
    if not paths:
        raise MappingError(
            [
                MappingProblem(
                    display_name(path), 1, 1, FILE_PATH, "no mapping files (*.yaml, *.yml) here"
                )
            ]
        )
    problems: list[MappingProblem] = []
    entries: list[FileEntry] = []
    models: list[tuple[FileEntry, MappingFile]] = []
    complete = True
    for file_path in paths:
        doc = _read(file_path)
        problems += doc.problems
        if doc.root is None:
            complete = False
            continue
        try:
            model = MappingFile.model_validate(doc.data)
        except ValidationError as exc:
            problems += validation_problems(doc, exc, MappingFile)
            entries.append(_salvage(doc))
            continue
        entry = _entry(doc, model)
        entries.append(entry)
        models.append((entry, model))
    problems += cross_file_problems(entries, connections, complete=complete)
    if problems:
        order = {name: i for i, name in enumerate(display_name(p) for p in paths)}
        problems.sort(key=lambda p: (order.get(p.file, len(order)), p.line, p.col))
        raise MappingError(problems)
    return _tree(models)


def _read(path: Path) -> Document:
    name = display_name(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            doc = Document(name)
            message = (
                f"file is {size // 1024} KiB; a mapping file may hold at most "
                f"{MAX_FILE_BYTES // 1024} KiB (split it into several files)"
            )
            doc.problems.append(MappingProblem(name, 1, 1, FILE_PATH, message))
            return doc
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        doc = Document(name)
        head = exc.object[: exc.start]
        line = head.count(b"\n") + 1
        col = len(head) - (head.rfind(b"\n") + 1) + 1
        byte = exc.object[exc.start]
        message = f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"
        doc.problems.append(MappingProblem(name, line, col, FILE_PATH, message))
        return doc
    except OSError as exc:
        doc = Document(name)
        doc.problems.append(MappingProblem(name, 1, 1, FILE_PATH, exc.strerror or str(exc)))
        return doc
    return parse_document(text, name)


def _entry(doc: Document, model: MappingFile) -> FileEntry:
    entry = FileEntry(doc, model.defaults)
    for i, objective in enumerate(model.objectives):
        loc = ("objectives", i)
        item = ObjectiveEntry(loc, objective.id, objective.parent, write=objective.write)
        item.krs = [
            KrEntry((*loc, "key_results", j), kr.id, kr)
            for j, kr in enumerate(objective.key_results)
        ]
        entry.objectives.append(item)
    return entry


def _valid(model: type[M], data: Any) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _text(data: Any, key: str) -> str | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _items(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _salvage(doc: Document) -> FileEntry:
    """What can still be read of a file that failed validation (its errors are reported
    already), so that the checks across files still cover its ids and good key results."""
    data = doc.data
    defaults = data.get("defaults") if isinstance(data, dict) else None
    entry = FileEntry(doc, _valid(Defaults, defaults or {}) or Defaults())
    for i, raw in enumerate(_items(data, "objectives")):
        loc = ("objectives", i)
        item = ObjectiveEntry(loc, _text(raw, "id"), _text(raw, "parent"))
        item.krs = [
            KrEntry((*loc, "key_results", j), _text(kr, "id"), _valid(KeyResult, kr))
            for j, kr in enumerate(_items(raw, "key_results"))
        ]
        entry.objectives.append(item)
    return entry


def _tree(models: list[tuple[FileEntry, MappingFile]]) -> OkrTree:
    children: dict[str, list[str]] = defaultdict(list)
    for _, model in models:
        for objective in model.objectives:
            if objective.parent is not None:
                children[objective.parent].append(objective.id)
    objectives: dict[str, ObjectiveNode] = {}
    key_results: dict[str, KrNode] = {}
    for entry, model in models:
        doc = entry.doc
        for i, objective in enumerate(model.objectives):
            objectives[objective.id] = ObjectiveNode(
                objective=objective,
                file=doc.file,
                defaults=model.defaults,
                children=tuple(children[objective.id]),
                line=doc.locate(("objectives", i)).line,
            )
            for j, kr in enumerate(objective.key_results):
                key_results[kr.id] = KrNode(
                    kr=kr,
                    objective_id=objective.id,
                    file=doc.file,
                    defaults=model.defaults,
                    line=doc.locate(("objectives", i, "key_results", j)).line,
                )
    return OkrTree(objectives=objectives, key_results=key_results)
