"""The execution log of actions.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.String(36), sa.ForeignKey("instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error_class", sa.String(20), nullable=True),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("result_size", sa.Integer, nullable=False, server_default="0"),
        sa.Column("preview", sa.Text, nullable=False, server_default=""),
        sa.Column("truncated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("trigger", sa.String(20), nullable=False, server_default="manual"),
    )
    op.create_index("ix_action_runs_instance_started", "action_runs", ["instance_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_action_runs_instance_started", table_name="action_runs")
    op.drop_table("action_runs")
