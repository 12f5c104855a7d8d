"""GHL's error bodies, byte-for-byte where research/ghl-wire-facts.md §3 records them.

GHL's API is NestJS behind Express: `HttpException` bodies are `{statusCode, message, error?}`,
validation failures are 422 with `message` as an array, and every body carries a `traceId`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse

__all__ = [
    "ApiError",
    "GhlJSONResponse",
    "bad_request",
    "forbidden",
    "not_found_route",
    "oauth_error",
    "too_many_requests",
    "unauthorized",
    "unprocessable",
]


class GhlJSONResponse(JSONResponse):
    """Compact JSON with the exact content type GHL (Express) sends."""

    media_type = "application/json; charset=utf-8"


class ApiError(Exception):
    """An HTTP error the simulator answers with; the gate adds `traceId` and rate-limit headers."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {body.get('message') or body.get('error')}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self, trace_id: str) -> GhlJSONResponse:
        return GhlJSONResponse(
            with_trace(self.body, trace_id), status_code=self.status, headers=self.headers
        )


def with_trace(body: dict[str, Any], trace_id: str) -> dict[str, Any]:
    return body if "traceId" in body else {**body, "traceId": trace_id}


def bad_request(message: str) -> ApiError:
    # Field order as received from GHL (GH#289): message, error, statusCode, traceId.
    return ApiError(400, {"message": message, "error": "Bad Request", "statusCode": 400})


def unauthorized(message: str) -> ApiError:
    return ApiError(401, {"statusCode": 401, "message": message})


def forbidden(message: str) -> ApiError:
    return ApiError(403, {"statusCode": 403, "message": message})


def unprocessable(messages: list[str]) -> ApiError:
    return ApiError(
        422, {"statusCode": 422, "message": list(messages), "error": "Unprocessable Entity"}
    )


def not_found_route(method: str, path: str) -> ApiError:
    return ApiError(
        404, {"statusCode": 404, "message": f"Cannot {method} {path}", "error": "Not Found"}
    )


def too_many_requests(headers: dict[str, str]) -> ApiError:
    # No real 429 body has been captured; this is NestJS's ThrottlerException shape.
    return ApiError(429, {"statusCode": 429, "message": "Too Many Requests"}, headers)


def status_error(status: int) -> ApiError:
    """A bare error for an injected status fault, in NestJS's default wording."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return ApiError(status, {"statusCode": status, "message": phrase})


def oauth_error(status: int, error: str, description: str) -> ApiError:
    """RFC 6749 token-endpoint errors (`invalid_grant`, ...), which GHL's /oauth/token uses."""
    return ApiError(
        status, {"error": error, "error_description": description, "statusCode": status}
    )
