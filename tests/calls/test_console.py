"""The console in a browser (headless Debian Chromium, sdk-tests/console.mjs): log in, see a live call appear
without reloading, open it, hang it up, see it end. Everything it shows comes from the public API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from pathlib import Path

import pytest

from models import Call
from testkit.processes import stop_async
from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support.sipp import Sipp

REPO = Path(__file__).resolve().parents[2]
NODE_PROJECT = REPO / "sdk-tests"
CHROMIUM = "/usr/bin/chromium"
# The README's picture of the console, remade by this test (copied over when RESTCOMM_UPDATE_SCREENSHOT=1).
README_SCREENSHOT = REPO / "docs" / "console.png"


ROOM = '<Response><Dial><Conference beep="false">console</Conference></Dial></Response>'


async def check_the_room(server, seen: dict, members: set[str]) -> None:
    """What the rooms page's buttons did, read back through the API: one participant muted, the other gone."""
    assert {seen["muted"], seen["removed"]} == members and seen["roomRowsAfter"] == 1, seen
    assert seen["muteButtonAfter"] == "Unmute"
    [room] = (await server.get(f"/Accounts/{ADMIN_SID}/Conferences.json?Status=in-progress")).json()["conferences"]
    listed = await server.get(f"/Accounts/{ADMIN_SID}/Conferences/{room['sid']}/Participants.json")
    assert [(p["call_sid"], p["muted"]) for p in listed.json()["participants"]] == [(seen["muted"], True)]
    await server.wait_status(seen["removed"], "completed")  # its Dial ended and so did its document
    await server.post(f"/Accounts/{ADMIN_SID}/Calls/{seen['muted']}.json", {"Status": "completed"})
    await server.wait_status(seen["muted"], "completed")


def _require_browser() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_PROJECT / "node_modules" / "playwright-core").exists():
        pytest.fail("node and playwright-core are needed: install Node.js >= 20.19, then `npm ci --prefix sdk-tests`"
                    " (.ci/run does both)", pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)", pytrace=False)
    return node


async def test_watch_a_live_call_open_it_and_hang_it_up(server, application, workdir):
    node = _require_browser()
    rcml = application.on("/rcml", '<Response><Pause length="60"/></Response>')
    screenshot = workdir / "console.png"
    browser = await asyncio.create_subprocess_exec(
        node, str(NODE_PROJECT / "console.mjs"), server.base_url + "/restcomm/console/", str(screenshot),
        cwd=NODE_PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "CHROMIUM": CHROMIUM, "API_USER": "administrator@company.com", "API_PASSWORD": ADMIN_TOKEN},
        start_new_session=True)
    lines: list[str] = []
    try:
        async with asyncio.timeout(150):
            while (line := (await browser.stdout.readline()).decode()) and line.strip() != "READY":
                lines.append(line)
            assert line.strip() == "READY", "".join(lines)
            async with Sipp("uas_answer.xml", workdir, lifetime_s=80) as peer:
                call = await server.place(f"sip:alice@{peer.uri_host}", rcml)
                while (line := (await browser.stdout.readline()).decode()) and line.strip() != "ROOMS":
                    lines.append(line)
                assert line.strip() == "ROOMS", "".join(lines)
                assert await peer.wait() == 0, peer.explain()
            # Two real participants in a room, for the rooms page's Mute and Remove buttons.
            async with Sipp("uas_answer.xml", workdir, lifetime_s=80) as one, \
                    Sipp("uas_answer.xml", workdir, lifetime_s=80) as two:
                room = application.on("/room", ROOM)
                members = {(await server.place(f"sip:{name}@{sipp.uri_host}", room))["sid"]
                           for name, sipp in (("one", one), ("two", two))}
                output = (await browser.stdout.read()).decode()
                assert await browser.wait() == 0, "".join(lines) + output
                seen = json.loads(output.strip().splitlines()[-1])
                await check_the_room(server, seen, members)
                assert await one.wait() == 0, one.explain()
                assert await two.wait() == 0, two.explain()
    finally:
        with contextlib.suppress(ProcessLookupError):
            await stop_async(browser, 5)
    # The one error in the browser's console is the refused wrong password, on purpose.
    assert seen["blocked"] == [] and seen["consoleErrors"] == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"], seen
    assert seen["loginError"].startswith("Log in failed"), seen
    assert seen["before"] == 0 and seen["seen"] == call["sid"] and seen["reloads"] == 1
    assert (seen["liveStatus"], seen["ended"]) == ("in-progress", "completed")
    assert seen["hangupButtons"] == 0  # an ended call has nothing left to hang up
    assert (seen["logStatus"], seen["busyRows"], seen["completedRows"]) == ("completed", 0, 1)
    assert seen["otherPages"] == "ok"
    assert any("rcml: POST " + rcml in item and "200" in item for item in seen["timeline"]), seen["timeline"]
    stored = await Call.get(sid=call["sid"])
    assert stored.status == "completed"
    assert any(item.endswith(f"ended: completed after {stored.duration} s") for item in seen["timeline"]), seen
    # The call's SIP messages, interleaved with its webhooks and status changes, in the order they happened.
    lines = seen["timelineLines"]
    sip = [line for line, kind in zip(lines, seen["timelineKinds"], strict=True) if kind == "sip"]
    assert [line.split(" (")[0] for line in sip] == [
        "SIP → INVITE to " + peer.uri_host, "SIP ← 180 Ringing", "SIP ← 200 OK", "SIP → ACK to " + peer.uri_host,
        "SIP → BYE to " + peer.uri_host, "SIP ← 200 OK"], sip
    order = [next(i for i, line in enumerate(lines) if line.startswith(start)) for start in (
        "status: queued", "SIP → INVITE", "SIP ← 180 Ringing", "status: ringing", "SIP ← 200 OK (INVITE)",
        "status: in-progress", "rcml: POST")]
    assert order == sorted(order), lines
    # The end is the call's end_time, written as the hang-up starts: the BYE goes out in the same moments.
    ended = next(i for i, line in enumerate(lines) if line.startswith("ended: completed"))
    assert min(lines.index(sip[-2]), ended) > order[-1], lines
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("RESTCOMM_UPDATE_SCREENSHOT") == "1":
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, README_SCREENSHOT)
