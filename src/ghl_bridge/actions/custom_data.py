"""A location's own data that contacts and opportunities refer to: custom fields, custom values
(merge values such as ``{{custom_values.x}}``) and tags.

Creates check by name first, so running one twice answers the existing record instead of making
a second: GHL itself would happily create two fields or values with the same name.
"""

from __future__ import annotations

from pydantic import Field

from ghl_bridge.actions.models import Input, Items, Name, NoInput, Output, Record, Tag, items_of
from ghl_bridge.actions.registry import ActionContext, ActionSet, Kind

actions = ActionSet()


class FieldQuery(Input):
    model: str = Field(default="contact", pattern="^(contact|opportunity|all)$")


@actions.define(
    "custom_fields.list",
    "The location's custom fields (id, name, fieldKey, dataType) for contacts or opportunities.",
    scopes=("locations/customFields.readonly",),
)
async def list_custom_fields(ctx: ActionContext, data: FieldQuery) -> Items:
    answer = await ctx.ghl.custom_fields.list(ctx.location_id, model=data.model, options=ctx.opts)
    return items_of(list(answer.get("customFields", [])))


DATA_TYPES = (
    "TEXT|LARGE_TEXT|NUMERICAL|PHONE|MONETORY|CHECKBOX|SINGLE_OPTIONS|MULTIPLE_OPTIONS|FLOAT"
    "|TIME|DATE|TEXTBOX_LIST|FILE_UPLOAD|SIGNATURE|RADIO|EMAIL"
)


class NewField(Input):
    name: Name
    data_type: str = Field(pattern=f"^({DATA_TYPES})$")
    placeholder: str | None = None
    model: str = Field(default="contact", pattern="^(contact|opportunity)$")
    options: list[str] | None = Field(default=None, max_length=500)
    position: int | None = Field(default=None, ge=0)


class FieldOut(Output):
    custom_field: Record
    created: bool = True


@actions.define(
    "custom_fields.create",
    "Create a custom field; answers the existing one if a field of that name already exists.",
    scopes=("locations/customFields.write",),
    kind=Kind.WRITE,
    retry_safe=True,
    notes="Checks the field map for the name first, so a retry does not make a second field.",
)
async def create_custom_field(ctx: ActionContext, data: NewField) -> FieldOut:
    existing = (await ctx.support.field_map(ctx.ghl, ctx.location_id, data.model)).find(data.name)
    if existing is not None and str(existing.get("name", "")).casefold() == data.name.casefold():
        return FieldOut(custom_field=Record.model_validate(existing), created=False)
    answer = await ctx.ghl.custom_fields.create(ctx.location_id, data.wire(), options=ctx.opts)
    ctx.support.forget_fields(ctx.location_id)
    return FieldOut(custom_field=Record.model_validate(answer.get("customField", answer)))


@actions.define(
    "custom_values.list",
    "The location's custom values (named merge values such as {{custom_values.x}}).",
    scopes=("locations/customValues.readonly",),
)
async def list_custom_values(ctx: ActionContext, data: NoInput) -> Items:
    answer = await ctx.ghl.custom_values.list(ctx.location_id, options=ctx.opts)
    return items_of(list(answer.get("customValues", [])))


class SetValue(Input):
    name: Name
    value: str = Field(max_length=10_000)


class ValueOut(Output):
    custom_value: Record
    created: bool


@actions.define(
    "custom_values.set",
    "Set a custom value by name, creating it if the location has none of that name.",
    scopes=("locations/customValues.readonly", "locations/customValues.write"),
    kind=Kind.WRITE,
    retry_safe=True,
)
async def set_custom_value(ctx: ActionContext, data: SetValue) -> ValueOut:
    listed = await ctx.ghl.custom_values.list(ctx.location_id, options=ctx.opts)
    folded = data.name.casefold()
    for value in listed.get("customValues", []):
        if str(value.get("name", "")).casefold() == folded:
            answer = await ctx.ghl.custom_values.update(
                ctx.location_id, str(value["id"]), {"name": value["name"], "value": data.value}
            )
            record = answer.get("customValue", answer)
            return ValueOut(custom_value=Record.model_validate(record), created=False)
    answer = await ctx.ghl.custom_values.create(
        ctx.location_id, data.name, data.value, options=ctx.opts
    )
    return ValueOut(
        custom_value=Record.model_validate(answer.get("customValue", answer)), created=True
    )


@actions.define("tags.list", "The location's tags.", scopes=("locations/tags.readonly",))
async def list_tags(ctx: ActionContext, data: NoInput) -> Items:
    answer = await ctx.ghl.tags.list(ctx.location_id, options=ctx.opts)
    return items_of(list(answer.get("tags", [])))


class NewTag(Input):
    name: Tag


class TagOut(Output):
    tag: Record
    created: bool


@actions.define(
    "tags.create",
    "Create a location tag; answers the existing one if the tag already exists.",
    scopes=("locations/tags.readonly", "locations/tags.write"),
    kind=Kind.WRITE,
    retry_safe=True,
)
async def create_tag(ctx: ActionContext, data: NewTag) -> TagOut:
    listed = await ctx.ghl.tags.list(ctx.location_id, options=ctx.opts)
    for tag in listed.get("tags", []):
        if str(tag.get("name", "")).casefold() == data.name.casefold():
            return TagOut(tag=Record.model_validate(tag), created=False)
    answer = await ctx.ghl.tags.create(ctx.location_id, data.name, options=ctx.opts)
    return TagOut(tag=Record.model_validate(answer.get("tag", answer)), created=True)
