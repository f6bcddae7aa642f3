"""One sync cycle, in six steps: select -> fetch -> evaluate -> plan -> apply -> record.

``run_cycle`` is okrsync's main job; the CLI and the daemon only call it with
their clients (connectors, state store) injected. Each step is one call:

1. ``select`` (``okrsync.sync.select``): the key results of the cycle, final or active,
   and the distinct scopes the active ones read (each read once);
2. ``fetch`` (``okrsync.sync.reads``): the scopes' items (sources concurrently,
   incrementally where the state store allows), the owned fields' current values, and
   okrsync's own memory of them;
3. ``evaluate`` (``okrsync.sync.evaluate``): one pure call from the reads to every KR and
   objective result, the holds, the people's overrides and the forecasts;
4. ``plan`` (``okrsync.sync.writes``): the field values and ``okrsync`` properties that
   differ from what the trackers hold, and the conflicts;
5. ``apply`` (``okrsync.sync.writes``): send them, each landed write entered in the ledger
   at once (so that a cycle dying halfway never leaves okrsync's own values looking like
   a person's edits to the next one), post the check-ins, mark closed KRs final;
6. ``record`` (``okrsync.sync.record``): the run, snapshots, latest evidence, source
   health and scope caches, in one transaction.

Failure semantics (DESIGN principle 1): a scope whose read fails makes its KRs stale (last
good result kept, nothing written); a KR with nothing to measure is unknown (not written,
the cycle fails); a scope whose items drop where the measure makes it suspicious is held
(no write, a ``held`` ledger row, its cache not advanced so that the next cycle holds it
again) unless ``force`` or ``flags.allow_drop``.

Closed periods: for ``final_after_days`` after a period's end (the grace period) its KRs
are still read and computed, so that late closes count; the first cycle after it writes
them once more and marks the results final (since that cycle). Later cycles do not read
their scopes, but compare their fields (and the Jira property) with the final values and
repair any drift; ``recompute_final`` reads and computes them again on purpose.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from connectors.base import Connector
from mappings.period import as_utc
from mappings.tree import OkrTree
from okrsync.config.settings import SyncSettings
from okrsync.state.errors import StateError
from okrsync.state.store import StateStore
from okrsync.sync.connections import Connections
from okrsync.sync.evaluate import evaluate
from okrsync.sync.hooks import COMPUTING, RECORDING, CycleHooks
from okrsync.sync.reads import fetch
from okrsync.sync.record import Forget, record_cycle
from okrsync.sync.report import CycleReport
from okrsync.sync.select import select
from okrsync.sync.writes import apply, plan

__all__ = ["CycleHooks", "run_cycle"]

log = logging.getLogger(__name__)


def run_cycle(
    tree: OkrTree,
    connectors: Mapping[tuple[str, str], Connector],
    store: StateStore,
    *,
    now: datetime,
    settings: SyncSettings,
    dry_run: bool = False,
    force: bool = False,
    only: str | Sequence[str] | None = None,
    hooks: CycleHooks | None = None,
    recompute_final: bool = False,
) -> CycleReport:
    """Run one sync cycle; return what it computed, wrote, held and found.

    ``now`` is the cycle's time: the wall clock in production (the next incremental read
    asks for changes since it). ``dry_run`` reads and plans but writes nothing to the
    trackers, posts no check-in and records only the run. ``force`` writes held KRs.
    ``only`` limits the cycle to one KR, or to several (a webhook's targeted cycle);
    ``UserError`` if the mappings lack one.
    ``recompute_final`` reads and computes final KRs again (a closed period reopened on
    purpose); they are final again once written.
    """
    clock = time.monotonic()
    now = as_utc(now)
    hooks = hooks or CycleHooks()
    connections = Connections(connectors)
    only_ids = [only] if isinstance(only, str) else None if only is None else list(only)
    shown = None if only_ids is None else ",".join(only_ids)
    report = CycleReport(run_id=None, started_at=now, dry_run=dry_run, force=force, only=shown)
    sent_before = {key: c.requests_sent for key, c in connectors.items()}

    selection = select(
        tree,
        connections,
        store,
        now=now,
        only=only_ids,
        recompute_final=recompute_final,
        grace_days=settings.final_after_days,
        full_reconcile_hours=settings.full_reconcile_hours,
    )
    report.mode = selection.mode
    report.run_id = store.start_run(report.mode, at=now)
    try:
        reads = fetch(
            tree, selection, connections, store, report, now=now, settings=settings, hooks=hooks
        )
        hooks.phase(COMPUTING, len(selection.active))
        down = set(report.failed_sources)
        evaluation = evaluate(
            tree,
            selection,
            reads,
            now=now,
            settings=settings,
            force=force,
            down=down,
            only=only_ids,
        )
        for entry, _ in evaluation.held:
            report.held.append(entry)
            hooks.held(entry)
        changes = plan(tree, evaluation, reads, connections, now=now, down=down)
        apply(
            tree,
            changes,
            evaluation,
            reads,
            connections,
            store,
            report,
            hooks=hooks,
            checkins=settings.checkins,
            grace_days=settings.final_after_days,
        )
        _count_requests(report, connectors, sent_before)
        report.finished_at = now + timedelta(seconds=time.monotonic() - clock)
        hooks.phase(RECORDING)
        forget = (
            None
            if only_ids is not None
            else _forgotten(tree, store, selection.stored, selection.jobs)
        )
        record_cycle(
            store,
            report,
            reads.scopes.values(),
            evaluation,
            evaluation.new_overrides,
            reads.targets,
            forget,
        )
    except BaseException as exc:
        try:
            store.finish_run(report.run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        except StateError:
            log.exception("could not record the failed run %s", report.run_id)
        raise
    for name, source in sorted(report.sources.items()):
        if source.up:
            hooks.source_up(name)
        else:
            hooks.source_down(name, source.error or "failed")
    hooks.cycle_finished(report)
    return report


def _count_requests(
    report: CycleReport,
    connectors: Mapping[tuple[str, str], Connector],
    sent_before: Mapping[tuple[str, str], int],
) -> None:
    for key, connector in connectors.items():
        sent = connector.requests_sent - sent_before[key]
        if sent:
            report.source(f"{key[0]}:{key[1]}").requests = sent


def _forgotten(
    tree: OkrTree, store: StateStore, stored: Mapping[str, object], scopes: Mapping[str, object]
) -> Forget:
    """What the state store still holds for KRs, objectives and scopes no longer mapped."""
    return Forget(
        kr_ids=sorted(set(stored) - set(tree.key_results)),
        objective_ids=sorted(set(store.latest_objective_results()) - set(tree.objectives)),
        scope_keys=sorted(store.scope_keys() - set(scopes)),
    )
