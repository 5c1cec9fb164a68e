"""The routes other nodes of the cluster send work to: a change to a live call, or to a participant of a room,
that this node runs.

Not part of the API (not in openapi.yaml): only nodes call it, with the cluster secret in
`X-RestComm-Cluster-Secret`, compared in constant time. Without a configured secret the route does not exist
(404); a wrong or missing secret is 403, and HTTP Basic credentials, a tenant's or the administrator's, are
never looked at. The change is made only if this node runs the call: a forwarded change is never forwarded on.
"""

from __future__ import annotations

import hmac
import json

from starlette.requests import Request
from starlette.responses import JSONResponse

from calls.cluster.forward import APPLIED, NOT_HERE, NOT_LIVE, SECRET_HEADER, call_to_json, change_from_json
from calls.types import CallNotLive, RoomNotLive
from handlers import context

ROUTE = "/internal/cluster/calls/{sid}/change"
PARTICIPANT_ROUTE = "/internal/cluster/conferences/{sid}/participants/{call_sid}/change"


def _refused(request: Request) -> JSONResponse | None:
    """404 when this node has no cluster secret, 403 when the request does not carry it; None: a node's."""
    forwarder = context.current().engine.forwarder
    if forwarder is None:
        return JSONResponse({"message": "Not Found"}, status_code=404)
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not hmac.compare_digest(given, forwarder.secret.encode()):
        return JSONResponse({"message": "This route is for the nodes of the cluster"}, status_code=403)
    return None


async def change_call(request: Request) -> JSONResponse:
    if (refusal := _refused(request)) is not None:
        return refusal
    engine = context.current().engine
    try:
        change = change_from_json(json.loads(await request.body()))
    except ValueError as exc:  # json's errors are ValueErrors too
        return JSONResponse({"message": f"Not a change: {exc}"}, status_code=400)
    try:
        changed = await engine.modify_here(request.path_params["sid"], change)
    except CallNotLive as exc:
        return JSONResponse({"outcome": NOT_LIVE, "message": exc.message}, status_code=409)
    if changed is None:
        return JSONResponse({"outcome": NOT_HERE}, status_code=404)
    return JSONResponse({"outcome": APPLIED, "call": call_to_json(changed)})


async def change_participant(request: Request) -> JSONResponse:
    """`{"mute": bool}` or `{"remove": true}` for a participant of a room this node runs."""
    if (refusal := _refused(request)) is not None:
        return refusal
    try:
        body = json.loads(await request.body())
        if body == {"remove": True}:
            mute, remove = None, True
        elif isinstance(body, dict) and set(body) == {"mute"} and isinstance(body["mute"], bool):
            mute, remove = body["mute"], False
        else:
            raise ValueError('give {"mute": true|false} or {"remove": true}')
    except ValueError as exc:
        return JSONResponse({"message": f"Not a participant change: {exc}"}, status_code=400)
    params = request.path_params
    try:
        changed = await context.current().engine.change_participant_here(params["sid"], params["call_sid"],
                                                                          mute=mute, remove=remove)
    except RoomNotLive as exc:
        return JSONResponse({"outcome": NOT_LIVE, "message": exc.message}, status_code=409)
    if not changed:
        return JSONResponse({"outcome": NOT_HERE}, status_code=404)
    return JSONResponse({"outcome": APPLIED})
