"""The application factory: openapi.yaml routed by connexion, the database, errors in one format."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from handlers import errors
from models.db import close_database, open_database
from rcml.audio import AudioLibrary
from rcml.callbacks import CallbackSender
from rcml.documents import DocumentFetcher
from rcml.engine import CallEngine
from rcml.http import HttpClient
from rcml.recordings import RecordingStore
from restcomm import demos, runtime
from restcomm.guard import RequestGuard
from restcomm.seed import seed_default_account
from restcomm.settings import Settings
from restcomm.spec import SPEC_PATH, Spec
from restcomm.validation import VALIDATOR_MAP
from restcomm.voice import start_voice

log = logging.getLogger(__name__)


class ActivateRuntime:
    """Makes the app's Runtime current for each request (request tasks do not inherit the lifespan's)."""

    def __init__(self, app: ASGIApp, runtime_: runtime.Runtime) -> None:
        self.app = app
        self.runtime = runtime_

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime.activate(self.runtime)
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


def create_app(settings: Settings, *, manage_database: bool = True, freeze_heap: bool = False) -> AsyncApp:
    """The ASGI app. `manage_database=False` leaves opening the database to the caller (the tests);
    `freeze_heap=True` (the server, not the tests) freezes what start-up built, see `freeze_startup_heap`."""
    spec = Spec.load()
    # One HTTP client for RCML fetches and status callbacks: connection reuse across calls.
    http = HttpClient(timeout=10.0, connect_timeout=5.0)
    engine = CallEngine(node=settings.node, base_url=settings.base_url,
                        fetcher=DocumentFetcher(http, settings.base_url),
                        callbacks=CallbackSender(http, settings.base_url),
                        audio=AudioLibrary(http, settings.base_url),
                        recordings=RecordingStore(settings.recordings_dir))
    state = runtime.Runtime(settings=settings, engine=engine)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        runtime.activate(state)
        if manage_database:
            await open_database(settings.database_url)
        voice = None
        # Everything opened is closed again when a later start-up step fails too: an open SQLite
        # connection's thread, or the SIP thread, would keep a process that failed to start from exiting.
        try:
            if manage_database:
                await seed_default_account(settings.admin_password)
            voice = await start_voice(settings, engine) if settings.sip_enabled else None
            recovered = await engine.recover()
            if recovered:
                log.warning("closed %d call(s) left live by an earlier run of node %s", recovered, engine.node)
            if freeze_heap:
                freeze_startup_heap()
            yield
        finally:
            await engine.shutdown()
            if voice is not None:
                await voice.stop()
            await http.aclose()
            if manage_database:
                await close_database()

    app = AsyncApp(__name__, lifespan=lifespan, specification_dir=str(SPEC_PATH.parent))
    app.add_api(
        SPEC_PATH.name,
        validate_responses=settings.validate_responses,
        strict_validation=False,
        validator_map=VALIDATOR_MAP,
    )
    app.add_middleware(ActivateRuntime, position=MiddlewarePosition.BEFORE_EXCEPTION, runtime_=state)
    app.add_middleware(RequestGuard, position=MiddlewarePosition.BEFORE_SWAGGER,
                       declared=spec.declared_parameters, allowed=spec.allowed_methods,
                       repeatable=spec.repeatable_parameters)
    # POST too: a call's Url is requested with POST unless its Method says otherwise.
    app.add_url_rule(demos.ROUTE, "demos", demos.serve, methods=["GET", "HEAD", "POST"])
    _register_error_handlers(app, spec)
    app.runtime = state  # type: ignore[attr-defined]
    return app


def _register_error_handlers(app: AsyncApp, spec: Spec) -> None:
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
