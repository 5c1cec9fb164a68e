"""The Python SDK that openapi-python-client generates from openapi.yaml, used against `restcomm serve`.

The SDK is generated for every run into the test's temporary directory (never committed, never edited),
from openapi.yaml as it is, then imported and driven through the scenario of sdk_scenario.py, with SIP on
and a sipp UAS answering. RestComm's range filters (`StartTime>=`) are form-exploded objects in the spec
(`start_time_on_or_after=HandlersCallsListJsonStartTimeOnOrAfter(start_time=...)`, the class named after
the operation): their keys differ from `StartTime` only by `>`/`<`, which generators drop from identifiers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.processes import VENV_BIN
from tests.support.sipp import Sipp

from .live import ADMIN_SID, ADMIN_TOKEN, SPEC, restcomm_serve, run_bounded
from .sdk_scenario import CLIENT_PASSWORD, FROM, OTHER_FROM, demo_url, page_query

PACKAGE = "restcomm_python_sdk"
GENERATOR = VENV_BIN / "openapi-python-client"


@pytest.fixture(scope="module")
def sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported from a temporary directory (and forgotten afterwards)."""
    workdir = tmp_path_factory.mktemp("python-sdk")
    config = workdir / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run over the generated code: it is not ours
    started = time.monotonic()
    generated = run_bounded([str(GENERATOR), "generate", "--path", str(SPEC), "--output-path",
                             str(workdir / PACKAGE), "--meta", "none", "--config", str(config)], timeout_s=120)
    assert generated.returncode == 0, generated.stdout[-6000:]
    # Every operation is generated; the only warnings are about the XML twins' and the WAV's bodies,
    # which the generator does not decode (their operations still exist and return the raw response).
    assert "will not be generated" not in generated.stdout, generated.stdout[-6000:]
    print(f"openapi-python-client generated the SDK in {time.monotonic() - started:.1f} s")
    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(workdir))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


