"""The webhook receiver against real deliveries: the sandbox's Jira and Teambition post
them to a small HTTP server here after real changes (okrsync's own cycle writes among
them), and the receiver judges them with the real mappings and a state store filled by
a real cycle."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.datastructures import Headers

from okrsync.config.settings import WebhookSettings
from okrsync.sandbox.jira.webhooks import hub_for as jira_hub
from okrsync.sandbox.teambition.webhooks import hub_for as teambition_hub
from okrsync.service.webhooks import WebhookOutcome, WebhookReceiver
from tests.e2e.conftest import Env

SECRET = "jira-hook-canary-5e1f"
TB_SECRET = "tb-hook-canary-a07c"
PAY_2_KRS = {"pay-checkout-v2", "pay-checkout-bugs", "pay-bug-impact"}

Delivery = tuple[dict[str, str], bytes]


class Inbox:
    """A tiny HTTP server keeping every POST it receives (headers as sent, raw body)."""

    def __init__(self) -> None:
        received: list[Delivery] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class World:
    """A sandbox world (tests.e2e's Env) whose trackers post webhooks to an :class:`Inbox`."""

    def __init__(self, flavour: str, tmp: Path, mappings: Any = None) -> None:
        extra = {} if mappings is None else {"mappings": mappings}
        self.env = Env(flavour, f"sqlite:///{tmp / 'state.db'}", **extra)
        self.inbox = Inbox()

    def auth(self) -> dict[str, Any]:
        if self.env.flavour == "cloud":
            return {"auth": ("demo@okrsync.example", "demo-token")}
        return {"headers": {"Authorization": "Bearer demo-pat"}}

    def jira_api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.env.jira.url, timeout=10, **self.auth()) as client:
            return client.request(method, path, **kwargs)

    def register(self) -> None:
        """Register the inbox as Jira's admin webhook, as an administrator would."""
        answer = self.jira_api(
            "POST",
            "/rest/webhooks/1.0/webhook",
            json={
                "name": "okrsync",
                "url": self.inbox.url,
                "events": ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"],
                "secret": SECRET,
            },
        )
        assert answer.status_code == 201, answer.text
        assert SECRET not in answer.text
        teambition_hub(self.env.tb.data).register(self.inbox.url, secret=TB_SECRET)

    def deliveries(self, about: str | None = None) -> list[Delivery]:
        """Every delivery made so far (about one issue key or task id), once all arrived."""
        assert jira_hub(self.env.jira.data).outbox.settle()
        assert teambition_hub(self.env.tb.data).outbox.settle()
        return [(h, b) for h, b in self.inbox.received if about is None or _about(b) == about]

    def receiver(self, **settings: Any) -> WebhookReceiver:
        given = {"jira_secret": SECRET, "teambition_secret": TB_SECRET, **settings}
        return WebhookReceiver(
            WebhookSettings.model_validate(given), tree=lambda: self.env.tree, store=self.env.store
        )

    def close(self) -> None:
        jira_hub(self.env.jira.data).outbox.close()
        teambition_hub(self.env.tb.data).outbox.close()
        self.inbox.close()
        self.env.close()


def _about(body: bytes) -> str:
    payload = json.loads(body)
    if "issue" in payload:
        return str(payload["issue"]["key"])
    return str(payload["data"]["task"]["taskId"])


def source_of(headers: dict[str, str]) -> str:
    return "jira" if "X-Hub-Signature" in headers else "teambition"


def judge(receiver: WebhookReceiver, delivery: Delivery) -> WebhookOutcome:
    headers, body = delivery
    return receiver.receive(source_of(headers), headers, body)


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha256={digest}"}


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Any]:
    worlds: list[World] = []

    def make(flavour: str = "cloud", mappings: Any = None) -> World:
        folder = tmp_path / f"world-{len(worlds)}"
        folder.mkdir()
        world = World(flavour, folder, mappings)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()


@pytest.fixture
def world(make_world: Any) -> World:
    """The example mappings on Jira Cloud and Teambition after one cycle, the webhooks
    registered after it."""
    made: World = make_world()
    made.env.cycle()
    made.register()
    return made


