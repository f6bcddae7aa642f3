"""People edit the mappings between cycles: a KR goes, a scope or target changes, a new
period starts. Also the scope baseline that scope change is measured against."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from mappings.loader import load_mappings
from okrsync.sync.connections import Connections
from okrsync.sync.select import plan_jobs
from tests.cycle.conftest import DONE, MAPPING, World


def _remap(world: World, tmp_path: Path, text: str) -> None:
    path = tmp_path / "edited" / "okrs.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    world.tree = load_mappings(path)


def _scope_keys(world: World) -> set[str]:
    connectors = {(world.tracker.source, world.tracker.name): world.tracker}
    jobs, _ = plan_jobs(world.tree, list(world.tree.key_results), Connections(connectors))
    return set(jobs)


BASE = MAPPING % {"flags": ""}


def test_a_removed_kr_leaves_reports_and_its_scope_cache(world: World, tmp_path: Path) -> None:
    world.cycle()
    before = _scope_keys(world)
    _remap(world, tmp_path, BASE.split("      - id: kr-count")[0])
    report = world.cycle()
    assert [k.kr_id for k in report.key_results] == ["kr-points"]
    assert set(world.store.latest_kr_results()) == {"kr-points"}
    assert world.store.scope_keys() == _scope_keys(world) < before
    assert len(world.store.kr_history("kr-count")) == 1  # its history stays
    assert report.objectives[0].result.progress == 8 / 18


def test_a_changed_scope_is_read_in_full_and_reported_as_scope_change(
    world: World, tmp_path: Path
) -> None:
    first = world.cycle()
    assert world.kr(first, "kr-points").scope_baseline == 4
    world.tracker.add("A-5", "EP-3", DONE, 2)
    _remap(world, tmp_path, BASE.replace("epics: [EP-1]", "epics: [EP-1, EP-3]"))
    world.tracker.calls.fetches.clear()
    report = world.cycle()
    full = [r.scope.epics for r in world.tracker.calls.fetches if r.since is None]  # type: ignore[union-attr]
    assert full == [("EP-1", "EP-3")]
    kr = world.kr(report, "kr-points")
    assert report.held == []
    assert (kr.scope_baseline, kr.scope_total, kr.scope_change) == (4, 5, 0.25)
    assert kr.result.progress == 10 / 20


def test_a_new_write_target_gets_every_field_and_the_old_one_is_left(
    world: World, tmp_path: Path
) -> None:
    world.cycle()
    _remap(world, tmp_path, BASE.replace("key: OKR-1}", "key: OKR-9}"))
    report = world.cycle()
    assert report.conflicts == []
    assert {w.target for w in report.writes} == {"OKR-9"}
    assert world.tracker.fields[("OKR-9", "OKR Progress")] == 44.4
    assert world.tracker.fields[("OKR-1", "OKR Progress")] == 44.4


def test_a_new_period_starts_a_new_scope_baseline(world: World, tmp_path: Path) -> None:
    world.cycle()
    world.tracker.add("A-5", "EP-1", DONE, 2)
    grown = world.kr(world.cycle(), "kr-points")
    assert (grown.scope_baseline, grown.scope_total, grown.scope_change) == (4, 5, 0.25)
    _remap(world, tmp_path, BASE.replace("period: 2026-Q4", "period: 2026-H2"))
    kr = world.kr(world.cycle(), "kr-points")
    assert (kr.scope_baseline, kr.scope_total, kr.scope_change) == (5, 5, 0.0)
    stored = world.store.latest_kr_result("kr-points")
    assert stored is not None and stored["scope_baseline"] == 5


def test_the_baseline_survives_an_outage(world: World) -> None:
    world.cycle()
    world.tracker.down = True
    stale = world.kr(world.cycle(), "kr-points")
    assert (stale.scope_baseline, stale.scope_total, stale.scope_change) == (4, None, None)
    world.tracker.down = False
    world.tracker.add("A-5", "EP-1", DONE, 2)
    kr = world.kr(world.cycle(), "kr-points")
    assert (kr.scope_baseline, kr.scope_total) == (4, 5)
