"""The promises every connector keeps, as one suite (like vdirsyncer's ``StorageTests``).

``ConnectorTests`` holds the tests; a test module subclasses it and provides a ``harness``
fixture: a connector plus what the suite needs to know about the tracker behind it (a
scope of known size, a target with fields, how to cause an outage, what the tracker
received). ``tests/connectors/test_contract.py`` runs it against Jira Cloud, Jira Data
Center and Teambition (the sandbox over real HTTP) and the in-memory fake the cycle tests
use, so that the fake cannot promise what the real connectors do not keep.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from connectors.base import (
    PROPERTY_PREFIX,
    Connector,
    ConnectorError,
    FetchRequest,
    FetchResult,
    FieldRef,
    FieldWrite,
)
from mappings.items import Source, StatusCategory
from mappings.schema import Scope


@dataclass
class Harness:
    """A connector under test and the facts of its tracker the suite relies on."""

    connector: Connector
    # A scope of ``size`` items, read over more than one page where the tracker pages.
    scope: Scope
    size: int
    # Changes items (or knows which changed); gives a ``since`` and the keys changed after it.
    changes: Callable[[], tuple[Scope, datetime, set[str]]]
    # A target whose fields take ``values`` (number, choice, text, ...; one cleared).
    target: str
    values: list[FieldWrite]
    missing_target: str
    missing_field: str
    # What the tracker received so far: field-write requests, and requests of any kind.
    writes_received: Callable[[], int]
    requests_received: Callable[[], int]
    # Someone other than this connector sets a field on the tracker.
    person_sets: Callable[[FieldWrite], None]
    # Makes the tracker answer every request as an overloaded server (503) from now on.
    outage: Callable[[], None]


def fetch_one(connector: Connector, request: FetchRequest) -> FetchResult:
    """The result of one request, which must not be an error."""
    answer = connector.fetch([request])[request]
    assert isinstance(answer, FetchResult), answer
    return answer


def _errors(answer: Mapping[FieldRef, object] | ConnectorError) -> list[ConnectorError]:
    if isinstance(answer, ConnectorError):
        return [answer]
    return [v for v in answer.values() if isinstance(v, ConnectorError)]


class ConnectorTests:
    """What the sync layer may rely on from any connector (``connectors.base.Connector``)."""

    def test_fetch_reads_every_page_into_normalized_items(self, harness: Harness) -> None:
        connector = harness.connector
        result = fetch_one(connector, FetchRequest(harness.scope))
        assert len(result.items) == harness.size
        assert result.total == harness.size
        ids = [item.id for item in result.items]
        assert len(set(ids)) == harness.size and all(ids)
        for item in result.items:
            assert item.source is Source(connector.source)
            assert item.key and isinstance(item.status_category, StatusCategory)
            assert item.updated is None or item.updated.tzinfo is not None

    def test_ids_are_the_same_on_every_read(self, harness: Harness) -> None:
        first = fetch_one(harness.connector, FetchRequest(harness.scope))
        again = fetch_one(harness.connector, FetchRequest(harness.scope))
        assert {i.key: i.id for i in first.items} == {i.key: i.id for i in again.items}

    def test_count_equals_what_is_fetched(self, harness: Harness) -> None:
        connector = harness.connector
        assert connector.count([harness.scope]) == {harness.scope: harness.size}
        expected = {"same": (harness.scope, harness.size)}
        assert connector.confirm_counts(expected) == {"same": harness.size}

    def test_since_narrows_to_what_changed(self, harness: Harness) -> None:
        scope, since, changed = harness.changes()
        full = fetch_one(harness.connector, FetchRequest(scope))
        narrowed = fetch_one(harness.connector, FetchRequest(scope, since=since))
        assert {i.key for i in narrowed.items} == changed
        assert len(narrowed.items) < len(full.items)
        assert narrowed.total in (None, len(full.items))

    def test_fields_read_back_as_written(self, harness: Harness) -> None:
        connector = harness.connector
        assert connector.write_fields(harness.values) == dict.fromkeys(harness.values)
        refs = [FieldRef(w.target, w.field) for w in harness.values]
        assert connector.read_fields(refs) == {
            ref: w.value for ref, w in zip(refs, harness.values, strict=True)
        }

    def test_an_identical_write_sends_nothing(self, harness: Harness) -> None:
        connector, values = harness.connector, harness.values
        connector.write_fields(values)
        before = harness.writes_received()
        assert connector.write_fields(values) == dict.fromkeys(values)
        assert harness.writes_received() == before
        # What the tracker holds is compared, not what this connector wrote last.
        first = values[0]
        assert isinstance(first.value, float)
        harness.person_sets(FieldWrite(first.target, first.field, first.value + 1))
        before = harness.writes_received()
        connector.write_fields(values)
        assert harness.writes_received() == before + 1
        assert connector.read_fields([FieldRef(first.target, first.field)]) == {
            FieldRef(first.target, first.field): first.value
        }

    def test_an_unknown_field_or_target_is_named_and_final(self, harness: Harness) -> None:
        number = next(w for w in harness.values if isinstance(w.value, float))
        no_field = FieldWrite(harness.target, harness.missing_field, 1.0)
        no_target = FieldWrite(harness.missing_target, number.field, 1.0)
        written = harness.connector.write_fields([no_field, no_target, number])
        assert written[number] is None
        for write, name in ((no_field, harness.missing_field), (no_target, harness.missing_target)):
            error = written[write]
            assert isinstance(error, ConnectorError) and not error.retryable
            assert name in error.message
        read = harness.connector.read_fields(
            [FieldRef(harness.target, harness.missing_field), FieldRef(number.target, number.field)]
        )
        error = read[FieldRef(harness.target, harness.missing_field)]
        assert isinstance(error, ConnectorError) and not error.retryable
        assert harness.missing_field in error.message
        assert read[FieldRef(number.target, number.field)] == number.value

    def test_an_outage_is_a_retryable_error(self, harness: Harness) -> None:
        connector = harness.connector
        harness.outage()
        request = FetchRequest(harness.scope)
        fetched = connector.fetch([request])[request]
        assert isinstance(fetched, ConnectorError) and fetched.retryable
        try:
            counted = connector.count([harness.scope])[harness.scope]
        except ConnectorError as exc:
            counted = exc
        assert isinstance(counted, ConnectorError) and counted.retryable
        ref = FieldRef(harness.target, harness.values[0].field)
        try:
            read: Mapping[FieldRef, object] | ConnectorError = connector.read_fields([ref])
        except ConnectorError as exc:
            read = exc
        errors = _errors(read)
        assert errors and all(e.retryable for e in errors)

    def test_requests_sent_counts_what_the_tracker_received(self, harness: Harness) -> None:
        connector = harness.connector
        sent, received = connector.requests_sent, harness.requests_received()
        fetch_one(connector, FetchRequest(harness.scope))
        connector.write_fields(harness.values)
        connector.read_fields([FieldRef(w.target, w.field) for w in harness.values])
        assert connector.requests_sent - sent == harness.requests_received() - received > 0

    def test_refresh_keeps_reads_and_writes_working(self, harness: Harness) -> None:
        connector = harness.connector
        first = fetch_one(connector, FetchRequest(harness.scope))
        connector.refresh()
        again = fetch_one(connector, FetchRequest(harness.scope))
        assert sorted(i.id for i in again.items) == sorted(i.id for i in first.items)
        assert connector.write_fields(harness.values) == dict.fromkeys(harness.values)

    def test_properties_only_where_supported(self, harness: Harness) -> None:
        connector = harness.connector
        assert connector.concurrency >= 1
        record = {"kr": "kr-1", "progress": 0.5}
        if not connector.supports_properties:
            try:
                connector.set_property(harness.target, "okrsync", record)
            except ConnectorError as exc:
                assert not exc.retryable
            else:
                raise AssertionError("set_property without properties must fail")
            return
        connector.set_property(harness.target, "okrsync", record)
        ref = FieldRef(harness.target, PROPERTY_PREFIX + "okrsync")
        assert connector.read_fields([ref]) == {ref: record}
