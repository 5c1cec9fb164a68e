"""Fetching RCML: the application's document for a call, with the call's parameters, or why it failed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

from models import twiml_document
from rcml.http import HttpClient, HttpConnectError, HttpError, HttpTimeout, HttpUnknownHost, TooLarge
from rcml.parser import Node, RcmlSyntaxError, parse
from rcml.webhooks import Webhooks
from telemetry import call_events
from telemetry.metrics import METRICS

# A document bigger than this is not RCML anyone meant to send; reading it would only cost memory.
MAX_DOCUMENT_BYTES = 1024 * 1024
# How much of a failed response a Notification keeps.
BODY_EXCERPT = 2048
# A fetch failure's cause, the `cause` label of restcomm_rcml_fetch_failures_total, from its code.
_CAUSES = {11750: "too_large", 11205: "unreachable", 11210: "unknown_host", 11200: "http_error", 12100: "not_rcml"}


@dataclass(frozen=True)
class Fetched:
    url: str
    method: str
    root: Node
    status: int = 200


@dataclass
class FetchFailed(Exception):
    """Why a document could not be used, with what a Notification needs to debug it (Twilio's codes)."""

    code: int
    message: str
    url: str
    method: str
    variables: str = ""
    response_headers: str = ""
    response_body: str = ""
    status: int | None = field(default=None)

    def __str__(self) -> str:
        return self.message

    @property
    def cause(self) -> str:
        """In a word: Twilio's 11200 is both a broken exchange and a non-2xx answer (which has a status)."""
        if self.code == 11200 and self.status is not None:
            return "http_status"
        return _CAUSES.get(self.code, "other")


def absolute(url: str, base_url: str) -> str:
    """A path on this server (`/restcomm/demos/hello-play.xml`) made absolute; other URLs as they are."""
    return urljoin(base_url + "/", url) if url.startswith("/") else url


class DocumentFetcher:
    def __init__(self, http: HttpClient, base_url: str, webhooks: Webhooks | None = None) -> None:
        self.http = http
        self.base_url = base_url
        self.webhooks = webhooks or Webhooks(http)

    async def fetch(self, url: str, method: str, parameters: dict[str, str]) -> Fetched:
        started = time.perf_counter()
        try:
            fetched = await self._fetch(url, method, parameters)
        except FetchFailed as failed:
            elapsed = time.perf_counter() - started
            METRICS.rcml_fetch_failures.labels(failed.cause).inc()
            METRICS.rcml_fetch.observe(elapsed)
            call_events.event("rcml.fetch_failed", url=failed.url, method=method, code=failed.code,
                              cause=failed.cause, status=failed.status, ms=round(elapsed * 1000, 1))
            raise
        elapsed = time.perf_counter() - started
        METRICS.rcml_fetch.observe(elapsed)
        call_events.event("rcml.fetched", url=fetched.url, method=method, status=fetched.status,
                          ms=round(elapsed * 1000, 1))
        return fetched

    async def _fetch(self, url: str, method: str, parameters: dict[str, str]) -> Fetched:
        if url.startswith(twiml_document.SCHEME):
            return await self._inline(url, method)
        url = absolute(url, self.base_url)
        variables = urlencode(parameters)
        try:
            response = await self.webhooks.request("rcml", "GET" if method == "GET" else "POST", url, parameters,
                                                   max_bytes=MAX_DOCUMENT_BYTES)
        except TooLarge:
            raise FetchFailed(11750, f"The document at {url} is larger than {MAX_DOCUMENT_BYTES} bytes",
                              url, method) from None
        except HttpTimeout:
            raise FetchFailed(11205, f"Timed out fetching {url}", url, method, variables) from None
        except HttpConnectError as exc:
            code = 11210 if isinstance(exc, HttpUnknownHost) else 11205
            raise FetchFailed(code, f"Could not connect to {url} ({exc})", url, method, variables) from None
        except HttpError as exc:
            raise FetchFailed(11200, f"HTTP error fetching {url} ({exc})", url, method, variables) from None
        status, headers, body = response.status, response.headers_text(), response.body
        if not 200 <= status < 300:
            raise FetchFailed(11200, f"{url} answered HTTP {status}", url, method, variables, headers,
                              _excerpt(body), status)
        try:
            root = parse(body)
        except RcmlSyntaxError as exc:
            raise FetchFailed(12100, f"The document at {url} is not RCML: {exc}", url, method, variables,
                              headers, _excerpt(body), status) from None
        return Fetched(url, method, root, status)

    async def _inline(self, url: str, method: str) -> Fetched:
        """A document given inline (`Twiml=`), stored by the API: nothing is requested."""
        body = await twiml_document.load(url)
        if body is None:
            raise FetchFailed(11200, "The inline TwiML of this call is no longer stored", url, method)
        try:
            return Fetched(url, method, parse(body.encode("utf-8")))
        except RcmlSyntaxError as exc:
            raise FetchFailed(12100, f"The inline TwiML is not valid: {exc}", url, method,
                              response_body=body[:BODY_EXCERPT]) from None


def _excerpt(body: bytes) -> str:
    return body[:BODY_EXCERPT].decode("utf-8", errors="replace")
