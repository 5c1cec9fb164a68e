"""GET /metrics: Prometheus' text format, outside the tenant API.

No account credentials: a scraper is not a tenant. When RESTCOMM_METRICS_TOKEN is set the scraper sends it
as a bearer token (Prometheus' `authorization` setting); otherwise keep the port where only the scraper can
reach it (RESTCOMM_HTTP_HOST).
"""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from handlers import context
from telemetry.metrics import REGISTRY


async def serve(request: Request) -> Response:
    current = context.current()
    if current.metrics_token and not _authorized(request, current.metrics_token):
        return Response("A bearer token is required\n", status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    await current.live.refresh(current.engine)
    body = generate_latest(REGISTRY) + generate_latest(current.live.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
