"""The console at /restcomm/console/: static pages (restcomm/console/) that watch and debug calls through the
public API only, as any client would, with the credentials the user types in. No build step: the browser
runs the files as they are. Like the Swagger UI, they are not API and not in openapi.yaml.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

CONSOLE = Path(__file__).resolve().parent / "console"
ROUTE = "/restcomm/console/{path:path}"
BARE = "/restcomm/console"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}
# Only this server's own files and API: no inline script, no other origin, never inside another site's frame.
_HEADERS = {"Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


async def serve(request: Request) -> Response:
    relative = request.path_params["path"] or "index.html"
    target = (CONSOLE / relative).resolve()
    if not target.is_relative_to(CONSOLE) or target.suffix not in _TYPES:
        return Response("Not Found", status_code=404, media_type="text/plain")
    try:
        body = await anyio.Path(target).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return Response("Not Found", status_code=404, media_type="text/plain")
    return Response(body, headers={**_HEADERS, "Content-Type": _TYPES[target.suffix]})


async def redirect(_request: Request) -> Response:
    return RedirectResponse(BARE + "/", status_code=308)
