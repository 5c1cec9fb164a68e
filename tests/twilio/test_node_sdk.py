"""twilio-node 6 (sdk-tests/package.json, installed by `npm ci`) against this server: sdk-tests/twilio/calls.mjs
creates a call to a sipp UAS, fetches it, lists with paging, redirects it and hangs it up."""

from __future__ import annotations

import asyncio
import json
import os
import shutil

import pytest

from testkit import processes
from tests.conftest import ADMIN_SID, ADMIN_TOKEN, make_call, utc
from tests.live_contract.live import NODE_PROJECT
from tests.support.sipp import Sipp

SCRIPT = NODE_PROJECT / "twilio" / "calls.mjs"
WAIT = '<Response><Pause length="30"/></Response>'


async def test_twilio_node_creates_lists_updates_and_hangs_up(server, application, workdir):
    node = shutil.which("node")
    if node is None or not (NODE_PROJECT / "node_modules" / "twilio").exists():
        pytest.fail("twilio-node is missing: install Node.js >= 20.19, then `npm ci --prefix sdk-tests`",
                    pytrace=False)
    older = [await make_call(date_created=utc(2026, 1, 1, 0, 0, i)) for i in range(3)]
    first, second = application.on("/first", WAIT), application.on("/second", WAIT)
    async with Sipp("uas_answer.xml", workdir) as peer:
        env = {**os.environ, "TWILIO_ACCOUNT_SID": ADMIN_SID, "TWILIO_AUTH_TOKEN": ADMIN_TOKEN,
               "TWILIO_TEST_BASE": server.base_url, "TWILIO_TEST_TO": f"sip:alice@{peer.uri_host}",
               "TWILIO_TEST_URL": first, "TWILIO_TEST_REDIRECT": second}
        process = await asyncio.create_subprocess_exec(
            "timeout", "-k", "2", "40", node, str(SCRIPT), cwd=NODE_PROJECT, env=env, start_new_session=True,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), 45)
        finally:
            await processes.stop_async(process, 2)
        assert process.returncode == 0, output.decode(errors="replace")[-4000:]
        assert await peer.wait() == 0, peer.explain()
    seen = json.loads(output.decode().strip().splitlines()[-1])
    assert seen["createdStatus"] == "queued" and seen["dateCreatedIsDate"] is True
    assert seen["answeredStatus"] == "in-progress" and seen["redirectedStatus"] == "in-progress"
    assert seen["endedStatus"] == "completed" and seen["duration"] is not None
    # Three pages of one: the new call, then the two newest of the older ones.
    assert seen["listed"] == [seen["sid"], older[2].sid, older[1].sid]
    assert seen["notFound"] == {"status": 404, "code": 20404}
    [redirect] = application.requests_to("/second")
    assert redirect.params["CallSid"] == seen["sid"]
