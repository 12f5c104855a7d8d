"""The app plan of each install: ``connections.plan_id``, kept from INSTALL and PLAN_CHANGE.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Written by hand to match ghl_bridge.store.models.Connection (checked by the schema-drift test).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("connections", sa.Column("plan_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("plan_id")
