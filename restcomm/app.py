"""The application factory: openapi.yaml routed by connexion, the database, errors in one format."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from calls.guessing import GuessThrottle
from handlers import context, errors, health, internal, metrics
from models.db import close_database, open_database
from models.directory import AccountDirectory
from rcml.fetch_policy import FetchPolicy
from rcml.http import HttpClient
from restcomm import console_files, demos
from restcomm.api_app import ApiApp
from restcomm.drain_relay import DrainRelay
from restcomm.engine_factory import build_engine
from restcomm.guard import RequestGuard
from restcomm.request_limits import RequestLimits
from restcomm.request_metrics import RequestMetrics
from restcomm.seed import seed_default_account, warn_if_published_password
from restcomm.settings import Settings
from restcomm.spec import SPEC_PATH, TWILIO_SPEC_PATH, Specs
from restcomm.validation import VALIDATOR_MAP
from telemetry.metrics import METRICS

log = logging.getLogger(__name__)


class ActivateContext:
    """Makes the app's HandlerContext current for each request (request tasks do not inherit the lifespan's)."""

    def __init__(self, app: ASGIApp, handler_context: context.HandlerContext) -> None:
        self.app = app
        self.handler_context = handler_context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context.activate(self.handler_context)
        await self.app(scope, receive, send)


def freeze_startup_heap() -> None:
    """Moves every object start-up built (the parsed spec, connexion, Tortoise, sippy: about 90,000) out of the
    garbage collector's sight for good. A full (generation 2) collection traverses every tracked object, and
    under load one runs every few seconds (objects of live calls get promoted to generation 2), stopping the
    event loop and the SIP thread: with the start-up heap in it, for 40-90 ms, which made the whole p99 of
    API -> INVITE at 100 calls/s. Frozen, those objects are no longer traversed; a full collection only walks
    what calls created since."""
    gc.collect()  # start-up's own garbage first, or it would be frozen with the rest and never freed
    gc.freeze()


def create_app(settings: Settings, *, manage_database: bool = True, freeze_heap: bool = False) -> ApiApp:
    """The ASGI app. `manage_database=False` leaves opening the database to the caller (the tests);
    `freeze_heap=True` (the server, not the tests) freezes what start-up built, see `freeze_startup_heap`."""
    spec = Specs.load(SPEC_PATH, TWILIO_SPEC_PATH)
    # One HTTP client for RCML fetches and status callbacks: connection reuse across calls.
    # Tenants choose every URL it fetches: the fetch policy keeps it off internal addresses (README, Security).
    http = HttpClient(timeout=10.0, connect_timeout=5.0,
                      policy=FetchPolicy.parse(settings.fetch_deny, settings.fetch_allow))
    # One account cache for authentication and for signing webhooks: a token changed through the API is used
    # at once for both.
    accounts = AccountDirectory()
    engine = build_engine(settings, http, accounts)
    handler_context = context.HandlerContext(engine=engine, accounts=accounts, metrics_token=settings.metrics_token,
                                             draining=lambda: engine.draining,
                                             guesses=GuessThrottle.from_limit(settings.login_guess_limit))
    if not settings.metrics:
        METRICS.disable()  # process-wide: what bench/ compares against

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        context.activate(handler_context)
        if manage_database:
            await open_database(settings.database_url)
        # Everything opened is closed again when a later start-up step fails too: an open SQLite
        # connection's thread, or the SIP thread, would keep a process that failed to start from exiting.
        try:
            if manage_database:
                warn_if_published_password(await seed_default_account(settings.admin_password))
            # The lease before SIP: no call of this node exists without one. Its first sweep closes what
            # dead nodes (or earlier runs under another node id) left live.
            reaped = await engine.cluster.start()
            if reaped:
                log.warning("closed %d call(s) left live by nodes that are gone", reaped)
            if engine.stack is not None:
                await engine.stack.start(engine)
            recovered = await engine.recover()
            if recovered:
                log.warning("closed %d call(s) left live by an earlier run of node %s", recovered, engine.node)
            if freeze_heap:
                freeze_startup_heap()
            yield
        finally:
            await engine.shutdown()
            if engine.stack is not None:
                await engine.stack.stop()
            await engine.cluster.stop()
            await http.aclose()
            if manage_database:
                await close_database()

    app = ApiApp(__name__, lifespan=lifespan, specification_dir=str(SPEC_PATH.parent))
    # connexion is given the documents already parsed: from a file name it parses the YAML again, with PyYAML's
    # pure-Python parser (0.33 s of CPU for the two, a third of create_app). It copies what it is given.
    restcomm_spec, twilio_spec = spec.specs
    app.add_api(
        restcomm_spec.document,
        validate_responses=settings.validate_responses,
        strict_validation=False,
        validator_map=VALIDATOR_MAP,
    )
    # The Twilio dialect at the server's root, so that an SDK's base URL is the only setting a user changes.
    app.add_api(
        twilio_spec.document,
        validate_responses=settings.validate_responses,
        strict_validation=False,
        validator_map=VALIDATOR_MAP,
    )
    app.add_middleware(ActivateContext, position=MiddlewarePosition.BEFORE_EXCEPTION, handler_context=handler_context)
    # A draining node's call creates go to an active node (or 503), before anything else looks at them.
    app.add_middleware(DrainRelay, position=MiddlewarePosition.BEFORE_EXCEPTION, handler_context=handler_context)
    app.add_middleware(RequestMetrics, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(RequestLimits, position=MiddlewarePosition.BEFORE_EXCEPTION, slots=handler_context.requests)
    app.add_middleware(RequestGuard, position=MiddlewarePosition.BEFORE_SWAGGER,
                       declared=spec.declared_parameters, allowed=spec.allowed_methods,
                       repeatable=spec.repeatable_parameters)
    # POST too: a call's Url is requested with POST unless its Method says otherwise.
    app.add_url_rule(demos.ROUTE, "demos", demos.serve, methods=["GET", "HEAD", "POST"])
    # Node to node (a change to a call this node runs), authenticated by the cluster secret; not API.
    app.add_url_rule(internal.ROUTE, "cluster-change", internal.change_call, methods=["POST"])
    app.add_url_rule(internal.PARTICIPANT_ROUTE, "cluster-participant", internal.change_participant,
                     methods=["POST"])
    # For operators, outside the tenant API and its credentials (see README's "Operating it").
    app.add_url_rule(console_files.ROUTE, "console", console_files.serve, methods=["GET", "HEAD"])
    app.add_url_rule(console_files.BARE, "console-bare", console_files.redirect, methods=["GET", "HEAD"])
    app.add_url_rule("/metrics", "metrics", metrics.serve, methods=["GET"])
    app.add_url_rule("/health", "health", health.health, methods=["GET", "HEAD"])
    app.add_url_rule("/ready", "ready", health.ready, methods=["GET", "HEAD"])
    _register_error_handlers(app, spec)
    app.context = handler_context  # type: ignore[attr-defined]  # for tests: the engine and the account cache
    return app


def _register_error_handlers(app: ApiApp, spec: Specs) -> None:
    async def on_api_error(request: ConnexionRequest, exc: errors.ApiError):
        return errors.error_response(request.url.path, exc)

    async def on_problem(request: ConnexionRequest, exc: ProblemException):
        return errors.error_response(request.url.path, errors.from_problem(exc))

    async def on_http_exception(request: ConnexionRequest, exc: HTTPException):
        allowed = spec.allowed_methods(request.url.path) if exc.status_code == 405 else None
        return errors.error_response(request.url.path, errors.from_http_exception(exc, allowed))

    async def on_unexpected(request: ConnexionRequest, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return errors.error_response(request.url.path, errors.internal_error())

    # connexion registers its own ProblemException handler, which would win over an HTTPException one.
    app.add_error_handler(errors.ApiError, on_api_error)
    app.add_error_handler(ProblemException, on_problem)
    app.add_error_handler(HTTPException, on_http_exception)
    app.add_error_handler(Exception, on_unexpected)
