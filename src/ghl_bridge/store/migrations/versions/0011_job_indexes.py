"""Job indexes for a queue with a long history.

A claim asked for ``queue = ? AND (waiting and due OR active with an expired lease)`` ordered by
``run_at``; the only index it could use was ``queue``'s, so it read every job the queue ever
ran and sorted them: 27 ms per claim with 20,000 jobs, 82 ms with 100,000, growing for good
since finished jobs were never removed. Now ``(queue, status, run_at, id)`` serves both halves
of a claim in order, and ``(queue, status, finished_at)`` serves pruning finished jobs and the
dead-letter view. The two indexes they replace were prefixes of these.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

Written by hand to match ghl_bridge.store.models (checked by the schema-drift test).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_queue_status_run_at", "jobs", ["queue", "status", "run_at", "id"], unique=False
    )
    op.create_index(
        "ix_jobs_queue_status_finished_at", "jobs", ["queue", "status", "finished_at"], unique=False
    )
    op.drop_index("ix_jobs_status_run_at", table_name="jobs")
    op.drop_index("ix_jobs_queue", table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_queue", "jobs", ["queue"], unique=False)
    op.create_index("ix_jobs_status_run_at", "jobs", ["status", "run_at"], unique=False)
    op.drop_index("ix_jobs_queue_status_finished_at", table_name="jobs")
    op.drop_index("ix_jobs_queue_status_run_at", table_name="jobs")
