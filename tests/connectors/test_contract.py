"""The connector contract suite (``tests.connectors.contract``) against every connector:
Jira Cloud and Data Center and Teambition over real HTTP to the sandbox, and the
in-memory fake of the cycle tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import FetchRequest, FieldWrite
from connectors.jira import JiraConnection, JiraConnector
from connectors.retry import RetryPolicy
from connectors.teambition import TeambitionConnector
from mappings.items import StatusCategory
from mappings.schema import JiraEpicsScope, JqlScope, Scope, TeambitionTagsScope
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from okrsync.sandbox.teambition.demo import demo_section
from tests.connectors.contract import ConnectorTests, Harness, fetch_one
from tests.connectors.jira.conftest import CREDENTIALS, FAST
from tests.connectors.jira.seeds import small_seed
from tests.connectors.teambition.conftest import FAST_RETRY, HOME, PROJECT, settings_for
from tests.connectors.teambition.test_tb_read import OPEN
from tests.cycle.memory import MemoryTracker

SYNCED = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
OUTAGE = 10_000  # requests answered 503: more than any retry policy sends


def _jira(flavour: str) -> Iterator[Harness]:
    with start_sandbox(seed=small_seed(), jira=(flavour,), teambition=False) as sb:
        server = sb.jira[flavour]
        settings = {"url": server.url, **CREDENTIALS[flavour]}
        made = [
            JiraConnector(flavour, JiraConnection.model_validate(s), RetryPolicy(FAST))
            for s in ({**settings, "page_size": 3}, settings)
        ]
        connector, person = made
        stories = JqlScope(kind="jql", jql="project = PAY AND issuetype = Story")

        def changes() -> tuple[Scope, datetime, set[str]]:
            # The seed's stories PAY-5..PAY-9 were updated on or after 15 November.
            return stories, datetime(2026, 11, 15, tzinfo=UTC), {f"PAY-{n}" for n in range(5, 10)}

        def puts() -> int:
            return sum(
                1
                for e in server.log.entries()
                if e.method == "PUT" and "/issue/" in e.path and "/properties/" not in e.path
            )

        yield Harness(
            connector=connector,
            scope=JiraEpicsScope(kind="jira_epics", epics=("PAY-1",)),
            size=8,
            changes=changes,
            target="OKR-3",
            values=[
                FieldWrite("OKR-3", "OKR Progress", 0.25),
                FieldWrite("OKR-3", "OKR Status", "Done"),
                FieldWrite("OKR-3", "OKR Last Synced", SYNCED),
                FieldWrite("OKR-3", "OKR Summary", None),
            ],
            missing_target="OKR-999",
            missing_field="OKR Confidence",
            writes_received=puts,
            requests_received=lambda: len(server.log.entries()),
            person_sets=lambda write: _sent(person.write_fields([write])),
            outage=lambda: server.faults.fail(status=503, count=OUTAGE),
        )
        for one in made:
            one.close()


def _sent(answer: dict[FieldWrite, object]) -> None:
    assert all(error is None for error in answer.values()), answer


def _teambition(server: SandboxServer) -> Iterator[Harness]:
    made = [
        TeambitionConnector("main", settings_for(server.url, **extra), RetryPolicy(FAST_RETRY))
        for extra in ({"page_size": 3}, {})
    ]
    connector, person = made

    def changes() -> tuple[Scope, datetime, set[str]]:
        full = fetch_one(connector, FetchRequest(OPEN)).items
        since = max(i.updated for i in full if i.updated is not None) + timedelta(milliseconds=1)
        server.data.set_story_point("tb-task-crash-7", "13")
        server.data.set_story_point("tb-task-onboarding-5", "5")
        keys = {i.id: i.key for i in full}
        return OPEN, since, {keys["tb-task-crash-7"], keys["tb-task-onboarding-5"]}

    def posts() -> int:
        return sum(
            1
            for e in server.log.entries()
            if e.method == "POST" and e.path.endswith("/customfield/update")
        )

    yield Harness(
        connector=connector,
        scope=TeambitionTagsScope(kind="teambition_tags", project=PROJECT, tags=("tb-tag-okr",)),
        size=8,
        changes=changes,
        target=HOME,
        values=[
            FieldWrite(HOME, "OKR Progress", 12.25),
            FieldWrite(HOME, "OKR Status", "Off track"),
            FieldWrite(HOME, "OKR Summary", "behind"),
            FieldWrite(HOME, "OKR Expected", None),
        ],
        missing_target="tb-task-gone",
        missing_field="OKR Forecast",
        writes_received=posts,
        requests_received=lambda: len(server.log.entries()),
        person_sets=lambda write: _sent(person.write_fields([write])),
        outage=lambda: server.faults.fail(status=503, count=OUTAGE),
    )
    for one in made:
        one.close()


def _memory() -> Iterator[Harness]:
    tracker = MemoryTracker()
    for n in range(8):
        tracker.add(f"S-{n}", parent="EP-1", category=StatusCategory(("todo", "done")[n % 2]))
    tracker.targets = {"OKR-1": {"OKR Progress", "OKR Status", "OKR Summary"}}

    def changes() -> tuple[Scope, datetime, set[str]]:
        since = tracker.tick()
        tracker.change("S-2", status_category=StatusCategory.DONE)
        tracker.change("S-4", estimate=3.0)
        return JqlScope(kind="jql", jql="project = S"), since, {"S-2", "S-4"}

    def person_sets(write: FieldWrite) -> None:
        tracker.fields[(write.target, write.field)] = write.value

    def outage() -> None:
        tracker.down = True

    yield Harness(
        connector=tracker,
        scope=JiraEpicsScope(kind="jira_epics", epics=("EP-1",)),
        size=8,
        changes=changes,
        target="OKR-1",
        values=[
            FieldWrite("OKR-1", "OKR Progress", 40.0),
            FieldWrite("OKR-1", "OKR Status", "At risk"),
            FieldWrite("OKR-1", "OKR Summary", None),
        ],
        missing_target="OKR-404",
        missing_field="OKR Confidence",
        writes_received=lambda: len(tracker.calls.writes),
        requests_received=lambda: tracker.requests_sent,
        person_sets=person_sets,
        outage=outage,
    )


@pytest.fixture(scope="module")
def teambition_sandbox() -> Iterator[Sandbox]:
    """One demo Teambition sandbox for the module, reset before each test."""
    with start_sandbox(seed={"teambition": demo_section()}, jira=(), teambition=True) as sb:
        yield sb


@pytest.fixture(params=["jira-cloud", "jira-datacenter", "teambition", "memory"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """Each connector in turn, against a tracker in a known state."""
    kind = str(request.param)
    if kind.startswith("jira-"):
        yield from _jira(kind.removeprefix("jira-"))
    elif kind == "teambition":
        sandbox: Sandbox = request.getfixturevalue("teambition_sandbox")
        server = sandbox.teambition
        assert server is not None
        server.data.reset()
        server.data.clear_envelope_faults()
        server.faults.reset()
        server.log.clear()
        yield from _teambition(server)
    else:
        yield from _memory()


class TestConnectorContract(ConnectorTests):
    """Every promise, for every connector."""
