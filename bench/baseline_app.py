"""The floors for webhook ingest, each an endpoint that reads the body and answers 200:

- ``app``: a bare ASGI callable, the issue's "bare ASGI endpoint that only returns 200" and the
  physical limit the ingest ratio is measured against (~30,000/s here under uvicorn);
- ``starlette_app``: the same through Starlette's request and response objects (~22,000/s),
  for context: what the smallest framework endpoint costs.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

_ANSWER = b'{"status":"accepted"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_ANSWER))]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":  # lifespan: nothing to start
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
            await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:  # the body, read to its end like any receiver must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _ANSWER})


async def hook(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"status": "accepted"})


starlette_app = Starlette(routes=[Route("/webhooks/ghl", hook, methods=["POST"])])
