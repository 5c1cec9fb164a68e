"""The real server, started as a user would (`restcomm serve`), answering the docs' curl commands."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import sqlite3
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from testkit import processes
from testkit.ports import free_port
from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support import database_urls
from tests.support.processes import RESTCOMM, run_cli, running_server


def curl(*args: str) -> str:
    result = subprocess.run(["curl", "-s", "-S", "--max-time", "10", *args], capture_output=True, text=True,
                            timeout=20, check=True)
    return result.stdout


def with_credentials(base: str, user: str, secret: str) -> str:
    return base.replace("http://", f"http://{user}:{secret}@")


@pytest.fixture(params=["sqlite", "postgres"])
def server_db(request, tmp_path):
    with database_urls.server_database(request.param, str(tmp_path)) as url:
        if url is None:
            pytest.skip(database_urls.skip_reason())
        yield url


def test_docs_curl_examples(server_db):
    # The docs' SIP account is on 127.0.0.1:5060; here a bound socket that never answers stands in for it (a
    # port with nothing bound fails the call at once on the ICMP error, and the call could not be canceled).
    with running_server(server_db) as base, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as alice:
        alice.bind(("127.0.0.1", 0))
        alice_port = alice.getsockname()[1]
        by_email = with_credentials(base, "administrator%40company.com", ADMIN_TOKEN)
        by_sid = with_credentials(base, ADMIN_SID, ADMIN_TOKEN)
        calls = f"/restcomm/2012-04-24/Accounts/{ADMIN_SID}/Calls"

        # "If the system hasn't received any calls, you will see the output below"
        empty = ET.fromstring(curl("-X", "GET", by_email + calls)).find("Calls")
        assert (empty.attrib["page"], empty.attrib["numpages"], empty.attrib["total"]) == ("0", "0", "0")
        assert empty.attrib["nextpageuri"] == "null"

        # "Making a call to a SIP account" (over http: the default install serves plain HTTP)
        created = json.loads(curl("-X", "POST", by_sid + calls + ".json", "-d", "From=+16175551212",
                                  "-d", f"To=sip:alice@127.0.0.1:{alice_port}",
                                  "-d", f"Url={base}/restcomm/demos/hello-play.xml"))
        assert created["status"] == "queued" and created["to"] == "alice" and created["from"] == "+16175551212"
        clients = f"/restcomm/2012-04-24/Accounts/{ADMIN_SID}/Clients.json"
        curl("-X", "POST", by_sid + clients, "-d", "Login=bob", "-d", "Password=1234")
        client_call = json.loads(curl("-X", "POST", by_sid + calls + ".json", "-d", "From=alice",
                                      "-d", "To=client:bob", "-d", f"Url={base}/restcomm/demos/hello-play.xml"))

        # "Filter using the From parameter"
        from_alice = ET.fromstring(curl("-X", "GET", by_email + calls + "?From=alice")).find("Calls")
        assert [c.findtext("Sid") for c in from_alice.findall("Call")] == [client_call["sid"]]
        assert from_alice.find("Call").findtext("From") == "alice"

        # "return a single item from the list of calls using the PageSize parameter"
        one = ET.fromstring(curl("-X", "GET", by_sid + calls + "?PageSize=1")).find("Calls")
        assert (one.attrib["pagesize"], one.attrib["total"], one.attrib["numpages"]) == ("1", "2", "2")
        assert len(one.findall("Call")) == 1
        assert f"AfterSid={client_call['sid']}" in one.attrib["nextpageuri"]
        # ... and follow it as given: it starts at the server's root.
        two = ET.fromstring(curl("-X", "GET", by_sid + one.attrib["nextpageuri"])).find("Calls")
        assert [c.findtext("Sid") for c in two.findall("Call")] == [created["sid"]]

        # "Terminate Ringing call" on the docs' /restcomm/20120424/ spelling and Calls.json/{CallSid} form
        alias = f"/restcomm/20120424/Accounts/{ADMIN_SID}/Calls.json/{created['sid']}"
        ended = json.loads(curl("-X", "POST", by_sid + alias, "-d", "Status=canceled"))
        assert ended["status"] == "canceled"
        again = json.loads(curl("-X", "POST", by_sid + alias, "-d", "Status=completed"))
        assert again["code"] == 21220


def test_accounts_command_and_server_agree(server_db):
    listing = run_cli("accounts", "list", database_url=server_db)
    assert listing.returncode == 0, listing.stderr
    assert ADMIN_SID in listing.stdout and "uninitialized" in listing.stdout

    created = run_cli("accounts", "create", "ops@company.com", "--password", "ops-secret-1",
                      "--friendly-name", "Ops", database_url=server_db)
    assert created.returncode == 0, created.stderr
    ops_sid = created.stdout.split()[1]

    changed = run_cli("accounts", "passwd", "administrator@company.com", "--password", "new-admin-secret",
                      database_url=server_db)
    assert changed.returncode == 0, changed.stderr
    refused = run_cli("accounts", "passwd", ADMIN_SID, "--password", "short", database_url=server_db)
    assert refused.returncode == 1 and "8 to 128" in refused.stderr
    duplicate = run_cli("accounts", "create", "OPS@company.com", "--password", "ops-secret-2", database_url=server_db)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    # Without --password and without a terminal to ask on: one line that says what to do, no traceback.
    for command in (("passwd", ADMIN_SID), ("create", "dev@company.com")):
        no_terminal = run_cli("accounts", *command, database_url=server_db)
        assert no_terminal.returncode == 1, no_terminal.stderr
        assert no_terminal.stderr.strip().splitlines()[-1] == (
            "restcomm: no terminal to ask for the password on: give it with --password")
        assert "Traceback" not in no_terminal.stderr

    with running_server(server_db) as base:
        path = f"/restcomm/2012-04-24/Accounts/{ADMIN_SID}.json"
        old = curl("-o", "/dev/null", "-w", "%{http_code}", with_credentials(base, ADMIN_SID, ADMIN_TOKEN) + path)
        assert old == "401"
        account = json.loads(curl(with_credentials(base, ADMIN_SID, "new-admin-secret") + path))
        assert account["status"] == "active"
        ops = json.loads(curl(with_credentials(base, "ops%40company.com", "ops-secret-1")
                              + f"/restcomm/2012-04-24/Accounts/{ops_sid}.json"))
        assert ops["friendly_name"] == "Ops" and ops["parent_sid"] is None


@pytest.mark.parametrize("failure", ["not a database", "migration fails", "SIP port taken"])
def test_a_server_that_cannot_start_exits_at_once_and_says_why(tmp_path, failure):
    """Nothing opened during a failed start-up (SQLite's thread, the SIP thread) keeps the process alive."""
    database = tmp_path / "restcomm.sqlite3"
    sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sip.bind(("127.0.0.1", 0))
    if failure == "not a database":
        database.write_bytes(b"not a database, " * 1024)
    if failure == "migration fails":  # a table of ours already there, made by something else
        with contextlib.closing(sqlite3.connect(database)) as other:
            other.execute("CREATE TABLE accounts (anything INTEGER)")
            other.commit()
    env = {**os.environ, "RESTCOMM_DATABASE_URL": f"sqlite://{database}", "RESTCOMM_HTTP_PORT": str(free_port()),
           "RESTCOMM_SIP_PORT": str(sip.getsockname()[1] if failure == "SIP port taken" else free_port(
               socket.SOCK_DGRAM))}
    try:
        returncode, output = serve_until_it_exits(env)
    finally:
        sip.close()
    assert returncode not in (0, 124, 137), (returncode, output[-3000:])  # 124, 137: `timeout` ended it
    assert "Application startup failed" in output
    if failure == "not a database":
        assert f"{database} is not an SQLite database" in output


def serve_until_it_exits(env: dict[str, str], backstop_s: float = 300) -> tuple[int, str]:
    """`restcomm serve`'s exit status and output (stdout and stderr), failing the test if it is still alive
    once it has said its start-up failed for as long as it took to get there (10 s at least).

    Not a fixed bound on the whole run: getting there is imports and building the app, 1.6 s of CPU (4 s idle,
    28-42 s at load 16-21), while a process stuck after a failed start-up (a thread left running) never exits,
    at any load. A bound relative to its own pace up to the failure tells the two apart on any machine."""
    started = time.monotonic()
    process = processes.start([RESTCOMM, "serve"], lifetime_s=backstop_s, output=subprocess.PIPE, env=env,
                              text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)  # the end of its output: it has exited (or closed its stdout, and is about to)

    threading.Thread(target=read, daemon=True).start()
    output: list[str] = []
    give_up = started + backstop_s
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.0, give_up - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"restcomm serve still running {time.monotonic() - started:.0f} s after it started, "
                            f"{give_up - started:.0f} s allowed:\n{''.join(output)[-3000:]}")
            if line is None:
                break
            output.append(line)
            if "Application startup failed" in line and give_up == started + backstop_s:
                failed_after = time.monotonic() - started
                give_up = time.monotonic() + max(10.0, failed_after)
        returncode = process.wait(timeout=max(1.0, give_up - time.monotonic()))
    finally:
        processes.stop(process)
    return returncode, "".join(output)
