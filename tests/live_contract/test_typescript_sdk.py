"""The TypeScript SDK that @hey-api/openapi-ts generates from openapi.yaml, used against `restcomm serve`.

The SDK is generated for every run into sdk-tests/generated/ (gitignored, never edited) from openapi.yaml
as it is; sdk-tests/typescript/scenario.ts is type-checked against it (tsc) and run with node (tsx), with
SIP on and a sipp UAS answering. The scenario is the one the Python SDK runs (sdk_scenario.py).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.support.sipp import Sipp

from .live import ADMIN_SID, ADMIN_TOKEN, NODE_PROJECT, SPEC, require_node_tools, restcomm_serve, run_bounded

GENERATED = NODE_PROJECT / "generated" / "restcomm-sdk"
SCENARIO = NODE_PROJECT / "typescript" / "scenario.ts"


@pytest.fixture(scope="module")
def typescript_sdk() -> dict[str, str]:
    """Generates the SDK and type-checks the scenario against it; the node tools' paths."""
    tools = require_node_tools("openapi-ts", "tsc", "tsx")
    shutil.rmtree(GENERATED, ignore_errors=True)
    started = time.monotonic()
    generated = run_bounded([tools["openapi-ts"], "--input", str(SPEC), "--output", str(GENERATED),
                             "--client", "@hey-api/client-fetch", "--no-log-file"], cwd=NODE_PROJECT, timeout_s=120)
    assert generated.returncode == 0, generated.stdout[-6000:]
    assert (GENERATED / "sdk.gen.ts").exists(), generated.stdout[-6000:]
    generation_s = time.monotonic() - started
    checked = run_bounded([tools["tsc"], "-p", str(NODE_PROJECT / "tsconfig.json")], cwd=NODE_PROJECT, timeout_s=120)
    assert checked.returncode == 0, checked.stdout[-6000:]
    print(f"openapi-ts generated the SDK in {generation_s:.1f} s; tsc checked the scenario against it in "
          f"{time.monotonic() - started - generation_s:.1f} s")
    return tools


async def test_typescript_sdk_against_a_live_server(typescript_sdk: dict[str, str], tmp_path: Path) -> None:
    tools = typescript_sdk
    with restcomm_serve(tmp_path) as server:
        async with Sipp("uas_answer.xml", tmp_path, lifetime_s=60) as uas:
            env = {**os.environ, "RESTCOMM_BASE": server.base, "RESTCOMM_ADMIN_SID": ADMIN_SID,
                   "RESTCOMM_ADMIN_TOKEN": ADMIN_TOKEN, "RESTCOMM_SIP_TARGET": f"sip:uas@{uas.uri_host}"}
            ran = run_bounded([tools["tsx"], str(SCENARIO)], cwd=NODE_PROJECT, env=env, timeout_s=60)
            assert ran.returncode == 0, f"{ran.stdout[-6000:]}\n--- server:\n{server.output()}"
            assert await uas.wait(15) == 0, uas.explain()  # the completed call's BYE reached sipp
