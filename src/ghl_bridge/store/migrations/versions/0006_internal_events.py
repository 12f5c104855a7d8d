"""Events the service raises itself (``connection.needs_reauth``) share the tenant's inbox with
GHL's webhooks: their ``signature_scheme`` is ``internal`` (nothing to verify).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Written by hand to match ghl_bridge.store.models.WebhookEvent (checked by the schema-drift test).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_webhook_events_signature_scheme"


def upgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(
            op.f(_NAME), "signature_scheme IN ('ed25519', 'rsa', 'internal')"
        )


def downgrade() -> None:
    op.execute("DELETE FROM webhook_events WHERE signature_scheme = 'internal'")
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), "signature_scheme IN ('ed25519', 'rsa')")
