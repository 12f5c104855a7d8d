"""Users: per-location list, company-wide search, agency-only create, per-location access."""

from __future__ import annotations

from typing import Any

from tests.simulator.conftest import Receiver, SimClient
from tests.simulator.test_webhooks import events, flush, subscribe


def agency(sim: SimClient) -> tuple[str, str]:
    return str(sim.seed["agency"]["companyId"]), str(sim.seed["agency"]["pit"])


def new_user(sim: SimClient, **extra: Any) -> dict[str, Any]:
    return {
        "companyId": agency(sim)[0], "firstName": "Robin", "lastName": "Hale",
        "email": "robin.hale@example.com", "password": "Sup3r-secret", "type": "account",
        "role": "user", "locationIds": [sim.location_id], **extra,
    }  # fmt: skip


async def search(sim: SimClient, **params: str) -> dict[str, Any]:
    company, pit = agency(sim)
    resp = await sim.call(
        "GET", "/users/search", token=pit, params={"companyId": company, **params}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_location_users(sim: SimClient) -> None:
    resp = await sim.call("GET", "/users/", params={"locationId": sim.location_id})
    users = resp.json()["users"]
    assert [u["name"] for u in users] == ["Jordan Reyes", "Casey Morgan", "Avery Quinn"]
    assert users[0]["roles"] == {
        "type": "account", "role": "admin", "locationIds": [sim.location_id],
        "restrictSubAccount": False,
    }  # fmt: skip
    assert users[2]["roles"]["type"] == "agency"  # the agency owner works everywhere
    assert users[0]["permissions"]["contactsEnabled"] is True
    assert users[0]["permissions"]["websitesEnabled"] is False
    foreign = await sim.call("GET", "/users/", params={"locationId": sim.other_location_id})
    assert foreign.status_code == 403


async def test_search_filters_sorts_and_pages(sim: SimClient) -> None:
    everything = await search(sim)
    assert everything["count"] == 5
    names = [u["name"] for u in everything["users"]]
    assert names == sorted(names)
    page = await search(sim, skip="1", limit="2")
    assert ([u["name"] for u in page["users"]], page["count"]) == (names[1:3], 5)
    mine = await search(sim, locationId=sim.location_id, role="admin")
    assert [u["name"] for u in mine["users"]] == ["Avery Quinn", "Jordan Reyes"]
    assert [u["name"] for u in (await search(sim, type="agency"))["users"]] == ["Avery Quinn"]
    assert (await search(sim, query="MORGAN"))["count"] == 2  # one Casey Morgan per location
    ids = ",".join(u["id"] for u in everything["users"][:2])
    assert [u["id"] for u in (await search(sim, ids=ids))["users"]] == ids.split(",")
    by_email = await search(sim, sort="email", sortDirection="desc")
    emails = [u["email"] for u in by_email["users"]]
    assert emails == sorted(emails, reverse=True)


async def test_search_is_company_level(sim: SimClient) -> None:
    company, pit = agency(sim)
    as_location = await sim.call("GET", "/users/search", params={"companyId": company})
    assert (as_location.status_code, as_location.json()["message"]) == (
        401,
        "Token's user type mismatch!",
    )
    missing = await sim.call("GET", "/users/search", token=pit)
    assert (missing.status_code, missing.json()["message"]) == (
        422,
        ["companyId should not be empty"],
    )
    foreign = await sim.call(
        "GET", "/users/search", token=pit, params={"companyId": "anotherCompany00000"}
    )
    assert foreign.status_code == 403
    for bad in ({"sort": "shoeSize"}, {"sortDirection": "up"}, {"limit": "0"}):
        resp = await sim.call(
            "GET", "/users/search", token=pit, params={"companyId": company, **bad}
        )
        assert resp.status_code == 422, bad


async def test_user_lifecycle(sim: SimClient) -> None:
    pit = agency(sim)[1]
    made = await sim.call("POST", "/users/", token=pit, json=new_user(
        sim, phone="+15550102020", permissions={"campaignsEnabled": False}))  # fmt: skip
    assert made.status_code == 201, made.text
    user = made.json()
    assert (user["name"], user["email"]) == ("Robin Hale", "robin.hale@example.com")
    assert user["permissions"]["campaignsEnabled"] is False
    assert "password" not in user
    path = f"/users/{user['id']}"
    as_location = await sim.call("GET", path)  # the user works in this location
    assert as_location.status_code == 200
    updated = await sim.call(
        "PUT", path, token=pit, json={"role": "admin", "locationIds": [sim.other_location_id]}
    )
    assert updated.json()["roles"]["role"] == "admin"
    assert (await sim.call("GET", path)).status_code == 403  # no longer in this location
    deleted = await sim.call("DELETE", path, token=pit)
    assert deleted.json()["message"] == (
        "Queued deleting user with e-mail robin.hale@example.com and name Robin Hale. "
        "Will take effect in a few minutes."
    )
    assert (await sim.call("GET", path, token=pit)).status_code == 400


async def test_create_user_rules(sim: SimClient) -> None:
    pit = agency(sim)[1]
    as_location = await sim.call("POST", "/users/", json=new_user(sim))
    assert (as_location.status_code, as_location.json()["message"]) == (
        401,
        "Token's user type mismatch!",
    )
    first = await sim.call("POST", "/users/", token=pit, json=new_user(sim))
    assert first.status_code == 201
    dup = await sim.call(
        "POST", "/users/", token=pit, json=new_user(sim, email="ROBIN.HALE@example.com")
    )
    assert dup.status_code == 400
    role = "role must be one of the following values: admin, user"
    password = ["password must be a string", "password should not be empty"]
    flag = "permissions.contactsEnabled must be a boolean value"
    cases = [
        (new_user(sim, email="x@y.z", role="owner"), [role]),
        (new_user(sim, email="not-an-email"), ["email must be an email"]),
        (new_user(sim, email="a@b.co", locationIds=[]), ["locationIds should not be empty"]),
        ({**new_user(sim, email="c@d.co"), "password": None}, password),
        (new_user(sim, email="e@f.co", permissions={"contactsEnabled": "yes"}), [flag]),
    ]
    for body, messages in cases:
        resp = await sim.call("POST", "/users/", token=pit, json=body)
        assert (resp.status_code, resp.json()["message"]) == (422, messages), body
    unknown = await sim.call(
        "POST", "/users/", token=pit, json=new_user(sim, email="g@h.co", locationIds=["nowhere"])
    )
    assert unknown.status_code == 400


async def test_location_token_sees_only_its_users(sim: SimClient) -> None:
    theirs = await sim.call(
        "GET", "/users/", token=sim.pit(1), params={"locationId": sim.other_location_id}
    )
    their_user = theirs.json()["users"][0]["id"]
    for method in ("GET", "DELETE"):
        resp = await sim.call(method, f"/users/{their_user}")
        assert resp.status_code == 403, method
    move = await sim.call(
        "PUT", f"/users/{their_user}", token=sim.pit(1), json={"locationIds": [sim.location_id]}
    )
    assert move.status_code == 403
    assert (await sim.call("GET", "/users/nobody")).status_code == 400


async def test_user_create_event(sim: SimClient, receiver: Receiver) -> None:
    await subscribe(sim, receiver)
    made = (await sim.call("POST", "/users/", token=agency(sim)[1], json=new_user(sim))).json()
    await flush(sim)
    got = [e for e in events(receiver) if e["type"] == "UserCreate"]
    assert len(got) == 1
    assert (got[0]["id"], got[0]["locationId"], got[0]["role"]) == (
        made["id"],
        sim.location_id,
        "user",
    )
    assert got[0]["locations"] == [sim.location_id]
