"""Email builder templates (folders, archive, offset/limit, create/save/delete) and the
scheduled email campaigns list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.simulator.conftest import FakeClock, SimClient

DND = {"elements": [], "attrs": {}, "templateSettings": {}}


async def builders(sim: SimClient, **params: Any) -> dict[str, Any]:
    resp = await sim.call(
        "GET", "/emails/builder", params={"locationId": sim.location_id, **params}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def create(sim: SimClient, **fields: Any) -> Any:
    body = {"locationId": sim.location_id, "type": "html", **fields}
    return await sim.call("POST", "/emails/builder", json=body)


async def save(sim: SimClient, template_id: str, **fields: Any) -> Any:
    body = {"locationId": sim.location_id, "templateId": template_id, "updatedBy": "u" * 20,
            "html": "<p>Hi</p>", "editorType": "html", **fields}  # fmt: skip
    return await sim.call("POST", "/emails/builder/data", json=body)


async def schedules(sim: SimClient, **params: Any) -> Any:
    return await sim.call(
        "GET", "/emails/schedule", params={"locationId": sim.location_id, **params}
    )


async def test_list_shows_one_folder_level_without_the_archive(sim: SimClient) -> None:
    top = await builders(sim)
    assert [t["name"] for t in top["builders"]] == [
        "Appointment Reminder",
        "Welcome Email",
        "Newsletters",
    ]  # fmt: skip  (newest first)
    assert top["total"] == ["3"]
    folder = next(t for t in top["builders"] if t["templateType"] == "folder")
    inside = await builders(sim, parentId=folder["id"])
    assert [t["name"] for t in inside["builders"]] == ["Monthly Newsletter"]
    assert [t["name"] for t in (await builders(sim, archived="true"))["builders"]] == ["Old Promo"]
    assert len((await builders(sim, templatesOnly="true"))["builders"]) == 2
    oldest = await builders(sim, sortByDate="asc", limit="1", offset="1")
    assert ([t["name"] for t in oldest["builders"]], oldest["total"]) == (["Welcome Email"], ["3"])
    assert [t["name"] for t in (await builders(sim, search="REMIND"))["builders"]] == [
        "Appointment Reminder"
    ]


async def test_create_save_and_delete(sim: SimClient, clock: FakeClock) -> None:
    made = await create(sim)
    assert made.status_code == 201, made.text
    template_id = made.json()["redirect"]
    assert made.json()["id"] == template_id and len(template_id) == 24
    listed = (await builders(sim))["builders"][0]
    # GHL names a new template "New Template" whatever `name` says (recorded); `title` names it.
    assert (listed["id"], listed["name"], listed["templateType"]) == (
        template_id, "New Template", "html",
    )  # fmt: skip
    clock.advance(1)
    titled = (await create(sim, title="Spring", name="ignored")).json()["id"]
    assert (await builders(sim))["builders"][0]["name"] == "Spring"
    clock.advance(60)
    saved = await save(sim, template_id, previewText="Hello there")
    assert saved.status_code == 201, saved.text
    assert saved.json()["ok"] == "true" and saved.json()["previewUrl"] == listed["previewUrl"]
    first = (await builders(sim))["builders"][0]
    assert (first["id"], first["updatedBy"]) == (template_id, "u" * 20)  # now the newest
    assert first["lastUpdated"] > listed["lastUpdated"]
    deleted = await sim.call("DELETE", f"/emails/builder/{sim.location_id}/{template_id}")
    assert (deleted.status_code, deleted.json()["ok"]) == (200, "true")
    again = await sim.call("DELETE", f"/emails/builder/{sim.location_id}/{template_id}")
    assert (again.status_code, again.json()["message"]) == (400, "Template not found")
    assert titled in {t["id"] for t in (await builders(sim))["builders"]}


async def test_deleting_a_folder_moves_its_templates_up(sim: SimClient) -> None:
    folder = next(t for t in (await builders(sim))["builders"] if t["templateType"] == "folder")
    made = await create(sim, parentId=folder["id"], title="Filed")
    assert made.status_code == 201
    assert len((await builders(sim, parentId=folder["id"]))["builders"]) == 2
    await sim.call("DELETE", f"/emails/builder/{sim.location_id}/{folder['id']}")
    names = {t["name"] for t in (await builders(sim))["builders"]}
    assert {"Filed", "Monthly Newsletter"} <= names and "Newsletters" not in names
    not_a_folder = await create(sim, parentId=made.json()["id"])
    assert not_a_folder.status_code == 400


@pytest.mark.parametrize(
    ("fields", "messages"),
    [
        ({"type": "import"}, [
            "importProvider is required and must be a valid "
            "EmailTemplateProvider(mailchimp,active_campaign,kajabi)",
            "importURL is required",
        ]),
        ({"type": "newsletter"}, ["type must be a valid enum value"]),
        ({"type": None}, ["type should not be empty"]),
        ({"builderVersion": "3"}, ["builderVersion must be a valid enum value"]),
    ],
)  # fmt: skip
async def test_create_validation(
    sim: SimClient, fields: dict[str, Any], messages: list[str]
) -> None:
    resp = await create(sim, **fields)
    assert resp.status_code == 422 and set(messages) <= set(resp.json()["message"])


async def test_import_with_a_provider_is_accepted(sim: SimClient) -> None:
    resp = await create(sim, type="import", importProvider="mailchimp", importURL="https://t.test")
    assert resp.status_code == 201


async def test_save_validation_and_errors(sim: SimClient) -> None:
    template_id = (await create(sim)).json()["id"]
    no_author = await save(sim, template_id, updatedBy=None)
    assert "updatedBy should not be empty" in no_author.json()["message"]
    builder = await save(sim, template_id, editorType="builder")
    assert builder.json()["message"] == ["dnd should not be empty"]
    assert (await save(sim, template_id, editorType="builder", dnd=DND)).status_code == 201
    assert (await save(sim, "f" * 24)).status_code == 400
    folder = next(t for t in (await builders(sim))["builders"] if t["templateType"] == "folder")
    assert (await save(sim, folder["id"])).status_code == 400
    foreign = await sim.call(
        "POST",
        "/emails/builder/data",
        json={"locationId": sim.other_location_id, "templateId": template_id, "updatedBy": "u",
              "html": "<p/>", "editorType": "html"},
    )  # fmt: skip
    assert foreign.status_code == 403
    # The other location cannot reach our template even through its own location id.
    theirs = await sim.call(
        "DELETE", f"/emails/builder/{sim.other_location_id}/{template_id}", token=sim.pit(1)
    )
    assert theirs.status_code == 400
    assert (
        await sim.call("DELETE", f"/emails/builder/{sim.other_location_id}/{template_id}")
    ).status_code == 403


async def test_schedules_filter_page_and_show_stats(sim: SimClient) -> None:
    everything = (await schedules(sim)).json()
    assert [s["name"] for s in everything["schedules"]] == [
        "Spring Newsletter", "Summer Promo", "Draft Announcement",
    ]  # fmt: skip
    assert everything["total"] == ["3"]
    spring = everything["schedules"][0]
    assert (spring["delivered"], spring["opened"], spring["clicked"]) == (412, 187, 43)
    templates = {t["id"] for t in (await builders(sim))["builders"]}
    assert spring["templateId"] in templates
    quiet = (await schedules(sim, showStats="false")).json()["schedules"][0]
    assert "delivered" not in quiet and quiet["_id"] == spring["_id"]
    drafts = (await schedules(sim, status="draft")).json()
    assert [s["name"] for s in drafts["schedules"]] == ["Draft Announcement"]
    assert (await schedules(sim, emailStatus="scheduled")).json()["total"] == ["1"]
    page = (await schedules(sim, offset=1, limit=1)).json()
    assert ([s["name"] for s in page["schedules"]], page["total"]) == (["Summer Promo"], ["3"])
    limited = (await schedules(sim, limitedFields="true")).json()["schedules"][0]
    assert set(limited) == {"id", "templateDataDownloadUrl", "updatedAt", "templateType",
                            "templateId", "downloadUrl", "isPlainText"}  # fmt: skip


async def test_schedule_query_errors(sim: SimClient) -> None:
    assert (await schedules(sim, limit=101)).json()["message"] == [
        "limit must not be greater than 100"
    ]
    bad = await schedules(sim, status="paused")
    assert bad.status_code == 422 and bad.json()["message"][0].startswith("status must be one of")
    foreign = await sim.call(
        "GET", "/emails/schedule", params={"locationId": sim.other_location_id}
    )
    assert foreign.status_code == 403
