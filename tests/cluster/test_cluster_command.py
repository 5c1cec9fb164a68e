"""`restcomm cluster` (issue 15 point 5): the one command that starts a local cluster, run as README says."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess

import asyncpg
import httpx
import pytest

from testkit import processes
from testkit.cluster import free_port_on
from testkit.kamailio import KAMAILIO
from testkit.ports import udp_port_bound
from tests.cluster.conftest import rtp_ports
from tests.conftest import ADMIN_SID, ADMIN_TOKEN, BASE
from tests.support.processes import RESTCOMM
from tests.support.sipp import Sipp

# A machine without Kamailio skips these with the reason (CI installs it: .ci/run).
pytestmark = pytest.mark.skipif(shutil.which(KAMAILIO) is None,
                                reason="kamailio is not installed: apt-get install -y kamailio")


def port_free_on_both(kind: int) -> int:
    for _ in range(50):
        port = free_port_on("127.0.0.2", kind)
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind(("127.0.0.3", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free on both 127.0.0.2 and 127.0.0.3")


async def until_two_nodes(database: asyncpg.Connection) -> list[asyncpg.Record]:
    while True:
        try:
            nodes = await database.fetch("SELECT id, sip_address, state FROM nodes ORDER BY id")
        except asyncpg.UndefinedTableError:  # the first node is still migrating
            nodes = []
        if len(nodes) == 2:
            return nodes
        await asyncio.sleep(0.2)


async def until_answering(api: httpx.AsyncClient, url: str) -> None:
    while True:
        try:
            await api.get(url)
            return
        except httpx.TransportError:
            await asyncio.sleep(0.2)


async def test_restcomm_cluster_starts_two_nodes_behind_kamailio_and_drains_them(cluster_db, application, tmp_path):
    http_port, sip_port = port_free_on_both(socket.SOCK_STREAM), port_free_on_both(socket.SOCK_DGRAM)
    proxy_port = free_port_on("127.0.0.1", socket.SOCK_DGRAM)
    env = {**os.environ, "RESTCOMM_DATABASE_URL": cluster_db, "RESTCOMM_HTTP_PORT": str(http_port),
           "RESTCOMM_SIP_PORT": str(sip_port), "RESTCOMM_RTP_PORTS": rtp_ports(0),
           "RESTCOMM_RECORDINGS_DIR": str(tmp_path / "recordings")}
    with (tmp_path / "cluster.log").open("wb") as log:
        command = subprocess.Popen(  # noqa: ASYNC220 - spawning takes a millisecond
            ["timeout", "-k", "5", "120", RESTCOMM, "cluster", "--nodes", "2", "--proxy-port", str(proxy_port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        database = await asyncpg.connect(cluster_db)
        try:
            async with asyncio.timeout(60):
                nodes = await until_two_nodes(database)
                while not udp_port_bound(proxy_port):  # noqa: ASYNC110 - another process's port
                    await asyncio.sleep(0.2)
            assert [(n["id"], n["sip_address"], n["state"]) for n in nodes] == [
                ("node-1", f"127.0.0.2:{sip_port}", "active"), ("node-2", f"127.0.0.3:{sip_port}", "active")]
            voice = application.on("/voice", '<Response><Pause length="1"/></Response>')
            async with httpx.AsyncClient(auth=(ADMIN_SID, ADMIN_TOKEN), timeout=10) as api:
                # A node writes its lease before its HTTP side listens.
                async with asyncio.timeout(30):
                    await until_answering(api, f"http://127.0.0.3:{http_port}{BASE}/Accounts.json")
                number = await api.post(f"http://127.0.0.3:{http_port}{BASE}/Accounts/{ADMIN_SID}/"
                                        "IncomingPhoneNumbers.json",
                                        data={"PhoneNumber": "+15551234567", "VoiceUrl": voice})
                assert number.status_code == 201, number.text
            await asyncio.sleep(2.5)  # the dispatcher's first probes
            async with Sipp("uac_proxied.xml", tmp_path, target=("127.0.0.1", proxy_port), calls=2,
                            args=["-s", "15551234567"], lifetime_s=30) as callers:
                assert await callers.wait(25) == 0, callers.explain()
            owners = await database.fetch("SELECT owner_node FROM calls WHERE status = 'completed' ORDER BY 1")
            assert [o["owner_node"] for o in owners] == ["node-1", "node-2"]
        finally:
            await database.close()
        # `timeout` passes the SIGTERM on to the command, which drains the nodes and stops Kamailio.
        os.kill(command.pid, signal.SIGTERM)
        assert await asyncio.to_thread(command.wait, 40) == 0, (tmp_path / "cluster.log").read_text()[-4000:]
    finally:
        processes.stop(command)
