"""The schemathesis CLI, all four phases (examples, coverage, fuzzing, stateful), against `restcomm serve`.

The same contract as the in-process run of contract-tests/, but over a real socket, a real uvicorn and an
SQLite file, with one database for the whole run (no reset between operations). Settings: schemathesis.toml
beside this file (credentials, the AccountSid pin, the budget); hooks: schemathesis_hooks.py through
SCHEMATHESIS_HOOKS (the XML deserializer, among others). SIP is off: a generated `To` must not ring
anything, and calls stay queued. Zero failures expected, with no baseline of accepted ones; the test cases
run per phase and the time are printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

from tests.support.processes import VENV_BIN

from .live import ADMIN_SID, ADMIN_TOKEN, Server, restcomm_serve, run_bounded

PHASES = ("examples", "coverage", "fuzzing", "stateful")
HOOKS = Path(__file__).resolve().parent / "schemathesis_hooks.py"
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"


def cases_per_phase(report_dir: Path) -> Counter[str]:
    """Test cases schemathesis ran, per phase, from its NDJSON event stream."""
    counts: Counter[str] = Counter()
    for report in report_dir.glob("*.ndjson"):
        for line in report.read_text().splitlines():
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if finished is not None:
                counts[finished["phase"]] += len(finished["recorder"].get("cases") or {})
    return counts


def seed_a_conference(server: Server, database: Path) -> None:
    """A room of the default account with one participant, written into the server's SQLite file.

    The API cannot create conferences (RCML does, over SIP, which is off): without one, the spec's links
    from the conference and participant lists never reach their item routes (as in contract-tests/harness.py).
    The participant is a call made through the API; the room is not live, so muting or removing answers 409.
    """
    auth = (ADMIN_SID, ADMIN_TOKEN)
    calls = f"{server.api}/Accounts/{ADMIN_SID}/Calls.json"
    call = httpx.post(calls, auth=auth, timeout=10,
                      data={"From": "+15550001", "To": "+15550002", "Url": "/restcomm/demos/conference.xml"})
    assert call.status_code == 200, call.text
    conference_sid = "CF" + uuid.uuid4().hex
    now = "2013-11-01 09:41:14.488000+00:00"  # as Tortoise writes a DatetimeField into SQLite
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db, db:
        db.execute("INSERT INTO conferences (sid, account_sid, friendly_name, status, date_created, date_updated, "
                   "owner_node) VALUES (?, ?, 'standup', 'in-progress', ?, ?, 'elsewhere')",
                   (conference_sid, ADMIN_SID, now, now))
        db.execute("INSERT INTO participants (sid, conference_sid, account_sid, muted, start_conference_on_enter, "
                   "end_conference_on_exit, date_created, date_updated) VALUES (?, ?, ?, 0, 1, 0, ?, ?)",
                   (call.json()["sid"], conference_sid, ADMIN_SID, now, now))
    listed = httpx.get(f"{server.api}/Accounts/{ADMIN_SID}/Conferences/{conference_sid}/Participants.json",
                       auth=auth, timeout=10)
    assert listed.status_code == 200 and listed.json()["total"] == 1, listed.text


def test_schemathesis_cli_against_restcomm_serve(tmp_path: Path) -> None:
    report_dir = tmp_path / "schemathesis-report"
    tally = tmp_path / "hooks-tally.json"
    # PYTHONPATH: the hooks import tests.support, and a `tests` package of some dependency sits in site-packages.
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "RESTCOMM_HOOKS_TALLY": str(tally),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with restcomm_serve(tmp_path, sip=False, lifetime_s=600) as server:
        seed_a_conference(server, tmp_path / "restcomm.sqlite3")
        started = time.monotonic()
        ran = run_bounded(
            [str(VENV_BIN / "schemathesis"), "--config-file", str(CONFIG), "--no-color",
             "run", f"{server.api}/openapi.json", "--url", server.api, "--phases", ",".join(PHASES),
             "--report", "ndjson", "--report-dir", str(report_dir)],
            cwd=tmp_path, env=env, timeout_s=540)
        elapsed = time.monotonic() - started
        server_log = server.output(20000)
    counts = cases_per_phase(report_dir)
    hooks = json.loads(tally.read_text()) if tally.exists() else {}
    print(f"schemathesis CLI: {elapsed:.1f} s; test cases per phase: "
          + ", ".join(f"{phase} {counts[phase]}" for phase in PHASES)
          + f"; hooks: {hooks}")
    assert f"Configuration:    {CONFIG}" in ran.stdout, ran.stdout[:3000]
    assert ran.returncode == 0, f"{ran.stdout[-20000:]}\n--- server:\n{server_log[-8000:]}"
    assert all(counts[phase] > 0 for phase in PHASES), (counts, ran.stdout[-3000:])
    assert hooks.get("xml bodies parsed", 0) > 100, f"the XML deserializer did not run: {hooks}"
