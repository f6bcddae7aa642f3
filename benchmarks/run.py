"""Run okrsync's benchmark: ``python -m benchmarks.run [--quick] [--out FILE] ...``.

Starts the sandbox in this process (Jira Cloud and Teambition on 127.0.0.1) with a
generated data set, writes generated mappings to a temporary directory, and measures
three sync cycles against a fresh state database:

1. ``first``: the first full cycle (every scope read in full, every KR written);
2. ``unchanged``: a second cycle with nothing changed (incremental reads, zero writes --
   the run fails if it writes anything: that is a correctness guard, not a timing);
3. ``changed``: a cycle after 1 % of the work items changed (status and estimate edits).

Then, unless ``--no-verify``, every KR is computed again from a full read into an empty
state database (dry run): the incremental cycles must have reached the same numbers. And,
unless ``--no-throughput``, how fast the sandbox alone pages through the Jira project.
Prints a table and writes JSON (``--out``). Exit status 1 when a cycle failed, the
unchanged cycle wrote, or the incremental results differ from the full read.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sqlite3
import sys
import tempfile
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import dataset, okrs
from benchmarks.measure import Phase, measure_phase, peak_rss_mb, rss_mb, timed
from benchmarks.state import DEFAULT_POSTGRES_URL, fresh_state_url
from benchmarks.table import print_summary
from benchmarks.throughput import search_throughput
from connectors.base import Connector
from mappings.loader import load_mappings
from mappings.tree import OkrTree
from okrsync.config.settings import Settings
from okrsync.sandbox.server import Sandbox, SandboxServer, start_sandbox
from okrsync.state import StateStore
from okrsync.sync.connections import build_connectors
from okrsync.sync.cycle import run_cycle
from okrsync.sync.report import CycleReport

__all__ = ["main"]

EMAIL, TOKEN = "demo@okrsync.example", "demo-token"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke-test size")
    parser.add_argument("--out", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--issues", type=int, help="Jira stories and bugs (default 20000)")
    parser.add_argument("--epics", type=int, help="Jira epics they spread over (default 200)")
    parser.add_argument("--tasks", type=int, help="Teambition tasks (default 5000)")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the sandbox waits per request"
    )
    parser.add_argument(
        "--concurrency", type=int, help="requests in flight per connection (okrsync default 4)"
    )
    parser.add_argument("--state", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server for --state postgres (a fresh schema is created and dropped)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also measure the peak Python heap (slows the cycles down)",
    )
    parser.add_argument(
        "--no-throughput", action="store_true", help="skip the sandbox search throughput"
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip checking the incremental results against a full read",
    )
    return parser.parse_args(argv)


def sizes_for(args: argparse.Namespace) -> dataset.Sizes:
    """The default sizes for the mode, with any size given on the command line."""
    sizes = dataset.QUICK if args.quick else dataset.FULL
    given = {k: getattr(args, k) for k in ("issues", "epics", "tasks")}
    return replace(sizes, **{k: v for k, v in given.items() if v is not None})


def settings_for(
    sandbox: Sandbox, state_url: str, mappings: Path, concurrency: int | None
) -> Settings:
    """okrsync's settings for the sandbox: default retry and sync settings."""
    assert sandbox.teambition is not None
    jira: dict[str, Any] = {
        "url": sandbox.jira["cloud"].url,
        "flavour": "cloud",
        "email": EMAIL,
        "api_token": TOKEN,
    }
    teambition: dict[str, Any] = {
        "base_url": sandbox.teambition.url,
        "app_id": "okrsync-demo",
        "app_secret": "demo-secret",
        "tenant_id": "tb-org-demo",
        "operator_id": "tb-user-ana",
    }
    if concurrency is not None:
        jira["concurrency"] = teambition["concurrency"] = concurrency
    return Settings.model_validate(
        {
            "jira": {"cloud": jira},
            "teambition": {"main": teambition},
            "state_url": state_url,
            "mappings": str(mappings),
        }
    )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(affinity(0)) if affinity else None,
        "sqlite": sqlite3.sqlite_version,
        "okrsync": _version("okrsync"),
        "jira_library": _version("jira"),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cycle_details(report: CycleReport) -> dict[str, Any]:
    """What the cycle itself reported."""
    return {
        "mode": report.mode,
        "outcome": report.outcome,
        "key_results": len(report.key_results),
        "field_writes": len(report.applied_writes),
        "failed_writes": sum(1 for w in report.writes if w.error),
        "held": len(report.held),
        "conflicts": len(report.conflicts),
        "sources": {name: s.to_dict() for name, s in sorted(report.sources.items())},
    }


