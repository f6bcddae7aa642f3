"""Run W1: ``python -m benchmarks.w1.run`` (``make bench``).

Generates the workload, starts the sandbox in its own process, runs each scenario's
okrsync cycles (and the baseline's, when ``benchmarks/peer.py`` is there) as child
processes, and writes ``benchmarks/results/w1.json``, ``benchmarks/results/w1.png``
and ``benchmarks/RESULTS.md``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benchmarks.w1 import bound
from benchmarks.w1.changes import Changer
from benchmarks.w1.procs import Figures, Sandbox, run_child
from benchmarks.w1.workload import FULL, SMALL, Sizes, Workload, build, write_mappings

RESULTS = Path(__file__).resolve().parents[1] / "results"
CONCURRENCY = 4  # okrsync's default per connection
PEER_MODULE = "benchmarks.peer"
#: Threads waiting for each other (counted once per waiting thread): left out of the profile.
WAITS = {
    "<method 'get' of '_queue.SimpleQueue' objects>",
    "<method 'acquire' of '_thread.lock' objects>",
    "<method 'acquire' of '_thread.RLock' objects>",
}
PROJECT_CODE = ("/okrsync/", "/connectors/", "/mappings/")
JIRA_CREDENTIALS = {
    "cloud": {"email": "demo@okrsync.example", "api_token": "demo-token"},
    "datacenter": {"pat": "demo-pat"},
}
TEAMBITION = {
    "app_id": "okrsync-demo",
    "app_secret": "demo-secret",
    "tenant_id": "tb-org-demo",
    "operator_id": "tb-user-ana",
}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("OKRSYNC_")}


def write_config(path: Path, sandbox: Sandbox, mappings: Path, state: Path) -> Path:
    """The okrsync config (TOML) for the sandbox: one Jira connection, one Teambition."""
    flavour = sandbox.flavour
    lines = [
        f'mappings = "{mappings}"',
        f'state_url = "sqlite:///{state}"',
        'log_level = "warning"',
        f"\n[jira.{'cloud' if flavour == 'cloud' else 'dc'}]",
        f'url = "{sandbox.jira}"',
        f'flavour = "{flavour}"',
        *(f'{k} = "{v}"' for k, v in JIRA_CREDENTIALS[flavour].items()),
        f"concurrency = {CONCURRENCY}",
        "\n[teambition.main]",
        f'base_url = "{sandbox.teambition}"',
        *(f'{k} = "{v}"' for k, v in TEAMBITION.items()),
        f"concurrency = {CONCURRENCY}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Variant:
    """One workload served by one sandbox process, with okrsync's config and state."""

    def __init__(self, name: str, w: Workload, flavour: str, work: Path, latency: float, rate: int):
        self.name = name
        self.w = w
        self.dir = work / name
        self.dir.mkdir(parents=True, exist_ok=True)
        seed = self.dir / "seed.json"
        seed.write_text(json.dumps(w.seed), encoding="utf-8")
        self.mappings = write_mappings(w, self.dir / "mappings")
        self.sandbox = Sandbox(seed, self.dir, flavour, latency, rate)
        self.state = self.dir / "state.db"
        self.config = write_config(
            self.dir / "okrsync.toml", self.sandbox, self.mappings, self.state
        )
        print(f"[{name}] sandbox up in {self.sandbox.start_seconds:.1f} s", flush=True)

    def fresh_state(self) -> None:
        for path in self.dir.glob("state.db*"):
            path.unlink()

    def sync(self, only: str | None = None, profile: Path | None = None) -> Figures:
        """One ``okrsync sync --output json`` cycle as a child process."""
        command = [sys.executable, "-m", "okrsync"]
        if profile is not None:
            command = [sys.executable, "-m", "benchmarks.w1.profiled", str(profile)]
        command += ["--config", str(self.config), "sync"]
        command += ["--output", "json"] + (["--only", only] if only else [])
        return run_child(command, self.sandbox, self.dir, _env())

    def peer(self, now: datetime) -> Figures:
        """One run of the baseline (``benchmarks.peer``) as a child process."""
        out = self.dir / "peer.json"
        out.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            PEER_MODULE,
            "--config",
            str(self.config),
            "--mappings",
            str(self.mappings),
            "--now",
            now.isoformat(),
            "--out",
            str(out),
        ]
        figures = run_child(command, self.sandbox, self.dir, _env())
        figures.output = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
        return figures

    def stop(self) -> None:
        self.sandbox.stop()


