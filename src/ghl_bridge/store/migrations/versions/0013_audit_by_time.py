"""An index on ``audit_records.at``.

Retention deletes the audit records older than ``AUDIT_RETENTION_DAYS``, oldest first, across
tenants; the ``(tenant_id, at, id)`` index serves one tenant's newest-first pages, not that.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

Written by hand to match ghl_bridge.store.models (checked by the schema-drift test).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_records_at", "audit_records", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_records_at", table_name="audit_records")
