"""Persistence: SQLAlchemy 2 async models, Alembic migrations and repositories.

Imports nothing above the store (no client, oauth, events, jobs or api code).
"""

from ghl_bridge.store.connections import ConnectionRepo
from ghl_bridge.store.db import is_postgres, make_engine, make_sessionmaker
from ghl_bridge.store.errors import NotFound, ResourceOwnedByOtherTenant, StoreError, TenantExists
from ghl_bridge.store.inbox import InboxRepo
from ghl_bridge.store.models import (
    ApiKey,
    Base,
    Connection,
    JobRow,
    Tenant,
    WebhookEvent,
    new_id,
)
from ghl_bridge.store.tenants import TenantRepo
from ghl_bridge.store.types import UTCDateTime, utcnow

__all__ = [
    "ApiKey",
    "Base",
    "Connection",
    "ConnectionRepo",
    "InboxRepo",
    "JobRow",
    "NotFound",
    "ResourceOwnedByOtherTenant",
    "StoreError",
    "Tenant",
    "TenantExists",
    "TenantRepo",
    "UTCDateTime",
    "WebhookEvent",
    "is_postgres",
    "make_engine",
    "make_sessionmaker",
    "new_id",
    "utcnow",
]
