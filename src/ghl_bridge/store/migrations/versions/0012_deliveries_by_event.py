"""An index on ``deliveries.event_id``.

Retention deletes processed events whose deliveries all reached their target, and the
deletion cascades to those delivery rows: both look deliveries up by event, which the unique
``(subscription_id, event_id)`` index cannot serve (PostgreSQL then scans the table once per
deleted event).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

Written by hand to match ghl_bridge.store.models (checked by the schema-drift test).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_event_id", "deliveries", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deliveries_event_id", table_name="deliveries")
