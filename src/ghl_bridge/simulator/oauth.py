"""OAuth: chooselocation (auto-approves), token, locationToken, installedLocations, reconnect.

`chooselocation` normally shows GHL's consent page; here it approves at once and redirects with a
code. Simulator extensions: `locationId=<id>` picks the sub-account, `userType=Company` makes an
agency install (default: the first location). Each install also emits GHL's `INSTALL` webhook.

`uninstall` is what a user removing the app in GHL's UI does (the control API's
`POST /_sim/uninstall`): the install and its OAuth tokens are gone, and `UNINSTALL` is sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.responses import RedirectResponse, Response

from ghl_bridge.simulator.auth import require_company
from ghl_bridge.simulator.context import Call, Simulator
from ghl_bridge.simulator.errors import bad_request, forbidden, oauth_error, unprocessable
from ghl_bridge.simulator.gate import Endpoint
from ghl_bridge.simulator.state import AuthCode, SimState, UserType
from ghl_bridge.simulator.timefmt import iso_ms
from ghl_bridge.simulator.tokens import exchange_code, mint_location_token, refresh
from ghl_bridge.simulator.validation import dto_errors

__all__ = ["ENDPOINTS"]

CODE_TTL_S = 600  # GHL does not document it; ten minutes is the common OAuth choice.
# v3 clients send camelCase to the same endpoint (research/ghl-facts.md §3.2).
_CAMEL_TO_SNAKE = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "grantType": "grant_type",
    "refreshToken": "refresh_token",
    "userType": "user_type",
    "redirectUri": "redirect_uri",
}


def _issue_code(
    call: Call,
    user_type: UserType,
    location_id: str | None,
    scopes: frozenset[str],
    redirect_uri: str,
) -> str:
    state, now = call.state, call.sim.now()
    code = state.ids.secret(40)
    state.codes[code] = AuthCode(
        code=code,
        client_id=state.app.client_id,
        redirect_uri=redirect_uri,
        user_type=user_type,
        company_id=state.agency.company_id,
        location_id=location_id,
        scopes=scopes,
        user_id=state.agency.user_id,
        expires_at=now + CODE_TTL_S,
    )
    return code


def _record_install(call: Call, location_id: str | None, scopes: frozenset[str]) -> None:
    state, now = call.state, call.sim.now()
    targets = [location_id] if location_id else list(state.locations)
    if location_id is None:
        state.company_installed_at = now
    for target in targets:
        state.installs.setdefault(target, now)
    state.granted_scopes[location_id or state.agency.company_id] = scopes
    event: dict[str, Any] = {
        "appId": state.app.app_id,
        "companyId": state.agency.company_id,
        "userId": state.agency.user_id,
        "companyName": state.agency.name,
        "installType": "Location" if location_id else "Company",
        "isWhitelabelCompany": False,
    }
    call.emit("INSTALL", location_id, event)


def uninstall(sim: Simulator, location_id: str | None, company_id: str | None) -> str:
    """Remove the app from one location, or (`company_id`) from the agency and every location;
    revoke the OAuth tokens and refresh tokens it had; emit `UNINSTALL`. Returns its webhookId.

    Raises ValueError when the app is not installed there (PITs are not app installs: kept)."""
    state = sim.state
    if location_id is not None:
        if location_id not in state.installs:
            raise ValueError(f"the app is not installed in location {location_id}")
        del state.installs[location_id]
        state.granted_scopes.pop(location_id, None)
        gone = {location_id}
    elif company_id == state.agency.company_id and (
        state.company_installed_at is not None or state.installs
    ):
        gone = {*state.installs, company_id}
        state.installs.clear()
        state.granted_scopes.clear()
        state.company_installed_at = None
    else:
        raise ValueError(f"the app is not installed for company {company_id}")
    for value, token in list(state.tokens.items()):
        if token.kind == "oauth" and (token.location_id or token.company_id) in gone:
            del state.tokens[value]
    for value, grant in list(state.refresh_grants.items()):
        if (grant.location_id or grant.company_id) in gone:
            del state.refresh_grants[value]
    # A location uninstall names the location; an agency uninstall the company (ghl-facts §4.5).
    event = {"appId": state.app.app_id}
    if location_id is None:
        event["companyId"] = state.agency.company_id
    return sim.webhooks.emit("UNINSTALL", location_id, event)


async def choose_location(call: Call) -> Response:
    query = call.request.query_params
    state = call.state
    if query.get("response_type") != "code":
        raise bad_request("response_type must be code")
    if query.get("client_id") != state.app.client_id:
        raise bad_request("Invalid client_id")
    redirect_uri = query.get("redirect_uri")
    if not redirect_uri or not urlsplit(redirect_uri).scheme:
        raise bad_request("redirect_uri is required")
    requested = frozenset((query.get("scope") or "").split())
    unknown = sorted(requested - call.sim.spec.all_scopes())
    if unknown:
        raise bad_request(f"Invalid scope: {' '.join(unknown)}")
    user_type: UserType = "Company" if query.get("userType") == "Company" else "Location"
    location_id = None
    if user_type == "Location":
        location_id = query.get("locationId") or next(iter(state.locations))
        if location_id not in state.locations:
            raise bad_request(f"Location {location_id} not found")
    code = _issue_code(call, user_type, location_id, requested, redirect_uri)
    _record_install(call, location_id, requested)
    params = {"code": code, **({"state": query["state"]} if "state" in query else {})}
    parts = urlsplit(redirect_uri)
    joined = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return RedirectResponse(urlunsplit(parts._replace(query=joined)), status_code=302)


def _token_form(call: Call) -> dict[str, Any]:
    """The token request's fields in v2 spelling. Unknown fields are dropped, not rejected:
    generic OAuth clients add standard parameters (e.g. `scope`) GHL's DTO does not list."""
    raw = dict(call.body) if isinstance(call.body, dict) else {}
    for camel, snake in _CAMEL_TO_SNAKE.items():
        if camel in raw:
            raw.setdefault(snake, raw.pop(camel))
    known = call.sim.spec.resolve(call.op.request_schema).get("properties", {})
    return {name: value for name, value in raw.items() if name in known}


