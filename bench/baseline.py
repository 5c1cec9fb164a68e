"""The floor the server is compared with: a bare Starlette route that reads the same call row.

Same database, same ORM and driver as the server (Tortoise ORM over aiosqlite / asyncpg, opened with the
server's own `models.db.open_database`), same uvicorn settings (one worker, uvloop, httptools), same path.
What it leaves out is exactly what the comparison is about: connexion (routing from openapi.yaml,
security, parameter validation), the account/tenancy checks and the field-by-field rendering. It does
not check the Authorization header; it returns the call's columns as JSON with orjson.

Run by bench/api.py as `uvicorn bench.baseline:app` with BENCH_DATABASE_URL set.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from models import Call
from models.db import close_database, open_database

ITEM_PATH = "/restcomm/2012-04-24/Accounts/{account_sid}/Calls/{call_sid}.json"


def _iso(value) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


async def fetch_call(request: Request) -> Response:
    params = request.path_params
    call = await Call.get_or_none(sid=params["call_sid"], account_sid=params["account_sid"])
    if call is None:
        return Response(b'{"message": "not found"}', status_code=404, media_type="application/json")
    body = {
        "sid": call.sid,
        "account_sid": call.account_sid,
        "parent_call_sid": call.parent_call_sid,
        "date_created": _iso(call.date_created),
        "date_updated": _iso(call.date_updated),
        "to": call.to_address,
        "from": call.from_address,
        "status": call.status,
        "start_time": _iso(call.start_time),
        "end_time": _iso(call.end_time),
        "duration": call.duration,
        "price": call.price,
        "price_unit": call.price_unit,
        "direction": call.direction,
    }
    return Response(orjson.dumps(body), media_type="application/json")


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    # The server already migrated this database; the baseline only reads it.
    await open_database(os.environ["BENCH_DATABASE_URL"], apply_migrations=False)
    try:
        yield
    finally:
        await close_database()


app = Starlette(routes=[Route(ITEM_PATH, fetch_call)], lifespan=lifespan)
