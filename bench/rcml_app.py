"""The customer's application in the call benchmark: answers every request with `<Response><Hangup/></Response>`.

A bare ASGI callable (no framework, no routing, no form parsing) served by uvicorn with uvloop and
httptools, in its own process, so that fetching the RCML costs the server under test only its own side
of the request. bench/calls.py measures it alone with wrk, to show it is far from being the bottleneck.

    python -m uvicorn bench.rcml_app:app --port PORT --loop uvloop --http httptools --lifespan off
"""

from __future__ import annotations

from typing import Any

HANGUP = b"<Response><Hangup/></Response>"
_HEADERS = [(b"content-type", b"application/xml"), (b"content-length", str(len(HANGUP)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    # Read the request body (the call's parameters) to its end, as a real application would.
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": HANGUP})
