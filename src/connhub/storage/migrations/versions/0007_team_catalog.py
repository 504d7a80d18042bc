"""Team catalog: a row version for optimistic concurrency, the catalog's id, and change notifications.

`instances.version` goes up by one on every edit: a save says which version it read, and one that finds
another is refused (EditConflict) in the same UPDATE, so no edit is silently lost. `catalog_id` names this
catalog's folder in the team's OpenBao (storage/openbao.py). On PostgreSQL, a trigger NOTIFYs
`connhub_catalog` after any statement that changes the catalog, so open windows reload it (storage/change_feed.py).

Revision ID: 0007
Revises: 0006
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: What a window shows: a change to any of these reaches the other clients.
NOTIFYING = ("instances", "settings", "app_settings", "workflows", "workflow_runs")


def upgrade() -> None:
    op.add_column("instances", sa.Column("version", sa.Integer, nullable=False, server_default="0"))
    op.execute(sa.text("INSERT INTO settings (key, value) VALUES ('catalog_id', :id)").bindparams(id=str(uuid.uuid4())))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION connhub_notify() RETURNS trigger AS $$ BEGIN "
                   "PERFORM pg_notify('connhub_catalog', TG_TABLE_NAME); RETURN NULL; END $$ LANGUAGE plpgsql")
        for table in NOTIFYING:
            op.execute(f"CREATE TRIGGER connhub_notify_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION connhub_notify()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NOTIFYING:
            op.execute(f"DROP TRIGGER IF EXISTS connhub_notify_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS connhub_notify()")
    op.execute("DELETE FROM settings WHERE key = 'catalog_id'")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("version")
