"""Every error leaves the API as ``{"error": {"code", "message", "details"}}``, status to match.

The codes come from ``ghl_bridge.failures``, the one mapping REST, the queue and the CLI share.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ghl_bridge.client.errors import GHLError
from ghl_bridge.errors import BridgeError
from ghl_bridge.failures import describe
from ghl_bridge.jobs.port import PayloadRejectedError


class ErrorDetail(BaseModel):
    code: str = Field(
        description="stable and machine-readable, e.g. not_found, reauthorization_required"
    )
    message: str = Field(description="for people; wording may change")
    details: Any = Field(
        description="structured context (field errors, GHL's status and ids); may be null"
    )


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


_WHEN = {
    400: "The request body could not be parsed, or GHL refused the request as malformed.",
    401: "No API key, or not a valid one.",
    403: "The API key lacks the scope this route needs, or may not use this location.",
    404: "No such resource (another tenant's looks the same), or GHL has no such record.",
    409: "The location is not connected, needs re-authorization, or belongs to another tenant.",
    413: "The request body is over 1 MiB.",
    422: "The request does not match this schema, or its input fails validation.",
    429: "Rate limited, by our budget for GHL or by GHL itself; see Retry-After.",
    502: "GHL failed, refused our token, or could not be reached.",
    503: "GHL is unavailable (circuit open), or this feature is not configured.",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring these statuses, each with the error envelope."""
    return {status: {"model": ErrorResponse, "description": _WHEN[status]} for status in statuses}


# What every route behind a tenant API key can answer (app.py declares it on those routers).
AUTHENTICATED = responses(401, 403, 413, 422)
# What a route that calls GHL for the caller can answer besides: GHL's answers, as mapped below.
CALLS_GHL = responses(400, 404, 409, 422, 429, 502, 503)


def envelope(
    status: int, code: str, message: str, details: Any = None, **headers: str
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers or None)


async def _failure(_: Request, exc: Exception) -> JSONResponse:
    """Ours and the client's errors, through the one mapping to stable codes."""
    failure = describe(exc)
    if failure is None:  # a GHLError no mapping knows: say so rather than guess a cause
        return envelope(502, "ghl_error", str(exc))
    return envelope(
        failure.status, failure.code, failure.message, failure.details, **failure.headers
    )


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"path": "/".join(str(p) for p in err.get("loc", ())), "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    return envelope(422, "validation_error", "the request does not match the API's schema", details)


async def _payload(_: Request, exc: Exception) -> JSONResponse:
    # The queue refuses payloads that are too big or carry secret-looking keys.
    return envelope(422, "validation_error", f"cannot queue this input: {exc}")


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {
        400: "malformed_request",  # e.g. a body that is not UTF-8
        401: "unauthorized",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
    }
    return envelope(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(BridgeError, _failure)
    app.add_exception_handler(GHLError, _failure)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(PayloadRejectedError, _payload)
