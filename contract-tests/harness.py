"""What the contract tests run against: the app, the database it opens, and the schemathesis schema.

schemathesis calls the app in process, on an event loop of its own in another thread, and runs an ASGI
lifespan there around every test (its pytest plugin stops it after each one). The app's own lifespan
opens the database, which must happen on that loop too (asyncpg connections belong to the loop that made
them): `ContractApp` starts the app of `create_app` there, over the database the running test chose.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import asyncpg
import schemathesis
from connexion import AsyncApp
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.schemas import OpenApiSchema
from starlette.types import Message, Receive, Scope, Send
from tortoise import Tortoise
from tortoise import context as tortoise_context
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from models import Call, CallStatus, Client, Direction, clock, sids
from models.account import auth_token_for
from models.conference import Conference, ConferenceStatus, Participant
from restcomm.app import create_app
from restcomm.seed import DEFAULT_ACCOUNT_SID, DEFAULT_PASSWORD, seed_default_account
from restcomm.settings import Settings
from testkit import postgres
from tests.support.exploded import has_stray_keys

T = TypeVar("T")

BASE = "/restcomm/2012-04-24"
ADMIN_SID = DEFAULT_ACCOUNT_SID
# The seeded account's auth token: the MD5 hex of its published password (77f8c12cc7b8f8423e5c38b035249166).
ADMIN_TOKEN = auth_token_for(DEFAULT_PASSWORD)
DATABASES = ("sqlite", "postgres")
POSTGRES_ADMIN_URL = os.environ.get("RESTCOMM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")

# Budget: the whole run (48 operations, both databases) within about 2 minutes on 2 cores. The coverage
# phase already sends its own deterministic cases whatever max_examples is (boundaries, examples, missing
# and extra fields, wrong types, other methods: 15 to 220 per operation, ~0.4 s), so the random fuzzing
# phase is kept small (~0.035 s a case). Hypothesis replays earlier failures from .hypothesis/ first.
FUZZING_MAX_EXAMPLES = 10
STATEFUL_MAX_EXAMPLES = 100  # scenarios, over 4 starting points (POST Accounts, Calls, Clients, numbers)
STATEFUL_MAX_STEPS = 10


# --- XML bodies -----------------------------------------------------------------------------------------


@schemathesis.deserializer("application/xml")
def restcomm_xml(_ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> str:
    """Parse an XML body, so that a malformed one fails `response_schema_conformance`.

    schemathesis has no XML deserializer: without one, every XML body (half of the API) goes unchecked.
    The spec declares every XML body `type: string` (XmlDocument), so the document's text is returned.
    """
    root = ET.fromstring(response.content)  # ParseError on malformed XML
    if root.tag != "RestcommResponse":
        raise ValueError(f"the root element is <{root.tag}>, not <RestcommResponse>")
    return response.content.decode("utf-8")


# --- the app and its database ------------------------------------------------------------------------------


class ContractApp:
    """The app of `create_app`, run over the database chosen by `use_database`, emptied for every test.

    The app is built once per database and its lifespan (which opens the database) runs until the
    database is changed. The lifespan schemathesis starts for every test only empties the database and
    seeds the default account again: tests do not depend on each other's data, and Hypothesis sees a
    test behave the same when it replays it. (An app is not meant to start twice, its lifespan closes
    its HTTP client; building one for every test would cost 0.4 s each.)
    """

    def __init__(self) -> None:
        self.database_url: str | None = None
        # Serves the spec at import time, before a test chose a database; its lifespan never runs.
        self.app: AsyncApp = self._build("sqlite://:memory:")
        self._running: _Lifespan | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @staticmethod
    def _build(database_url: str) -> AsyncApp:
        # sip_port=0: the HTTP contract only, without a SIP stack on a UDP port (calls then stay queued).
        return create_app(Settings(database_url=database_url, validate_responses=True, sip_port=0,
                                   # schemathesis probes every operation with wrong credentials and expects 401
                                   # each time; the throttle has its own tests (tests/test_guessing.py).
                                   login_guess_limit=0))

    @contextlib.contextmanager
    def use_database(self, url: str) -> Iterator[None]:
        """Serve from the database at `url` until the block ends."""
        schemathesis_asgi.shutdown_lifespans()  # the one started when the spec was fetched
        self.database_url = url
        self.app = self._build(url)
        with _foreign_tortoise_context_parked():
            try:
                # Start the app now, so that a database that cannot be opened fails the fixture, not a test.
                with schemathesis_asgi.get_client(self):
                    pass
                yield
            finally:
                schemathesis_asgi.shutdown_lifespans()
                if self._running is not None and self._loop is not None:
                    # Close the database: the next kind needs the one global Tortoise context.
                    asyncio.run_coroutine_threadsafe(_isolated(self._running.shutdown()), self._loop).result()
                self._running = None
                self.database_url = None

    def ensure_client(self, account_sid: str, login: str) -> str:
        """The login of a client of the account: `login` (created if need be), or another if `login` is taken
        by another account's client. From the test's thread (see before_call)."""
        self._start_the_tests_lifespan()
        assert self._loop is not None, "the app has not started"
        return asyncio.run_coroutine_threadsafe(_isolated(_ensure_client(account_sid, login)), self._loop).result()

    def reset(self) -> None:
        """Empty the database and seed the default account, from the test's thread."""
        self._start_the_tests_lifespan()
        assert self._loop is not None, "the app has not started"
        asyncio.run_coroutine_threadsafe(_isolated(self._reset()), self._loop).result()

    def _start_the_tests_lifespan(self) -> None:
        """Run the lifespan schemathesis runs around this test now, if no request has started it yet.

        schemathesis starts it at the test's first request (and ends it after the test), and it empties the
        database: whatever was made for the test before that request would be gone when the request came.
        """
        with schemathesis_asgi.get_client(self):
            pass

    async def _reset(self) -> None:
        # One transaction, so one commit: each statement on its own was a commit (a WAL flush on PostgreSQL).
        async with in_transaction("default"):
            await _empty_database()
            await seed_default_account()
            await _seed_a_conference()
        self.app.context.accounts.clear()  # type: ignore[attr-defined]  # accounts cached before the reset

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _isolated(self._test_lifespan(receive, send))
        else:
            await _isolated(self.app(scope, receive, send))

    async def _test_lifespan(self, receive: Receive, send: Send) -> None:
        """The lifespan schemathesis runs around each test: start the app once, then empty its database."""
        await receive()  # lifespan.startup
        if self.database_url is not None:
            try:
                if self._running is None:
                    self._loop = asyncio.get_running_loop()
                    # Tortoise caches each model's SQL by connection name, across databases: SQL built for a
                    # PostgreSQL database opened earlier in the process would be sent to SQLite, and back.
                    EXECUTOR_CACHE.clear()
                    running = _Lifespan(self.app)
                    await running.startup()
                    self._running = running
                await self._reset()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown: the app keeps running until the database changes
        await send({"type": "lifespan.shutdown.complete"})