def only_mapping(tmp_path: Path, year: int) -> Path:
    """One KR over the children of PAY-1, written to OKR-1, in the given year."""
    folder = tmp_path / f"mappings-{year}"
    folder.mkdir()
    (folder / "okrs.yaml").write_text(
        f"""
version: 1
defaults:
  write:
    fields: {{progress: OKR Progress, status: OKR Status}}
objectives:
  - id: checkout
    title: Checkout
    period: "{year}"
    key_results:
      - id: kr-epic
        title: The PAY-1 epic
        scope: {{kind: jira_epics, epics: [PAY-1]}}
        measure: {{kind: count}}
        write: [{{kind: jira_issue, key: OKR-1}}]
""",
        encoding="utf-8",
    )
    return folder


# -- what a change triggers --------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
def test_a_status_change_refreshes_the_key_results_that_may_read_the_issue(
    make_world: Any, flavour: str
) -> None:
    world: World = make_world(flavour)
    world.env.cycle()
    world.register()
    world.env.transition("PAY-2", "In Progress")
    (delivery,) = world.deliveries("PAY-2")

    outcome = judge(world.receiver(), delivery)

    # PAY-2 is a child of PAY-1 (pay-checkout-v2); the JQL scopes cannot be run here.
    assert (outcome.status, outcome.outcome) == (202, "accepted")
    assert outcome.kr_ids == PAY_2_KRS


def test_an_issue_moved_to_another_epic_refreshes_both_epics_key_results(world: World) -> None:
    world.env.jira.data.move("PAY-2", "PLAT-1")
    (delivery,) = world.deliveries("PAY-2")

    outcome = judge(world.receiver(), delivery)

    assert outcome.kr_ids == PAY_2_KRS | {"plat-k8s-services", "mob-backend-on-k8s"}


def test_a_new_issue_in_an_epic_refreshes_its_key_results(world: World) -> None:
    created = world.env.jira.data.create_issue("PLAT", "Move the search service", parent="PLAT-1")
    (delivery,) = world.deliveries(created.key)

    outcome = judge(world.receiver(), delivery)

    assert outcome.outcome == "accepted"
    assert outcome.kr_ids == {
        "plat-k8s-services",
        "mob-backend-on-k8s",
        "pay-checkout-bugs",
        "pay-bug-impact",
    }


def test_okrsync_own_writes_come_back_as_echoes(make_world: Any) -> None:
    world: World = make_world()
    world.register()
    report = world.env.cycle()
    written = {w.target for w in report.writes if w.applied and w.role != "property"}
    receiver = world.receiver()

    deliveries = world.deliveries()
    outcomes = [judge(receiver, delivery) for delivery in deliveries]

    assert written >= {"OKR-1", "OKR-6", "tb-task-okr-home"}
    assert {_about(body) for _, body in deliveries} == written
    assert {(o.status, o.outcome, o.kr_ids) for o in outcomes} == {(200, "echo", frozenset())}


def test_a_person_editing_an_owned_field_triggers_the_key_result_owning_it(
    world: World,
) -> None:
    edit = world.jira_api(
        "PUT", "/rest/api/2/issue/OKR-1", json={"fields": {"customfield_10100": 12.5}}
    )
    edit.raise_for_status()
    world.env.tb.data.set_customfield("tb-task-okr-home", "cf-okr-progress", "12")
    receiver = world.receiver()

    jira = judge(receiver, world.deliveries("OKR-1")[0])
    teambition = judge(receiver, world.deliveries("tb-task-okr-home")[0])

    assert (jira.status, jira.kr_ids) == (202, {"pay-checkout-v2"})
    assert (teambition.status, teambition.kr_ids) == (202, {"mob-onboarding-flow"})


def test_teambition_changes_refresh_the_scopes_the_task_may_be_in(world: World) -> None:
    world.env.tb.data.set_done("tb-task-onboarding-4")
    world.env.tb.data.set_done("tb-task-sprint42-5")
    world.env.tb.data.update_task("tb-task-backlog-1", tagIds=["tb-tag-okr"])
    receiver = world.receiver()

    def krs(task: str) -> frozenset[str]:
        (delivery,) = world.deliveries(task)
        return judge(receiver, delivery).kr_ids

    assert krs("tb-task-onboarding-4") == {"mob-onboarding-flow"}
    assert krs("tb-task-sprint42-5") == {"mob-sprint-42"}
    assert krs("tb-task-backlog-1") == {"mob-okr-work"}


def test_a_change_no_key_result_reads_is_unrelated(world: World) -> None:
    world.env.tb.data.set_done("tb-task-backlog-2")
    (delivery,) = world.deliveries("tb-task-backlog-2")

    outcome = judge(world.receiver(), delivery)

    assert (outcome.status, outcome.outcome, outcome.kr_ids) == (200, "unrelated", frozenset())


