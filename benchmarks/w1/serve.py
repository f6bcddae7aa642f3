"""The W1 sandbox in its own process: ``python -m benchmarks.w1.serve SEED.json READY.json``.

It starts the sandbox's Jira (``--flavour cloud`` or ``datacenter``) and Teambition on
127.0.0.1 with free ports, applies the faults (``--latency`` on every server, and on
Teambition a server-wide ``rate_limit`` of ``--tb-rate`` requests a second on top of
its own 40 a second per endpoint), writes ``{"jira": url, "teambition": url, "pid": ...}``
to READY.json, then serves until its standard input closes.

Each line on standard input is a JSON list of changes, applied through the sandbox's
stores (the calls its REST handlers make, so ``updated`` stamps and webhooks follow)
with one JSON line answered on standard output: ``{"applied": n, "skipped": n}``.
A change is ``[op, ...]``: ``["status", key]`` (the next status), ``["done", key]``
(to Done, or from Done back to To Do), ``["estimate", key,
points]``, ``["move", key, epic]``, ``["create", project, epic, points]``,
``["delete", key]``, ``["tb_done", id]`` (toggle), ``["tb_points", id, points]``,
``["tb_create", project, parent]``, ``["tb_delete", id]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from okrsync.sandbox.server import start_sandbox

STATUSES = ("To Do", "In Progress", "In Review", "Done")


def apply(jira: Any, teambition: Any, change: list[Any]) -> None:
    """Apply one change (see the module's doc); KeyError or similar when it cannot."""
    op, *args = change
    if op == "status":
        current = jira.issue(args[0]).fields["status"]["name"]
        nxt = STATUSES[(STATUSES.index(current) + 1) % len(STATUSES)]
        jira.transition(args[0], nxt)
    elif op == "done":
        current = jira.issue(args[0]).fields["status"]["name"]
        jira.transition(args[0], "To Do" if current == "Done" else "Done")
    elif op == "estimate":
        jira.set_estimate(args[0], args[1])
    elif op == "move":
        jira.move(args[0], args[1])
    elif op == "create":
        jira.create_issue(
            args[0], "New story", "Story", parent=args[1], fields={"customfield_10016": args[2]}
        )
    elif op == "delete":
        jira.delete_issue(args[0])
    elif op == "tb_done":
        teambition.set_done(args[0], not teambition.task(args[0])["isDone"])
    elif op == "tb_points":
        teambition.set_story_point(args[0], args[1])
    elif op == "tb_create":
        teambition.create_task(args[0], "New task", parentTaskId=args[1], storyPoint="3")
    elif op == "tb_delete":
        teambition.delete_task(args[0])
    else:
        raise ValueError(f"unknown change {op!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seed", type=Path)
    parser.add_argument("ready", type=Path)
    parser.add_argument("--flavour", choices=("cloud", "datacenter"), default="cloud")
    parser.add_argument("--latency", type=float, default=0.025)
    parser.add_argument("--tb-rate", type=int, default=40)
    args = parser.parse_args(argv)
    seed = json.loads(args.seed.read_text(encoding="utf-8"))
    sandbox = start_sandbox(seed, jira=(args.flavour,), teambition=True, host="127.0.0.1")
    del seed
    jira_server = sandbox.jira[args.flavour]
    tb_server = sandbox.teambition
    assert tb_server is not None
    for server in sandbox.servers:
        server.faults.set(latency=args.latency)
    tb_server.faults.set(rate_limit=args.tb_rate)
    ready = {"jira": jira_server.url, "teambition": tb_server.url, "pid": os.getpid()}
    tmp = args.ready.with_suffix(".tmp")
    tmp.write_text(json.dumps(ready), encoding="utf-8")
    tmp.replace(args.ready)
    with sandbox:
        for line in sys.stdin:
            applied = skipped = 0
            for change in json.loads(line):
                try:
                    apply(jira_server.data, tb_server.data, change)
                    applied += 1
                except Exception:  # an item gone with a deleted parent
                    skipped += 1
            print(json.dumps({"applied": applied, "skipped": skipped}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
