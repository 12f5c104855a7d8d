"""Webhook event retries and dead letters.

``webhook_events.status`` gains ``dead``: every attempt failed (or retrying could not help), so
the event waits in the dead letters for a replay. ``dead_at`` is when that happened (the dead
letters are listed newest first by it); ``replays`` counts replays, which names the queue job
of the latest run (``wh-<id>``, then ``wh-<id>-r<replays>``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Written by hand to match ghl_bridge.store.models (checked by the schema-drift test).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS = "ck_webhook_events_status"


def upgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_constraint(op.f(_STATUS), type_="check")
        batch.create_check_constraint(
            op.f(_STATUS), "status IN ('pending', 'processed', 'failed', 'dead')"
        )
        batch.add_column(sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("replays", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("webhook_events") as batch:
        batch.alter_column("replays", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    # A dead event was a failed one before this revision: it keeps its error and retry count.
    op.execute("UPDATE webhook_events SET status = 'failed' WHERE status = 'dead'")
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_column("replays")
        batch.drop_column("dead_at")
        batch.drop_constraint(op.f(_STATUS), type_="check")
        batch.create_check_constraint(op.f(_STATUS), "status IN ('pending', 'processed', 'failed')")
