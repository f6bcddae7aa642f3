"""What a cycle costs follows what changed: an unchanged scope's cached items are not
loaded, its key results keep their last result (restamped to the cycle's clock), and a
change, a deletion or an edited key result is still computed from the items."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from mappings.loader import load_mappings
from okrsync.state import StateStore
from okrsync.sync.connections import Connections
from okrsync.sync.select import plan_jobs
from tests.cycle.conftest import DONE, MAPPING, MakeWorld, World


class CountingStore(StateStore):
    """The state store, noting which scopes' caches a cycle loads (whole or in part)."""

    loaded: list[str]
    looked_up: list[tuple[str, list[str]]]

    def get_scope_cache(self, scope_key: str) -> dict[str, dict[str, Any]]:
        self.loaded.append(scope_key)
        return super().get_scope_cache(scope_key)

    def get_scope_items(self, scope_key: str, item_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(item_ids)
        self.looked_up.append((scope_key, ids))
        return super().get_scope_items(scope_key, ids)


def _counting(world: World, tmp_path: Path) -> CountingStore:
    world.store.close()
    store = CountingStore.open(f"sqlite:///{tmp_path / 'state.db'}")
    store.loaded, store.looked_up = [], []
    world.store = store
    return store


@pytest.fixture
def counted(make_world: MakeWorld, tmp_path: Path) -> tuple[World, CountingStore]:
    world = make_world()
    return world, _counting(world, tmp_path)


def _numbers(report: Any) -> Mapping[str, tuple[Any, ...]]:
    return {
        k.kr_id: (k.result.progress, k.result.done_count, k.result.total_count, k.scope_total)
        for k in report.key_results
    }


def _scope_of(world: World, kr_id: str) -> str:
    connectors = {(world.tracker.source, world.tracker.name): world.tracker}
    _, jobs_of = plan_jobs(world.tree, [kr_id], Connections(connectors))
    return jobs_of[kr_id][0]


def test_an_unchanged_cycle_loads_no_cached_item(counted: tuple[World, CountingStore]) -> None:
    world, store = counted
    first = world.cycle()
    store.loaded.clear()
    second = world.cycle()
    assert second.mode == "incremental"
    assert store.loaded == [], "no scope changed: no cache is loaded"
    assert _numbers(second) == _numbers(first)
    # The clock moved on: the expected share and the evidence are those of a full compute.
    points = world.kr(second, "kr-points").result
    assert points.expected > world.kr(first, "kr-points").result.expected
    assert [e.key for e in points.evidence] == ["A-1", "A-2", "A-3", "A-4"]
    # The evidence `okrsync explain` shows is recorded again as it was.
    stored = world.store.latest_kr_result("kr-points")
    assert stored is not None and stored["expected"] == points.expected
    assert [e["key"] for e in stored["evidence"]] == ["A-1", "A-2", "A-3", "A-4"]
    assert [e["contribution"] for e in stored["evidence"]] == [3.0, 5.0, 0.0, 0.0]
    assert not [w for w in second.applied_writes if w.field in {"OKR Progress", "OKR Status"}]


def test_a_change_loads_only_its_scope(counted: tuple[World, CountingStore]) -> None:
    world, store = counted
    world.cycle()
    world.cycle()
    points_scope = _scope_of(world, "kr-points")
    store.loaded.clear()
    world.tracker.change("A-3", status_category=DONE)
    report = world.cycle()
    assert store.loaded == [points_scope]
    assert world.kr(report, "kr-points").result.progress == 10 / 18
    assert world.kr(report, "kr-count").result.progress == 1 / 4
    # The next cycle sees no change: nothing loaded, the new numbers kept.
    store.loaded.clear()
    again = world.cycle()
    assert store.loaded == []
    assert _numbers(again) == _numbers(report)


def test_an_item_given_back_unchanged_is_no_change(counted: tuple[World, CountingStore]) -> None:
    world, store = counted
    world.cycle()
    # Changed a minute before the next cycle reads, so that the one after asks again.
    world.tracker.now = world.now + timedelta(minutes=14)
    world.tracker.change("B-2", status_category=DONE)
    world.cycle()
    store.loaded.clear()
    store.looked_up.clear()
    # Within the clock-skew margin of the last read: B-2 comes back as it was cached.
    report = world.cycle(advance=timedelta(minutes=1))
    assert [ids for _, ids in store.looked_up] == [["id-B-2"]]
    assert store.loaded == []
    assert world.kr(report, "kr-count").result.progress == 2 / 4


def test_a_deletion_is_still_noticed(counted: tuple[World, CountingStore]) -> None:
    world, _ = counted
    world.cycle()
    world.cycle()
    world.tracker.delete("A-4")  # no incremental read can see it; the count does
    report = world.cycle()
    assert world.kr(report, "kr-points").result.progress == 8 / 10
    assert world.kr(report, "kr-points").scope_total == 3
    assert world.kr(report, "kr-count").result.progress == 1 / 4


def test_an_item_moved_out_of_the_scope_is_noticed(counted: tuple[World, CountingStore]) -> None:
    world, _ = counted
    world.cycle()
    world.tracker.change("A-4", parent_key="EP-9", parent_id="id-EP-9")
    report = world.cycle()
    assert world.kr(report, "kr-points").result.progress == 8 / 10


def test_an_edited_key_result_is_computed_again(
    counted: tuple[World, CountingStore], tmp_path: Path
) -> None:
    world, store = counted
    first = world.cycle()
    assert world.kr(first, "kr-count").result.progress == 1 / 4
    # The same scope, a different rule for done: the items are the same, the result not.
    edited = (MAPPING % {"flags": ""}).replace(
        "measure: {kind: count}",
        'measure: {kind: count, done: {by: statuses, statuses: ["To Do", "Done"]}}',
    )
    path = tmp_path / "edited" / "okrs.yaml"
    path.parent.mkdir()
    path.write_text(dedent(edited), encoding="utf-8")
    world.tree = load_mappings(path)
    store.loaded.clear()
    report = world.cycle()
    assert world.kr(report, "kr-count").result.progress == 1.0
    assert world.kr(report, "kr-points").result.progress == 8 / 18
    assert len(store.loaded) == 1, "only the edited KR's scope is loaded"


def test_a_stale_result_is_not_kept(counted: tuple[World, CountingStore]) -> None:
    world, store = counted
    world.cycle()
    world.tracker.down = True
    stale = world.cycle()
    assert all(k.stale for k in stale.key_results)
    world.tracker.down = False
    store.loaded.clear()
    report = world.cycle()
    assert not any(k.stale for k in report.key_results)
    assert world.kr(report, "kr-points").result.progress == 8 / 18
    assert len(store.loaded) == 2, "a KR that was stale is computed from its items again"


def test_an_edit_okrsync_does_not_read_is_no_change(counted: tuple[World, CountingStore]) -> None:
    world, store = counted
    first = world.cycle()
    world.tracker.change("A-3")  # its update time moves, nothing okrsync reads does
    store.loaded.clear()
    store.looked_up.clear()
    report = world.cycle()
    assert any("id-A-3" in ids for _, ids in store.looked_up)
    assert store.loaded == []
    assert _numbers(report) == _numbers(first)
