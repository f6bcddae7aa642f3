"""Objectives whose inputs are all stale: stale themselves, with the last values kept."""

from __future__ import annotations

import pytest

from mappings.engine import stale_result
from tests.engine.test_rollup import objective, result, roll


def test_every_kr_stale_makes_the_objective_stale_with_its_last_values() -> None:
    kept = [
        stale_result(result("a", 0.2), "a", "down"),
        stale_result(result("b", 0.6), "b", "down"),
    ]
    out = roll([objective("o", {"a": 1, "b": 1})], kept)
    assert out["o"].status == "stale"
    assert out["o"].progress == pytest.approx(0.4)
    assert out["o"].score == 0.4
    assert out["o"].partially_stale and out["o"].stale_krs == ("a", "b")


def test_one_fresh_kr_keeps_the_pace_status() -> None:
    kept = stale_result(result("b", 0.6), "b", "down")
    out = roll([objective("o", {"a": 1, "b": 1})], [result("a", 0.4), kept])
    assert out["o"].status == "on_track"
    assert out["o"].partially_stale


def test_stale_and_unknown_krs_together_are_stale() -> None:
    kept = stale_result(result("a", 0.3), "a", "down")
    out = roll([objective("o", {"a": 1, "b": 1})], [kept, stale_result(None, "b", "down")])
    assert (out["o"].status, out["o"].progress) == ("stale", pytest.approx(0.3))


def test_a_parent_of_stale_children_only_is_stale() -> None:
    objectives = [
        objective("top"),
        objective("one", {"a": 1}, parent="top"),
        objective("two", {"b": 1}, parent="top"),
        objective("placeholder", parent="top"),  # no inputs: neither fresh nor stale
    ]
    kept = [stale_result(result("a", 0.2), "a", "down"), stale_result(result("b", 0.4), "b", "x")]
    out = roll(objectives, kept)
    assert [out[o].status for o in ("one", "two", "top")] == ["stale"] * 3
    assert out["top"].progress == pytest.approx(0.3)


def test_a_fresh_child_keeps_the_parent_out_of_stale() -> None:
    objectives = [objective("top", {"own": 1}), objective("child", {"c": 1}, parent="top")]
    out = roll(objectives, [stale_result(result("own", 0.5), "own", "down"), result("c", 0.5)])
    assert out["top"].status != "stale" and out["top"].partially_stale
