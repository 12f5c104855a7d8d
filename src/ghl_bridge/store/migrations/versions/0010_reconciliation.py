"""Reconciliation: per-location checkpoints, and ``reconciled`` events in the inbox.

``reconcile_checkpoints`` records how far each location's contacts and opportunities have been
searched for changes GHL's webhooks never delivered; the events synthesised for those changes
go into ``webhook_events`` with ``signature_scheme = 'reconciled'``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

Written by hand to match ghl_bridge.store.models (checked by the schema-drift test).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEME = "ck_webhook_events_signature_scheme"


def upgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_constraint(op.f(_SCHEME), type_="check")
        batch.create_check_constraint(
            op.f(_SCHEME), "signature_scheme IN ('ed25519', 'rsa', 'internal', 'reconciled')"
        )
    op.create_table(
        "reconcile_checkpoints",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("checkpoint_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("synthesized", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('contacts', 'opportunities')", name=op.f("ck_reconcile_checkpoints_kind")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reconcile_checkpoints_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_checkpoints")),
    )
    op.create_index(
        "ix_reconcile_checkpoints_tenant_id", "reconcile_checkpoints", ["tenant_id"], unique=False
    )
    op.create_index(
        "uq_reconcile_checkpoints_location_kind",
        "reconcile_checkpoints",
        ["location_id", "kind"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_reconcile_checkpoints_location_kind", table_name="reconcile_checkpoints")
    op.drop_index("ix_reconcile_checkpoints_tenant_id", table_name="reconcile_checkpoints")
    op.drop_table("reconcile_checkpoints")
    op.execute("DELETE FROM webhook_events WHERE signature_scheme = 'reconciled'")
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_constraint(op.f(_SCHEME), type_="check")
        batch.create_check_constraint(
            op.f(_SCHEME), "signature_scheme IN ('ed25519', 'rsa', 'internal')"
        )
