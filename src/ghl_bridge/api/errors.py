"""Every error leaves the API as ``{"error": {"code", "message", "details"}}``, status to match.

GHL's own 401/403 concern *our* token, not the caller's API key, so they become 502s: telling a
workflow "unauthorized" when its key is fine would send its operator hunting the wrong problem.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ghl_bridge.client.errors import (
    CircuitOpenError,
    GHLAPIError,
    RateBudgetExhausted,
    RateLimitedError,
    ReauthorizationRequired,
    TokenError,
    TransportError,
)
from ghl_bridge.errors import BridgeError
from ghl_bridge.jobs.port import PayloadRejectedError


def envelope(
    status: int, code: str, message: str, details: Any = None, **headers: str
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _ghl_details(exc: GHLAPIError) -> dict[str, Any]:
    return {"ghlStatus": exc.status, "ghlTraceId": exc.trace_id, "requestId": exc.request_id}


async def _bridge(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BridgeError)
    return envelope(exc.status, exc.code, exc.message, exc.details)


async def _ghl(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GHLAPIError)
    if isinstance(exc, RateLimitedError):
        wait = str(int(exc.retry_after or 10))
        return envelope(
            429, "ghl_rate_limited", exc.message, _ghl_details(exc), **{"Retry-After": wait}
        )
    if exc.status >= 500 or exc.status in (401, 403):
        return envelope(502, f"ghl_{exc.status}", exc.message, _ghl_details(exc))
    return envelope(exc.status, f"ghl_{exc.status}", exc.message, _ghl_details(exc))


async def _client_side(_: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ReauthorizationRequired):
        return envelope(409, "needs_reauth", str(exc), {"resource": exc.resource_id})
    if isinstance(exc, RateBudgetExhausted):
        return envelope(429, "rate_budget_exhausted", str(exc), **{"Retry-After": "10"})
    if isinstance(exc, CircuitOpenError):
        return envelope(503, "ghl_unavailable", str(exc), **{"Retry-After": "30"})
    if isinstance(exc, TransportError):
        return envelope(502, "ghl_unreachable", str(exc))
    return envelope(502, "token_error", str(exc))


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"path": "/".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    return envelope(422, "invalid_request", "the request does not match the API's schema", details)


async def _payload(_: Request, exc: Exception) -> JSONResponse:
    # The queue refuses payloads that are too big or carry secret-looking keys.
    return envelope(422, "invalid_input", f"cannot queue this input: {exc}")


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    return envelope(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(BridgeError, _bridge)
    app.add_exception_handler(GHLAPIError, _ghl)
    app.add_exception_handler(TokenError, _client_side)
    app.add_exception_handler(RateBudgetExhausted, _client_side)
    app.add_exception_handler(CircuitOpenError, _client_side)
    app.add_exception_handler(TransportError, _client_side)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(PayloadRejectedError, _payload)