# --------------------------------------------------------------------------- figures


def progress_of(report: Any) -> dict[str, float | None]:
    """Each KR's progress in an ``okrsync sync --output json`` report."""
    if not isinstance(report, dict):
        return {}
    return {str(k["id"]): k.get("progress") for k in report.get("key_results", [])}


def combine(runs: list[Figures]) -> Figures:
    """Several ``--only`` cycles taken together: sums, and the highest peak RSS."""
    return Figures(
        wall=sum(r.wall for r in runs),
        cpu=sum(r.cpu for r in runs),
        rss_mb=max(r.rss_mb for r in runs),
        sandbox_cpu=sum(r.sandbox_cpu for r in runs),
        requests={k: sum(r.requests.get(k, 0) for r in runs) for k in ("jira", "teambition")},
        writes=sum(r.writes for r in runs),
        exit_code=max(r.exit_code for r in runs),
        output={"writes": [w for r in runs for w in (r.output or {}).get("writes", [])]},
        endpoints={
            tracker: dict(sum((Counter(r.endpoints.get(tracker, {})) for r in runs), Counter()))
            for tracker in ("jira", "teambition")
        },
    )


def median(runs: list[Figures]) -> dict[str, Any]:
    """The median of each figure over the runs, and every run's figures."""

    def med(values: list[float]) -> float:
        return float(statistics.median(values))

    return {
        "runs": len(runs),
        "wall_s": round(med([r.wall for r in runs]), 3),
        "cpu_s": round(med([r.cpu for r in runs]), 3),
        "peak_rss_mb": round(med([r.rss_mb for r in runs]), 1),
        "sandbox_cpu_s": round(med([r.sandbox_cpu for r in runs]), 3),
        "jira_requests": med([r.requests.get("jira", 0) for r in runs]),
        "teambition_requests": med([r.requests.get("teambition", 0) for r in runs]),
        "requests": med([r.total_requests for r in runs]),
        "write_requests": med([r.writes for r in runs]),
        "exit_codes": [r.exit_code for r in runs],
        "each": [r.to_dict() for r in runs],
    }


def compare(okrsync: dict[str, float | None], peer: dict[str, Any]) -> list[str]:
    """KRs whose progress differs between okrsync and the baseline."""
    theirs = peer.get("progress", {}) if isinstance(peer, dict) else {}
    found = []
    for kr in sorted(set(okrsync) | set(theirs)):
        a, b = okrsync.get(kr), theirs.get(kr)
        same = (a is None and b is None) or (
            a is not None and b is not None and abs(float(a) - float(b)) < 1e-6
        )
        if not same:
            found.append(f"{kr}: okrsync {a}, peer {b}")
    return found


def _short(key: tuple[str, int, str]) -> str:
    file, line, name = key
    return f"{file.split('site-packages/')[-1].split('/work/main/')[-1]}:{line}({name})"


def profile_top(path: Path, count: int = 15) -> dict[str, Any]:
    """The functions with the most own time in a cProfile file (threads waiting for
    work or for each other left out), and who called the two biggest waits."""
    stats = pstats.Stats(str(path))
    table = stats.stats  # type: ignore[attr-defined]
    rows = []
    for key, (_cc, calls, tottime, cumtime, _callers) in table.items():
        if key[2] in WAITS:
            continue
        rows.append(
            {
                "function": _short(key),
                "calls": calls,
                "tottime_s": round(tottime, 3),
                "cumtime_s": round(cumtime, 3),
            }
        )
    rows.sort(key=lambda r: -float(r["tottime_s"]))
    callers: dict[str, list[str]] = {}
    for key, entry in table.items():
        if key[2] in (
            "<built-in method time.sleep>",
            "<method 'recv_into' of '_socket.socket' objects>",
        ):
            ranked = sorted(entry[4].items(), key=lambda kv: -kv[1][2])[:3]
            callers[_short(key)] = [f"{_short(k)}: {v[2]:.2f} s" for k, v in ranked]
    ours = [
        {
            "function": _short(key),
            "calls": entry[1],
            "tottime_s": round(entry[2], 3),
            "cumtime_s": round(entry[3], 3),
        }
        for key, entry in table.items()
        if "site-packages" not in key[0] and any(p in key[0] for p in PROJECT_CODE)
    ]
    ours.sort(key=lambda r: -float(r["cumtime_s"]))
    return {"top": rows[:count], "wait_callers": callers, "ours": ours[:count]}


