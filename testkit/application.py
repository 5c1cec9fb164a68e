"""A stand-in for the customer's application: serves RCML documents and records every request it gets.

Runs with uvicorn on a free loopback port inside the event loop of the test or benchmark that starts it, and is
stopped by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    params: dict[str, str]
    at: float
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    # The full URL as requested, query included: what a signature check needs with the headers.
    url: str = ""


# What the application answers on a path: a fixed body (RCML text, or the bytes of a WAV file), or a
# function of the request returning (body, status) or a whole Response (to set headers), or a coroutine function
# doing so (to answer slowly).
Body = str | bytes
Answer = tuple[Body, int] | Response
Handler = Callable[[Received], Answer | Awaitable[Answer]]


@dataclass
class Application:
    base_url: str = ""
    routes: dict[str, Body | Handler] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return self.base_url + path

    def on(self, path: str, answer: Body | Handler) -> str:
        self.routes[path] = answer
        return self.url(path)

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int = 1, seconds: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + seconds
        while len(self.requests_to(path)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.requests_to(path))} of {count} requests to {path} arrived")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)
        return self.requests_to(path)

    async def _handle(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        received = Received(request.method, request.url.path, params, time.monotonic(), dict(request.headers),
                            str(request.url))
        self.received.append(received)
        self._arrived.set()
        answer = self.routes.get(request.url.path)
        if answer is None:
            return Response("not found", status_code=404)
        if isinstance(answer, str | bytes):
            body, status = answer, 200
        else:
            result = answer(received)
            result = await result if inspect.isawaitable(result) else result
            if isinstance(result, Response):
                return result
            body, status = result
        media_type = "audio/wav" if request.url.path.endswith(".wav") else "application/xml"
        return Response(body, status_code=status, media_type=media_type)


@contextlib.asynccontextmanager
async def running_application() -> AsyncIterator[Application]:
    app = Application()
    starlette = Starlette(routes=[Route("/{path:path}", app._handle, methods=["GET", "POST"])])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(starlette, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn.Server has a flag, no event, for "listening"
        await asyncio.sleep(0.01)
    app.base_url = f"http://127.0.0.1:{port}"
    try:
        yield app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
