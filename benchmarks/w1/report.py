"""``benchmarks/RESULTS.md`` and ``benchmarks/results/w1.png`` from W1's JSON figures.

``python -m benchmarks.w1.report [benchmarks/results/w1.json]`` writes them again
without running anything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.w1 import bound

__all__ = ["targets", "write_report"]

HERE = Path(__file__).resolve().parent
NOTES = HERE / "notes.md"
SCENARIOS = {
    "cold": "cold",
    "unchanged": "warm, nothing changed",
    "changed": "warm, 1% changed",
    "webhook": "warm, webhook hint (one issue)",
}
RSS_LIMIT_MB = 300.0


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "-"
    return f"{a / b:.2f}x"


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.{digits}f}"
    return f"{int(value):,}"


def _rows(s: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """(figure, okrsync, peer, bound) rows of one scenario."""
    o, p, b = s.get("okrsync", {}), s.get("peer") or {}, s.get("bound") or {}
    return [
        (
            "requests, Jira",
            o.get("jira_requests"),
            p.get("jira_requests"),
            (b.get("jira_reads") or 0) + (b.get("jira_writes") or 0) if b else None,
        ),
        (
            "requests, Teambition",
            o.get("teambition_requests"),
            p.get("teambition_requests"),
            (b.get("teambition_reads") or 0) + (b.get("teambition_writes") or 0) if b else None,
        ),
        ("requests, all", o.get("requests"), p.get("requests"), b.get("requests")),
        (
            "write requests",
            o.get("write_requests"),
            p.get("write_requests"),
            (b.get("jira_writes") or 0) + (b.get("teambition_writes") or 0) if b else None,
        ),
        ("wall time (s)", o.get("wall_s"), p.get("wall_s"), b.get("floor_s")),
        ("CPU time of the process (s)", o.get("cpu_s"), p.get("cpu_s"), None),
        ("peak RSS of the process (MB)", o.get("peak_rss_mb"), p.get("peak_rss_mb"), None),
        ("sandbox CPU time (s)", o.get("sandbox_cpu_s"), p.get("sandbox_cpu_s"), None),
    ]


def _table(s: dict[str, Any]) -> list[str]:
    lines = [
        "| figure | okrsync | peer | bound | okrsync / bound | okrsync / peer |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, o, p, b in _rows(s):
        lines.append(
            f"| {name} | {_num(o)} | {_num(p)} | {_num(b)} | {_ratio(o, b)} | {_ratio(o, p)} |"
        )
    return lines


def targets(r: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for each target; met is None when not measured."""
    sc = r.get("scenarios", {})
    cold = sc.get("cold", {})
    o, b, p = cold.get("okrsync", {}), cold.get("bound", {}), cold.get("peer")
    found: list[tuple[str, str, bool | None]] = []
    q = o["requests"] / b["requests"]
    found.append(("cold: requests <= 1.1x the bound", f"{q:.2f}x", q <= 1.1))
    q = o["wall_s"] / b["floor_s"]
    found.append(("cold: wall <= 1.5x the time floor", f"{q:.2f}x", q <= 1.5))
    if p:
        q = p["wall_s"] / o["wall_s"]
        found.append(("cold: >= 5x faster than the peer", f"{q:.2f}x faster", q >= 5))
    else:
        found.append(("cold: >= 5x faster than the peer", "peer not run", None))
    same = sc.get("unchanged", {}).get("okrsync", {})
    q = same["requests"] / o["requests"]
    found.append(("unchanged: requests <= 5% of cold", f"{q:.1%}", q <= 0.05))
    found.append(
        ("unchanged: zero writes", f"{_num(same['write_requests'])}", same["write_requests"] == 0)
    )
    small = r.get("small")
    if small:
        q = same["cpu_s"] / small["unchanged"]["cpu_s"]
        found.append(
            (
                "unchanged: CPU within 1.5x between 10k and 40k issues",
                f"{small['unchanged']['cpu_s']:.2f} s -> {same['cpu_s']:.2f} s ({q:.2f}x)",
                q <= 1.5,
            )
        )
    changed = sc.get("changed", {}).get("okrsync", {})
    q = changed["requests"] / o["requests"]
    found.append(("1% changed: requests <= 15% of cold", f"{q:.1%}", q <= 0.15))
    peaks = [s["okrsync"]["peak_rss_mb"] for s in sc.values()]
    for extra in (r.get("datacenter", {}).get("cold"), (small or {}).get("unchanged")):
        if extra:
            peaks.append(extra["peak_rss_mb"])
    peak = max(peaks)
    found.append(
        ("peak RSS of okrsync's process <= 300 MB", f"{peak:.0f} MB", peak <= RSS_LIMIT_MB)
    )
    return found


