"""Store exceptions. Messages carry ids only, never tokens, keys or payloads.

Tree::

    StoreError
    ├── TenantExists                 a tenant with that name already exists
    ├── ResourceOwnedByOtherTenant   a GHL location/company is connected to another tenant
    └── NotFound                     the row to change does not exist
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class for storage errors raised by the repositories."""


class TenantExists(StoreError):
    """A tenant with this name already exists (names are unique)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a tenant named {name!r} already exists")
        self.name = name


class ResourceOwnedByOtherTenant(StoreError):
    """The GHL resource is already connected to a different tenant; it is never reassigned.

    The message names the resource but not the owning tenant, so it is safe to show the caller.
    """

    def __init__(self, resource_id: str) -> None:
        super().__init__(f"GHL resource {resource_id!r} is already connected to another tenant")
        self.resource_id = resource_id


class NotFound(StoreError):
    """The row a mutation targets does not exist."""

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found")
        self.kind = kind
        self.ident = ident
