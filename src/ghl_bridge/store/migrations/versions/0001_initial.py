"""Initial schema: tenants, api_keys, connections, webhook_events, jobs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written by hand to match ghl_bridge.store.models (checked by the schema-drift test). Timestamps
are DateTime(timezone=True); ids are Python-generated strings; statuses are CHECK-guarded strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)


def _ts(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _create_tenants_and_keys() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        _ts("created_at"),
        _ts("last_used_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_prefix"), "api_keys", ["prefix"])
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"])


def _create_connections() -> None:
    op.create_table(
        "connections",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("user_type", sa.String(16), nullable=False),
        sa.Column("company_id", ID, nullable=False),
        sa.Column("location_id", ID, nullable=True),
        sa.Column("resource_id", ID, nullable=False),
        sa.Column("access_token_sealed", sa.Text(), nullable=False),
        sa.Column("refresh_token_sealed", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        _ts("expires_at", nullable=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "user_type IN ('Location', 'Company')", name=op.f("ck_connections_user_type")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'needs_reauth', 'revoked')", name=op.f("ck_connections_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_connections_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_connections_resource_id")),
    )
    op.create_index(op.f("ix_connections_tenant_id"), "connections", ["tenant_id"])


def _create_webhook_events() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("webhook_id", sa.String(128), nullable=False),
        sa.Column("location_id", ID, nullable=True),
        sa.Column("company_id", ID, nullable=True),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        _ts("received_at"),
        _ts("processed_at", nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("signature_scheme", sa.String(16), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'processed', 'failed')", name=op.f("ck_webhook_events_status")
        ),
        sa.CheckConstraint(
            "signature_scheme IN ('ed25519', 'rsa')",
            name=op.f("ck_webhook_events_signature_scheme"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_webhook_events_tenant_id_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_webhook_events_webhook_id")),
    )
    for name, columns in (
        ("ix_webhook_events_status_received_at", ["status", "received_at"]),
        ("ix_webhook_events_location_id_received_at", ["location_id", "received_at"]),
        ("ix_webhook_events_tenant_id_received_at", ["tenant_id", "received_at"]),
    ):
        op.create_index(op.f(name), "webhook_events", columns)


def _create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", ID, nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("dedupe_key", sa.String(255), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts_made", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        _ts("run_at"),
        _ts("locked_until", nullable=True),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("failed_reason", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("finished_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'active', 'completed', 'failed')", name=op.f("ck_jobs_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_jobs_dedupe_key")),
    )
    op.create_index(op.f("ix_jobs_queue"), "jobs", ["queue"])
    op.create_index(op.f("ix_jobs_status_run_at"), "jobs", ["status", "run_at"])


def upgrade() -> None:
    _create_tenants_and_keys()
    _create_connections()
    _create_webhook_events()
    _create_jobs()


def downgrade() -> None:
    for index, table in (
        ("ix_jobs_status_run_at", "jobs"),
        ("ix_jobs_queue", "jobs"),
        ("ix_webhook_events_tenant_id_received_at", "webhook_events"),
        ("ix_webhook_events_location_id_received_at", "webhook_events"),
        ("ix_webhook_events_status_received_at", "webhook_events"),
        ("ix_connections_tenant_id", "connections"),
        ("ix_api_keys_tenant_id", "api_keys"),
        ("ix_api_keys_prefix", "api_keys"),
    ):
        op.drop_index(op.f(index), table_name=table)
    for table in ("jobs", "webhook_events", "connections", "api_keys", "tenants"):
        op.drop_table(table)
