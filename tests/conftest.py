"""Shared fixtures: the app over SQLite and over the PostgreSQL at 127.0.0.1:5432, and an API client.

Every test that takes `api` (or `database`) runs twice, once per database. The PostgreSQL run uses a
database of its own, created for the session and dropped after it. When PostgreSQL is unreachable its
runs are skipped with the reason in the output; they are never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from models import Account, Call, CallStatus, Direction, Notification, Recording, clock, sids
from models.db import close_database, open_database
from models.node import Node
from restcomm.app import create_app
from restcomm.seed import DEFAULT_ACCOUNT_SID, seed_default_account
from restcomm.settings import Settings
from tests.support import database_urls

ADMIN_SID = DEFAULT_ACCOUNT_SID
ADMIN_TOKEN = "77f8c12cc7b8f8423e5c38b035249166"
ADMIN_EMAIL = "administrator@company.com"
BASE = "/restcomm/2012-04-24"


@pytest_asyncio.fixture(scope="session", params=["sqlite", "postgres"])
async def database(request) -> AsyncIterator[str]:
    """Opens one database for the session: `sqlite` (a temporary file) or `postgres` (a throwaway database)."""
    async with database_urls.session_database(request.param) as url:
        if url is None:
            pytest.skip(database_urls.skip_reason())
        await open_database(url)
        try:
            yield request.param
        finally:
            await close_database()


@pytest.fixture(scope="session")
def app():
    return create_app(Settings(database_url="unused", validate_responses=True, sip_port=0), manage_database=False)


@pytest_asyncio.fixture
async def clean_db(database: str, app) -> str:
    """Empty tables, the default account seeded, nothing cached from an earlier test."""
    await empty_tables()
    app.context.accounts.clear()
    app.context.guesses.clear()
    return database


async def empty_tables(keep_node: str | None = None) -> None:
    """Every table emptied and the default account seeded, in one transaction; `keep_node`: the id of a node
    whose row (a running server's lease) stays.

    One script of DELETEs, one round trip and one commit, before every test: a statement each, every one its
    own commit, took 2.5-3.0 ms of the test process's CPU and 26-34 ms on PostgreSQL, the script 1.2 ms and
    14-17 ms (SQLite: 2.9-3.7 ms and 12-27 ms, then 2.3-2.5 ms and 10-16 ms). The order of the models is the
    one the foreign keys accept.
    """
    statements = []
    for model in Tortoise.apps["models"].values():
        where = ""
        if model is Node and keep_node is not None:
            where = " WHERE \"id\" <> '{}'".format(keep_node.replace("'", "''"))
        statements.append(f'DELETE FROM "{model._meta.db_table}"{where};')
    async with in_transaction("default") as connection:
        await connection.execute_script("".join(statements))
        await seed_default_account()


@dataclass
class Api:
    """An HTTP client for the app, authenticated as the default administrator unless told otherwise."""

    client: httpx.AsyncClient
    auth: tuple[str, str] = (ADMIN_SID, ADMIN_TOKEN)

    async def request(self, method: str, path: str, *, auth: Any = "default", **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("/restcomm") else BASE + path
        return await self.client.request(method, url, auth=self.auth if auth == "default" else auth, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, data: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, data=data, **kwargs)


@pytest_asyncio.fixture
async def api(app, clean_db) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client)


async def make_account(email: str, parent: Account | None = None, password: str = "secret-password", **kwargs):
    from models.account import create_account

    if parent is None:
        parent = await Account.get(sid=ADMIN_SID)
    account = await create_account(email_address=email, password=password, parent=parent)
    if kwargs:
        await Account.filter(sid=account.sid).update(**kwargs)
        await account.refresh_from_db()
    return account


async def make_call(account_sid: str = ADMIN_SID, **overrides: Any) -> Call:
    """A call row as the engine would have written it; fields not given get plain defaults."""
    now = clock.now()
    values: dict[str, Any] = {
        "sid": sids.new_sid(sids.CALL),
        "account_sid": account_sid,
        "date_created": now,
        "date_updated": now,
        "to_address": "+15551230000",
        "from_address": "+15559870000",
        "destination": "+15551230000",
        "status": CallStatus.COMPLETED.value,
        "start_time": now,
        "direction": Direction.OUTBOUND_API.value,
        "url": "http://127.0.0.1:8080/restcomm/demos/hello-play.xml",
    }
    values.update(overrides)
    return await Call.create(**values)


async def make_recording(call: Call, **overrides: Any) -> Recording:
    now = clock.now()
    values = {"sid": sids.new_sid(sids.RECORDING), "account_sid": call.account_sid, "call_sid": call.sid,
              "date_created": now, "date_updated": now, "duration": 3.25, "file_name": "x.wav"}
    values.update(overrides)
    return await Recording.create(**values)


async def make_notification(call: Call, **overrides: Any) -> Notification:
    now = clock.now()
    values = {"sid": sids.new_sid(sids.NOTIFICATION), "account_sid": call.account_sid, "call_sid": call.sid,
              "date_created": now, "date_updated": now, "error_code": 11200, "message_text": "HTTP retrieval failure",
              "message_date": now, "request_url": "http://example.invalid/app", "request_method": "POST"}
    values.update(overrides)
    return await Notification.create(**values)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


@pytest.fixture(scope="session", autouse=True)
def _quiet_connexion_validation_logs():
    # connexion logs every rejected request at ERROR; the tests send thousands on purpose.
    import logging

    logging.getLogger("connexion.validators").setLevel(logging.CRITICAL)
    os.environ.setdefault("RESTCOMM_LOG_LEVEL", "warning")


# What starts real SIP peers (sipp, baresip, Kamailio), server processes or browsers. A test module that
# imports one of these, or a test that takes one of PEER_FIXTURES, is marked `peers`, so `make test-fast`
# (`-m "not peers"`) leaves it out of the inner loop; a module can also say `pytestmark = pytest.mark.peers`.
# The engine's own rules are tested without peers in tests/engine/.
PEER_STARTERS = frozenset({
    "tests.support.sipp.Sipp", "testkit.sipp.Sipp", "tests.support.baresip.Baresip", "testkit.kamailio.Kamailio",
    "testkit.kamailio.running_kamailio", "testkit.cluster.start_node",
    "tests.support.processes.running_server", "tests.live_contract.live.restcomm_serve",
    "tests.live_contract.live.run_bounded",
})
# A whole server with its SIP stack on a UDP port (tests/calls/conftest.py); cluster nodes (tests/cluster/conftest.py).
PEER_FIXTURES = frozenset({"voice", "start_nodes"})


def _starts_peers(module: object) -> bool:
    return any(f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}" in PEER_STARTERS
               for value in vars(module).values())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    verdicts: dict[str, bool] = {}
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and module.__name__ not in verdicts:
            verdicts[module.__name__] = _starts_peers(module)
        if (module is not None and verdicts[module.__name__]) or PEER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.peers)
