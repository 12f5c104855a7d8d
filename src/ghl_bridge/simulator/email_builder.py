"""Email builder templates and scheduled email campaigns (emails.json, the v2 `/emails/` family).

Recorded behaviour (a live probe, 2026-09): `POST /emails/builder` with `{locationId, type:
"html"}` is a 201 with the new id (the spec's `redirect`; both are sent), it makes an empty
template named "New Template" whatever `name` says (`title` names it here), and `importProvider`
is needed only for `type: "import"` (the spec marks it always required). `POST
/emails/builder/data` saves the content (`updatedBy` required; `dnd` only for the builder
editor) and answers with the preview URL. The list answers `{builders, total}` with `total` an
array (recorded; it holds the count as a string, as the spec types the campaign list's), paged
by `offset`/`limit`; it shows one folder level (`parentId`, default the
top) and hides archived templates unless `archived=true`.

`GET /emails/schedule` lists the seeded campaigns (v2 cannot create them). Filters apply only
when sent: the spec's defaults (`status=active`, `emailStatus=complete`) describe the app's
default tab, and applying them silently would hide drafts. `showStats` (default true) adds
`delivered`, `opened`, `clicked` and `revenue`. Preview/download URLs use the reserved `.test`
domain: nothing is served there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from ghl_bridge.simulator.content_records import (
    SCHEDULE_KIND,
    TEMPLATE_KIND,
    asset_url,
    template_record,
)
from ghl_bridge.simulator.context import Call
from ghl_bridge.simulator.errors import bad_request, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.resources import query_bool, query_int, query_location, slice_page
from ghl_bridge.simulator.timefmt import iso_ms

__all__ = ["ENDPOINTS"]

Record = dict[str, Any]
IMPORT_PROVIDERS = ("mailchimp", "active_campaign", "kajabi")
_TEMPLATE_VIEW = ("id", "name", "updatedBy", "isPlainText", "lastUpdated", "dateAdded",
                  "previewUrl", "version", "templateType", "parentId", "archived")  # fmt: skip
_LIMITED = ("id", "templateDataDownloadUrl", "updatedAt", "templateType", "templateId",
            "downloadUrl", "isPlainText")  # fmt: skip
_STATS = ("delivered", "opened", "clicked", "revenue")
_FILTER_ENUMS = {
    "status": ("active", "pause", "complete", "cancelled", "retry", "draft", "resend-scheduled"),
    "emailStatus": ("all", "not-started", "paused", "cancelled", "processing", "resumed",
                    "next-drip", "complete", "success", "error", "waiting", "queued", "queueing",
                    "reading", "scheduled"),
}  # fmt: skip


def _view(template: Record) -> Record:
    return {name: template[name] for name in _TEMPLATE_VIEW}


def _template(call: Call, location_id: str, template_id: str) -> Record:
    template = call.state.store(TEMPLATE_KIND).get(template_id)
    if template is None or template["locationId"] != location_id:
        raise bad_request("Template not found")  # wording ours; GHL's is unrecorded
    return template


def _template_filter(call: Call) -> Callable[[Record], bool]:
    """The list's query as a predicate; its booleans are checked (422) before any record."""
    parent = call.query("parentId") or ""
    archived = bool(query_bool(call, "archived"))
    templates_only = bool(query_bool(call, "templatesOnly"))
    version = call.query("builderVersion")
    text = (call.query("search") or call.query("name") or "").lower()

    def shown(template: Record) -> bool:
        return (
            template["parentId"] == parent
            and template["archived"] == archived
            and not (templates_only and template["templateType"] == "folder")
            and (not version or template["version"] == version)
            and text in template["name"].lower()
        )

    return shown


async def fetch_templates(call: Call) -> Response:
    location_id = query_location(call)
    offset = query_int(call, "offset", 0)
    limit = query_int(call, "limit", 10, low=1)
    if call.query("sortByDate") not in (None, "", "asc", "desc"):
        raise unprocessable(["sortByDate must be one of the following values: asc, desc"])
    shown = _template_filter(call)
    found = sorted(
        filter(shown, call.state.location_records(TEMPLATE_KIND, location_id)),
        key=lambda t: str(t["lastUpdated"]),
        reverse=call.query("sortByDate") != "asc",
    )
    builders = [_view(t) for t in slice_page(found, offset, limit)]
    return call.respond({"builders": builders, "total": [str(len(found))]})


def _check_create(call: Call, body: Record) -> None:
    if body["type"] == "import":
        errors = []
        if body.get("importProvider") not in IMPORT_PROVIDERS:
            errors.append("importProvider is required and must be a valid EmailTemplateProvider"
                          f"({','.join(IMPORT_PROVIDERS)})")  # fmt: skip
        if not body.get("importURL"):
            errors.append("importURL is required")
        if errors:
            raise unprocessable(errors)
    parent = body.get("parentId")
    if parent and _template(call, body["locationId"], parent)["templateType"] != "folder":
        raise bad_request("parentId is not a folder")  # wording ours


