"""A contact's notes and tasks (spec: contacts.json): ``client.contacts.notes`` / ``.tasks``.

Both are the same CRUD on a record under one contact; only the operation ids and the name of
the record's path parameter differ, so one class holds the methods and each subclass names its
operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class _ContactRecords(Resource):
    """CRUD on one kind of record under a contact. Creates are not retried unless keyed."""

    ops: ClassVar[dict[str, str]]  # list/get/create/update/delete → catalogue operation id
    id_param: ClassVar[str]

    def _path(self, contact_id: str, record_id: str | None = None) -> dict[str, str]:
        path = {"contactId": contact_id}
        if record_id is not None:
            path[self.id_param] = record_id
        return path

    async def list(self, location_id: str, contact_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            self.ops["list"], location_id, path=self._path(contact_id), options=options
        )

    async def get(
        self, location_id: str, contact_id: str, record_id: str, *, options: Opts = None
    ) -> JSON:
        path = self._path(contact_id, record_id)
        return await self._call(self.ops["get"], location_id, path=path, options=options)

    async def create(
        self, location_id: str, contact_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        path = self._path(contact_id)
        return await self._call(
            self.ops["create"], location_id, path=path, json=dict(data), options=options
        )

    async def update(
        self,
        location_id: str,
        contact_id: str,
        record_id: str,
        data: Mapping[str, Any],
        *,
        options: Opts = None,
    ) -> JSON:
        path = self._path(contact_id, record_id)
        return await self._call(
            self.ops["update"], location_id, path=path, json=dict(data), options=options
        )

    async def delete(
        self, location_id: str, contact_id: str, record_id: str, *, options: Opts = None
    ) -> JSON:
        path = self._path(contact_id, record_id)
        return await self._call(self.ops["delete"], location_id, path=path, options=options)


class ContactNotesResource(_ContactRecords):
    """``client.contacts.notes``: free-text notes on one contact (``body`` required)."""

    ops: ClassVar[dict[str, str]] = {
        "list": "get-all-notes",
        "get": "get-note",
        "create": "create-note",
        "update": "update-note",
        "delete": "delete-note",
    }
    id_param: ClassVar[str] = "id"


class ContactTasksResource(_ContactRecords):
    """``client.contacts.tasks``: to-dos on one contact (``title``, ``dueDate``, ``completed``)."""

    ops: ClassVar[dict[str, str]] = {
        "list": "get-all-tasks",
        "get": "get-task",
        "create": "create-task",
        "update": "update-task",
        "delete": "delete-task",
    }
    id_param: ClassVar[str] = "taskId"

    async def set_completed(
        self,
        location_id: str,
        contact_id: str,
        task_id: str,
        completed: bool = True,
        *,
        options: Opts = None,
    ) -> JSON:
        return await self._call(
            "update-task-completed",
            location_id,
            path=self._path(contact_id, task_id),
            json={"completed": completed},
            options=options,
        )
