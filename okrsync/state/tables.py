"""The state tables as SQLAlchemy Core objects, used by the store's queries.

The migrations in ``migrations/versions`` create these tables; a test checks that the
migrated database and these definitions agree. Change both together, in a new migration.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from okrsync.state.types import JsonValue, UtcDateTime

MODES = ("full", "incremental")
OUTCOMES = ("ok", "partial", "failed", "dry_run")
LEDGER_KINDS = ("write", "conflict", "held", "skipped_manual_override")

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    # NULL while the run is in progress (or if it died before finishing).
    Column("outcome", String(16)),
    Column("mode", String(16), nullable=False),
    Column("request_count", Integer, nullable=False, default=0),
    Column("write_count", Integer, nullable=False, default=0),
    Column("held_count", Integer, nullable=False, default=0),
    Column("conflict_count", Integer, nullable=False, default=0),
    Column("error", Text),
    CheckConstraint("mode IN ('full', 'incremental')", name="ck_runs_mode"),
    CheckConstraint(
        "outcome IS NULL OR outcome IN ('ok', 'partial', 'failed', 'dry_run')",
        name="ck_runs_outcome",
    ),
)

scope_items = Table(
    "scope_items",
    metadata,
    Column("scope_key", String(128), primary_key=True),
    Column("item_id", String(255), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("item", JsonValue, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

scope_marks = Table(
    "scope_marks",
    metadata,
    Column("scope_key", String(128), primary_key=True),
    Column("last_success_at", UtcDateTime),
    Column("last_full_at", UtcDateTime),
    Column("item_count", Integer, nullable=False, default=0),
    Column("baseline_total", Integer),
)

kr_snapshots = Table(
    "kr_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("kr_id", String(255), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("progress", Float),
    Column("expected", Float),
    Column("status", String(32), nullable=False),
    Column("score", Float),
    Column("done_count", Integer),
    Column("total_count", Integer),
    Column("done_points", Float),
    Column("total_points", Float),
    Column("value", Float),
    Column("stale", Boolean, nullable=False, default=False),
    Index("ix_kr_snapshots_kr_at", "kr_id", "at"),
)

objective_snapshots = Table(
    "objective_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("objective_id", String(255), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("progress", Float),
    Column("expected", Float),
    Column("status", String(32), nullable=False),
    Column("partially_stale", Boolean, nullable=False, default=False),
    Index("ix_objective_snapshots_objective_at", "objective_id", "at"),
)

kr_results = Table(
    "kr_results",
    metadata,
    Column("kr_id", String(255), primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("result", JsonValue, nullable=False),
    Column("stale", Boolean, nullable=False, default=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

objective_results = Table(
    "objective_results",
    metadata,
    Column("objective_id", String(255), primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("result", JsonValue, nullable=False),
    Column("partially_stale", Boolean, nullable=False, default=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("at", UtcDateTime, nullable=False),
    Column("connection", String(128), nullable=False),
    Column("target", String(255), nullable=False),
    Column("field", String(255), nullable=False),
    Column("value_before", JsonValue, nullable=False),
    Column("value_written", JsonValue, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("note", Text),
    CheckConstraint(
        "kind IN ('write', 'conflict', 'held', 'skipped_manual_override')",
        name="ck_ledger_kind",
    ),
    Index("ix_ledger_target_field", "connection", "target", "field", "id"),
    Index("ix_ledger_run", "run_id"),
)

source_health = Table(
    "source_health",
    metadata,
    Column("connection", String(128), primary_key=True),
    Column("up", Boolean, nullable=False),
    Column("last_success_at", UtcDateTime),
    Column("last_failure_at", UtcDateTime),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
)

checkins = Table(
    "checkins",
    metadata,
    Column("kr_id", String(255), primary_key=True),
    Column("last_status_commented", String(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

# Objects okrsync created in a tracker (Jira filters, a dashboard, its gadgets), by the
# name okrsync knows them by: found again by id however people rename them.
created_objects = Table(
    "created_objects",
    metadata,
    Column("connection", String(128), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("object_id", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
