"""connexion's AsyncApp, with each operation's handler wrapped once at start-up instead of on every request.

connexion 3.3 builds, for every request, a new decorator object, three `functools.wraps` wrappers around the
handler and an `inspect.signature` of it (`AsyncOperation.fn` and `StarletteDecorator.__call__`): none of it
depends on the request. Measured with callgrind on the item GET, that is a fixed share of every API call in
both dialects. Here the wrapping is done once per operation; what does depend on the request (the request
object, its URI parser, its parameters) is still built per request, by connexion's own code.

And a document connexion has validated once (against the OpenAPI schema) is not validated again in the same
process: see `_validate_once`.

It relies on connexion's internals (`AsyncApi.make_operation`, `AsyncOperation`, `StarletteDecorator`,
`Specification._validate_spec`), which is why pyproject.toml pins connexion to 3.3.x; tests/test_api_app.py
checks the wrapping is reused and that an invalid document is still refused.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import receive, scope
from connexion.decorators import StarletteDecorator
from connexion.operations import AbstractOperation
from connexion.spec import Specification


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


# Digests of the documents connexion validated in this process.
_VALIDATED: set[tuple[type, bytes]] = set()
_validate_spec = Specification._validate_spec.__func__  # type: ignore[attr-defined]


def _validate_once(cls: type, spec: dict[str, Any]) -> None:
    """connexion's validation of a document against the OpenAPI schema, once per document and process.

    Every app connexion builds validates openapi.yaml and twilio.yaml again: 0.21 s of CPU, two thirds of
    create_app, though the documents do not change. The test suite builds an app for every module that runs a
    server (and over each database), so it paid that about a hundred times. The verdict is kept for the
    document's exact content only (its JSON's digest); an invalid document is refused every time.
    """
    try:
        key = (cls, hashlib.sha256(orjson.dumps(spec)).digest())
    except TypeError:  # what orjson cannot write (a key that is not a string): validated every time
        _validate_spec(cls, spec)
        return
    if key not in _VALIDATED:
        _validate_spec(cls, spec)
        _VALIDATED.add(key)


Specification._validate_spec = classmethod(_validate_once)  # type: ignore[method-assign,assignment]
