"""SQLAlchemy declarative models: tenants, API keys, GHL connections, webhook inbox, job rows,
the idempotency ledger and the audit log.

Imports nothing above the store. Ids are prefixed strings made in Python (``tnt_…``), so Core
bulk ``insert()`` and ORM inserts get the same ids. Status columns are strings guarded by CHECK
constraints (no native enums: they make migrations painful on PostgreSQL).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ghl_bridge.store.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64
USER_TYPES = ("Location", "Company")
CONNECTION_STATUSES = ("active", "needs_reauth", "revoked")
# failed: an attempt failed and the queue will retry it; dead: every attempt failed (or retrying
# could not help), so it waits in the dead letters for a replay (migration 0009).
EVENT_STATUSES = ("pending", "processed", "failed", "dead")
# internal: raised by the service itself; reconciled: synthesised by reconciliation for a
# change GHL's webhook never brought (migration 0010)
SIGNATURE_SCHEMES = ("ed25519", "rsa", "internal", "reconciled")
JOB_STATUSES = ("waiting", "active", "completed", "failed")
# What an API key may do: read tenant data, run actions that change records, manage connections
# and keys; and, opted into one by one, run actions that delete (destructive) or that send a
# message to a person (outbound).
API_KEY_SCOPES = ("read", "write", "admin", "destructive", "outbound")


def new_id(prefix: str) -> str:
    """``prefix`` + 24 random urlsafe characters (144 bits), e.g. ``tnt_3q2…``."""
    return prefix + secrets.token_urlsafe(18)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names for migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tenant(Base):
    """A customer of the bridge (one workflow-platform account); owns keys and connections."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("tnt_")
    )
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"Tenant(id={self.id!r}, name={self.name!r})"


