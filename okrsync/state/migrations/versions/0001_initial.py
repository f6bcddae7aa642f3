"""Initial state schema: runs, scope cache and marks, snapshots, latest results, ledger,
source health and check-ins.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Times are timestamptz on PostgreSQL, UTC text on SQLite; JSON values are exact text.
Time = sa.DateTime(timezone=True)


def _run_fk(ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey("runs.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("finished_at", Time),
        sa.Column("outcome", sa.String(16)),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("request_count", sa.Integer, nullable=False),
        sa.Column("write_count", sa.Integer, nullable=False),
        sa.Column("held_count", sa.Integer, nullable=False),
        sa.Column("conflict_count", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("mode IN ('full', 'incremental')", name="ck_runs_mode"),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('ok', 'partial', 'failed', 'dry_run')",
            name="ck_runs_outcome",
        ),
    )
    op.create_table(
        "scope_items",
        sa.Column("scope_key", sa.String(128), primary_key=True),
        sa.Column("item_id", sa.String(255), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "scope_marks",
        sa.Column("scope_key", sa.String(128), primary_key=True),
        sa.Column("last_success_at", Time),
        sa.Column("last_full_at", Time),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("baseline_total", sa.Integer),
    )
    op.create_table(
        "kr_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, _run_fk("CASCADE"), nullable=False),
        sa.Column("kr_id", sa.String(255), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("progress", sa.Float),
        sa.Column("expected", sa.Float),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("done_count", sa.Integer),
        sa.Column("total_count", sa.Integer),
        sa.Column("done_points", sa.Float),
        sa.Column("total_points", sa.Float),
        sa.Column("value", sa.Float),
        sa.Column("stale", sa.Boolean, nullable=False),
    )
    op.create_index("ix_kr_snapshots_kr_at", "kr_snapshots", ["kr_id", "at"])
    op.create_table(
        "objective_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, _run_fk("CASCADE"), nullable=False),
        sa.Column("objective_id", sa.String(255), nullable=False),
        sa.Column("at", Time, nullable=False),
        sa.Column("progress", sa.Float),
        sa.Column("expected", sa.Float),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("partially_stale", sa.Boolean, nullable=False),
    )
    op.create_index(
        "ix_objective_snapshots_objective_at", "objective_snapshots", ["objective_id", "at"]
    )
    op.create_table(
        "kr_results",
        sa.Column("kr_id", sa.String(255), primary_key=True),
        sa.Column("run_id", sa.Integer, _run_fk("SET NULL")),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("stale", sa.Boolean, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "objective_results",
        sa.Column("objective_id", sa.String(255), primary_key=True),
        sa.Column("run_id", sa.Integer, _run_fk("SET NULL")),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("partially_stale", sa.Boolean, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, _run_fk("SET NULL")),
        sa.Column("at", Time, nullable=False),
        sa.Column("connection", sa.String(128), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("field", sa.String(255), nullable=False),
        sa.Column("value_before", sa.Text, nullable=False),
        sa.Column("value_written", sa.Text, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("note", sa.Text),
        sa.CheckConstraint(
            "kind IN ('write', 'conflict', 'held', 'skipped_manual_override')",
            name="ck_ledger_kind",
        ),
    )
    op.create_index("ix_ledger_target_field", "ledger", ["connection", "target", "field", "id"])
    op.create_index("ix_ledger_run", "ledger", ["run_id"])
    op.create_table(
        "source_health",
        sa.Column("connection", sa.String(128), primary_key=True),
        sa.Column("up", sa.Boolean, nullable=False),
        sa.Column("last_success_at", Time),
        sa.Column("last_failure_at", Time),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
    )
    op.create_table(
        "checkins",
        sa.Column("kr_id", sa.String(255), primary_key=True),
        sa.Column("last_status_commented", sa.String(32), nullable=False),
        sa.Column("at", Time, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "checkins",
        "source_health",
        "ledger",
        "objective_results",
        "kr_results",
        "objective_snapshots",
        "kr_snapshots",
        "scope_marks",
        "scope_items",
        "runs",
    ):
        op.drop_table(table)