# --------------------------------------------------------------------------- scenarios


def main_variant(
    v: Variant, args: argparse.Namespace, now: datetime, result: dict[str, Any]
) -> None:
    w, runs, lat, rate = v.w, args.runs, args.latency, float(args.tb_rate)
    scenarios: dict[str, Any] = result.setdefault("scenarios", {})

    cold: list[Figures] = []
    for r in range(runs):
        if r:
            v.sandbox.reset_data()
        v.fresh_state()
        cold.append(v.sync())
        print(f"  cold {r + 1}: {cold[-1].wall:.1f} s, {cold[-1].total_requests} requests")
    cold_progress = progress_of(cold[0].output)
    scenarios["cold"] = {
        "okrsync": median(cold),
        "bound": bound.cold(w, "cloud", lat, CONCURRENCY, rate).to_dict(),
    }

    same: list[Figures] = []
    for r in range(runs):
        same.append(v.sync())
        print(f"  unchanged {r + 1}: {same[-1].wall:.1f} s, {same[-1].total_requests} requests")
    scenarios["unchanged"] = {
        "okrsync": median(same),
        "bound": bound.warm(w, "cloud", lat, CONCURRENCY, rate).to_dict(),
    }

    profile = v.dir / "unchanged.prof"
    v.sync(profile=profile)
    result["profile_unchanged"] = profile_top(profile)
    profile = v.dir / "cold.prof"
    v.sandbox.reset_data()
    v.fresh_state()
    v.sync(profile=profile)
    result["profile_cold"] = profile_top(profile)
    v.sync()  # back to a warm state over the data as it is

    changer = Changer(w)
    changed: list[Figures] = []
    bounds: list[dict[str, Any]] = []
    applied: list[dict[str, int]] = []
    for r in range(runs):
        changes, ids = changer.round(0.01)
        applied.append(v.sandbox.change(changes))
        changed.append(v.sync())
        needed = bound.writes_in_report(changed[-1].output)
        bounds.append(
            bound.warm(w, "cloud", lat, CONCURRENCY, rate, changed=ids, writes=needed).to_dict()
        )
        print(f"  1% changed {r + 1}: {changed[-1].wall:.1f} s, {changed[-1].total_requests} req")
    scenarios["changed"] = {
        "okrsync": median(changed),
        "bound": _median_bound(bounds),
        "applied": applied,
    }

    hinted: list[Figures] = []
    bounds = []
    named: list[list[str]] = []
    stories = [k for k in w.work_keys if w.krs_with_item(k) and k not in changer.gone][:400]
    for r in range(runs):
        key = stories[(r * 131) % len(stories)]
        krs = w.krs_with_item(key)
        v.sandbox.change([["done", key]])
        hinted.append(combine([v.sync(only=kr) for kr in krs]))
        named.append([key, *krs])
        needed = bound.writes_in_report(hinted[-1].output)
        bounds.append(bound.hint(lat, CONCURRENCY, rate, writes=needed).to_dict())
        print(f"  webhook {r + 1}: {key} -> {krs}: {hinted[-1].wall:.1f} s")
    scenarios["webhook"] = {
        "okrsync": median(hinted),
        "bound": _median_bound(bounds),
        "named": named,
    }

    if find_spec(PEER_MODULE) is None:
        result["peer"] = "benchmarks/peer.py is not there yet: the baseline was skipped"
        print(f"  {result['peer']}")
        return
    peer_cold: list[Figures] = []
    for r in range(args.peer_runs):
        v.sandbox.reset_data()
        peer_cold.append(v.peer(now))
        print(
            f"  peer cold {r + 1}: {peer_cold[-1].wall:.1f} s, {peer_cold[-1].total_requests} req"
        )
    peer_same: list[Figures] = []
    for r in range(args.peer_runs):
        peer_same.append(v.peer(now))
        print(f"  peer unchanged {r + 1}: {peer_same[-1].wall:.1f} s")
    scenarios["cold"]["peer"] = median(peer_cold)
    scenarios["cold"]["peer"]["mismatches"] = compare(cold_progress, peer_cold[0].output or {})
    scenarios["unchanged"]["peer"] = median(peer_same)
    scenarios["unchanged"]["peer"]["mismatches"] = compare(
        progress_of(same[-1].output), peer_same[0].output or {}
    )
    for name, figures in (("cold", peer_cold), ("unchanged", peer_same)):
        reported = (figures[0].output or {}).get("writes")
        scenarios[name]["peer"]["reported_writes"] = reported


