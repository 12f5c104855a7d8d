"""API key scopes: a space-separated subset of ``read write admin`` on every key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Written by hand to match ghl_bridge.store.models.ApiKey (checked by the schema-drift test).
Existing keys could do everything, so they keep every scope: the server default fills them in,
then goes away, so a key written later must name its scopes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("scopes", sa.String(32), nullable=False, server_default="read write admin"),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scopes", existing_type=sa.String(32), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scopes")
