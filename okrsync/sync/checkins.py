"""Check-ins: one comment on a KR's home target when its status changes. Pure text and rules.

A KR opts in with ``flags.checkins``, else its file's ``defaults.checkins`` when the file
says, else the ``sync.checkins`` setting. The state store remembers the last status
commented on; a cycle comments when the status differs from it, once: later cycles see
the remembered status and stay quiet. The first cycle that sees a KR only remembers its
status (there is no change to tell). Stale and held KRs are not commented on, and a dry
run posts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from connectors.base import ConnectorError
from mappings.results import KrResult
from mappings.schema import Thresholds
from mappings.tree import OkrTree
from okrsync.state.store import StateStore
from okrsync.sync.connections import Connections
from okrsync.sync.plan import STATUS_OPTIONS, TargetSpec
from okrsync.sync.report import CheckinReport, CycleReport, KrReport

__all__ = [
    "MAX_MOVED",
    "checkin_action",
    "checkin_enabled",
    "checkin_text",
    "moved_items",
    "post_checkins",
    "why",
]

#: Items listed in a comment; more are summed up as "and N more".
MAX_MOVED = 10


def checkin_enabled(tree: OkrTree, kr_id: str, default: bool) -> bool:
    """Whether ``kr_id`` posts check-ins: its flag, else its file's default, else ``default``."""
    node = tree.key_results[kr_id]
    if node.kr.flags.checkins is not None:
        return node.kr.flags.checkins
    if "checkins" in node.defaults.model_fields_set:
        return node.defaults.checkins
    return default


def checkin_action(
    last_commented: str | None, result: KrResult
) -> Literal["comment", "remember", "none"]:
    """What to do for a fresh result: comment on a change, remember a first status, or not."""
    if result.status == "stale" or result.progress is None:
        return "none"
    if last_commented is None:
        return "remember"
    return "none" if last_commented == result.status else "comment"


def moved_items(previous: KrResult | None, current: KrResult) -> list[str]:
    """The items whose status changed, came or left since ``previous``, as short lines."""
    if previous is None:
        return []
    before = {e.item_id: e for e in previous.evidence}
    lines: list[str] = []
    now_ids = set()
    for item in current.evidence:
        now_ids.add(item.item_id)
        old = before.get(item.item_id)
        if old is None:
            lines.append(f"{item.key} joined ({item.status})")
        elif old.status != item.status:
            lines.append(f"{item.key}: {old.status} → {item.status}")
    lines.extend(
        f"{old.key} left the scope" for item_id, old in before.items() if item_id not in now_ids
    )
    return lines


def _percent(value: float | None) -> str:
    return "unknown" if value is None else f"{value * 100:.1f}%"


def _points(value: float) -> str:
    return f"{value * 100:.1f}".rstrip("0").rstrip(".")


def why(result: KrResult, thresholds: Thresholds | None = None) -> str:
    """Why the KR has its status, in one sentence: progress against the expected pace."""
    progress, expected = result.progress, result.expected
    counts = f"{result.done_count}/{result.total_count} items done"
    if result.status == "done":
        return f"Progress {_percent(progress)} ({counts}): finished."
    if result.status == "not_started":
        return f"Progress {_percent(progress)} ({counts}); the period has not started yet."
    head = f"Progress {_percent(progress)} ({counts}) against an expected {_percent(expected)}"
    if progress is None or expected is None:
        return head + "."
    gap = expected - progress
    pace = "ahead of the pace" if gap <= 0 else f"{_points(gap)} points behind the pace"
    if thresholds is None:
        return f"{head}: {pace}."
    limits = (
        f"at risk from {_points(thresholds.at_risk_behind)} points behind, "
        f"off track from {_points(thresholds.off_track_behind)}"
    )
    return f"{head}: {pace} ({limits})."


def checkin_text(
    title: str,
    previous_status: str,
    result: KrResult,
    moved: list[str],
    thresholds: Thresholds | None = None,
    previous_progress: float | None = None,
) -> str:
    """The comment: the status change, why (progress against the expected pace with the
    KR's thresholds), how progress moved, and the items that moved since the last cycle."""
    old = STATUS_OPTIONS.get(previous_status, previous_status)
    new = STATUS_OPTIONS.get(result.status, result.status)
    lines = [f"okrsync check-in: {title} is now {new} (was {old}).", why(result, thresholds)]
    if previous_progress is not None and result.progress is not None:
        if abs(result.progress - previous_progress) < 0.0005:
            lines.append("Progress did not move since the last cycle; the expected pace did.")
        else:
            lines.append(
                f"Progress moved from {_percent(previous_progress)} to "
                f"{_percent(result.progress)} since the last cycle."
            )
    if moved:
        lines.append("What moved since the last cycle:")
        lines.extend(f"- {line}" for line in moved[:MAX_MOVED])
        if len(moved) > MAX_MOVED:
            lines.append(f"- and {len(moved) - MAX_MOVED} more")
    return "\n".join(lines)


def post_checkins(
    tree: OkrTree,
    store: StateStore,
    connections: Connections,
    report: CycleReport,
    results: Mapping[str, KrReport],
    previous: Mapping[str, KrResult],
    targets: Mapping[str, Sequence[TargetSpec]],
    *,
    default: bool,
) -> None:
    """Comment on each opted-in KR's home target whose status changed; add to ``report``.

    ``targets`` holds the writable KRs and their reachable targets; a KR whose home
    target is unreachable waits for a later cycle.
    """
    for kr_id, specs in targets.items():
        homes = [spec for spec in specs if spec.home]
        if not homes or not checkin_enabled(tree, kr_id, default):
            continue
        home, kr = homes[0], results[kr_id]
        last = store.get_checkin(kr_id)
        action = checkin_action(None if last is None else last.status, kr.result)
        if action == "remember" and not report.dry_run:
            store.set_checkin(kr_id, kr.result.status, at=report.started_at)
        if action != "comment" or last is None:
            continue
        before = previous.get(kr_id)
        text = checkin_text(
            kr.title,
            last.status,
            kr.result,
            moved_items(before, kr.result),
            tree.thresholds(kr_id),
            None if before is None else before.progress,
        )
        error: str | None = None
        if not report.dry_run:
            try:
                connections.get(home.connection).add_comment(home.target, text)
            except ConnectorError as exc:
                error = exc.message
                report.source(home.connection).fail(exc.message)
            else:
                # Remembered at once, not with the run: a comment must never repeat.
                store.set_checkin(kr_id, kr.result.status, at=report.started_at)
        report.checkins.append(
            CheckinReport(
                kr_id,
                home.connection,
                home.target,
                last.status,
                kr.result.status,
                text,
                posted=not report.dry_run and error is None,
                error=error,
            )
        )