def _median_bound(bounds: list[dict[str, Any]]) -> dict[str, Any]:
    keys = bounds[0].keys()
    return {k: statistics.median([b[k] for b in bounds]) for k in keys}


def small_variant(v: Variant, args: argparse.Namespace, result: dict[str, Any]) -> None:
    v.fresh_state()
    first = v.sync()
    print(f"  cold: {first.wall:.1f} s")
    same = [v.sync() for _ in range(args.runs)]
    print(f"  unchanged: {[round(s.cpu, 2) for s in same]} s CPU")
    result["small"] = {
        "sizes": vars(v.w.sizes),
        "cold": median([first]),
        "unchanged": median(same),
        "bound_unchanged": bound.warm(
            v.w, "cloud", args.latency, CONCURRENCY, float(args.tb_rate)
        ).to_dict(),
    }


def dc_variant(v: Variant, args: argparse.Namespace, result: dict[str, Any]) -> None:
    runs = []
    for r in range(args.dc_runs):
        if r:
            v.sandbox.reset_data()
        v.fresh_state()
        runs.append(v.sync())
        print(f"  cold {r + 1}: {runs[-1].wall:.1f} s, {runs[-1].total_requests} requests")
    result["datacenter"] = {
        "cold": median(runs),
        "bound": bound.cold(
            v.w, "datacenter", args.latency, CONCURRENCY, float(args.tb_rate)
        ).to_dict(),
    }


def machine() -> dict[str, Any]:
    """CPU model, cores and Python."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="okrsync runs per scenario")
    parser.add_argument("--peer-runs", type=int, default=3, help="baseline runs per scenario")
    parser.add_argument("--dc-runs", type=int, default=1, help="Data Center cold runs")
    parser.add_argument("--latency", type=float, default=0.025)
    parser.add_argument("--tb-rate", type=int, default=40)
    parser.add_argument("--issues", type=int, default=FULL.issues)
    parser.add_argument("--skip", nargs="*", default=[], choices=("small", "datacenter"))
    parser.add_argument("--out", type=Path, default=RESULTS / "w1.json")
    parser.add_argument("--no-report", action="store_true", help="JSON only")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    scale = args.issues / FULL.issues
    sizes = Sizes(
        issues=args.issues,
        epics=max(8, int(FULL.epics * scale)),
        tasks=max(100, int(FULL.tasks * scale)),
    )
    result: dict[str, Any] = {
        "date": now.isoformat(),
        "command": shlex.join(["python", "-m", "benchmarks.w1.run", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "latency_s": args.latency,
        "teambition_rate": args.tb_rate,
        "concurrency": CONCURRENCY,
        "sizes": vars(sizes),
    }
    with tempfile.TemporaryDirectory(prefix="okrsync-w1-") as tmp:
        work = Path(tmp)
        w = build(sizes, now)
        result["workload"] = {
            "jira_issues": len(w.seed["jira"]["issues"]),
            "teambition_tasks": len(w.seed["teambition"]["tasks"]),
            "key_results": len(w.kr_scopes),
            "objectives": sum(len(f["objectives"]) for f in w.files.values()),
            "distinct_scopes": len(w.scopes),
            "items_in_scopes": sum(len(s.items) for s in w.scopes.values()),
        }
        print(f"[w1] {result['workload']}", flush=True)
        v = Variant("cloud", w, "cloud", work, args.latency, args.tb_rate)
        try:
            main_variant(v, args, now, result)
        finally:
            v.stop()
        if "datacenter" not in args.skip:
            v = Variant("datacenter", w, "datacenter", work, args.latency, args.tb_rate)
            try:
                dc_variant(v, args, result)
            finally:
                v.stop()
        if "small" not in args.skip:
            small = (
                SMALL
                if args.issues == FULL.issues
                else Sizes(
                    issues=sizes.issues // 4, epics=max(8, sizes.epics // 4), tasks=sizes.tasks // 4
                )
            )
            v = Variant("small", build(small, now), "cloud", work, args.latency, args.tb_rate)
            try:
                small_variant(v, args, result)
            finally:
                v.stop()
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"[w1] done in {result['bench_seconds']} s -> {args.out}")
    if not args.no_report:
        from benchmarks.w1.report import write_report

        write_report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
