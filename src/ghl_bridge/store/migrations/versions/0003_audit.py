"""Audit log: one row per GHL call attempt and per connection change (never tokens or bodies).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Written by hand to match ghl_bridge.store.models.AuditRecord (checked by the schema-drift test).
No foreign key on ``tenant_id``: the log must accept every write and outlive what it describes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("resource_id", ID, nullable=True),
        sa.Column("operation", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "kind IN ('ghl_call', 'connection')", name=op.f("ck_audit_records_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
    )
    op.create_index("ix_audit_records_tenant_id_at", "audit_records", ["tenant_id", "at", "id"])


def downgrade() -> None:
    op.drop_table("audit_records")