class _Lifespan:
    """Drives an ASGI app's lifespan by hand, so that it can outlive the lifespans schemathesis runs."""

    def __init__(self, app: AsyncApp) -> None:
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = asyncio.create_task(app(scope, self._to_app.get, self._from_app.put))

    async def startup(self) -> None:
        await self._exchange("startup")

    async def shutdown(self) -> None:
        await self._exchange("shutdown")
        await self._task

    async def _exchange(self, event: str) -> None:
        await self._to_app.put({"type": f"lifespan.{event}"})
        reply = asyncio.ensure_future(self._from_app.get())
        await asyncio.wait({reply, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():
            reply.cancel()
            self._task.result()  # the app's own exception, if it failed
            raise RuntimeError(f"the app ended its lifespan without answering lifespan.{event}")
        message = reply.result()
        if message["type"] != f"lifespan.{event}.complete":
            raise RuntimeError(message.get("message") or f"lifespan.{event} failed")


async def _isolated(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` in an empty contextvars context, as a server's tasks are.

    schemathesis' event loop (and run_coroutine_threadsafe) hands each call the context of the thread that
    made it, and in a full pytest run that context carries the Tortoise context of tests/ (pytest-asyncio
    passes fixture contextvars on): requests would use the database of tests/, and Tortoise.init in the
    app's lifespan would re-initialise that context instead of creating its own.
    """
    return await asyncio.create_task(coroutine, context=contextvars.Context())


async def _ensure_client(account_sid: str, login: str) -> str:
    existing = await Client.get_or_none(login=login)
    if existing is not None and existing.account_sid != account_sid:
        login = f"contract-{uuid.uuid4().hex[:12]}"
        existing = None
    if existing is None:
        now = clock.now()
        client = Client(sid=sids.new_sid(sids.CLIENT), account_sid=account_sid, login=login, friendly_name=login,
                        date_created=now, date_updated=now)
        client.set_password("contract-test")
        await client.save(force_create=True)
    return login


async def _seed_a_conference() -> None:
    """A room of the default account with one participant, as `<Dial><Conference>` leaves them in the database.

    The API cannot create conferences (only RCML does, over SIP, which is off here): without one, the links
    from the conference and participant lists would never lead to their item routes. The room is not live
    on this node, so muting or removing its participant answers the documented 409.
    """
    now = clock.now()
    call = await Call.create(sid=sids.new_sid(sids.CALL), account_sid=ADMIN_SID, date_created=now, date_updated=now,
                             to_address="standup", from_address="+15550001", destination="client:standup",
                             status=CallStatus.IN_PROGRESS.value, start_time=now,
                             direction=Direction.OUTBOUND_API.value, url="/restcomm/demos/conference.xml")
    conference = await Conference.create(sid=sids.new_sid(sids.CONFERENCE), account_sid=ADMIN_SID,
                                         friendly_name="standup", status=ConferenceStatus.IN_PROGRESS.value,
                                         date_created=now, date_updated=now, owner_node="elsewhere")
    await Participant.create(sid=call.sid, conference_sid=conference.sid, account_sid=ADMIN_SID,
                             date_created=now, date_updated=now)


async def _empty_database() -> None:
    """Delete every row of every model (through the app's database, the Tortoise global context).

    One script of DELETEs, one round trip: a query per model cost ~19 ms a reset on PostgreSQL, the script
    ~1.5 ms, and every test and stateful scenario starts with a reset (~250 per database). TRUNCATE is slower
    still on tables this small (~400 ms: it replaces each table's files). The order of the models is the one
    `model.all().delete()` used, which the foreign keys accept.
    """
    apps = Tortoise.apps
    assert apps is not None
    tables = [model._meta.db_table for model in apps.get_models_iterable()]
    await get_connection("default").execute_script("".join(f'DELETE FROM "{table}";' for table in tables))


@contextlib.contextmanager
def _foreign_tortoise_context_parked() -> Iterator[None]:
    """Let the app open its database while another suite's database is still open.

    Tortoise allows one global context per process, and `open_database` needs it (request tasks do not
    inherit the lifespan's context). In a full `pytest` run the session fixture of tests/ keeps its
    database open until the session ends, so the app would fail to start with "Global context fallback is
    already enabled". That context is set aside during the contract run and put back untouched: its
    connections belong to another event loop and are closed by their owner.

    The app's `Tortoise.init` also rebinds every model to its own kind of database: the base query's SQL
    (`?` or `$1` placeholders), the filters' operators, and which columns are taken from the driver as they
    are (PostgreSQL's booleans are bools, SQLite's 0 and 1). When the parked context is put back, its models
    are bound again as its own `Tortoise.init` bound them. In a parallel run a worker goes on with tests/
    modules after a contract module: without this it sent SQLite's SQL to PostgreSQL, and SQLite's reads
    gave `"muted": 0` (contract-tests/test_harness_parking.py).
    """
    parked = tortoise_context._global_context
    tortoise_context._global_context = None
    try:
        yield
    finally:
        tortoise_context._global_context = parked
        if parked is not None and parked.apps is not None:
            # What Tortoise.init runs once the connections are open (private: Tortoise has no public way to
            # bind models to a context again; contract-tests/test_harness_parking.py notices if it changes).
            # As the current context, so that each model's `db` is the parked context's own connection, not
            # one a contextvar of this thread still names (a closed session database, in a full run).
            current = tortoise_context._current_context.set(parked)
            try:
                parked.apps._build_initial_querysets()
            finally:
                tortoise_context._current_context.reset(current)
            EXECUTOR_CACHE.clear()  # the statements cached for the app's database


_unreachable: list[str] = []


@contextlib.contextmanager
def throwaway_database(kind: str) -> Iterator[str | None]:
    """The URL of a new empty database of `kind`; None when PostgreSQL cannot be reached.

    The PostgreSQL database is created for the run and dropped after it. The admin connection runs on
    an event loop of its own, independent of the app's.
    """
    if kind == "sqlite":
        yield "sqlite://:memory:"
        return
    with asyncio.Runner() as runner:
        try:
            url = runner.run(postgres.create(POSTGRES_ADMIN_URL, "restcomm_contract"))
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            _unreachable.append(f"{type(exc).__name__}: {exc}")
            yield None
            return
        try:
            yield url
        finally:
            runner.run(postgres.drop(POSTGRES_ADMIN_URL, url))


@functools.cache
def postgres_reachable() -> bool:
    """Whether the PostgreSQL the contract run creates its database beside answers (asked once per process).

    On a thread of its own: asyncio.run would leave the test thread without the event loop pytest-asyncio set.
    """
    async def probe() -> None:
        connection = await asyncpg.connect(postgres.asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=5)
        await connection.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            pool.submit(asyncio.run, probe()).result()
        except postgres.UNREACHABLE:
            return False
    return True


def unreachable_reason() -> str:
    detail = _unreachable[-1] if _unreachable else "unknown error"
    return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable ({detail}); the contract run over PostgreSQL did not run"


# --- the schema ----------------------------------------------------------------------------------------------

# (database, phase, operation label) -> responses per status code; printed at the end of the session.
TALLY: dict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)


class Run:
    """Which database the running test uses, for the tally."""

    database = "none"


def load_schema(app: ContractApp) -> OpenApiSchema:
    schema = schemathesis.openapi.from_asgi(f"{BASE}/openapi.json", app)
    config = schema.config
    # Credentials through the config, never per call: schemathesis drops them itself for the negative
    # auth checks (ignored_auth); given per call they would be sent again and cause false failures.
    # AccountSid is pinned to the account the credentials belong to, or nearly every case is a 403.
    config.update(basic_auth=(ADMIN_SID, ADMIN_TOKEN), parameters={"AccountSid": ADMIN_SID})
    config.generation.update(max_examples=FUZZING_MAX_EXAMPLES)
    stateful = config.phases.stateful
    # Positive and negative cases, as in the other phases. test_stateful pins AccountSid on a scenario's
    # first step after generation; schemathesis re-validates a case edited before the call, so a negative
    # case whose only flaw was its AccountSid counts as positive once pinned (no false "schema-violating
    # request accepted"; checked over several runs of 15 and 60 scenarios).
    stateful.generation.update(max_examples=STATEFUL_MAX_EXAMPLES)
    stateful.max_steps = STATEFUL_MAX_STEPS
    # Only the spec's own links. The links schemathesis infers from field names hang mostly off the XML
    # twins, whose bodies `$response.body#/sid` cannot read: they would spend the budget on random SIDs (404).
    stateful.inference.algorithms = []
    _forget_email_as_a_reference(schema)

    @schema.hook
    def filter_query(context: schemathesis.HookContext, query: Any) -> bool:
        # A stray member of a range filter object is an unknown query key, which the server ignores.
        return not has_stray_keys(context.operation, query)

    @schema.hook
    def after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: Any) -> None:
        meta = case.meta
        phase = meta.phase.name.value if meta is not None else "explicit"
        TALLY[(Run.database, phase, case.operation.label)][response.status_code] += 1
        _restore_admin_password(case)

    return schema


def _forget_email_as_a_reference(schema: OpenApiSchema) -> None:
    """Let POST Accounts(.json) start stateful scenarios, so that the spec's links from it are followed.

    schemathesis reads a field named `...Address` as a reference to another resource (`EmailAddress` ->
    an "Email" resource). No operation produces "Email", so it judges POST Accounts bound to fail with
    random data and never starts a scenario with it: the links GetAccount, UpdateAccount and
    ListCallsOfAccount would never run. The e-mail address is plain input; the false reference is removed.
    """
    for node in schema.analysis.dependency_graph.operations.values():
        node.inputs = [slot for slot in node.inputs if slot.resource.name != "Email"]


CREATE_CALL_PATHS = ("/Accounts/{AccountSid}/Calls.json", "/Accounts/{AccountSid}/Calls")
_CLIENT_TO = re.compile(r"^[cC][lL][iI][eE][nN][tT]:([A-Za-z0-9._~+-]{1,64})(\?|$)")


@schemathesis.hook("before_call")  # schemathesis allows this hook only at global scope
def create_the_client_a_call_names(_context: schemathesis.HookContext, case: schemathesis.Case,
                                    _kwargs: dict[str, Any]) -> None:
    """Give a generated `To=client:<name>` a client called <name>, before the call is created.

    The contract answers `client:` with no such client of the account 400 at once (code 21211), which the
    schema cannot express (it does not know which clients exist); random names would make schemathesis see
    valid input refused. Creating the client first is test data for a valid request, like the seeded
    account: the check stays on, and still fails for any other refusal of a valid call.
    """
    operation = case.operation
    if operation.method.upper() != "POST" or operation.path not in CREATE_CALL_PATHS:
        return
    to = case.body.get("To") if isinstance(case.body, dict) else None
    account_sid = (case.path_parameters or {}).get("AccountSid")
    match = _CLIENT_TO.match(to) if isinstance(to, str) else None
    if match and account_sid == ADMIN_SID:
        login = APP.ensure_client(ADMIN_SID, match[1])
        if login != match[1]:
            # The name belongs to another account's client (logins are unique on the server): call one of
            # this account instead, still a valid `To`.
            case.body["To"] = f"client:{login}" + to[match.end(1):]


# Every spelling of the account update (RestComm's /Accounts.json/{AccountSid} included), by POST or PUT.
ACCOUNT_UPDATE_PATHS = ("/Accounts/{AccountSid}.json", "/Accounts/{AccountSid}", "/Accounts.json/{AccountSid}")
ACCOUNT_UPDATE_METHODS = ("POST", "PUT")


def _restore_admin_password(case: schemathesis.Case) -> None:
    """Give the default account its published password back after a case may have changed it.

    POST Accounts/{AccountSid} with `Password` is a legitimate case (an account may change its own
    password), but every later case would then authenticate with a stale token and get 401. The status
    does not tell whether the change was saved (a 500 from response validation comes after the save), so
    the new password is simply tried: 200 means it was put back, 401 that it had not changed.
    """
    operation = case.operation
    if operation.method.upper() not in ACCOUNT_UPDATE_METHODS or operation.path not in ACCOUNT_UPDATE_PATHS:
        return
    new_password = case.body.get("Password") if isinstance(case.body, dict) else None
    if case.path_parameters.get("AccountSid") != ADMIN_SID or not isinstance(new_password, str):
        return
    with schemathesis_asgi.get_client(operation.app) as client:
        # The XML twin: connexion does not validate XML responses, so a spec problem cannot turn this into
        # a 500. The password as UTF-8 bytes: requests would encode a str as Latin-1, and fail on the rest.
        restored = client.post(f"{BASE}/Accounts/{ADMIN_SID}", data={"Password": DEFAULT_PASSWORD},
                               auth=(ADMIN_SID.encode(), new_password.encode("utf-8")))
    assert restored.status_code in (200, 401), f"the admin password could not be restored: {restored.status_code}"


APP = ContractApp()
# Fetched from the app (connexion serves the spec it routes with) at import time: parametrize needs it then.
SCHEMA = load_schema(APP)
