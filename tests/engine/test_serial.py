"""One serialisation for every result: dataclass fields to JSON data and back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from connectors.jira.fields import STATUS_OPTIONS
from mappings.results import STATUS_NAMES, STATUSES
from mappings.serial import as_dict, from_json, to_json


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Whole:
    id: str
    at: datetime
    day: date | None
    parts: tuple[Part, ...]
    best: Part | None = None
    tags: tuple[str, ...] = ()
    count: int = 0


WHOLE = Whole(
    "w-1",
    datetime(2026, 11, 16, 12, 0, tzinfo=UTC),
    date(2026, 12, 31),
    (Part("a", 2.0), Part("b")),
    best=Part("a", 2.0),
    tags=("x", "y"),
    count=3,
)


def test_a_dataclass_becomes_plain_json_and_comes_back_equal() -> None:
    data = to_json(WHOLE)
    assert data == {
        "id": "w-1",
        "at": "2026-11-16T12:00:00+00:00",
        "day": "2026-12-31",
        "parts": [{"name": "a", "weight": 2.0}, {"name": "b", "weight": 1.0}],
        "best": {"name": "a", "weight": 2.0},
        "tags": ["x", "y"],
        "count": 3,
    }
    assert from_json(Whole, json.loads(json.dumps(data))) == WHOLE


def test_missing_keys_take_defaults_and_unknown_keys_are_ignored() -> None:
    data = {"id": "w-2", "at": "2026-11-16T12:00:00+00:00", "day": None, "parts": []}
    whole = from_json(Whole, {**data, "weight": 9, "extra": "kept elsewhere"})
    assert whole == Whole("w-2", WHOLE.at, None, ())
    # Numbers stored as JSON integers load as the field's type.
    assert from_json(Part, {"name": "c", "weight": 2}).weight == 2.0
    assert isinstance(from_json(Part, {"name": "c", "weight": 2}).weight, float)


def test_a_missing_field_without_default_is_an_error() -> None:
    with pytest.raises(KeyError, match="at"):
        from_json(Whole, {"id": "w-3", "day": None, "parts": []})


def test_fields_can_be_left_out_and_renamed() -> None:
    assert as_dict(Part("a"), exclude=("weight",), rename={"name": "id"}) == {"id": "a"}


def test_every_status_has_one_display_name_that_the_trackers_offer() -> None:
    assert tuple(STATUS_NAMES) == STATUSES
    assert tuple(STATUS_NAMES[status] for status in STATUSES) == STATUS_OPTIONS
