"""The floor for webhook ingest: a bare Starlette endpoint that reads the body and answers 200."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hook(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"status": "accepted"})


app = Starlette(routes=[Route("/webhooks/ghl", hook, methods=["POST"])])
