"""The webhook inbox: every delivery the local receiver got, with its verdict.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.String(36), sa.ForeignKey("instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(200), nullable=True),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("errors", sa.JSON, nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=True),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("body_size", sa.Integer, nullable=False),
    )
    op.create_index("ix_webhook_deliveries_instance_received", "webhook_deliveries", ["instance_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_instance_received", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
