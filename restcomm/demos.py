"""The demo applications at /restcomm/demos/: RCML documents and their audio, served without credentials.

They are what the RestComm docs' examples point calls at (`Url=.../restcomm/demos/hello-play.xml`). Static
files, not API: they are not in openapi.yaml, as the Swagger UI is not.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import Response

DEMOS = Path(__file__).resolve().parent.parent / "rcml" / "demos"
ROUTE = "/restcomm/demos/{path:path}"
_TYPES = {".xml": "application/xml", ".wav": "audio/wav"}


async def serve(request: Request) -> Response:
    relative = request.path_params["path"]
    target = (DEMOS / relative).resolve()
    # Only files inside the demos directory, of the kinds served: no "../" escapes, no listings.
    if not target.is_relative_to(DEMOS) or target.suffix not in _TYPES:
        return Response("Not Found", status_code=404, media_type="text/plain")
    try:
        body = await anyio.Path(target).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(body, media_type=_TYPES[target.suffix])
