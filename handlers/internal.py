"""The route other nodes of the cluster send work to: a change to a live call this node runs.

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

from calls.cluster.forward import APPLIED, NOT_HERE, NOT_LIVE, SECRET_HEADER, change_from_json
from calls.types import CallNotLive
from handlers import context

ROUTE = "/internal/cluster/calls/{sid}/change"


async def change_call(request: Request) -> JSONResponse:
    engine = context.current().engine
    forwarder = engine.forwarder
    if forwarder is None:
        return JSONResponse({"message": "Not Found"}, status_code=404)
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not hmac.compare_digest(given, forwarder.secret.encode()):
        return JSONResponse({"message": "This route is for the nodes of the cluster"}, status_code=403)
    try:
        change = change_from_json(json.loads(await request.body()))
    except ValueError as exc:  # json's errors are ValueErrors too
        return JSONResponse({"message": f"Not a change: {exc}"}, status_code=400)
    try:
        changed = await engine.modify_here(request.path_params["sid"], change)
    except CallNotLive as exc:
        return JSONResponse({"outcome": NOT_LIVE, "message": exc.message}, status_code=409)
    if not changed:
        return JSONResponse({"outcome": NOT_HERE}, status_code=404)
    return JSONResponse({"outcome": APPLIED})
