"""What actions need beyond the client: per-location custom-field maps, and our own records.

The custom-field map is the answer to n8n's most repeated complaint: GHL wants a field's id, a
workflow author knows its name or key. We list the location's fields once, keep the map for
five minutes (one GHL call per location per five minutes at most), and drop it when an action
creates a field, so a field made a second ago resolves at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ghl_bridge.actions.models import CustomFieldValue
from ghl_bridge.client import GHLClient, dry_run
from ghl_bridge.client.options import dry_run_mode
from ghl_bridge.errors import Forbidden, InvalidInput
from ghl_bridge.store.action_records import ActionRecordRepo
from ghl_bridge.store.audit import AuditRepo
from ghl_bridge.store.connections import ConnectionRepo

FIELD_MAP_TTL_S = 300.0
_MAPS_KEPT = 5_000


@dataclass(frozen=True, slots=True)
class FieldMap:
    """A location's custom fields, looked up by id, ``fieldKey`` (with or without the model
    prefix, e.g. ``contact.``) or display name (case-insensitive)."""

    fields: tuple[dict[str, Any], ...]

    def find(self, ref: str) -> dict[str, Any] | None:
        wanted = ref.strip()
        folded = wanted.casefold()
        for field in self.fields:
            key = str(field.get("fieldKey") or "")
            if wanted in (field.get("id"), key) or key.partition(".")[2] == wanted:
                return field
        for field in self.fields:
            if str(field.get("name") or "").casefold() == folded:
                return field
        return None

    def resolve(self, refs: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
        """``[(id|key|name, value)]`` → GHL's ``[{"id", "field_value"}]``; InvalidInput lists
        every reference that matches no field (with the names that do exist)."""
        resolved, unknown = [], []
        for ref, value in refs:
            field = self.find(ref)
            if field is None:
                unknown.append(ref)
            else:
                resolved.append({"id": field["id"], "field_value": value})
        if unknown:
            known = sorted(str(f.get("name")) for f in self.fields)[:50]
            raise InvalidInput(
                f"no custom field matches {', '.join(map(repr, unknown))}",
                details={"unknown": unknown, "known": known},
            )
        return resolved


class ActionSupport:
    """Shared by every action run of a process."""

    def __init__(
        self,
        records: ActionRecordRepo | None = None,
        audit: AuditRepo | None = None,
        connections: ConnectionRepo | None = None,
        *,
        ttl_s: float = FIELD_MAP_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.records = records
        self.audit = audit  # our log of GHL calls: locations.usage reads it
        self._connections = connections
        self._ttl_s = ttl_s
        self._clock = clock
        self._maps: OrderedDict[tuple[str, str], tuple[float, FieldMap]] = OrderedDict()
        self._loading: dict[tuple[str, str], asyncio.Future[FieldMap]] = {}

    def __repr__(self) -> str:
        return f"ActionSupport(maps={len(self._maps)})"

    async def field_map(self, ghl: GHLClient, location_id: str, model: str = "contact") -> FieldMap:
        """The location's field map, cached; concurrent callers share one GHL call."""
        slot = (location_id, model)
        cached = self._maps.get(slot)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        pending = self._loading.get(slot)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[FieldMap] = asyncio.get_running_loop().create_future()
        self._loading[slot] = future
        try:
            # A dry run still reads the map: resolving names is part of what it checks.
            with dry_run("writes" if dry_run_mode() else None):
                listed = await ghl.custom_fields.list(location_id, model=model)
            fields = listed.get("customFields", []) if isinstance(listed, dict) else listed
            built = FieldMap(tuple(f for f in fields if isinstance(f, dict) and f.get("id")))
            self._maps[slot] = (self._clock(), built)
            self._maps.move_to_end(slot)
            while len(self._maps) > _MAPS_KEPT:
                self._maps.popitem(last=False)
            future.set_result(built)
            return built
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        finally:
            del self._loading[slot]

    async def owner_of(self, resource_id: str) -> str | None:
        """The tenant holding ``resource_id``'s connection, for actions that name a second
        location in their input (copy_assets' target, an agency's sub-account). Fails closed:
        without a connection store to ask, the action is refused."""
        if self._connections is None:
            raise Forbidden(f"cannot check who owns {resource_id} in this process; refused")
        return await self._connections.owner_of(resource_id)

    async def field_values(
        self, ghl: GHLClient, location_id: str, refs: list[CustomFieldValue], model: str
    ) -> list[dict[str, Any]]:
        """``[{id|key|name, value}]`` → GHL's ``[{id, field_value}]``; the field map is read only
        when some field is named by key or name."""
        named = []
        for ref in refs:
            handle = ref.id or ref.key or ref.name
            if handle is None:
                raise InvalidInput("each custom field needs an id, key or name")
            named.append((handle, ref.value))
        if all(ref.id for ref in refs):
            return [{"id": ref.id, "field_value": ref.value} for ref in refs]
        return (await self.field_map(ghl, location_id, model)).resolve(named)

    def forget_fields(self, location_id: str) -> None:
        for slot in [s for s in self._maps if s[0] == location_id]:
            del self._maps[slot]
