"""The ids of tracker objects okrsync created, kept per connection."""

from __future__ import annotations

from datetime import UTC, datetime

from okrsync.state import StateStore

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_created_objects_are_kept_replaced_and_forgotten(store: StateStore) -> None:
    assert store.created_objects("cloud") == {}
    store.record_created_object("cloud", "filter", "objective:pay", "10001", at=T0)
    store.record_created_object("cloud", "dashboard", "okrs", "10100", at=T0)
    store.record_created_object("dc", "filter", "objective:pay", "20001", at=T0)
    store.record_created_object("cloud", "filter", "objective:pay", "10002", at=T0)
    assert store.created_objects("cloud") == {
        ("filter", "objective:pay"): "10002",
        ("dashboard", "okrs"): "10100",
    }
    store.forget_created_object("cloud", "dashboard", "okrs")
    assert store.created_objects("cloud") == {("filter", "objective:pay"): "10002"}
    assert store.created_objects("dc") == {("filter", "objective:pay"): "20001"}
