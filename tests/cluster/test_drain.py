"""Drain (issue 15 point 6): on SIGTERM a node takes no new calls, lets its live ones finish up to
RESTCOMM_DRAIN_SECONDS, ends the rest cleanly, and exits; its API keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import httpx

from testkit.cluster import sip_options, start_node, wait_status
from tests.cluster.conftest import rtp_ports
from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support.sipp import Sipp


async def node_state(database_url: str, node_id: str) -> str | None:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval("SELECT state FROM nodes WHERE id = $1", node_id)
    finally:
        await connection.close()


async def test_sigterm_drains_then_exits(cluster_db, application, tmp_path):
    rcml = application.on("/rcml", '<Response><Pause length="8"/></Response>')
    status = application.on("/status", "")
    node = await start_node(cluster_db, "127.0.0.2", tmp_path, rtp_ports=rtp_ports(0))
    try:
        assert sip_options(node.sip) == 200
        async with node.api() as api, Sipp("uas_answer.xml", tmp_path, lifetime_s=30) as callee:
            created = await api.post(f"/Accounts/{ADMIN_SID}/Calls.json", data={
                "From": "+15550001", "To": f"sip:alice@{callee.uri_host}", "Url": rcml, "StatusCallback": status})
            assert created.status_code == 200, created.text
            sid = created.json()["sid"]
            await wait_status(api, sid, "in-progress")

            node.signal(signal.SIGTERM)
            async with asyncio.timeout(3):
                while sip_options(node.sip, timeout=0.3) != 503:  # noqa: ASYNC110 - polling the wire
                    await asyncio.sleep(0.05)
            assert await node_state(cluster_db, node.node_id) == "draining"
            # The API still answers; a new call is refused, so that a dispatcher tries another node.
            live = (await api.get(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json")).json()
            assert live["status"] == "in-progress"
            async with Sipp("uac_rejected.xml", tmp_path, target=node.sip, fill={"code": "503"},
                            args=["-s", "alice"]) as caller:
                assert await caller.wait() == 0, caller.explain()

            # The live call runs its document to the end (Pause 8) and hangs up by itself; then the node, with
            # nothing left to drain, exits at once. Its API goes with it, so the call's end is read from the
            # database the cluster shares (any other node's API answers from there), not polled from this
            # node: a poll could come just after the exit.
            assert await node.exited(within=25) == 0, node.log()
            assert await callee.wait() == 0, callee.explain()
        assert await node_state(cluster_db, node.node_id) is None
        status_and_duration = await call_status_and_duration(cluster_db, sid)
        assert status_and_duration[0] == "completed" and status_and_duration[1] >= 7, status_and_duration
        [final] = await application.wait_for("/status")
        assert final.params["CallStatus"] == "completed"
    finally:
        node.stop()


async def test_the_drain_deadline_ends_the_calls_still_up(cluster_db, application, tmp_path):
    rcml = application.on("/rcml", '<Response><Pause length="60"/></Response>')
    status = application.on("/status", "")
    node = await start_node(cluster_db, "127.0.0.2", tmp_path, rtp_ports=rtp_ports(0),
                            extra_env={"RESTCOMM_DRAIN_SECONDS": "1"})
    try:
        async with node.api() as api, Sipp("uas_answer.xml", tmp_path, lifetime_s=30) as callee:
            created = await api.post(f"/Accounts/{ADMIN_SID}/Calls.json", data={
                "From": "+15550001", "To": f"sip:alice@{callee.uri_host}", "Url": rcml, "StatusCallback": status})
            sid = created.json()["sid"]
            await wait_status(api, sid, "in-progress")
            node.signal(signal.SIGTERM)
            assert await node.exited(within=10) == 0, node.log()
            assert await callee.wait() == 0, callee.explain()  # it got its BYE
            assert any(m.startswith("BYE ") for m in callee.received())
        [final] = await application.wait_for("/status")
        assert final.params["CallStatus"] == "completed" and final.params["CallSid"] == sid
    finally:
        node.stop()


async def test_a_call_created_on_a_draining_node_is_placed_by_an_active_one(cluster_db, application, tmp_path):
    """The API keeps working while a node drains: a create sent to it is placed by an active node, and with
    none left it is refused with 503 and Retry-After (nothing created) in either dialect."""
    keep = application.on("/keep", '<Response><Pause length="15"/></Response>')
    short = application.on("/short", '<Response><Pause length="1"/></Response>')
    a = await start_node(cluster_db, "127.0.0.2", tmp_path, rtp_ports=rtp_ports(0))
    try:
        b = await start_node(cluster_db, "127.0.0.3", tmp_path, rtp_ports=rtp_ports(1))
        try:
            async with a.api() as via_a, Sipp("uas_answer.xml", tmp_path, calls=2, lifetime_s=40) as callee:
                kept = await via_a.post(f"/Accounts/{ADMIN_SID}/Calls.json", data={
                    "From": "+15550001", "To": f"sip:alice@{callee.uri_host}", "Url": keep})
                assert kept.status_code == 200, kept.text
                await wait_status(via_a, kept.json()["sid"], "in-progress")
                a.signal(signal.SIGTERM)  # A drains: its live call keeps it up for 15 s
                async with asyncio.timeout(5):
                    while await node_state(cluster_db, a.node_id) != "draining":  # noqa: ASYNC110
                        await asyncio.sleep(0.05)

                created = await via_a.post(f"/Accounts/{ADMIN_SID}/Calls.json", data={
                    "From": "+15550002", "To": f"sip:alice@{callee.uri_host}", "Url": short})
                assert created.status_code == 200, created.text
                sid = created.json()["sid"]
                assert created.json()["status"] in ("queued", "ringing", "in-progress")
                ended = await wait_status(via_a, sid, "completed", within=15)
                assert ended["duration"] >= 1
                assert await owner_of(cluster_db, sid) == b.node_id
                invites = [m for m in callee.received() if m.startswith("INVITE ")]
                # The second INVITE came from B (its Via names B's SIP address).
                assert len(invites) == 2 and f"{b.host}:{b.sip_port}" in invites[1], invites

                b.signal(signal.SIGTERM)  # no live call: B leaves at once, A is the cluster's last node
                assert await b.exited(within=15) == 0, b.log()
                before = await call_count(cluster_db)
                refused = await via_a.post(f"/Accounts/{ADMIN_SID}/Calls.json", data={
                    "From": "+15550003", "To": f"sip:alice@{callee.uri_host}", "Url": short})
                assert refused.status_code == 503, refused.text
                assert refused.headers["Retry-After"] == "5"
                assert refused.json()["code"] == 20503 and "draining" in refused.json()["message"]
                async with httpx.AsyncClient(base_url=a.base_url + "/2010-04-01", auth=(ADMIN_SID, ADMIN_TOKEN),
                                             timeout=10) as twilio:
                    twilio_refused = await twilio.post(f"/Accounts/{ADMIN_SID}/Calls.json", data={
                        "From": "+15550003", "To": f"sip:alice@{callee.uri_host}", "Url": short})
                assert twilio_refused.status_code == 503 and twilio_refused.headers["Retry-After"] == "5"
                assert twilio_refused.json()["code"] == 20503
                assert await call_count(cluster_db) == before
        finally:
            b.stop()
        assert await a.exited(within=30) == 0, a.log()
    finally:
        a.stop()


async def owner_of(database_url: str, sid: str) -> str | None:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval("SELECT owner_node FROM calls WHERE sid = $1", sid)
    finally:
        await connection.close()


async def call_status_and_duration(database_url: str, sid: str) -> tuple[str, int]:
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow("SELECT status, duration FROM calls WHERE sid = $1", sid)
        return row["status"], row["duration"]
    finally:
        await connection.close()


async def call_count(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval("SELECT count(*) FROM calls")
    finally:
        await connection.close()
