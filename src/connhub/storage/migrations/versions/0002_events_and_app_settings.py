"""Events kept on each instance, and app-level (`cfg:`) settings per type.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL on the rows of 0001: "not recorded yet" (the type's manifest stands in until the instance is saved
    # again), which an empty list, "the type has no events", must not be confused with.
    op.add_column("instances", sa.Column("events", sa.JSON(none_as_null=True), nullable=True))
    op.create_table(
        "app_settings",
        sa.Column("type", sa.String(40), primary_key=True),
        sa.Column("field", sa.String(100), primary_key=True),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("secret", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_settings")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("events")
