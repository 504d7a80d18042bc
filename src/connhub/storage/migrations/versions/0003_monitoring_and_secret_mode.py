"""Health monitoring per instance, "ask every time" secrets, and OAuth sign-in that needs renewing.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: never a table rebuild, whose DROP of `instances` could cascade to `test_runs`.
    op.add_column("instances", sa.Column("monitor_enabled", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("instances", sa.Column("monitor_interval_min", sa.Integer, nullable=False, server_default="15"))
    op.add_column("instances", sa.Column("monitor_next_run_at", sa.DateTime(timezone=True), nullable=True))
    # "keyring": secrets saved in the OS keyring; "session": asked for and kept in memory only.
    op.add_column("instances", sa.Column("secret_mode", sa.String(20), nullable=False, server_default="keyring"))
    op.add_column("instances", sa.Column("needs_reauth", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        for column in ("needs_reauth", "secret_mode", "monitor_next_run_at", "monitor_interval_min",
                       "monitor_enabled"):
            batch.drop_column(column)
