"""Per-key action policy and the action records.

``api_keys.scopes`` widens to hold the opt-in scopes ``destructive`` and ``outbound``;
``allowed_actions`` and ``allowed_locations`` limit a key to a list (NULL: no limit).
``action_records`` keeps what GHL has no record of (workflow enrollments, campaign pauses).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Written by hand to match ghl_bridge.store.models (checked by the schema-drift test).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scopes", type_=sa.String(64), existing_type=sa.String(32))
        batch.add_column(sa.Column("allowed_actions", sa.Text(), nullable=True))
        batch.add_column(sa.Column("allowed_locations", sa.Text(), nullable=True))
    op.create_table(
        "action_records",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_action_records_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_records")),
    )
    op.create_index(
        "uq_action_records_fact",
        "action_records",
        ["tenant_id", "location_id", "kind", "key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_action_records_fact", table_name="action_records")
    op.drop_table("action_records")
    # The opt-in scopes do not exist before this revision; the others keep their order.
    op.execute(
        "UPDATE api_keys SET scopes ="
        " trim(replace(replace(scopes, ' destructive', ''), ' outbound', ''))"
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("allowed_locations")
        batch.drop_column("allowed_actions")
        batch.alter_column("scopes", type_=sa.String(32), existing_type=sa.String(64))
