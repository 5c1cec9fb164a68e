"""connexion's AsyncApp, with each operation's handler wrapped once at start-up instead of on every request.

connexion 3.3 builds, for every request, a new decorator object, three `functools.wraps` wrappers around the
handler and an `inspect.signature` of it (`AsyncOperation.fn` and `StarletteDecorator.__call__`): none of it
depends on the request. Measured with callgrind on the item GET, that is a fixed share of every API call in
both dialects. Here the wrapping is done once per operation; what does depend on the request (the request
object, its URI parser, its parameters) is still built per request, by connexion's own code.

It relies on connexion's internals (`AsyncApi.make_operation`, `AsyncOperation`, `StarletteDecorator`),
which is why pyproject.toml pins connexion to 3.3.x; tests/test_api_app.py checks the wrapping is reused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.operations import AbstractOperation


class _OnceDecorator(StarletteDecorator):
    def __call__(self, function: Callable) -> Callable:
        decorated = self.decorate(function)

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = self.framework.get_request(uri_parser=self.uri_parser, scope=scope, receive=receive)
            return await decorated(request)

        return wrapper


class _OnceOperation(AsyncOperation):
    @functools.cached_property
    def fn(self) -> Callable:  # type: ignore[override]  # connexion's is a property rebuilt on each request
        return _OnceDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn)


class _OnceApi(AsyncApi):
    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        return _OnceOperation.from_operation(operation, pythonic_params=self.pythonic_params,
                                             jsonifier=self.jsonifier)


class ApiApp(AsyncApp):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read by add_api, which every API goes through after this.
        self._middleware_app.api_cls = _OnceApi
