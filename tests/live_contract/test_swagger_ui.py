"""The interactive docs: the Swagger UI that `restcomm serve` serves at /restcomm/2012-04-24/ui/, as a browser
renders it (headless Debian Chromium driven by playwright-core, sdk-tests/swagger-ui.mjs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from restcomm.spec import Spec

from .live import ADMIN_SID, ADMIN_TOKEN, NODE_PROJECT, SPEC, require_node_tools, restcomm_serve, run_bounded

CHROMIUM = "/usr/bin/chromium"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# What a new user tries first: lists, whose only required parameter (AccountSid) the form pre-fills with the
# default account's SID.
FIRST_TRIES = ("handlers.calls.list_json", "handlers.calls.list_xml", "handlers.accounts.list_json",
               "handlers.recordings.list_json", "handlers.notifications.list_json")


def documented(tag: str) -> list[dict[str, str]]:
    """The operations of `tag` in openapi.yaml, in its order, as Swagger UI shows them."""
    spec = Spec.load(SPEC).document
    return [{"method": method.upper(), "path": path, "summary": operation["summary"]}
            for path, item in spec["paths"].items() for method, operation in item.items()
            if method in HTTP_METHODS and tag in operation.get("tags", [])]


def test_swagger_ui_renders_the_calls_operations(tmp_path: Path) -> None:
    tools = require_node_tools()
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)", pytrace=False)
    node_modules = NODE_PROJECT / "node_modules" / "playwright-core"
    assert node_modules.exists(), "playwright-core is missing: npm ci --prefix sdk-tests (.ci/run does)"
    screenshot = tmp_path / "swagger-ui.png"
    with restcomm_serve(tmp_path, sip=False) as server:
        # The docs load without credentials; the API they describe still asks for them.
        assert httpx.get(server.api + "/ui/", timeout=10).status_code == 200
        assert httpx.get(server.api + "/openapi.json", timeout=10).status_code == 200
        unauthenticated = httpx.get(f"{server.api}/Accounts/{ADMIN_SID}/Calls.json", timeout=10)
        assert unauthenticated.status_code == 401, unauthenticated.text
        assert unauthenticated.headers["WWW-Authenticate"] == 'Basic realm="Restcomm realm"'
        ran = run_bounded([tools["node"], str(NODE_PROJECT / "swagger-ui.mjs"), server.api + "/ui/", str(screenshot)],
                          cwd=NODE_PROJECT, env={**os.environ, "CHROMIUM": CHROMIUM, "API_USER": ADMIN_SID,
                                                 "API_PASSWORD": ADMIN_TOKEN, "TRY_OPERATIONS": ",".join(FIRST_TRIES)},
                          timeout_s=120)
    assert ran.returncode == 0, ran.stdout[-6000:]
    rendered = json.loads(ran.stdout.strip().splitlines()[-1])

    assert rendered["title"].startswith("RestComm Calls API"), rendered["title"]
    assert rendered["blocked"] == [], "the docs asked for something beyond this machine"
    assert rendered["consoleErrors"] == []
    tags = {section["name"]: section["operations"] for section in rendered["tags"]}
    assert list(tags) == [tag["name"] for tag in Spec.load(SPEC).document["tags"]]
    assert "Calls" in tags
    assert tags["Calls"] == documented("Calls")
    summaries = [operation["summary"] for operation in tags["Calls"]]
    assert "Make a call (JSON)" in summaries and "Make a call (XML)" in summaries
    assert screenshot.stat().st_size > 10_000
    # "Try it out" then "Execute" on a list works at the first click: no optional filter is pre-filled with an
    # example value (an example AfterSid answered 404, an example date an empty list).
    assert rendered["tried"] == {operation: "200" for operation in FIRST_TRIES}
