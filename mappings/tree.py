"""The validated OKR tree of all mapping files, with the lookups the sync cycle needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from mappings.schema import (
    Defaults,
    FieldNames,
    KeyResult,
    Objective,
    Scope,
    Thresholds,
    WriteTarget,
)

ProgressFormat = Literal["percent", "ratio"]


@dataclass(frozen=True, slots=True)
class ObjectiveNode:
    """An objective, where it was defined, and the ids of the objectives aligned under it."""

    objective: Objective
    file: str
    defaults: Defaults
    children: tuple[str, ...]
    # 1-based line of the objective in ``file``.
    line: int


@dataclass(frozen=True, slots=True)
class KrNode:
    """A key result, its objective and where it was defined."""

    kr: KeyResult
    objective_id: str
    file: str
    defaults: Defaults
    # 1-based line of the key result in ``file``.
    line: int


class EffectiveWrite(NamedTuple):
    """A write target with the file defaults applied: what to write, where and how."""

    target: WriteTarget
    fields: FieldNames
    progress_format: ProgressFormat
    connection: str | None


@dataclass(frozen=True)
class OkrTree:
    """All objectives and key results, keyed by id, in file order (files sorted by path)."""

    objectives: dict[str, ObjectiveNode]
    key_results: dict[str, KrNode]

    def roots(self) -> list[ObjectiveNode]:
        """Objectives aligned under no other objective, in file order."""
        return [node for node in self.objectives.values() if node.objective.parent is None]

    def scopes(self) -> list[Scope]:
        """Every distinct scope of every key result (equal scopes once), in first-use order."""
        seen: dict[Scope, None] = {}
        for node in self.key_results.values():
            for scope in node.kr.scope:
                seen.setdefault(scope, None)
        return list(seen)

    def effective_write(self, kr_id: str) -> list[EffectiveWrite]:
        """The KR's write targets with the file's write defaults filled in.

        Field names given on a target are merged over the defaults, key by key; a name set
        to null on the target stops that value being written there.
        """
        node = self.key_results[kr_id]
        return _effective(node.kr.write, node.defaults)

    def objective_write(self, objective_id: str) -> list[EffectiveWrite]:
        """The objective's write targets, with its file's write defaults as for a KR."""
        node = self.objectives[objective_id]
        return _effective(node.objective.write, node.defaults)

    def thresholds(self, kr_id: str) -> Thresholds:
        """Status thresholds: the KR's own, else its objective's, else the file default."""
        node = self.key_results[kr_id]
        objective = self.objectives[node.objective_id].objective
        return node.kr.thresholds or objective.thresholds or node.defaults.thresholds

    def checkins(self, kr_id: str) -> bool:
        """Whether status changes are posted as comments: the KR's flag, else the file's."""
        node = self.key_results[kr_id]
        flag = node.kr.flags.checkins
        return node.defaults.checkins if flag is None else flag


def _effective(targets: Sequence[WriteTarget], defaults: Defaults) -> list[EffectiveWrite]:
    write = defaults.write
    out = []
    for target in targets:
        names = write.fields
        if target.fields is not None:
            given = {k: getattr(target.fields, k) for k in target.fields.model_fields_set}
            names = names.model_copy(update=given)
        out.append(
            EffectiveWrite(
                target=target,
                fields=names,
                progress_format=target.progress_format or write.progress_format,
                connection=target.connection or write.connection,
            )
        )
    return out
