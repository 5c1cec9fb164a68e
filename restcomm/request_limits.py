"""Per-account REST request concurrency: each request's slots (handlers/request_slots.py) are freed once its
response has been sent, whatever produced it (a handler, an error handler, a client that went away)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from handlers.request_slots import RequestSlots


class RequestLimits:
    def __init__(self, app: ASGIApp, slots: RequestSlots) -> None:
        self.app = app
        self.slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = self.slots.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.end(token)
