"""Checks across all mapping files: ids, alignment, write targets and connection names.

They run on whatever validated: a file with a bad key result still has its other key
results and objectives checked, so that one pass reports everything.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from mappings.locate import Document, Loc
from mappings.problems import MappingProblem
from mappings.schema import (
    Defaults,
    JiraEpicsScope,
    JiraEpicsTarget,
    KeyResult,
    TeambitionTaskTarget,
    WriteTarget,
    scope_source,
)


@dataclass
class KrEntry:
    """A key result as far as it could be read: ``model`` is None if it did not validate."""

    loc: tuple[str | int, ...]
    id: str | None
    model: KeyResult | None


@dataclass
class ObjectiveEntry:
    """An objective's id, parent and key results, as far as they could be read."""

    loc: tuple[str | int, ...]
    id: str | None
    parent: str | None
    krs: list[KrEntry] = field(default_factory=list)
    # Its write targets, when the objective validated.
    write: tuple[WriteTarget, ...] = ()


@dataclass
class FileEntry:
    """One mapping file after per-file validation."""

    doc: Document
    defaults: Defaults
    objectives: list[ObjectiveEntry] = field(default_factory=list)


def _near(word: str, choices: Collection[str]) -> str:
    # Stricter than for keys: ids are short and often share a team prefix.
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def cross_file_problems(
    files: list[FileEntry],
    connections: Mapping[str, Collection[str]] | None,
    *,
    complete: bool,
) -> list[MappingProblem]:
    """Problems that only show across files.

    ``complete`` is False when some file could not be read at all: an objective it defines
    would be missing, so unknown parents are not reported (they would only be noise).
    """
    problems = _duplicate_ids(files)
    problems += _alignment(files, report_unknown=complete)
    for entry in files:
        for objective in entry.objectives:
            for kr in objective.krs:
                if kr.model is None:
                    continue
                problems += _epics_targets(entry.doc, kr.loc, kr.model)
                if connections is not None:
                    problems += _connections(entry, kr.loc, kr.model, connections)
            if connections is not None:
                problems += _target_connections(entry, objective.loc, objective.write, connections)
    return problems


def _duplicate_ids(files: list[FileEntry]) -> list[MappingProblem]:
    problems: list[MappingProblem] = []
    objectives: dict[str, str] = {}
    krs: dict[str, str] = {}
    for entry in files:
        doc = entry.doc
        for objective in entry.objectives:
            problems += _once(doc, objective.loc, objective.id, objectives, "objective id")
            for kr in objective.krs:
                problems += _once(doc, kr.loc, kr.id, krs, "key result id")
    return problems


def _once(
    doc: Document, loc: Loc, ident: str | None, seen: dict[str, str], what: str
) -> list[MappingProblem]:
    if ident is None:
        return []
    id_loc = (*loc, "id")
    if ident in seen:
        return [doc.problem(id_loc, f"duplicate {what} '{ident}' (first defined at {seen[ident]})")]
    seen[ident] = doc.where(id_loc)
    return []


def _alignment(files: list[FileEntry], *, report_unknown: bool) -> list[MappingProblem]:
    first: dict[str, tuple[Document, ObjectiveEntry]] = {}
    for entry in files:
        for objective in entry.objectives:
            if objective.id is not None:
                first.setdefault(objective.id, (entry.doc, objective))
    problems: list[MappingProblem] = []
    if report_unknown:
        for entry in files:
            for objective in entry.objectives:
                parent = objective.parent
                if parent is not None and parent not in first:
                    problems.append(
                        entry.doc.problem(
                            (*objective.loc, "parent"),
                            f"unknown parent objective '{parent}'{_near(parent, first)}",
                        )
                    )
    order = {ident: i for i, ident in enumerate(first)}
    state: dict[str, int] = {}  # absent: unseen, 1: on the current walk, 2: finished
    for start in first:
        walk: list[str] = []
        current: str | None = start
        while current is not None and current in first and current not in state:
            state[current] = 1
            walk.append(current)
            current = first[current][1].parent
        if current is not None and state.get(current) == 1:
            cycle = walk[walk.index(current) :]
            # Start the cycle at its first objective in file order, so the report is stable.
            head = min(range(len(cycle)), key=lambda i: order[cycle[i]])
            cycle = cycle[head:] + cycle[:head]
            doc, objective = first[cycle[0]]
            text = " -> ".join([*cycle, cycle[0]])
            problems.append(doc.problem((*objective.loc, "parent"), f"alignment cycle: {text}"))
        for ident in walk:
            state[ident] = 2
    return problems


def _epics_targets(doc: Document, loc: Loc, kr: KeyResult) -> list[MappingProblem]:
    if any(isinstance(scope, JiraEpicsScope) for scope in kr.scope):
        return []
    return [
        doc.problem(
            (*loc, "write", i, "kind"),
            "write target 'jira_epics' needs a 'jira_epics' scope on this key result",
        )
        for i, target in enumerate(kr.write)
        if isinstance(target, JiraEpicsTarget)
    ]


def _connections(
    entry: FileEntry, loc: Loc, kr: KeyResult, connections: Mapping[str, Collection[str]]
) -> list[MappingProblem]:
    doc = entry.doc
    problems: list[MappingProblem] = []
    for i, scope in enumerate(kr.scope):
        source = scope_source(scope)
        problem = _connection(doc, (*loc, "scope", i), source, scope.connection, "", connections)
        problems += [problem] if problem else []
    return problems + _target_connections(entry, loc, kr.write, connections)


def _target_connections(
    entry: FileEntry,
    loc: Loc,
    targets: Sequence[WriteTarget],
    connections: Mapping[str, Collection[str]],
) -> list[MappingProblem]:
    doc = entry.doc
    problems: list[MappingProblem] = []
    inherited = entry.defaults.write.connection
    for i, target in enumerate(targets):
        source = "teambition" if isinstance(target, TeambitionTaskTarget) else "jira"
        name, origin = target.connection, ""
        if name is None and inherited is not None:
            name, origin = inherited, " (from defaults.write.connection)"
        if name is None and isinstance(target, JiraEpicsTarget):
            continue  # written through each epics scope's own connection, checked above
        problem = _connection(doc, (*loc, "write", i), source, name, origin, connections)
        problems += [problem] if problem else []
    return problems


def _connection(
    doc: Document,
    loc: Loc,
    source: str,
    name: str | None,
    origin: str,
    connections: Mapping[str, Collection[str]],
) -> MappingProblem | None:
    configured = sorted(connections.get(source, ()))
    where = (*loc, "connection")
    if name is not None:
        if name in configured:
            return None
        known = (
            f"; configured: {', '.join(configured)}"
            if configured
            else f"; no {source} connection is configured"
        )
        return doc.problem(
            where, f"unknown {source} connection '{name}'{origin}{_near(name, configured)}{known}"
        )
    if not configured:
        return doc.problem(where, f"no {source} connection is configured")
    if len(configured) > 1:
        return doc.problem(
            where,
            f"{source} has several connections ({', '.join(configured)}); "
            "name one with 'connection'",
        )
    return None