async def test_python_sdk_against_a_live_server(sdk: ModuleType, tmp_path: Path) -> None:
    api = importlib.import_module(f"{PACKAGE}.api")
    accounts = importlib.import_module(f"{PACKAGE}.api.accounts")
    clients = importlib.import_module(f"{PACKAGE}.api.clients")
    calls = importlib.import_module(f"{PACKAGE}.api.calls")
    models = importlib.import_module(f"{PACKAGE}.models")
    assert api is not None
    create_account = importlib.import_module(f"{accounts.__name__}.handlers_accounts_create_json")
    create_client = importlib.import_module(f"{clients.__name__}.handlers_clients_create_json")
    create_call = importlib.import_module(f"{calls.__name__}.handlers_calls_create_json")
    list_calls = importlib.import_module(f"{calls.__name__}.handlers_calls_list_json")
    fetch_call = importlib.import_module(f"{calls.__name__}.handlers_calls_fetch_json")
    modify_call = importlib.import_module(f"{calls.__name__}.handlers_calls_modify_json")

    with restcomm_serve(tmp_path) as server:
        async with Sipp("uas_answer.xml", tmp_path, lifetime_s=60) as uas:
            admin = sdk.Client(base_url=server.api, httpx_args={"auth": (ADMIN_SID, ADMIN_TOKEN)}, timeout=10)
            async with admin:
                created = await create_account.asyncio_detailed(client=admin, body=models.CreateAccountRequest(
                    email_address="sdk-python@example.com", password="sdk-python-secret-1", friendly_name="SDK"))
                assert created.status_code == 201, created.content
                account = created.parsed
                assert isinstance(account, models.Account), created.content
                assert account.parent_sid == ADMIN_SID and account.auth_token

            # Everything else as the sub-account, with the credentials the SDK got back.
            sub = sdk.Client(base_url=server.api, httpx_args={"auth": (account.sid, account.auth_token)}, timeout=10)
            async with sub:
                made = await create_client.asyncio_detailed(account.sid, client=sub, body=models.CreateClientRequest(
                    login="sdk-python-alice", password=CLIENT_PASSWORD))
                assert made.status_code == 201, made.content
                client = made.parsed
                assert isinstance(client, models.Client) and client.account_sid == account.sid

                async def call(from_: str, to: str) -> Any:
                    body = models.CreateCallRequest(from_=from_, to=to, url=demo_url(server.base))
                    response = await create_call.asyncio_detailed(account.sid, client=sub, body=body)
                    assert response.status_code == 200, response.content
                    assert isinstance(response.parsed, models.Call), response.content
                    assert response.parsed.status == models.CallStatus.QUEUED
                    return response.parsed

                first = await call(FROM, f"client:{client.login}")
                await call(OTHER_FROM, f"client:{client.login}")
                answered = await call(FROM, f"sip:uas@{uas.uri_host}")

                # Calls from FROM, one a page, newest first; the second page is the one next_page_uri names.
                listed = await list_calls.asyncio_detailed(account.sid, client=sub, from_=FROM, page_size=1)
                assert listed.status_code == 200, listed.content
                page = listed.parsed
                assert isinstance(page, models.CallList), listed.content
                assert (page.total, page.num_pages, [c.sid for c in page.calls]) == (2, 2, [answered.sid])
                assert page.next_page_uri is not None
                query = page_query(page.next_page_uri)
                assert query["AfterSid"] == answered.sid and query["From"] == FROM
                listed = await list_calls.asyncio_detailed(
                    account.sid, client=sub, from_=query["From"], page=int(query["Page"]),
                    page_size=int(query["PageSize"]), after_sid=query["AfterSid"])
                assert listed.status_code == 200, listed.content
                page = listed.parsed
                assert isinstance(page, models.CallList), listed.content
                assert [c.sid for c in page.calls] == [first.sid] and page.next_page_uri is None

                # The range filters, sent as RestComm's `StartTime>=`/`StartTime<=` keys.
                today = dt.datetime.now(dt.UTC).date()
                yesterday, tomorrow = str(today - dt.timedelta(days=1)), str(today + dt.timedelta(days=1))
                on_or_after = models.HandlersCallsListJsonStartTimeOnOrAfter
                on_or_before = models.HandlersCallsListJsonStartTimeOnOrBefore
                ranged = await list_calls.asyncio_detailed(
                    account.sid, client=sub, from_=FROM, start_time_on_or_after=on_or_after(start_time=yesterday),
                    start_time_on_or_before=on_or_before(start_time=tomorrow))
                assert ranged.status_code == 200 and ranged.parsed.total == 2, ranged.content
                ranged = await list_calls.asyncio_detailed(
                    account.sid, client=sub, from_=FROM, start_time_on_or_before=on_or_before(start_time=yesterday))
                assert ranged.status_code == 200 and ranged.parsed.total == 0, ranged.content

                # The answered call, once sipp has answered it, then completed.
                live = models.CallStatus.IN_PROGRESS
                status = await wait_for_status(fetch_call, sub, account.sid, answered.sid, live)
                assert status.to == "uas" and status.from_ == FROM and status.direction.value == "outbound-api"
                hung_up = await modify_call.asyncio_detailed(
                    account.sid, answered.sid, client=sub,
                    body=models.ModifyCallRequest(status=models.ModifyCallRequestStatus.COMPLETED))
                assert hung_up.status_code == 200, hung_up.content
                assert isinstance(hung_up.parsed, models.Call), hung_up.content
                assert hung_up.parsed.status == models.CallStatus.COMPLETED, hung_up.content
                assert await uas.wait(15) == 0, uas.explain()  # sipp got its BYE and answered it
                ended = await fetch_call.asyncio_detailed(account.sid, answered.sid, client=sub)
                assert ended.parsed.status == models.CallStatus.COMPLETED and ended.parsed.end_time is not None


async def wait_for_status(fetch_call: ModuleType, client: Any, account_sid: str, call_sid: str, wanted: Any,
                          deadline_s: float = 15) -> Any:
    """GET the call until it has `wanted` status; the last call seen otherwise (the assertion shows it)."""
    deadline = time.monotonic() + deadline_s
    while True:
        response = await fetch_call.asyncio_detailed(account_sid, call_sid, client=client)
        assert response.status_code == 200, response.content
        if response.parsed.status == wanted or time.monotonic() > deadline:
            assert response.parsed.status == wanted, response.content
            return response.parsed
        await asyncio.sleep(0.05)