async def create_template(call: Call) -> Response:
    body = call.validated_body(optional=frozenset({"importProvider"}))
    call.require_location(body["locationId"])
    _check_create(call, body)
    kind = {"blank": "html", "import": "html"}.get(body["type"], body["type"])
    template = template_record(
        call.state.ids.object_id(), body["locationId"], body.get("title") or "New Template",
        kind, iso_ms(call.sim.now()), parentId=body.get("parentId") or "",
        isPlainText=bool(body.get("isPlainText")), updatedBy=body.get("updatedBy") or "",
    )  # fmt: skip
    call.state.store(TEMPLATE_KIND)[template["id"]] = template
    return call.respond({"redirect": template["id"], "id": template["id"]})


async def update_template(call: Call) -> Response:
    body = call.validated_body(optional=frozenset({"dnd"}))
    call.require_location(body["locationId"])
    template = _template(call, body["locationId"], body["templateId"])
    if template["templateType"] == "folder":
        raise bad_request("A folder has no content")  # wording ours
    if body["editorType"] == "builder" and not body.get("dnd"):
        raise unprocessable(["dnd should not be empty"])
    template.update(
        html=body["html"], dnd=body.get("dnd"), templateType=body["editorType"],
        updatedBy=body["updatedBy"], previewText=body.get("previewText") or "",
        isPlainText=bool(body.get("isPlainText")), lastUpdated=iso_ms(call.sim.now()),
    )  # fmt: skip
    download = asset_url(template["locationId"], template["id"], "template.json")
    return call.respond(
        {"ok": "true", "previewUrl": template["previewUrl"], "templateDownloadUrl": download}
    )


async def delete_template(call: Call) -> Response:
    location_id = call.param("locationId")
    call.require_location(location_id)
    template = _template(call, location_id, call.param("templateId"))
    del call.state.store(TEMPLATE_KIND)[template["id"]]
    for child in call.state.location_records(TEMPLATE_KIND, location_id):
        if child["parentId"] == template["id"]:
            child["parentId"] = ""  # a deleted folder's templates move to the top level
    return call.respond({"ok": "true"})


def _schedule_filter(call: Call) -> Callable[[Record], bool]:
    """The campaign list's query as a predicate, validated (422) up front."""
    for name, allowed in _FILTER_ENUMS.items():
        if call.query(name) and call.query(name) not in allowed:
            raise unprocessable([f"{name} must be one of the following values: "
                                 f"{', '.join(allowed)}"])  # fmt: skip
    wanted = {name: call.query(name) for name in ("status", "emailStatus", "parentId")}
    archived = bool(query_bool(call, "archived"))
    campaigns_only = bool(query_bool(call, "campaignsOnly"))
    text = (call.query("name") or "").lower()

    def shown(schedule: Record) -> bool:
        actual = {"status": schedule["status"], "emailStatus": schedule["_emailStatus"],
                  "parentId": schedule["parentId"]}  # fmt: skip
        return (
            all(not want or want in ("all", actual[name]) for name, want in wanted.items())
            and schedule["archived"] == archived
            and not (campaigns_only and schedule["campaignType"] == "folder")
            and text in schedule["name"].lower()
        )

    return shown


def _schedule_view(schedule: Record, limited: bool, stats: bool) -> Record:
    if limited:
        return {name: schedule[name] for name in _LIMITED}
    view = {k: v for k, v in schedule.items() if k not in ("_emailStatus", "_stats")}
    if stats:
        view.update({name: schedule["_stats"][name] for name in _STATS})
    return view


async def fetch_schedules(call: Call) -> Response:
    location_id = query_location(call)
    shown = _schedule_filter(call)
    offset = query_int(call, "offset", 0)
    limit = query_int(call, "limit", 10, low=1, high=100)
    limited = bool(query_bool(call, "limitedFields"))
    stats = query_bool(call, "showStats") is not False  # the spec's default is true
    found = list(filter(shown, call.state.location_records(SCHEDULE_KIND, location_id)))
    schedules = [_schedule_view(s, limited, stats) for s in slice_page(found, offset, limit)]
    return call.respond({"schedules": schedules, "total": [str(len(found))]})


ENDPOINTS = [
    Endpoint("fetch-template", fetch_templates),
    Endpoint("create-template", create_template),
    Endpoint("update-template", update_template),
    Endpoint("delete-template", delete_template),
    Endpoint("fetch-campaigns", fetch_schedules),
]
