"""Every request the platform makes to an application about a call goes out here: RCML fetches and status
callbacks alike. Each one is signed with the account's auth token (rcml/signing.py) and kept as a Call Event
(rcml/event_log.py) with its response or its error, however it ended."""

from __future__ import annotations

import time
from typing import Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from rcml import signing
from rcml.event_log import EventLog
from rcml.http import HttpClient, HttpError, HttpResponse


class AccountLike(Protocol):
    auth_token: str


class Accounts(Protocol):
    """Where auth tokens come from: models.directory.AccountDirectory (cached for a moment)."""

    async def by_sid(self, sid: str) -> AccountLike | None: ...


class Webhooks:
    def __init__(self, http: HttpClient, *, accounts: Accounts | None = None, events: EventLog | None = None) -> None:
        self.http = http
        self.accounts = accounts
        self.events = events

    async def request(self, kind: str, method: str, url: str, parameters: dict[str, str], *,
                      max_bytes: int | None = None) -> HttpResponse:
        """GET sends `parameters` in the query, POST as a form. Raises what HttpClient.request raises."""
        target = with_query(url, parameters) if method == "GET" else url
        data = None if method == "GET" else parameters
        account_sid = parameters.get("AccountSid", "")
        headers = signing.headers(await self._token(account_sid), target, data)
        started = time.perf_counter()
        try:
            response = await self.http.request(method, target, data=data, headers=headers or None,
                                               max_bytes=max_bytes)
        except HttpError as exc:
            self._record(kind, method, target, parameters, started, error=f"{type(exc).__name__}: {exc}")
            raise
        self._record(kind, method, target, parameters, started, response=response)
        return response

    async def _token(self, account_sid: str) -> str | None:
        if self.accounts is None or not account_sid:
            return None
        account = await self.accounts.by_sid(account_sid)
        return None if account is None else account.auth_token

    def _record(self, kind: str, method: str, url: str, parameters: dict[str, str], started: float, *,
                response: HttpResponse | None = None, error: str | None = None) -> None:
        if self.events is None:
            return
        content_type = None
        if response is not None:
            content_type = next((value for name, value in response.headers if name.lower() == "content-type"), None)
        self.events.record(
            account_sid=parameters.get("AccountSid", ""), call_sid=parameters.get("CallSid", ""), kind=kind,
            method=method, url=url, parameters=parameters, status=None if response is None else response.status,
            content_type=content_type, body=None if response is None else response.body,
            duration_s=time.perf_counter() - started, error=error,
        )


def with_query(url: str, parameters: dict[str, str]) -> str:
    """`url` with `parameters` added to its query (a GET webhook's parameters, signed as part of the URL)."""
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(parameters)) if part)
    return urlunsplit(parts._replace(query=query))
