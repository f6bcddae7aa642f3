"""Webhooks through the running daemon: the sandbox's Jira and Teambition post signed
deliveries to ``/webhooks/jira`` and ``/webhooks/teambition`` after real changes; a valid
one triggers a cycle over the key results it may concern, a forged or repeated one does
nothing, okrsync's own writes coming back trigger nothing, and no secret is ever shown."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from okrsync.sandbox.jira.webhooks import hub_for as jira_hub
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from okrsync.sandbox.teambition.webhooks import hub_for as teambition_hub
from tests.e2e.cli import write_config
from tests.e2e.conftest import mutating, transition
from tests.service.daemon_process import DaemonProcess, free_port, wait_for
from tests.service.test_daemon import FINISHED, sample
from tests.service.test_webhooks import Inbox

JIRA_SECRET = "canary-jira-hook-31c9e0"
TB_SECRET = "canary-tb-hook-8d2f6a"
WEBHOOK_CYCLE = r"webhook cycle over (\d+) key result\(s\)"
NO_CYCLE = r"webhook hints need no cycle"
PAY_2_KRS = 3  # pay-checkout-v2, pay-checkout-bugs, pay-bug-impact


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(seed="demo", jira=("cloud",), teambition=True) as running:
        yield running
        jira_hub(running.jira["cloud"].data).outbox.close()
        assert running.teambition is not None
        teambition_hub(running.teambition.data).outbox.close()


def jira(sandbox: Sandbox) -> SandboxServer:
    return sandbox.jira["cloud"]


def register(sandbox: Sandbox, url: str) -> None:
    """Point both trackers' webhooks at ``url``, as their administrators would."""
    answer = httpx.post(
        f"{jira(sandbox).url}/rest/webhooks/1.0/webhook",
        auth=("demo@okrsync.example", "demo-token"),
        json={
            "name": "okrsync",
            "url": f"{url}/webhooks/jira",
            "events": ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"],
            "secret": JIRA_SECRET,
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert sandbox.teambition is not None
    teambition_hub(sandbox.teambition.data).register(f"{url}/webhooks/teambition", secret=TB_SECRET)


def settle(sandbox: Sandbox) -> None:
    """Wait until every delivery the trackers queued has been answered."""
    assert jira_hub(jira(sandbox).data).outbox.settle()
    assert sandbox.teambition is not None
    assert teambition_hub(sandbox.teambition.data).outbox.settle()


def start(daemons: list[DaemonProcess], config: Path, port: int, **env: str) -> DaemonProcess:
    daemon = DaemonProcess(
        config,
        config.parent / f"daemon-{len(daemons)}.log",
        {
            "OKRSYNC_LISTEN": f"127.0.0.1:{port}",
            "OKRSYNC_WEBHOOKS__JIRA_SECRET": JIRA_SECRET,
            "OKRSYNC_WEBHOOKS__TEAMBITION_SECRET": TB_SECRET,
            "OKRSYNC_WEBHOOKS__DEBOUNCE_SECONDS": "0.5",
            **env,
        },
    )
    daemons.append(daemon)
    return daemon


def deliveries(daemon: DaemonProcess, source: str, outcome: str) -> float:
    found = sample(
        daemon.get("/metrics").text,
        "okrsync_webhook_deliveries_total",
        source=source,
        outcome=outcome,
    )
    return found or 0.0


def webhook_cycles(daemon: DaemonProcess) -> list[int]:
    """How many key results each webhook-triggered cycle covered, in order."""
    return [int(n) for n in re.findall(WEBHOOK_CYCLE, daemon.log())]


def test_changes_in_the_trackers_trigger_targeted_cycles_and_echoes_trigger_none(
    sandbox: Sandbox, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    port = free_port()
    register(sandbox, f"http://127.0.0.1:{port}")
    daemon = start(daemons, write_config(sandbox, tmp_path), port)
    daemon.wait_for_log(FINISHED)
    settle(sandbox)

    # The first cycle's writes came back from both trackers while it was still writing;
    # judged again once its ledger was complete, they asked for no cycle.
    assert deliveries(daemon, "jira", "accepted") + deliveries(daemon, "jira", "echo") >= 1
    assert (
        deliveries(daemon, "teambition", "accepted") + deliveries(daemon, "teambition", "echo") >= 1
    )
    daemon.wait_for_log(NO_CYCLE)
    assert webhook_cycles(daemon) == []

    echoes, no_cycles = deliveries(daemon, "jira", "echo"), daemon.log().count("need no cycle")
    jira(sandbox).log.clear()
    before = jira(sandbox).data.issue("OKR-1").fields["customfield_10100"]
    transition(jira(sandbox), "PAY-2", "In Progress")
    daemon.wait_for_log(WEBHOOK_CYCLE)
    settle(sandbox)
    assert webhook_cycles(daemon) == [PAY_2_KRS]
    # PAY-2 reopened moves its epic's progress: the targeted cycle wrote it to OKR-1.
    okr_1 = jira(sandbox).data.issue("OKR-1")
    assert okr_1.fields["customfield_10100"] < before
    written = {e.path for e in mutating(jira(sandbox).log.entries())}
    assert f"/rest/api/2/issue/{okr_1.id}" in written, written

    # That write came back too and asked for no cycle; a Teambition change afterwards is
    # the only further cycle, over its one key result (a hint left by the echo would have
    # added pay-checkout-v2 to it or run a cycle of its own).
    def recognised() -> bool:
        once = deliveries(daemon, "jira", "echo") > echoes
        return once or daemon.log().count("need no cycle") > no_cycles

    wait_for("the echo of that write to be recognised", recognised)
    assert sandbox.teambition is not None
    sandbox.teambition.data.set_done("tb-task-onboarding-4")
    daemon.wait_for_log(WEBHOOK_CYCLE, count=2)
    assert webhook_cycles(daemon) == [PAY_2_KRS, 1]


def test_forged_or_repeated_deliveries_have_no_effect(
    sandbox: Sandbox, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    inbox = Inbox()
    try:
        register(sandbox, inbox.url.removesuffix("/hook"))
        daemon = start(daemons, write_config(sandbox, tmp_path), free_port())
        daemon.wait_for_log(FINISHED)
        settle(sandbox)
        inbox.received.clear()
        transition(jira(sandbox), "PAY-2", "In Progress")
        settle(sandbox)
        ((received, body),) = [(h, b) for h, b in inbox.received if b"PAY-2" in b]
    finally:
        inbox.close()
    headers = {k: v for k, v in received.items() if k.startswith("X-") or k == "Content-Type"}
    assert headers["X-Hub-Signature"].startswith("sha256=")
    jira(sandbox).log.clear()
    forged = hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature"}

    refused = [
        daemon.post("/webhooks/jira", body, {**headers, "X-Hub-Signature": f"sha256={forged}"}),
        daemon.post("/webhooks/jira", body, unsigned),
        daemon.post("/webhooks/jira", body + b" ", headers),  # the body changed on the way
    ]
    assert [r.status_code for r in refused] == [401, 401, 401]
    garbled = b"{not json"
    signed = hmac.new(JIRA_SECRET.encode(), garbled, hashlib.sha256).hexdigest()
    bad_json = daemon.post("/webhooks/jira", garbled, {"X-Hub-Signature": f"sha256={signed}"})
    assert bad_json.status_code == 400
    assert "not JSON" in bad_json.json()["message"]
    assert deliveries(daemon, "jira", "unauthorized") == 3

    first = daemon.post("/webhooks/jira", body, headers)
    assert (first.status_code, first.json()["outcome"]) == (202, "accepted")
    again = daemon.post("/webhooks/jira", body, headers)
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    daemon.wait_for_log(WEBHOOK_CYCLE)

    # The refused deliveries left no trace; the accepted one ran exactly one cycle.
    third = daemon.post("/webhooks/jira", body, headers)
    assert third.json()["outcome"] == "duplicate"
    assert webhook_cycles(daemon) == [PAY_2_KRS]
    assert deliveries(daemon, "jira", "duplicate") == 2
    for answer in [*refused, bad_json, first, again]:
        assert JIRA_SECRET not in answer.text


def test_no_secret_reaches_the_daemon_log_metrics_or_readiness(
    sandbox: Sandbox, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    token, app_secret = "canary-jira-token-5b7e1c", "canary-tb-app-secret-2e94d0"
    config = write_config(
        sandbox,
        tmp_path,
        jira={"email": "demo@okrsync.example", "api_token": token},
        retry={"max_attempts": 2, "initial_wait": 0.05},
    )
    text = config.read_text(encoding="utf-8").replace('"demo-secret"', f'"{app_secret}"')
    config.write_text(text, encoding="utf-8")
    secrets = [token, app_secret, JIRA_SECRET, TB_SECRET]
    daemon = start(daemons, config, free_port(), OKRSYNC_LOG_LEVEL="debug")
    daemon.wait_for_log(FINISHED)

    shown = [daemon.get("/metrics").text, daemon.get("/readyz").text, daemon.get("/healthz").text]
    body = b'{"webhookEvent": "jira:issue_updated", "issue": {"key": "PAY-2"}}'
    for path, header in [
        ("/webhooks/jira", "X-Hub-Signature"),
        ("/webhooks/teambition", "X-Signature"),
    ]:
        for value in ["", "sha256=00", JIRA_SECRET, TB_SECRET]:
            shown.append(daemon.post(path, body, {header: value} if value else {}).text)
    shown.append(daemon.post("/webhooks/jira", b"x" * 2_000_000, {}).text)
    good = hmac.new(JIRA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    shown.append(daemon.post("/webhooks/jira", body, {"X-Hub-Signature": f"sha256={good}"}).text)
    daemon.stop()
    shown.append(daemon.log())

    # The wrong credentials failed both sources, which the log says, without them.
    assert "failed sources: jira:cloud, teambition:main" in shown[-1]
    assert " DEBUG okrsync.service.webhooks: webhook from jira" in shown[-1]
    leaks = [(secret, i) for secret in secrets for i, text in enumerate(shown) if secret in text]
    assert leaks == []
