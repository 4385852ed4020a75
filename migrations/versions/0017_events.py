"""The event backbone: a transactional outbox, the consumers' receipts and read model,
webhook endpoints and their deliveries.

Every table carries `workspace_id` under the forced tenant policy. The relay, the webhook
sender and the events process work across workspaces through SECURITY DEFINER functions
owned by the NOLOGIN identity role (as the login look-ups of 0004), with a policy for that
role on the tables they touch: take the oldest outbox rows, delete those published, measure
the backlog, lease the deliveries that are due, and forget consumer receipts older than the
redelivery window.
The application role may only insert into the outbox.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.settings import get_settings

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_WORKSPACE = "nullif(current_setting('app.current_workspace_id', true), '')::uuid"
TABLES = (
    "event_outbox",
    "consumer_receipts",
    "event_topic_counts",
    "webhooks",
    "webhook_deliveries",
)
APP_GRANTS = {
    "event_outbox": "INSERT",
    "consumer_receipts": "SELECT, INSERT, DELETE",
    "event_topic_counts": "SELECT, INSERT, UPDATE",
    "webhooks": "SELECT, INSERT, UPDATE",
    "webhook_deliveries": "SELECT, INSERT, UPDATE",
}
# What the functions' owner may do, and on which table.
SYSTEM_GRANTS = {
    "event_outbox": "SELECT, DELETE",
    "webhook_deliveries": "SELECT, UPDATE",
    "consumer_receipts": "SELECT, DELETE",
}

FUNCTIONS = {
    "event_outbox_fetch(integer)": """
CREATE FUNCTION event_outbox_fetch(p_limit integer)
RETURNS TABLE (id bigint, topic text, envelope text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT o.id, o.topic, o.envelope FROM public.event_outbox o ORDER BY o.id LIMIT p_limit
$fn$;
""",
    "event_outbox_delete(bigint[])": """
CREATE FUNCTION event_outbox_delete(p_ids bigint[]) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    WITH gone AS (DELETE FROM public.event_outbox WHERE id = ANY(p_ids) RETURNING 1)
    SELECT count(*) FROM gone
$fn$;
""",
    "event_outbox_backlog()": """
CREATE FUNCTION event_outbox_backlog() RETURNS TABLE (pending bigint, oldest timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT (SELECT count(*) FROM (SELECT 1 FROM public.event_outbox LIMIT 1000000) s),
           (SELECT o.created_at FROM public.event_outbox o ORDER BY o.id LIMIT 1)
$fn$;
""",
    "consumer_receipts_prune(timestamp with time zone, integer)": """
CREATE FUNCTION consumer_receipts_prune(p_before timestamptz, p_limit integer) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    WITH gone AS (
        DELETE FROM public.consumer_receipts r
        WHERE (r.consumer_group, r.event_id) IN (
            SELECT x.consumer_group, x.event_id FROM public.consumer_receipts x
            WHERE x.processed_at < p_before LIMIT p_limit)
        RETURNING 1)
    SELECT count(*) FROM gone
$fn$;
""",
    "webhook_deliveries_lease(integer, double precision)": """
CREATE FUNCTION webhook_deliveries_lease(p_limit integer, p_lease_s double precision)
RETURNS TABLE (id uuid, workspace_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    UPDATE public.webhook_deliveries d
    SET next_attempt_at = now() + make_interval(secs => p_lease_s)
    FROM (SELECT x.id FROM public.webhook_deliveries x
          WHERE x.status = 'pending' AND x.next_attempt_at <= now()
          ORDER BY x.next_attempt_at LIMIT p_limit FOR UPDATE SKIP LOCKED) due
    WHERE d.id = due.id
    RETURNING d.id, d.workspace_id
$fn$;
""",
}


def _security() -> None:
    settings = get_settings()
    app, system = settings.db_app_role, settings.db_auth_role
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        predicate = f"workspace_id = {CURRENT_WORKSPACE}"
        op.execute(
            f"CREATE POLICY workspace_isolation ON {table} FOR ALL"
            f" USING ({predicate}) WITH CHECK ({predicate})"
        )
        op.execute(f"GRANT {APP_GRANTS[table]} ON {table} TO {app}")
    for table, privileges in SYSTEM_GRANTS.items():
        op.execute(f"GRANT {privileges} ON {table} TO {system}")
        op.execute(f"CREATE POLICY event_system ON {table} FOR ALL TO {system} USING (true)")
    op.execute(f"GRANT CREATE ON SCHEMA public TO {system}")
    for signature, body in FUNCTIONS.items():
        op.execute(body)
        op.execute(f"ALTER FUNCTION {signature} OWNER TO {system}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {app}")
    op.execute(f"REVOKE CREATE ON SCHEMA public FROM {system}")


def upgrade() -> None:
    op.create_table(
        "consumer_receipts",
        sa.Column("consumer_group", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("consumer_group", "event_id"),
    )
    op.create_index(
        "idx_consumer_receipts_processed", "consumer_receipts", ["processed_at"], unique=False
    )
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "event_topic_counts",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("event_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", "topic"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("topics", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_webhooks_workspace",
        "webhooks",
        ["workspace_id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempt_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "attempts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
    )
    op.create_index(
        "idx_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "idx_webhook_deliveries_webhook",
        "webhook_deliveries",
        ["webhook_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    _security()


def downgrade() -> None:
    system = get_settings().db_auth_role
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    for table in SYSTEM_GRANTS:
        op.execute(f"REVOKE ALL ON {table} FROM {system}")
    op.drop_index("idx_webhook_deliveries_webhook", table_name="webhook_deliveries")
    op.drop_index(
        "idx_webhook_deliveries_due",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("webhook_deliveries")
    op.drop_index(
        "idx_webhooks_workspace",
        table_name="webhooks",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("webhooks")
    op.drop_table("event_topic_counts")
    op.drop_table("event_outbox")
    op.drop_index("idx_consumer_receipts_processed", table_name="consumer_receipts")
    op.drop_table("consumer_receipts")
