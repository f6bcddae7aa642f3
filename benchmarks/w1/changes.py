"""The changes of W1's warm scenarios, chosen from the workload with a seeded generator."""

from __future__ import annotations

import math
import random
from typing import Any

from benchmarks.w1.workload import POINTS, Workload

__all__ = ["Changer"]


class Changer:
    """Rounds of changes to ``share`` of the items, never touching a deleted item again.

    Jira, of ``share`` x issues: 40% status changes, 30% new estimates, 20% moves to
    another epic of the same project, 5% new stories, 5% deletions. Teambition, of
    ``share`` x tasks: 50% done or reopened, 40% new story points, 5% new sub-tasks,
    5% deletions.
    """

    def __init__(self, w: Workload, seed: int = 7) -> None:
        self.w = w
        self.rng = random.Random(seed)
        self.gone: set[str] = set()

    def _pick(self, pool: list[str], n: int) -> list[str]:
        alive = [k for k in pool if k not in self.gone]
        return self.rng.sample(alive, min(n, len(alive)))

    def round(self, share: float = 0.01) -> tuple[list[list[Any]], set[str]]:
        """One round: the changes for the sandbox and the ids of the items changed."""
        w, rng = self.w, self.rng
        n = math.ceil(w.sizes.issues * share)
        counts = [int(n * 0.4), int(n * 0.3), int(n * 0.2), int(n * 0.05)]
        counts.append(n - sum(counts))
        stories = [k for k in w.work_keys if not w.seed_subtask(k)]
        keys = self._pick(stories, n)
        changes: list[list[Any]] = []
        at = 0
        for key in keys[: counts[0]]:
            changes.append(["status", key])
        at = counts[0]
        for key in keys[at : at + counts[1]]:
            changes.append(["estimate", key, rng.choice([p for p in POINTS if p])])
        at += counts[1]
        for key in keys[at : at + counts[2]]:
            changes.append(["move", key, rng.choice(w.epics_of(key))])
        at += counts[2]
        for key in keys[at : at + counts[3]]:
            epic = rng.choice(w.epics_of(key))
            changes.append(["create", key.split("-")[0], epic, 3.0])
        at += counts[3]
        for key in keys[at:]:
            changes.append(["delete", key])
            self.gone.add(key)
        m = math.ceil(w.sizes.tasks * share)
        tasks = self._pick(w.tb_tasks, m)
        done, points, new = int(m * 0.5), int(m * 0.4), int(m * 0.05)
        for i, task in enumerate(tasks):
            if i < done:
                changes.append(["tb_done", task])
            elif i < done + points:
                changes.append(["tb_points", task, rng.choice(["1", "2", "3", "5", "8"])])
            elif i < done + points + new:
                parent = w.tb_parent[task]
                changes.append(["tb_create", w.tb_project[task], parent])
            else:
                changes.append(["tb_delete", task])
                self.gone.add(task)
        return changes, set(keys) | set(tasks)
