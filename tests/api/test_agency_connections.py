"""An agency installs once; each of its sub-accounts is connected on first use with a location
token minted from the agency token, stored sealed, and minted again when it expires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.polling import eventually
from tests.support.signing import event, signer
from tests.support.stack import Stack, running_stack

from ghl_bridge.simulator import SimConfig

CREATE = "/v1/actions/contacts.create"


@pytest.fixture
async def stack(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    # Tokens live 301 s and we refresh 300 s before expiry: fresh for ~1 s, then due.
    config = SimConfig(access_token_ttl_s=301)
    keys = (signer().ed_pem, "")  # the test signs an INSTALL delivery of its own
    async with running_stack(sqlite_url, tmp_path, sim=config, extra_webhook_keys=keys) as s:
        yield s


async def _install_agency(stack: Stack, key: str) -> None:
    auth = await stack.http.post(
        stack.api_url + "/v1/connections/authorize", headers=stack.auth(key)
    )
    redirect = await stack.http.get(auth.json()["url"] + "&userType=Company")
    done = await stack.http.get(redirect.headers["location"])
    assert done.status_code == 200 and "Agency" in done.text, done.text


async def _create(stack: Stack, key: str, location: str, email: str) -> Any:
    return await stack.http.post(
        stack.api_url + CREATE,
        headers=stack.auth(key),
        json={"locationId": location, "input": {"email": email}},
    )


async def test_sub_accounts_connect_on_first_use_and_remint(stack: Stack) -> None:
    key = await stack.tenant("agency")
    await _install_agency(stack, key)
    first = await _create(stack, key, stack.location_id, "a@example.com")
    assert first.status_code == 200, first.text
    second = await _create(stack, key, stack.other_location_id, "b@example.com")
    assert second.status_code == 200, second.text
    rows = {c.resource_id: c for c in await stack.runtime.connections.list()}
    company = stack.seed["agency"]["companyId"]
    assert rows[company].user_type == "Company"
    location = rows[stack.location_id]
    assert (location.user_type, location.company_id) == ("Location", company)
    assert location.refresh_token_sealed is None  # v2 location tokens come without one
    await asyncio.sleep(1.2)  # the minted token is now due: it is minted again, not refreshed
    again = await _create(stack, key, stack.location_id, "c@example.com")
    assert again.status_code == 200, again.text
    latest = await stack.runtime.connections.get_by_resource(stack.location_id)
    assert latest is not None and latest.version == location.version + 1


async def test_a_tenant_without_the_agency_cannot_adopt_its_sub_accounts(stack: Stack) -> None:
    key = await stack.tenant("agency")
    await _install_agency(stack, key)
    rival = await stack.tenant("rival")
    refused = await _create(stack, rival, stack.location_id, "x@example.com")
    assert refused.status_code == 403
    assert await stack.runtime.connections.get_by_resource(stack.location_id) is None
    mine = await _create(stack, key, stack.location_id, "y@example.com")
    assert mine.status_code == 200  # and once adopted, it is the agency tenant's
    assert (await _create(stack, rival, stack.location_id, "z@example.com")).status_code == 403


async def test_a_location_the_agency_creates_is_connected_from_its_webhook(stack: Stack) -> None:
    key = await stack.tenant("agency")
    await _install_agency(stack, key)
    agency = stack.seed["agency"]
    made = await stack.http.post(
        stack.sim_url + "/locations/",
        headers={"Authorization": f"Bearer {agency['pit']}", "Version": "2021-07-28"},
        json={"name": "Brand New Clinic", "companyId": agency["companyId"]},
    )
    assert made.status_code in (200, 201), made.text
    new_location = made.json()["id"]

    async def adopted() -> Any:
        return await stack.runtime.connections.get_by_resource(new_location)

    conn = await eventually(adopted)  # LocationCreate → processor → minted and stored
    assert (conn.user_type, conn.company_id) == ("Location", agency["companyId"])
    owner = await stack.runtime.tenants.get_by_name("agency")
    assert owner is not None and conn.tenant_id == owner.id


async def test_a_sub_account_install_under_our_agency_is_connected_at_once(stack: Stack) -> None:
    key = await stack.tenant("agency")
    await _install_agency(stack, key)
    company = stack.seed["agency"]["companyId"]
    raw = event(stack.other_location_id, type_="INSTALL", installType="Location",
                companyId=company, appId=stack.seed["app"]["appId"])  # fmt: skip
    resp = await stack.http.post(
        stack.api_url + "/webhooks/ghl",
        content=raw,
        headers={"Content-Type": "application/json", "x-ghl-signature": signer().ed25519(raw)},
    )
    assert resp.status_code == 200, resp.text

    async def adopted() -> Any:
        return await stack.runtime.connections.get_by_resource(stack.other_location_id)

    conn = await eventually(adopted)
    assert (conn.user_type, conn.company_id) == ("Location", company)


async def test_the_agency_connection_lists_its_sub_accounts(stack: Stack) -> None:
    key = await stack.tenant("agency")
    await _install_agency(stack, key)
    assert (await _create(stack, key, stack.location_id, "a@example.com")).status_code == 200
    listed = await stack.http.get(stack.api_url + "/v1/connections", headers=stack.auth(key))
    rows = {c["userType"]: c for c in listed.json()["connections"]}
    url = f"{stack.api_url}/v1/connections/{rows['Company']['id']}/locations"
    found = await stack.http.get(url, headers=stack.auth(key))
    assert found.status_code == 200, found.text
    locations = {row["id"]: row["connected"] for row in found.json()["locations"]}
    assert locations[stack.location_id] is True  # adopted on first use
    assert locations[stack.other_location_id] is False  # installed, not used yet
    sub = f"{stack.api_url}/v1/connections/{rows['Location']['id']}/locations"
    assert (await stack.http.get(sub, headers=stack.auth(key))).status_code == 422
    rival = await stack.tenant("rival")
    assert (await stack.http.get(url, headers=stack.auth(rival))).status_code == 404


async def test_plan_change_is_kept_on_the_connection(stack: Stack) -> None:
    key = await stack.connected_tenant("acme")
    raw = event(stack.location_id, type_="PLAN_CHANGE", companyId=stack.seed["agency"]["companyId"],
                currentPlanId="plan-basic", newPlanId="plan-pro")  # fmt: skip
    resp = await stack.http.post(
        stack.api_url + "/webhooks/ghl",
        content=raw,
        headers={"Content-Type": "application/json", "x-ghl-signature": signer().ed25519(raw)},
    )
    assert resp.status_code == 200, resp.text

    async def changed() -> Any:
        conn = await stack.runtime.connections.get_by_resource(stack.location_id)
        return conn if conn is not None and conn.plan_id == "plan-pro" else None

    await eventually(changed)
    listed = await stack.http.get(stack.api_url + "/v1/connections", headers=stack.auth(key))
    assert listed.json()["connections"][0]["planId"] == "plan-pro"


async def test_unknown_locations_do_not_cost_a_mint_each(stack: Stack) -> None:
    key = await stack.tenant("agency")
    await _install_agency(stack, key)
    journal = f"{stack.sim_url}/_sim/journal"
    before = (await stack.http.get(journal)).json()["posts"].get("get-location-access-token", 0)
    for _ in range(3):
        assert (
            await _create(stack, key, "NoSuchLocation0000001", "n@example.com")
        ).status_code == 403
    after = (await stack.http.get(journal)).json()["posts"].get("get-location-access-token", 0)
    assert after - before == 1  # one attempt, then the refusal is remembered
