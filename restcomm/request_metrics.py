"""Every HTTP request counted by operation and status, timed, and given a request id for its log lines."""

from __future__ import annotations

import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry import log_context
from telemetry.metrics import METRICS

# Requests no operation of openapi.yaml answered: /metrics, /health, the demos, the UI, and 404s.
NO_OPERATION = "none"


class RequestMetrics:
    """Outermost middleware: it sees the answer whatever produced it (a handler, an error handler, a 404).

    The operation is connexion's operationId, which its router writes into `scope["extensions"]` on the way
    in; the spec bounds that set, so it is a label Prometheus can keep.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The router fills this dict in; later middlewares copy the scope but share the dict.
        extensions = scope.setdefault("extensions", {})
        log_context.request_id.set(secrets.token_hex(8))
        status = 500
        started = time.perf_counter()

        async def send_and_see(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_see)
        finally:
            operation = (extensions.get("connexion_routing") or {}).get("operation_id") or NO_OPERATION
            METRICS.http_requests.labels(operation, str(status)).inc()
            METRICS.http_latency.labels(operation).observe(time.perf_counter() - started)
