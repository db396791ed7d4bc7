"""analytics: daily sums, daily arrivals, hourly totals, value-order indexes for percentiles

Revision ID: 055ec5da6683
Revises: b7e4c2d9a813
Create Date: 2026-11-23 19:35:04.515906+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import caredesk.kit.db

revision: str = "055ec5da6683"
down_revision: str | None = "b7e4c2d9a813"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PERCENTILE_INDEXES = {
    "ix_report_conversations_ws_frt": "first_response_s",
    "ix_report_conversations_ws_bfrt": "first_response_business_s",
    "ix_report_conversations_ws_ack": "auto_ack_s",
    "ix_report_conversations_ws_res": "resolution_s",
}


def upgrade() -> None:
    op.create_table(
        "report_daily",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("day", caredesk.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("team_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("brand_account_id", _ID, nullable=False),
        sa.Column("conversations", sa.BigInteger(), nullable=False),
        sa.Column("needed_reply", sa.BigInteger(), nullable=False),
        sa.Column("answered", sa.BigInteger(), nullable=False),
        sa.Column("resolved", sa.BigInteger(), nullable=False),
        sa.Column("reopened", sa.BigInteger(), nullable=False),
        sa.Column("ever_resolved", sa.BigInteger(), nullable=False),
        sa.Column("abandoned", sa.BigInteger(), nullable=False),
        sa.Column("csat_responses", sa.BigInteger(), nullable=False),
        sa.Column("csat_satisfied", sa.BigInteger(), nullable=False),
        sa.Column("follow_ups_scheduled", sa.BigInteger(), nullable=False),
        sa.Column("follow_ups_done", sa.BigInteger(), nullable=False),
        sa.Column("follow_ups_missed", sa.BigInteger(), nullable=False),
        sa.Column("sla_in_scope", sa.BigInteger(), nullable=False),
        sa.Column("sla_first_response_breached", sa.BigInteger(), nullable=False),
        sa.Column("sla_next_response_breached", sa.BigInteger(), nullable=False),
        sa.Column("sla_resolution_breached", sa.BigInteger(), nullable=False),
        sa.Column("handled", sa.BigInteger(), nullable=False),
        sa.Column("inbound_messages", sa.BigInteger(), nullable=False),
        sa.Column("frt_n", sa.BigInteger(), nullable=False),
        sa.Column("frt_in_1h", sa.BigInteger(), nullable=False),
        sa.Column("frt_in_24h", sa.BigInteger(), nullable=False),
        sa.Column("frt_d0", sa.BigInteger(), nullable=False),
        sa.Column("frt_d1", sa.BigInteger(), nullable=False),
        sa.Column("frt_d2", sa.BigInteger(), nullable=False),
        sa.Column("frt_d3", sa.BigInteger(), nullable=False),
        sa.Column("frt_d4", sa.BigInteger(), nullable=False),
        sa.Column("frt_d5", sa.BigInteger(), nullable=False),
        sa.Column("bfrt_n", sa.BigInteger(), nullable=False),
        sa.Column("bfrt_in_1h", sa.BigInteger(), nullable=False),
        sa.Column("bfrt_in_24h", sa.BigInteger(), nullable=False),
        sa.Column("ack_n", sa.BigInteger(), nullable=False),
        sa.Column("ack_in_1h", sa.BigInteger(), nullable=False),
        sa.Column("ack_in_24h", sa.BigInteger(), nullable=False),
        sa.Column("res_n", sa.BigInteger(), nullable=False),
        sa.Column("res_in_1h", sa.BigInteger(), nullable=False),
        sa.Column("res_in_24h", sa.BigInteger(), nullable=False),
        sa.Column("res_d0", sa.BigInteger(), nullable=False),
        sa.Column("res_d1", sa.BigInteger(), nullable=False),
        sa.Column("res_d2", sa.BigInteger(), nullable=False),
        sa.Column("res_d3", sa.BigInteger(), nullable=False),
        sa.Column("res_d4", sa.BigInteger(), nullable=False),
        sa.Column("res_d5", sa.BigInteger(), nullable=False),
        sa.Column("csat_sum", sa.Float(), nullable=False),
        sa.Column("handle_sum", sa.Float(), nullable=False),
        sa.Column("frt_sum", sa.Float(), nullable=False),
        sa.Column("bfrt_sum", sa.Float(), nullable=False),
        sa.Column("ack_sum", sa.Float(), nullable=False),
        sa.Column("res_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_report_daily_key",
        "report_daily",
        ["workspace_id", "day", "team_id", "channel", "kind", "language", "brand_account_id"],
        unique=True,
    )
    op.create_table(
        "report_arrivals_daily",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("day", caredesk.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("team_id", _ID, nullable=False),
        sa.Column("inbound", sa.BigInteger(), nullable=False),
        sa.Column("opened", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_report_arrivals_daily_key",
        "report_arrivals_daily",
        ["workspace_id", "day", "channel", "kind", "language", "team_id"],
        unique=True,
    )
    op.create_table(
        "report_hourly_totals",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("hour", caredesk.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("inbound", sa.BigInteger(), nullable=False),
        sa.Column("opened", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_report_hourly_totals_key", "report_hourly_totals", ["workspace_id", "hour"], unique=True
    )
    for name, column in _PERCENTILE_INDEXES.items():
        op.create_index(name, "report_conversations", ["workspace_id", column, "started_at"])
    # Rollups written before this revision have no daily sums: fold everything again (the
    # rollups are projections of the event log, rebuilt on the next report or periodic job).
    op.execute("DELETE FROM report_conversations")
    op.execute("DELETE FROM report_hourly")
    op.execute("UPDATE counters SET value = 0 WHERE name = 'analytics.rollup'")


def downgrade() -> None:
    for name in _PERCENTILE_INDEXES:
        op.drop_index(name, table_name="report_conversations")
    op.drop_index("ux_report_hourly_totals_key", table_name="report_hourly_totals")
    op.drop_table("report_hourly_totals")
    op.drop_index("ux_report_arrivals_daily_key", table_name="report_arrivals_daily")
    op.drop_table("report_arrivals_daily")
    op.drop_index("ux_report_daily_key", table_name="report_daily")
    op.drop_table("report_daily")
