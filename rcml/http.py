"""The HTTP client the call engine talks to applications with: RCML documents, status callbacks, audio files.

aiohttp, behind this small interface, so that the rest of `rcml/` never sees the library. It replaced httpx
here because the engine makes one or more requests per call: httpx (httpcore, anyio, its URL model) cost
about 0.74 ms of CPU per POST to a local application against 0.11 ms for aiohttp (3,000 requests, 4 at a
time, same server), which was over a tenth of the server's CPU per call in bench.calls.

One session per client: connections are kept alive and reused across calls. The session is made on first
use, inside the running loop, as aiohttp requires.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from rcml.fetch_policy import FetchDenied, FetchPolicy

USER_AGENT = "RestComm-Calls"


class HttpError(Exception):
    """The request got no HTTP response (or an unreadable one)."""


class HttpTimeout(HttpError):
    """Connecting, or waiting for the response, took longer than allowed."""


class HttpConnectError(HttpError):
    """No connection could be made (unknown host, refused, unreachable)."""


class HttpUnknownHost(HttpConnectError):
    """The host name does not resolve."""


class HttpRefused(HttpConnectError):
    """The fetch policy refuses every address of the host (rcml/fetch_policy.py)."""


class TooLarge(HttpError):
    """The response body is larger than the caller accepts."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def headers_text(self) -> str:
        return "\n".join(f"{name}: {value}" for name, value in self.headers)


class _PolicyConnector(aiohttp.TCPConnector):
    """aiohttp's connector, connecting only to the addresses the fetch policy permits.

    `_resolve_host` is where aiohttp turns every host, a name or an address literal, into the addresses it
    then connects to, for the first request and for each redirect hop: the one place to check them all.
    (A resolver would not see address literals; a request hook would not see what a name resolves to.)"""

    def __init__(self, policy: FetchPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._policy = policy

    async def _resolve_host(self, host: str, port: int, traces: Any = None) -> list[Any]:
        results = await super()._resolve_host(host, port, traces=traces)
        permitted = set(self._policy.filter(host, (result["host"] for result in results)))
        return [result for result in results if result["host"] in permitted]


class HttpClient:
    def __init__(self, *, timeout: float = 10.0, connect_timeout: float = 5.0,
                 policy: FetchPolicy | None = None) -> None:
        """`policy`: which addresses may be fetched from (None: any)."""
        self._policy = policy
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None
        # HTTP(S)_PROXY and NO_PROXY, read once: aiohttp's trust_env reads them (and ~/.netrc) again in a
        # worker thread on every request, which cost about 0.35 ms of CPU per call.
        self._proxies = {
            scheme: url
            for scheme, url in urllib.request.getproxies_environment().items()
            if scheme in ("http", "https", "no")
        }

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = _PolicyConnector(self._policy) if self._policy is not None else None
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers={"User-Agent": USER_AGENT},
                                                  connector=connector)
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> HttpResponse:
        """Sends the request (following redirects) and reads the whole body, at most `max_bytes` of it.

        `params` are added to the URL's query; `data` is sent form-encoded; `headers` are added to the
        request's. A Content-Length over `max_bytes` is refused before the body is read. Raises HttpTimeout,
        HttpUnknownHost, HttpConnectError, TooLarge or HttpError, never an aiohttp exception.
        """
        try:
            proxy = self._proxy_for(url) if self._proxies else None
            async with self._open().request(method, url, params=params, data=data, headers=headers,
                                            proxy=proxy) as response:
                if max_bytes is not None and (response.content_length or 0) > max_bytes:
                    raise TooLarge(f"the response is larger than {max_bytes} bytes")
                body = bytearray()
                async for chunk in response.content.iter_any():
                    body.extend(chunk)
                    if max_bytes is not None and len(body) > max_bytes:
                        raise TooLarge(f"the response is larger than {max_bytes} bytes")
                return HttpResponse(response.status, list(response.headers.items()), bytes(body))
        except FetchDenied as exc:
            raise HttpRefused(str(exc)) from None
        except TimeoutError:
            raise HttpTimeout("timed out") from None
        except aiohttp.ClientConnectorDNSError as exc:
            raise HttpUnknownHost(_describe(exc)) from None
        except aiohttp.ClientConnectorError as exc:
            raise HttpConnectError(_describe(exc)) from None
        except aiohttp.ClientError as exc:
            raise HttpError(_describe(exc)) from None
        except ValueError as exc:  # an URL aiohttp cannot use (no host, bad port)
            raise HttpError(str(exc)) from None

    def _proxy_for(self, url: str) -> str | None:
        parts = urlsplit(url)
        proxy = self._proxies.get(parts.scheme)
        if proxy is None or urllib.request.proxy_bypass_environment(parts.hostname or "", self._proxies):
            return None
        return proxy

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


def _describe(exc: Any) -> str:
    return str(exc) or type(exc).__name__
