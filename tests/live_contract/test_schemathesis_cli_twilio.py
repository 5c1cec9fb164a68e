"""The schemathesis CLI over twilio.yaml (the Twilio dialect), all four phases, against `restcomm serve`.

As test_schemathesis_cli.py does for openapi.yaml, with its hooks (schemathesis_hooks.py) and the same seeded
room, but a smaller budget (schemathesis-twilio.toml): the in-process run of contract-tests/ is the thorough
one, this one checks the same contract over a real socket and uvicorn. SIP is off: calls stay queued.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.support.processes import VENV_BIN

from .live import restcomm_serve, run_bounded
from .test_schemathesis_cli import HOOKS, PHASES, cases_per_phase, seed_a_conference

CONFIG = Path(__file__).resolve().parent / "schemathesis-twilio.toml"
TWILIO_PREFIX = "/2010-04-01"


def test_schemathesis_cli_over_twilio_yaml(tmp_path: Path) -> None:
    report_dir = tmp_path / "schemathesis-report"
    tally = tmp_path / "hooks-tally.json"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "RESTCOMM_HOOKS_TALLY": str(tally),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with restcomm_serve(tmp_path, sip=False, lifetime_s=300) as server:
        seed_a_conference(server, tmp_path / "restcomm.sqlite3")
        api = server.base + TWILIO_PREFIX
        started = time.monotonic()
        ran = run_bounded(
            [str(VENV_BIN / "schemathesis"), "--config-file", str(CONFIG), "--no-color",
             "run", f"{api}/openapi.json", "--url", api, "--phases", ",".join(PHASES),
             "--report", "ndjson", "--report-dir", str(report_dir)],
            cwd=tmp_path, env=env, timeout_s=240)
        elapsed = time.monotonic() - started
        server_log = server.output(20000)
    counts = cases_per_phase(report_dir)
    hooks = json.loads(tally.read_text()) if tally.exists() else {}
    print(f"schemathesis CLI over twilio.yaml: {elapsed:.1f} s; test cases per phase: "
          + ", ".join(f"{phase} {counts[phase]}" for phase in PHASES) + f"; hooks: {hooks}")
    assert f"Configuration:    {CONFIG}" in ran.stdout, ran.stdout[:3000]
    assert ran.returncode == 0, f"{ran.stdout[-20000:]}\n--- server:\n{server_log[-8000:]}"
    assert all(counts[phase] > 0 for phase in PHASES), (counts, ran.stdout[-3000:])