class ApiKey(Base):
    """A tenant API key. Only its sha256 and a display prefix are stored, never the key.

    ``scopes`` is a space-separated subset of `API_KEY_SCOPES`, in that order (no default: every
    writer says what the key may do).
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("key_")
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(12), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(64))
    # Space-separated allowlists; NULL allows everything. Actions may end in ".*" (an area).
    allowed_actions: Mapped[str | None] = mapped_column(Text)
    allowed_locations: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id!r}, tenant_id={self.tenant_id!r}, prefix={self.prefix!r})"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def action_list(self) -> list[str] | None:
        return None if self.allowed_actions is None else self.allowed_actions.split()

    @property
    def location_list(self) -> list[str] | None:
        return None if self.allowed_locations is None else self.allowed_locations.split()


class Connection(Base):
    """OAuth credentials for one GHL location or company (the PRD's GHLCredentials).

    Tokens are sealed by the vault. ``resource_id`` is unique across tenants: one connection per
    GHL resource. ``version`` is the compare-and-swap counter for token rotation.
    """

    __tablename__ = "connections"
    __table_args__ = (
        CheckConstraint(_in("user_type", USER_TYPES), name="user_type"),
        CheckConstraint(_in("status", CONNECTION_STATUSES), name="status"),
    )

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("con_")
    )
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    user_type: Mapped[str] = mapped_column(String(16))
    company_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    location_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    resource_id: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    access_token_sealed: Mapped[str] = mapped_column(Text)
    refresh_token_sealed: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scopes: Mapped[str] = mapped_column(Text, default="")
    # The app plan of this install (paid apps): INSTALL's planId, then PLAN_CHANGE's newPlanId.
    plan_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        # Sealed tokens are deliberately left out.
        return (
            f"Connection(id={self.id!r}, tenant_id={self.tenant_id!r},"
            f" resource_id={self.resource_id!r}, status={self.status!r},"
            f" version={self.version!r})"
        )


class WebhookEvent(Base):
    """A webhook delivery from GHL in the durable inbox (the PRD's GHLWebhookEvent).

    ``payload`` is the exact raw body as received (decoded UTF-8), the source for replays.
    ``webhook_id`` is unique: redeliveries are recorded once.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        CheckConstraint(_in("status", EVENT_STATUSES), name="status"),
        CheckConstraint(_in("signature_scheme", SIGNATURE_SCHEMES), name="signature_scheme"),
        Index("ix_webhook_events_status_received_at", "status", "received_at"),
        Index("ix_webhook_events_location_id_received_at", "location_id", "received_at"),
        Index("ix_webhook_events_tenant_id_received_at", "tenant_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("evt_")
    )
    webhook_id: Mapped[str] = mapped_column(String(128), unique=True)
    location_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    company_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"))
    event_type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    signature_scheme: Mapped[str] = mapped_column(String(16))
    # Retries and dead letters (migration 0009): when it was dead-lettered, and how often it was
    # replayed (its queue job id is ``wh-<id>``, then ``wh-<id>-r<replays>``).
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replays: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return (
            f"WebhookEvent(id={self.id!r}, webhook_id={self.webhook_id!r},"
            f" event_type={self.event_type!r}, status={self.status!r})"
        )


class JobRow(Base):
    """A job of the in-process queue (embedded mode). ``data`` is JSON of ids, never secrets.

    Indexed for the two questions asked of a queue with a long history: which jobs are due
    (``status, run_at, id``: a claim reads the waiting rows in order and the few active ones,
    never the finished) and which finished before a date (pruning, the dead-letter view).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        Index("ix_jobs_queue_status_run_at", "queue", "status", "run_at", "id"),
        Index("ix_jobs_queue_status_finished_at", "queue", "status", "finished_at"),
    )

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("job_")
    )
    queue: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    attempts_made: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    failed_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return (
            f"JobRow(id={self.id!r}, queue={self.queue!r}, name={self.name!r},"
            f" status={self.status!r})"
        )


IDEMPOTENCY_STATUSES = ("in_progress", "succeeded", "failed")


class IdempotencyRecord(Base):
    """One Idempotency-Key's outcome, per tenant: a repeated key returns the first result.

    ``request_hash`` fingerprints (action, location, input) so a key reused for a different
    request is refused instead of silently returning someone else's answer.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (
        CheckConstraint(_in("status", IDEMPOTENCY_STATUSES), name="status"),
        Index("uq_idempotency_records_tenant_key", "tenant_id", "key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("tenants.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    location_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    response: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


AUDIT_KINDS = ("ghl_call", "connection")


class AuditRecord(Base):
    """One audited fact: a GHL call attempt, or a change to a connection (append-only).

    Holds who, for which tenant and resource, what, how it ended and how long it took, plus
    GHL's ``traceId`` and our request id for correlating with GHL support and our logs. Never a
    token and never a request or response body. ``tenant_id`` has no foreign key on purpose:
    the log must accept every write (a batch must not fail on referential state) and outlive
    what it describes. ``(tenant_id, at, id)`` serves the per-tenant newest-first keyset query.
    """

    __tablename__ = "audit_records"
    __table_args__ = (
        CheckConstraint(_in("kind", AUDIT_KINDS), name="kind"),
        Index("ix_audit_records_tenant_id_at", "tenant_id", "at", "id"),
        Index("ix_audit_records_at", "at"),  # retention: the oldest records, any tenant
    )

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("aud_")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    tenant_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    operation: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    attempt: Mapped[int | None] = mapped_column(Integer)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return (
            f"AuditRecord(id={self.id!r}, kind={self.kind!r}, operation={self.operation!r},"
            f" status={self.status!r}, tenant_id={self.tenant_id!r})"
        )


class ActionRecord(Base):
    """What the service remembers about actions GHL keeps no record of, per tenant and location:
    workflow enrollments and what became of them, campaign pauses (so resume knows where to put
    the contact back). ``kind`` + ``key`` name the fact (``enrollment`` +
    ``<workflowId>:<contactId>``); ``data`` is JSON of ids and states, never secrets.
    """

    __tablename__ = "action_records"
    __table_args__ = (
        Index("uq_action_records_fact", "tenant_id", "location_id", "kind", "key", unique=True),
    )

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("arc_")
    )
    tenant_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("tenants.id", ondelete="CASCADE")
    )
    location_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    data: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"ActionRecord(kind={self.kind!r}, key={self.key!r})"


# --- subscriptions and outbound deliveries (migration 0008) -----------------------------------

SUBSCRIPTION_TARGETS = ("webhook", "action")
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dead")


class Subscription(Base):
    """A tenant's routing rule: which events (type patterns, locations, field predicates) go to
    which target (a signed outbound webhook, or an action run).

    The JSON columns hold lists the API validated. ``secrets_sealed`` is the vault-sealed JSON
    list of signing secrets (several during a rotation's grace period). ``scopes`` and the two
    allowlists are a snapshot of the API key that created the rule: its action runs never get
    more than that key could do, and stop if that key (``key_id``) is revoked.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(_in("target_kind", SUBSCRIPTION_TARGETS), name="target_kind"),
        Index("ix_subscriptions_tenant_id_created_at", "tenant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("sub_")
    )
    tenant_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("tenants.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[str] = mapped_column(Text)
    location_ids: Mapped[str | None] = mapped_column(Text)
    predicates: Mapped[str] = mapped_column(Text, default="[]")
    target_kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(Text)
    secrets_sealed: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(String(100))
    action_input: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    scopes: Mapped[str] = mapped_column(String(64))
    allowed_actions: Mapped[str | None] = mapped_column(Text)
    allowed_locations: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        # The URL (it may carry a token in its query) and the sealed secrets are left out.
        return (
            f"Subscription(id={self.id!r}, tenant_id={self.tenant_id!r},"
            f" target_kind={self.target_kind!r}, active={self.active!r})"
        )


class Delivery(Base):
    """One event routed to one subscription, and every attempt to hand it over.

    Unique on (subscription, event): processing an event twice routes it once. ``generation``
    grows with each replay (its job id and idempotency key change with it); ``attempts`` counts
    the current generation's attempts against the retry schedule; ``log`` is a JSON list of the
    last attempts (time, status, latency, error), capped.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
        Index("uq_deliveries_subscription_event", "subscription_id", "event_id", unique=True),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_deliveries_subscription_id_created_at", "subscription_id", "created_at"),
        # An event's deliveries: the retention check, and the cascade when an event goes.
        Index("ix_deliveries_event_id", "event_id"),
    )

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("dlv_")
    )
    tenant_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("tenants.id", ondelete="CASCADE")
    )
    subscription_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("webhook_events.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    generation: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    log: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return (
            f"Delivery(id={self.id!r}, subscription_id={self.subscription_id!r},"
            f" event_id={self.event_id!r}, status={self.status!r}, attempts={self.attempts!r})"
        )


# --- webhook event retries and dead letters (migration 0009) ----------------------------------


# --- reconciliation checkpoints (migration 0010) ----------------------------------------------
RECONCILE_KINDS = ("contacts", "opportunities")


class ReconcileCheckpoint(Base):
    """How far reconciliation has searched one location's records of one kind.

    ``checkpoint_at`` is the upper bound of the last successful search: the next search starts
    there (minus an overlap for GHL's search-index lag). It only moves after a run succeeded.
    ``lease_until`` lets one process of many run a location at a time.
    """

    __tablename__ = "reconcile_checkpoints"
    __table_args__ = (
        CheckConstraint(_in("kind", RECONCILE_KINDS), name="kind"),
        Index("uq_reconcile_checkpoints_location_kind", "location_id", "kind", unique=True),
    )

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=lambda: new_id("rcp_")
    )
    tenant_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))
    checkpoint_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    synthesized: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return (
            f"ReconcileCheckpoint(location_id={self.location_id!r}, kind={self.kind!r},"
            f" checkpoint_at={self.checkpoint_at!r})"
        )