def test_jira_issues_outside_every_scope_are_unrelated(make_world: Any, tmp_path: Path) -> None:
    world: World = make_world(mappings=only_mapping(tmp_path, datetime.now(UTC).year))
    world.env.cycle()
    world.register()
    world.env.transition("PLAT-2", "In Progress")
    world.env.transition("PAY-3", "In Progress")
    receiver = world.receiver()

    assert judge(receiver, world.deliveries("PLAT-2")[0]).outcome == "unrelated"
    assert judge(receiver, world.deliveries("PAY-3")[0]).kr_ids == {"kr-epic"}


def test_an_item_okrsync_read_is_found_by_its_id_alone(make_world: Any, tmp_path: Path) -> None:
    world: World = make_world(mappings=only_mapping(tmp_path, datetime.now(UTC).year))
    body = json.dumps({"webhookEvent": "jira:issue_deleted", "issue": {"id": "10003"}}).encode()
    headers = {**sign(body), "X-Atlassian-Webhook-Identifier": "deleted-10003"}

    before = world.receiver().receive("jira", headers, body)
    world.env.cycle()  # now PAY-3 (id 10003) is in the scope's cached items
    after = world.receiver().receive("jira", headers, body)

    assert before.outcome == "unrelated"
    assert (after.outcome, after.kr_ids) == ("accepted", {"kr-epic"})


def test_final_key_results_are_refreshed_only_to_repair_their_fields(
    make_world: Any, tmp_path: Path
) -> None:
    world: World = make_world(mappings=only_mapping(tmp_path, datetime.now(UTC).year - 2))
    report = world.env.cycle()
    assert [k.final for k in report.key_results] == [True]
    world.register()
    world.env.transition("PAY-3", "In Progress")
    world.jira_api("PUT", "/rest/api/2/issue/OKR-1", json={"fields": {"customfield_10100": 5}})
    receiver = world.receiver()

    assert judge(receiver, world.deliveries("PAY-3")[0]).outcome == "unrelated"
    assert judge(receiver, world.deliveries("OKR-1")[0]).kr_ids == {"kr-epic"}


def test_a_comment_changes_nothing_okrsync_reads(world: World) -> None:
    world.jira_api("POST", "/rest/api/2/issue/PAY-2/comment", json={"body": "looks good"})
    (delivery,) = world.deliveries("PAY-2")

    assert judge(world.receiver(), delivery).outcome == "unrelated"


# -- what is refused -------------------------------------------------------------------------


