"""Seeded generators for GHL-style ids, trace ids and secrets.

Three independent streams, so that (for instance) a failed request that consumes a trace id
does not shift the ids of the contacts created after it.
"""

from __future__ import annotations

import random
import string
import uuid

__all__ = ["IdFactory"]

_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits


class IdFactory:
    """All randomness of one simulator; deterministic for a given seed."""

    def __init__(self, seed: int) -> None:
        # Reproducibility is the point; these are test credentials, never real secrets.
        self._entities = random.Random(f"{seed}:entities")  # noqa: S311
        self._traces = random.Random(f"{seed}:traces")  # noqa: S311
        self._secrets = random.Random(f"{seed}:secrets")  # noqa: S311

    def ghl_id(self) -> str:
        """20 alphanumerics, GHL's id for locations, contacts, notes, tasks, users."""
        return "".join(self._entities.choices(_ALNUM, k=20))

    def object_id(self) -> str:
        """24 hex digits (a Mongo ObjectId), GHL's id for apps, versions, businesses."""
        return f"{self._entities.getrandbits(96):024x}"

    def client_suffix(self) -> str:
        return "".join(self._entities.choices(_LOWER_ALNUM, k=8))

    def entity_uuid(self) -> str:
        return str(uuid.UUID(int=self._entities.getrandbits(128), version=4))

    def trace_id(self) -> str:
        """A fresh uuid4 for `traceId` and `webhookId`."""
        return str(uuid.UUID(int=self._traces.getrandbits(128), version=4))

    def secret_uuid(self) -> str:
        return str(uuid.UUID(int=self._secrets.getrandbits(128), version=4))

    def secret(self, length: int = 32) -> str:
        return "".join(self._secrets.choices(_ALNUM, k=length))