async def get_access_token(call: Call) -> Response:
    form = _token_form(call)
    errors = dto_errors(call.sim.spec.resolve(call.op.request_schema), form)
    if errors:
        raise unprocessable(errors)
    state, config, now = call.state, call.sim.config, call.sim.now()
    if form["client_id"] != state.app.client_id or form["client_secret"] != state.app.client_secret:
        # GHL's exact body here is not recorded; RFC 6749 §5.2 says 401 invalid_client.
        raise oauth_error(401, "invalid_client", "Invalid client credentials")
    grant = form["grant_type"]
    if grant == "authorization_code":
        if not form.get("code"):
            raise unprocessable(["code should not be empty"])
        body = exchange_code(
            state,
            form["code"],
            form["client_id"],
            form.get("redirect_uri"),
            config.access_token_ttl_s,
            now,
        )
    elif grant == "refresh_token":
        if not form.get("refresh_token"):
            raise unprocessable(["refresh_token should not be empty"])
        body = refresh(
            state,
            form["refresh_token"],
            form["client_id"],
            config.access_token_ttl_s,
            config.refresh_grace_s,
            now,
        )
    else:
        # Listed in the spec, but its use is undocumented.
        raise oauth_error(400, "unsupported_grant_type", f"{grant} is not supported")
    return call.respond(body)


async def get_location_token(call: Call) -> Response:
    body = call.validated_body()
    token = call.principal
    require_company(call.state, token, body["companyId"])
    location_id = body["locationId"]
    if location_id not in call.state.locations:
        raise forbidden("The token does not have access to this location.")
    config = call.sim.config
    return call.respond(
        mint_location_token(
            call.state, token, location_id, config.access_token_ttl_s, call.sim.now()
        )
    )


def _installed_rows(state: SimState, query: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for location in state.locations.values():
        installed_at = state.installs.get(location.id)
        row: dict[str, Any] = {
            "_id": location.id,
            "name": location.name,
            "address": ", ".join(
                (location.address, location.city, f"{location.state} {location.postal_code}")
            ),
            "isInstalled": installed_at is not None,
        }
        if installed_at is not None:
            row["versionId"] = state.app.app_id
            row["installedAt"] = iso_ms(installed_at)
        rows.append(row)
    if "isInstalled" in query:
        wanted = query["isInstalled"].lower() == "true"
        rows = [row for row in rows if row["isInstalled"] == wanted]
    if query.get("locationId"):
        rows = [row for row in rows if row["_id"] == query["locationId"]]
    if query.get("query"):
        rows = [row for row in rows if query["query"].casefold() in row["name"].casefold()]
    return rows


async def get_installed_locations(call: Call) -> Response:
    query = dict(call.request.query_params)
    missing = [
        f"{name} should not be empty" for name in ("companyId", "appId") if not query.get(name)
    ]
    if missing:
        raise unprocessable(missing)
    require_company(call.state, call.principal, query["companyId"])
    if query["appId"] != call.state.app.app_id:
        raise bad_request("Invalid appId")
    try:
        skip, limit = int(query.get("skip", "0")), int(query.get("limit", "20"))
    except ValueError as exc:
        raise unprocessable(["skip and limit must be numeric strings"]) from exc
    rows = _installed_rows(call.state, query)
    return call.respond(
        {
            "locations": rows[skip : skip + limit],
            "count": len(rows),
            "installToFutureLocations": call.state.company_installed_at is not None,
        }
    )


async def reconnect(call: Call) -> Response:
    """Lost-token recovery: a fresh authorization code for an existing install."""
    body = call.body if isinstance(call.body, dict) else {}
    state = call.state
    if (
        body.get("clientKey") != state.app.client_id
        or body.get("clientSecret") != state.app.client_secret
    ):
        raise oauth_error(401, "invalid_client", "Invalid client credentials")
    location_id, company_id = body.get("locationId"), body.get("companyId")
    if location_id and location_id in state.installs:
        user_type: UserType = "Location"
    elif company_id == state.agency.company_id and state.company_installed_at is not None:
        user_type, location_id = "Company", None
    else:
        raise bad_request("The app is not installed for this locationId or companyId")
    scopes = state.granted_scopes.get(location_id or state.agency.company_id, frozenset())
    code = _issue_code(call, user_type, location_id, scopes, "")
    return call.respond(
        {"authorizationCode": code, "expiresAt": iso_ms(call.sim.now() + CODE_TTL_S)}
    )


ENDPOINTS = [
    Endpoint(
        "sim.chooselocation",
        choose_location,
        public=True,
        method="GET",
        path="/oauth/chooselocation",
    ),
    Endpoint(
        "sim.chooselocation.v2",
        choose_location,
        public=True,
        method="GET",
        path="/v2/oauth/chooselocation",
    ),
    Endpoint("get-access-token", get_access_token, public=True),
    Endpoint("get-location-access-token", get_location_token),
    Endpoint("get-installed-location", get_installed_locations),
    Endpoint("sim.oauth-reconnect", reconnect, public=True, method="POST", path="/oauth/reconnect"),
]
