"""Every curl command of README.md, run as written against a real server (`restcomm serve`).

The commands are taken from the README's `sh` blocks, so an example that drifts from the server fails here.
Only the address changes (the test's server listens on a port of its own, not 8080) and the placeholders the
README names are filled in (CALL_SID, CONFERENCE_SID, SUB_ACCOUNT_SID: things made for the test). A command
passes when curl succeeds and the server accepts it: 2xx, or 409 for a change to the test's call, which has
ended (it went to a SIP address nobody answers). Every `nextpageuri` a command prints is followed as given.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import subprocess
from pathlib import Path

import httpx

from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support.processes import running_server

README = Path(__file__).resolve().parent.parent / "README.md"
DOCS_ADDRESS = "127.0.0.1:8080"
ROOM_SID = "CF" + "ab" * 16


def readme_curl_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip().startswith("curl ")]


def run(command: str) -> tuple[int, str]:
    """The command as written, through the shell, with curl told to print the status after the body.

    A pipeline (`curl ... | grep ...`) runs as it is: it passes when it succeeds and prints something.
    """
    piped = "|" in command
    if not piped:
        command = command.replace("curl ", "curl -s -S --max-time 10 -w '\\n%{http_code}' ", 1)
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 0, f"{command}\n{result.stderr}"
    if piped:
        assert result.stdout.strip(), command
        return 200, result.stdout
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


def test_the_readme_has_the_commands_this_test_runs():
    commands = readme_curl_commands()
    assert len(commands) >= 15
    assert any("PageSize=1" in c for c in commands)


def placeholders(base: str, database: Path) -> dict[str, str]:
    """The README's placeholders, each naming a thing made for the test the way the README makes it."""
    auth = (ADMIN_SID, ADMIN_TOKEN)
    api = f"{base}/restcomm/2012-04-24/Accounts"
    sub = httpx.post(f"{api}.json", data={"EmailAddress": "readme@company.com", "Password": "readme-secret"},
                     auth=auth, timeout=10)
    assert sub.status_code == 201, sub.text
    call = httpx.post(f"{api}/{ADMIN_SID}/Calls.json", auth=auth, timeout=10, data={
        "From": "+16175551212", "To": "sip:alice@127.0.0.1:5060", "Url": f"{base}/restcomm/demos/hello-play.xml"})
    assert call.status_code == 200, call.text
    now = "2026-01-01 00:00:00+00:00"
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.execute("INSERT INTO conferences (sid, account_sid, friendly_name, status, date_created, date_updated)"
                   " VALUES (?, ?, 'demo', 'in-progress', ?, ?)", (ROOM_SID, ADMIN_SID, now, now))
        db.commit()
    return {"SUB_ACCOUNT_SID": sub.json()["sid"], "CALL_SID": call.json()["sid"], "CONFERENCE_SID": ROOM_SID}


def test_every_readme_curl_command_runs_as_written(tmp_path):
    database = tmp_path / "restcomm.sqlite3"
    with running_server(f"sqlite://{database}") as base:
        address = base.removeprefix("http://")
        filled = placeholders(base, database)
        followed = 0
        for written in readme_curl_commands():
            command = written.replace(DOCS_ADDRESS, address)
            for name, value in filled.items():
                command = command.replace(name, value)
            leftover = re.findall(r"\b[A-Z][A-Z]+_SID\b", command)
            assert not leftover, f"{written}: fill {leftover} in tests/test_readme_commands.py"
            status, body = run(command)
            allowed = {200, 201, 204}
            if filled["CALL_SID"] in command:
                allowed |= {409}  # the test's call went to a SIP address nobody answers: it has ended
                if "/Participants.json/" in command:
                    allowed |= {404}  # and was never in the test's room
            assert status in allowed, f"{written}\n-> {status} {body[:300]}"
            # Follow a list's next page as the README says: as given, from the server's root.
            found = re.search(r'nextpageuri="([^"]+)"', body)
            if found and found.group(1) != "null":
                next_uri = found.group(1).replace("&amp;", "&")
                credentials = re.search(r"http://([^@]+)@", command).group(1)
                status, _ = run(f"curl 'http://{credentials}@{address}{next_uri}'")
                assert status == 200, next_uri
                followed += 1
        assert followed, "no command printed a nextpageuri to follow"