def _profile(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| function | calls | own time (s) | with callees (s) |", "|---|---:|---:|---:|"]
    for row in rows:
        lines.append(
            f"| `{row['function']}` | {row['calls']:,} | {row['tottime_s']:.3f} | "
            f"{row['cumtime_s']:.3f} |"
        )
    return lines


def _endpoints(s: dict[str, Any]) -> list[str]:
    each = s["okrsync"]["each"][0]["by_endpoint"]
    lines = []
    for tracker, counts in each.items():
        shown = ", ".join(f"{n} `{e}`" for e, n in counts.items())
        lines.append(f"- {tracker}: {shown or 'none'}")
    return lines


def markdown(r: dict[str, Any]) -> str:
    """The text of RESULTS.md."""
    m, w = r["machine"], r["workload"]
    out = [
        "# okrsync benchmark W1: results",
        "",
        "Written by `make bench` (`benchmarks/w1/`); see [README.md](README.md) for the "
        "workload, the scenarios and what each figure means. Do not edit by hand: the "
        "analysis comes from `benchmarks/w1/notes.md`.",
        "",
        f"- Date: {r['date']} (UTC); `make bench` took {r['bench_seconds']:.0f} s.",
        f"- Command: `{r['command']}`",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['system']}, Python {m['python']}.",
        f"- Sandbox: its own process; {r['latency_s'] * 1000:.0f} ms latency per request, "
        f"Cloud page caps, Teambition {r['teambition_rate']} requests/s; okrsync "
        f"concurrency {r['concurrency']} per connection, SQLite state.",
        f"- Workload: {w['jira_issues']:,} Jira issues, {w['teambition_tasks']:,} Teambition "
        f"tasks, {w['key_results']} key results in {w['objectives']} objectives, "
        f"{w['distinct_scopes']} distinct scopes holding {w['items_in_scopes']:,} items "
        "(an item in two scopes counts twice).",
        "- Figures are medians of the runs (okrsync: "
        f"{r['scenarios']['cold']['okrsync']['runs']} per scenario; the peer: "
        f"{(r['scenarios']['cold'].get('peer') or {}).get('runs', 0)} per scenario; "
        f"Data Center: {(r.get('datacenter') or {}).get('cold', {}).get('runs', 0)}).",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for name, measured, met in targets(r):
        verdict = "not measured" if met is None else ("**yes**" if met else "**no**")
        out.append(f"| {name} | {measured} | {verdict} |")
    for key, title in SCENARIOS.items():
        s = r["scenarios"].get(key)
        if not s:
            continue
        out += ["", f"## {title}", "", *_table(s), ""]
        peer = s.get("peer")
        if isinstance(peer, dict):
            mism = peer.get("mismatches", [])
            if mism:
                out.append(f"Progress differs from the peer's for {len(mism)} KRs:")
                out += [f"- {x}" for x in mism[:20]]
            else:
                out.append("The peer's progress equals okrsync's for every KR.")
            out.append("")
        if key == "webhook":
            named = s.get("named", [])
            out.append(
                "One `okrsync sync --only KR` per KR whose scope holds the changed issue "
                "(issue, then KRs): " + "; ".join(f"{n[0]} -> {', '.join(n[1:])}" for n in named)
            )
            out.append("")
        out.append("okrsync's requests (first run):")
        out += _endpoints(s)
    if isinstance(r.get("peer"), str):
        out += ["", f"Peer: {r['peer']}."]
    dc = r.get("datacenter")
    if dc:
        out += [
            "",
            "## Data Center, cold",
            "",
            *_table({"okrsync": dc["cold"], "bound": dc["bound"]}),
        ]
    small = r.get("small")
    if small:
        sz = small["sizes"]
        out += [
            "",
            f"## 10k variant ({sz['issues']:,} Jira issues, {sz['tasks']:,} Teambition tasks), "
            "warm, nothing changed",
            "",
            *_table({"okrsync": small["unchanged"], "bound": small["bound_unchanged"]}),
        ]
    for key, title in (("profile_cold", "cold"), ("profile_unchanged", "warm, nothing changed")):
        if r.get(key):
            out += [
                "",
                f"## Profile: one {title} cycle",
                "",
                "cProfile of the okrsync process in every thread, merged "
                "(`python -m benchmarks.w1.profiled OUT --config X sync`), top functions by own "
                "time; idle worker threads and threads waiting on each other's locks are left "
                "out, waiting on the network (socket reads) and sleeps are not. Times add "
                "up over threads, so they can exceed the wall time.",
                "",
                *_profile(r[key]["top"]),
                "",
                *(
                    f"- `{wait}` is called by: " + "; ".join(f"`{c}`" for c in who)
                    for wait, who in r[key]["wait_callers"].items()
                ),
                "",
                "okrsync's own functions by time with callees (summed over threads):",
                "",
                *_profile(r[key].get("ours", [])),
            ]
    out += ["", "## The bound", "", "```", (bound.__doc__ or "").strip(), "```"]
    if NOTES.exists():
        out += ["", NOTES.read_text(encoding="utf-8").strip()]
    out += ["", "![requests and wall time per scenario](results/w1.png)", ""]
    return "\n".join(out)


def plot(r: dict[str, Any], path: Path) -> None:
    """Requests and wall time per scenario for okrsync, the peer and the bound."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases: list[tuple[str, dict[str, Any]]] = [
        (SCENARIOS[k].replace("warm, ", ""), v) for k, v in r["scenarios"].items()
    ]
    if r.get("datacenter"):
        cases.append(
            ("DC cold", {"okrsync": r["datacenter"]["cold"], "bound": r["datacenter"]["bound"]})
        )
    if r.get("small"):
        s = r["small"]
        cases.append(("10k unchanged", {"okrsync": s["unchanged"], "bound": s["bound_unchanged"]}))
    fig, axes = plt.subplots(2, 1, figsize=(10, 8))
    width = 0.27
    series = (
        ("okrsync", "requests", "wall_s"),
        ("peer", "requests", "wall_s"),
        ("bound", "requests", "floor_s"),
    )
    for ax, metric in zip(axes, ("requests", "wall"), strict=True):
        for i, (who, req, wall) in enumerate(series):
            values = []
            for _, case in cases:
                figures = case.get(who) or {}
                values.append(figures.get(req if metric == "requests" else wall) or 0)
            xs = [n + (i - 1) * width for n in range(len(cases))]
            ax.bar(xs, values, width, label=who if who != "bound" else "bound / time floor")
        ax.set_xticks(range(len(cases)), [c[0] for c in cases], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("requests" if metric == "requests" else "wall time (s)")
        ax.legend(fontsize=8)
    axes[0].set_title(f"okrsync W1 ({r['date']}): requests and wall time per scenario")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(r: dict[str, Any], json_path: Path) -> None:
    """The PNG beside the JSON; RESULTS.md beside ``results/`` when the JSON is in
    ``benchmarks/results/``, else the Markdown beside the JSON too (``w1.md``)."""
    png = json_path.with_suffix(".png")
    plot(r, png)
    default = json_path.resolve().parent == HERE.parent / "results"
    results_md = HERE.parent / "RESULTS.md" if default else json_path.with_suffix(".md")
    results_md.write_text(markdown(r), encoding="utf-8")
    print(f"[w1] wrote {results_md} and {png}")


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "results" / "w1.json"
    write_report(json.loads(source.read_text(encoding="utf-8")), source)
