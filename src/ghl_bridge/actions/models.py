"""The building blocks of action inputs and outputs.

Inputs are closed (``extra="forbid"``): a typo in a workflow's field name fails here with the
field's path, not silently at GHL. Field names are GHL's camelCase on the wire and snake_case in
Python. Outputs are open: GHL adds fields without notice, and a workflow may want them, so a
record model names the fields we rely on and passes the rest through.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

# GHL ids are 20-24 alphanumerics; ours (ULIDs) and the simulator's fit the same pattern.
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
Email = Annotated[str, StringConstraints(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ()\-.]{4,}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# ISO 8601 with an offset, e.g. 2026-12-01T10:00:00+00:00 (GHL's calendars insist on one).
Instant = Annotated[
    str,
    StringConstraints(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"
    ),
]
Limit = Annotated[int, Field(ge=1, le=10_000)]

JSON = dict[str, Any]


class Input(BaseModel):
    """Base of every action input: closed, camelCase on the wire."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )

    def wire(self, *, exclude: set[str] | None = None) -> JSON:
        """The fields the caller set, camelCase, for a GHL request body."""
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude_unset=True, exclude=exclude
        )


class Output(BaseModel):
    """Base of every action output: camelCase out, unknown fields kept."""

    model_config = ConfigDict(
        extra="allow", alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True
    )


class Record(Output):
    """A GHL object as GHL returned it: ``id`` is relied on, everything else passes through."""

    id: str = Field(validation_alias=AliasChoices("id", "_id"))


class Deleted(Output):
    """What a delete answers: the id, and whether GHL said it happened."""

    id: str
    deleted: bool = True


class Done(Output):
    """An operation with nothing to return but success (and what it acted on)."""

    ok: bool = True
    detail: str | None = None


class Page(Output):
    """A list of records gathered across GHL's pages, up to the caller's ``limit``."""

    items: list[Record]
    count: int
    truncated: bool = Field(
        default=False, description="true when more matched than the limit allowed"
    )


class Items(Output):
    """A whole list, as GHL answered it (endpoints without paging)."""

    items: list[Record]
    count: int


def items_of(records: list[JSON]) -> Items:
    return Items(items=[Record.model_validate(r) for r in records], count=len(records))


class ItemResult(Output):
    """One item of a batch action: a failure is reported here and the batch goes on."""

    id: str
    ok: bool
    error: str | None = None


class BulkOut(Output):
    results: list[ItemResult]
    succeeded: int
    failed: int


class NoInput(Input):
    """No input beyond the location."""


def page_of(records: list[JSON], limit: int | None) -> Page:
    """Wrap up to ``limit`` records; ``truncated`` says whether there were more."""
    kept = records if limit is None else records[:limit]
    items = [Record.model_validate(record) for record in kept]
    return Page(items=items, count=len(items), truncated=len(records) > len(kept))


class CustomFieldValue(Input):
    """A custom field, named by ``id``, ``key`` (``contact.favourite_colour`` or just
    ``favourite_colour``) or display ``name``; resolved through the location's field map."""

    id: Id | None = None
    key: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    name: Name | None = None
    value: Any = Field(
        default=None, validation_alias=AliasChoices("value", "field_value", "fieldValue")
    )
