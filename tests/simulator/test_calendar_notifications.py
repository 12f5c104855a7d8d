"""A calendar's event notifications: array create and list, find, update, soft delete, refusals."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import SimClient

REMINDER = {
    "receiverType": "contact",
    "channel": "email",
    "notificationType": "reminder",
    "subject": "See you soon",
    "body": "Your visit is tomorrow",
    "beforeTime": [{"timeOffset": 1, "unit": "days"}],
    "fromName": "Front desk",
}
BOOKED = {"receiverType": "business", "channel": "inApp", "notificationType": "booked",
          "selectedUsers": ["sub_account_admin"], "isActive": False}  # fmt: skip


def _path(sim: SimClient, index: int = 0, notification_id: str | None = None) -> str:
    calendar_id = sim.seed["locations"][index]["calendars"][0]
    base = f"/calendars/{calendar_id}/notifications"
    return f"{base}/{notification_id}" if notification_id else base


async def _create(sim: SimClient, *items: dict[str, Any]) -> list[dict[str, Any]]:
    resp = await sim.call("POST", _path(sim), json=list(items))
    assert resp.status_code == 200, resp.text
    return list(resp.json())


async def _listed(sim: SimClient, **params: str) -> list[dict[str, Any]]:
    resp = await sim.call("GET", _path(sim), params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json())


async def test_create_many_then_list_and_find(sim: SimClient) -> None:
    made = await _create(sim, REMINDER, BOOKED)
    reminder, booked = made
    assert len(reminder["_id"]) == 24 and reminder["_id"] != booked["_id"]
    assert {k: reminder[k] for k in ("receiverType", "notificationType", "beforeTime")} == {
        "receiverType": "contact", "notificationType": "reminder",
        "beforeTime": [{"timeOffset": 1, "unit": "days"}],
    }  # fmt: skip
    assert (reminder["isActive"], reminder["deleted"]) == (True, False)  # the DTO's defaults
    assert "fromName" not in reminder  # not a field of the response DTO
    assert booked["isActive"] is False
    assert await _listed(sim) == made
    assert await _listed(sim, isActive="false") == [booked]
    assert await _listed(sim, limit="1", skip="1") == [booked]
    found = await sim.call("GET", _path(sim, notification_id=reminder["_id"]))
    assert found.status_code == 200
    assert {k: v for k, v in found.json().items() if k != "traceId"} == reminder


async def test_update_and_soft_delete(sim: SimClient) -> None:
    (made,) = await _create(sim, REMINDER)
    one = _path(sim, notification_id=made["_id"])
    updated = await sim.call("PUT", one, json={"subject": "Tomorrow", "isActive": False})
    assert updated.json()["message"] == "Notification updated successfully"
    now = (await sim.call("GET", one)).json()
    assert (now["subject"], now["isActive"], now["body"]) == ("Tomorrow", False, REMINDER["body"])
    deleted = await sim.call("DELETE", one)
    assert (deleted.status_code, deleted.json()["message"]) == (
        200, "Notification deleted successfully",
    )  # fmt: skip
    assert await _listed(sim) == []
    assert [n["_id"] for n in await _listed(sim, deleted="true")] == [made["_id"]]
    assert (await sim.call("GET", one)).json()["deleted"] is True
    await sim.call("PUT", one, json={"deleted": False})
    assert [n["_id"] for n in await _listed(sim)] == [made["_id"]]


async def test_malformed_bodies(sim: SimClient) -> None:
    not_array = await sim.call("POST", _path(sim), json=REMINDER)
    assert (not_array.status_code, not_array.json()["message"]) == (
        400, "Validation failed (parsable array expected)",
    )  # fmt: skip
    bad = await sim.call(
        "POST", _path(sim),
        json=[REMINDER, {"channel": "fax", "notificationType": "reminder",
                         "receiverType": "contact", "afterTime": [{"timeOffset": "soon"}]}],
    )  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["message"] == [
        "[1] channel must be a valid enum value",
        "[1] afterTime.0.timeOffset must be a number conforming to the specified constraints",
    ]
    missing = await sim.call("POST", _path(sim), json=[{"channel": "email"}])
    assert "[0] receiverType should not be empty" in missing.json()["message"]
    assert await _listed(sim) == []  # nothing of a refused batch is kept
    (made,) = await _create(sim, REMINDER)
    one = _path(sim, notification_id=made["_id"])
    wrong = await sim.call("PUT", one, json={"receiverType": "nobody", "colour": "red"})
    assert wrong.status_code == 422
    assert wrong.json()["message"] == [
        "property colour should not exist",
        "receiverType must be a valid enum value",
    ]
    paging = await sim.call("GET", _path(sim), params={"limit": "many"})
    assert paging.status_code == 422


async def test_unknown_ids_are_400(sim: SimClient) -> None:
    (made,) = await _create(sim, REMINDER)
    for method in ("GET", "PUT", "DELETE"):
        resp = await sim.call(method, _path(sim, notification_id="nope"), json={})
        assert (resp.status_code, resp.json()["message"]) == (400, "Notification not found")
    unknown_calendar = await sim.call("GET", "/calendars/nope/notifications")
    assert (unknown_calendar.status_code, unknown_calendar.json()["message"]) == (
        400, "Calendar not found",
    )  # fmt: skip
    other_calendar = sim.seed["locations"][0]["calendars"][1]
    elsewhere = await sim.call("GET", f"/calendars/{other_calendar}/notifications/{made['_id']}")
    assert elsewhere.status_code == 400  # a notification belongs to one calendar


async def test_another_locations_token_is_refused(sim: SimClient) -> None:
    (made,) = await _create(sim, REMINDER)
    one = _path(sim, notification_id=made["_id"])
    other = sim.pit(1)
    calls = [
        await sim.call("GET", _path(sim), token=other),
        await sim.call("POST", _path(sim), token=other, json=[REMINDER]),
        await sim.call("GET", one, token=other),
        await sim.call("PUT", one, token=other, json={"subject": "x"}),
        await sim.call("DELETE", one, token=other),
    ]
    assert [resp.status_code for resp in calls] == [403] * 5
    assert await _listed(sim) == [made]  # untouched
    own = await sim.call("GET", _path(sim, index=1), token=other)
    assert (own.status_code, own.json()) == (200, [])
