"""A call created through the API of a draining node is placed by an active node.

A draining node (SIGTERM, restcomm/serve.py) keeps its API and its live calls, but a call it placed now would
be cut at the drain deadline. So a create (POST .../Accounts/{Sid}/Calls, either dialect) reaching it is
passed, as it came (the tenant's own credentials in it, which that node checks), to an active node of the
cluster, and the answer is that node's: the same status, body and headers as if it had been sent there.
Passing the request whole, rather than the engine's CallRequest, keeps one code path for both dialects and
every create parameter, and the 4xx of a bad request is the active node's own.

With no active node left (or no RESTCOMM_CLUSTER_SECRET to reach one, or a request another node relayed
here while this one started draining) the answer is 503 with Retry-After, in the dialect's error format:
nothing was created, and the client sends it again, to a node the load balancer now prefers.

What it costs: one more HTTP hop for the creates of a draining node only; the active node sees the draining
node's address as the client's (its login-guess throttle counts that address).
"""

from __future__ import annotations

import random
import re

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calls.cluster.forward import RELAYED_HEADER, OwnerUnreachable
from handlers import context, errors
from models import clock
from models import node as nodes

# POST Calls, JSON or XML, both dialects (and the docs' /restcomm/20120424 spelling, rewritten further in).
CREATE_CALL = re.compile(r"^(/restcomm/2012-?04-?24|/2010-04-01)/Accounts/[^/]+/Calls(\.json|\.xml)?/?$")
RETRY_AFTER_S = 5
# Headers that belong to one hop, not to the request or answer passed on.
_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "date", "server"}


class DrainRelay:
    def __init__(self, app: ASGIApp, handler_context: context.HandlerContext) -> None:
        self.app = app
        self.handler_context = handler_context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        engine = self.handler_context.engine
        if (scope["type"] != "http" or scope["method"] != "POST" or not engine.draining
                or not CREATE_CALL.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
                   if name.decode("latin-1").lower() not in _HOP}
        body = await _body(receive)
        path = scope["path"] + (f"?{scope['query_string'].decode('latin-1')}" if scope["query_string"] else "")
        answer = await self._relayed(path, headers, body)
        if answer is None:
            error = errors.ApiError(503, errors.Code.SERVICE_UNAVAILABLE,
                                    f"This node ({engine.node}) is draining and no active node of the cluster "
                                    "can place the call; nothing was created, try again",
                                    {"Retry-After": str(RETRY_AFTER_S)})
            refusal = errors.error_response(scope["path"], error)
            await Response(refusal.body, status_code=refusal.status_code, headers=dict(refusal.headers))(
                scope, receive, send)
            return
        status, answer_headers, answer_body = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [(name.lower().encode("latin-1"), value.encode("latin-1"))
                                for name, value in answer_headers.items() if name.lower() not in _HOP]
                    + [(b"content-length", str(len(answer_body)).encode())]})
        await send({"type": "http.response.body", "body": answer_body})

    async def _relayed(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes] | None:
        engine = self.handler_context.engine
        if engine.forwarder is None or any(name.lower() == RELAYED_HEADER.lower() for name in headers):
            return None
        candidates = [node for node in await nodes.active_nodes(clock.now())
                      if node.id != engine.node and node.http_address]
        random.shuffle(candidates)  # spread a draining node's creates over the others
        for node in candidates:
            try:
                return await engine.forwarder.relay(node.http_address, path, headers, body)
            except OwnerUnreachable:
                continue  # its lease is current but it does not answer: the next one
        return None


async def _body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message: Message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)