def test_bad_or_missing_signatures_are_refused_without_side_effect(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.env.transition("PAY-2", "In Progress")
    ((headers, body),) = world.deliveries("PAY-2")
    receiver = world.receiver()
    tampered = body.replace(b'"PAY-2"', b'"PAY-3"', 1)
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature"}
    caplog.set_level(logging.DEBUG)

    refused = [
        receiver.receive("jira", headers, tampered),
        receiver.receive("jira", unsigned, body),
        receiver.receive("jira", {**headers, "X-Hub-Signature": "sha256=00ff"}, body),
        receiver.receive("jira", Headers({**unsigned, "x-hub-signature": "md5=00"}), body),
        world.receiver(jira_secret=None).receive("jira", headers, body),
        receiver.receive("teambition", headers, body),
    ]
    accepted = receiver.receive("jira", headers, body)

    assert [(o.status, o.outcome) for o in refused] == [(401, "unauthorized")] * 6
    assert [o.message for o in refused[:2]] == [
        "X-Hub-Signature does not match the body",
        "missing X-Hub-Signature",
    ]
    # Nothing was remembered: the same delivery, genuine, is still new.
    assert (accepted.status, accepted.kr_ids) == (202, PAY_2_KRS)
    assert SECRET not in caplog.text and body.decode() not in caplog.text
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 6


def test_a_repeated_delivery_is_a_duplicate(world: World) -> None:
    world.env.transition("PAY-2", "In Progress")
    ((headers, body),) = world.deliveries("PAY-2")
    receiver = world.receiver()
    anonymous = {k: v for k, v in headers.items() if k != "X-Atlassian-Webhook-Identifier"}

    first, again = receiver.receive("jira", headers, body), receiver.receive("jira", headers, body)
    # Without Jira's delivery id, the body itself identifies the delivery.
    other = world.receiver()
    hashed = [other.receive("jira", anonymous, body), other.receive("jira", anonymous, body)]

    assert (first.outcome, again.outcome) == ("accepted", "duplicate")
    assert (again.status, again.kr_ids) == (200, frozenset())
    assert [o.outcome for o in hashed] == ["accepted", "duplicate"]


def test_teambition_deliveries_are_signed_and_deduplicated(world: World) -> None:
    world.env.tb.data.set_done("tb-task-onboarding-5")
    ((headers, body),) = world.deliveries("tb-task-onboarding-5")
    receiver = world.receiver()

    forged = receiver.receive("teambition", {**headers, "X-Signature": "ab" * 32}, body)
    first = receiver.receive("teambition", headers, body)
    again = receiver.receive("teambition", headers, body)

    assert (forged.status, first.status, again.outcome) == (401, 202, "duplicate")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{nope", 400, "body is not JSON: line 1 column 2"),
        (b'{"a": 1}\n\n  ]', 400, "body is not JSON: line 3 column 3"),
        (b"\xff\xfe\xfa", 400, "body is not UTF-8 JSON"),
        (b'{"webhookEvent": "jira:issue_updated"}', 400, "the delivery has no issue object"),
        (b'{"issue": {"fields": {}}}', 400, "the delivery's issue has neither id nor key"),
        (b"[1, 2]", 400, "the delivery has no JSON object"),
    ],
)
def test_malformed_bodies_are_refused_with_a_located_message(
    world: World, body: bytes, status: int, message: str
) -> None:
    outcome = world.receiver().receive("jira", sign(body), body)

    assert (outcome.status, outcome.outcome, outcome.message) == (status, "bad_request", message)


def test_an_oversized_body_is_refused_before_anything_else(world: World) -> None:
    receiver = world.receiver(max_body_bytes=100)

    too_big = receiver.receive("jira", {}, b"x" * 101)
    fits = receiver.receive("jira", {}, b"x" * 100)

    assert (too_big.status, too_big.outcome) == (413, "too_large")
    assert fits.outcome == "unauthorized"


def test_no_outcome_ever_shows_a_secret(world: World) -> None:
    world.env.transition("PAY-2", "In Progress")
    world.env.tb.data.set_done("tb-task-onboarding-6")
    receiver = world.receiver()
    outcomes = [judge(receiver, d) for d in world.deliveries()]
    outcomes += [judge(receiver, d) for d in world.deliveries()]  # duplicates
    outcomes += [
        receiver.receive("jira", sign(b"{", SECRET), b"{"),
        receiver.receive("jira", {"X-Hub-Signature": SECRET}, b"{}"),
        receiver.receive("teambition", {"X-Signature": TB_SECRET}, b"{}"),
        world.receiver(teambition_secret=None).receive("teambition", {}, b"{}"),
    ]

    assert {o.outcome for o in outcomes} >= {"accepted", "duplicate", "bad_request"}
    for outcome in outcomes:
        assert SECRET not in outcome.message and TB_SECRET not in outcome.message


def test_delivery_ids_are_remembered_for_a_day(world: World) -> None:
    world.env.transition("PAY-2", "In Progress")
    ((headers, body),) = world.deliveries("PAY-2")
    now = [0.0]
    settings = WebhookSettings.model_validate({"jira_secret": SECRET})
    receiver = WebhookReceiver(
        settings, tree=lambda: world.env.tree, store=world.env.store, clock=lambda: now[0]
    )

    first = receiver.receive("jira", headers, body)
    now[0] += 23 * 3600
    within = receiver.receive("jira", headers, body)
    now[0] += 2 * 3600
    later = receiver.receive("jira", headers, body)

    assert [o.outcome for o in (first, within, later)] == ["accepted", "duplicate", "accepted"]


def test_without_mappings_nothing_is_triggered(world: World) -> None:
    world.env.transition("PAY-2", "In Progress")
    ((headers, body),) = world.deliveries("PAY-2")
    settings = WebhookSettings.model_validate({"jira_secret": SECRET})
    receiver = WebhookReceiver(settings, tree=lambda: None, store=world.env.store)

    outcome = receiver.receive("jira", headers, body)

    assert (outcome.status, outcome.outcome, outcome.message) == (
        200,
        "unrelated",
        "no OKR mappings are loaded",
    )