def problems_of(phases: dict[str, Phase]) -> list[str]:
    """Why the run is not valid: a failed cycle, or writes where nothing changed."""
    found = []
    for name, phase in phases.items():
        outcome = phase.details.get("outcome")
        if outcome != "ok":
            sources = phase.details.get("sources", {})
            errors = [f"{n}: {s['error']}" for n, s in sources.items() if s.get("error")]
            found.append(f"cycle '{name}' ended {outcome}: {'; '.join(errors) or 'write errors'}")
    unchanged = phases.get("unchanged")
    if unchanged is not None:
        writes, requests = unchanged.details.get("field_writes", 0), unchanged.write_requests()
        if writes or requests:
            found.append(
                f"the cycle over unchanged data wrote {writes} field(s) in {requests} "
                "request(s); it must write nothing"
            )
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every phase; the results as JSON-ready data."""
    sizes = sizes_for(args)
    now = datetime.now(UTC)
    result: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "benchmarks.run", *sys.argv[1:]]),
        "started_at": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "options": {
            "mode": "quick" if args.quick else "full",
            "latency_seconds": args.latency,
            "concurrency": args.concurrency,
            "state": args.state,
            "tracemalloc": args.tracemalloc,
        },
    }
    mappings = okrs.build_mappings(sizes, now)
    seed, seed_seconds = timed(lambda: dataset.build_seed(sizes, now, mappings.jira_homes))
    result["data"] = {
        "jira_work_items": sizes.issues,
        "jira_epics": sizes.epics,
        "jira_issues_total": len(seed["jira"]["issues"]),
        "teambition_tasks": len(seed["teambition"]["tasks"]),
        "key_results": mappings.key_results,
        "jira_home_issues": mappings.jira_homes,
    }
    with tempfile.TemporaryDirectory(prefix="okrsync-bench-") as tmp:
        directory = okrs.write_mappings(mappings, Path(tmp) / "mappings")
        sandbox, start_seconds = timed(
            partial(start_sandbox, seed=seed, jira=("cloud",), teambition=True)
        )
        del seed
        result["setup"] = {
            "generate_seconds": round(seed_seconds, 3),
            "sandbox_start_seconds": round(start_seconds, 3),
            "rss_after_setup_mb": rss_mb(),
        }
        try:
            with fresh_state_url(args.state, Path(tmp), args.postgres_url) as url:
                result["phases"] = cycles(args, sandbox, url, directory, sizes, now, result)
            if not args.no_throughput:
                for server in sandbox.servers:
                    server.faults.reset()  # the sandbox's own speed, without added latency
                result["sandbox_search"] = search_throughput(
                    sandbox.jira["cloud"].url, EMAIL, TOKEN, f"project = {dataset.PROJECT}"
                )
        finally:
            sandbox.stop()
    result["process_peak_rss_mb"] = peak_rss_mb()
    return result


def cycles(
    args: argparse.Namespace,
    sandbox: Sandbox,
    state_url: str,
    directory: Path,
    sizes: dataset.Sizes,
    now: datetime,
    result: dict[str, Any],
) -> dict[str, Any]:
    """The three measured cycles."""
    assert sandbox.teambition is not None
    servers: dict[str, SandboxServer] = {
        "jira": sandbox.jira["cloud"],
        "teambition": sandbox.teambition,
    }
    if args.latency:
        for server in servers.values():
            server.faults.set(latency=args.latency)
    settings = settings_for(sandbox, state_url, directory, args.concurrency)
    tree, load_seconds = timed(
        lambda: load_mappings(directory, connections=settings.connection_names())
    )
    result["setup"]["load_mappings_seconds"] = round(load_seconds, 3)
    connectors = build_connectors(settings)
    store = StateStore.open(state_url)
    if args.tracemalloc:
        tracemalloc.start()
    phases: dict[str, Phase] = {}
    try:
        # One clock reading for every cycle, as `okrsync demo` does: the expected pace
        # (time elapsed in the quarter) must not tick between cycles, or the unchanged
        # cycle would rightly rewrite it. The sandbox stamps changes with the wall clock,
        # later than `now`, so incremental reads still find them.
        for name in ("first", "unchanged", "changed"):
            if name == "changed":
                changes, seconds = timed(
                    lambda: dataset.apply_changes(
                        servers["jira"].data, servers["teambition"].data, sizes
                    )
                )
                result["changes"] = {**changes.to_dict(), "seconds": round(seconds, 3)}
            with measure_phase(name, servers) as phase:
                report = run_cycle(tree, connectors, store, now=now, settings=settings.sync)
            phase.details = cycle_details(report)
            phases[name] = phase
            print(f"  {name}: {phase.seconds:.1f} s", file=sys.stderr)
        if not args.no_verify:
            if tracemalloc.is_tracing():
                tracemalloc.stop()
            fresh_url = f"sqlite:///{directory.parent / 'verify.db'}"
            result["verify"] = verify(tree, connectors, fresh_url, now, settings, report)
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        for connector in connectors.values():
            connector.close()
        store.close()
    result["problems"] = problems_of(phases)
    mismatched = result.get("verify", {}).get("mismatched", [])
    if mismatched:
        result["problems"].append(
            f"{len(mismatched)} key result(s) differ from a full read after the incremental "
            f"cycles: {', '.join(m['kr'] for m in mismatched[:10])}"
        )
    return {name: phase.to_dict() for name, phase in phases.items()}


#: What must agree between the incremental cycles and a full read of the same data.
COMPARED = ("progress", "done_count", "total_count", "done_points", "total_points", "value")


def _numbers(report: CycleReport) -> dict[str, tuple[Any, ...]]:
    return {
        kr.kr_id: tuple(
            round(v, 9) if isinstance(v, float) else v
            for v in (getattr(kr.result, name) for name in COMPARED)
        )
        for kr in report.key_results
    }


def verify(
    tree: OkrTree,
    connectors: dict[tuple[str, str], Connector],
    fresh_url: str,
    now: datetime,
    settings: Settings,
    last: CycleReport,
) -> dict[str, Any]:
    """Compute every KR again from a full read (dry run, empty state): the results of the
    last incremental cycle must be the same."""
    fresh = StateStore.open(fresh_url)
    try:
        full, seconds = timed(
            lambda: run_cycle(
                tree, connectors, fresh, now=now, settings=settings.sync, dry_run=True
            )
        )
    finally:
        fresh.close()
    ours, truth = _numbers(last), _numbers(full)
    mismatched = [
        {"kr": kr_id, "incremental": list(ours.get(kr_id, ())), "full": list(values)}
        for kr_id, values in truth.items()
        if ours.get(kr_id) != values
    ]
    return {
        "compared": list(COMPARED),
        "key_results": len(truth),
        "full_read_seconds": round(seconds, 3),
        "mismatched": mismatched,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every cycle succeeded and the unchanged one wrote nothing."""
    args = parse_args(argv)
    sizes = sizes_for(args)
    print(
        f"okrsync benchmark: Jira {sizes.issues} issues / {sizes.epics} epics, Teambition "
        f"{sizes.tasks} tasks, state {args.state}, latency {args.latency} s",
        file=sys.stderr,
    )
    result = run(args)
    print_summary(result)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {args.out}", file=sys.stderr)
    for problem in result.get("problems", []):
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if result.get("problems") else 0


if __name__ == "__main__":
    raise SystemExit(main())
