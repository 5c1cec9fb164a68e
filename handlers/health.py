"""GET /health (the process answers) and GET /ready (it can serve calls: database, SIP, not draining).

Outside the tenant API, without credentials, as load balancers and orchestrators probe them. The body says
which check failed, so whoever sees a 503 knows where to look.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import Response

from handlers import context
from models import db

# A database that takes longer than this to answer SELECT 1 is as good as gone for a call.
DATABASE_TIMEOUT_S = 2.0


def _json(body: dict, status: int) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


async def health(_request: Request) -> Response:
    return _json({"status": "up"}, 200)


async def ready(_request: Request) -> Response:
    current = context.current()
    checks = {"database": await _database(), "sip": _sip(current), "draining": current.draining()}
    ok = checks["database"] == "ok" and checks["sip"] in ("ok", "off") and not checks["draining"]
    return _json({"status": "ready" if ok else "unavailable", "checks": checks}, 200 if ok else 503)


async def _database() -> str:
    try:
        await asyncio.wait_for(db.ping(), DATABASE_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {DATABASE_TIMEOUT_S:g} s"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _sip(current: context.HandlerContext) -> str:
    stack = current.engine.stack
    if stack is None:
        return "off"  # RESTCOMM_SIP_PORT=0: the API is all this server serves
    return "ok" if stack.running else "not bound"
