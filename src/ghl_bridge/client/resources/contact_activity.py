"""A contact's notes and tasks (spec: contacts.json): ``client.contacts.notes`` / ``.tasks``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ghl_bridge.client.options import RequestOptions
from ghl_bridge.client.resources._base import JSON, Resource

Opts = RequestOptions | None


class ContactNotesResource(Resource):
    """``client.contacts.notes``: free-text notes on one contact."""

    async def list(self, location_id: str, contact_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-all-notes", location_id, path={"contactId": contact_id}, options=options
        )

    async def get(
        self, location_id: str, contact_id: str, note_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "get-note", location_id, path={"contactId": contact_id, "id": note_id}, options=options
        )

    async def create(
        self, location_id: str, contact_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Add a note (``body`` required). Not retried unless keyed: a repeat adds a second note."""
        return await self._call(
            "create-note",
            location_id,
            path={"contactId": contact_id},
            json=dict(data),
            options=options,
        )

    async def update(
        self,
        location_id: str,
        contact_id: str,
        note_id: str,
        data: Mapping[str, Any],
        *,
        options: Opts = None,
    ) -> JSON:
        return await self._call(
            "update-note",
            location_id,
            path={"contactId": contact_id, "id": note_id},
            json=dict(data),
            options=options,
        )

    async def delete(
        self, location_id: str, contact_id: str, note_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "delete-note",
            location_id,
            path={"contactId": contact_id, "id": note_id},
            options=options,
        )


class ContactTasksResource(Resource):
    """``client.contacts.tasks``: to-dos on one contact (``completed`` is a flag)."""

    async def list(self, location_id: str, contact_id: str, *, options: Opts = None) -> JSON:
        return await self._call(
            "get-all-tasks", location_id, path={"contactId": contact_id}, options=options
        )

    async def get(
        self, location_id: str, contact_id: str, task_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "get-task",
            location_id,
            path={"contactId": contact_id, "taskId": task_id},
            options=options,
        )

    async def create(
        self, location_id: str, contact_id: str, data: Mapping[str, Any], *, options: Opts = None
    ) -> JSON:
        """Add a task (``title``, ``dueDate``, ``completed`` required). Not retried unless keyed."""
        return await self._call(
            "create-task",
            location_id,
            path={"contactId": contact_id},
            json=dict(data),
            options=options,
        )

    async def update(
        self,
        location_id: str,
        contact_id: str,
        task_id: str,
        data: Mapping[str, Any],
        *,
        options: Opts = None,
    ) -> JSON:
        return await self._call(
            "update-task",
            location_id,
            path={"contactId": contact_id, "taskId": task_id},
            json=dict(data),
            options=options,
        )

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
            path={"contactId": contact_id, "taskId": task_id},
            json={"completed": completed},
            options=options,
        )

    async def delete(
        self, location_id: str, contact_id: str, task_id: str, *, options: Opts = None
    ) -> JSON:
        return await self._call(
            "delete-task",
            location_id,
            path={"contactId": contact_id, "taskId": task_id},
            options=options,
        )
