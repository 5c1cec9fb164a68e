"""Running a call's application: fetch its RCML, run the verbs in order, follow redirects.

A session runs inside its call's owner, which may cancel it at any await (a redirect from the API, a
hangup); everything it changes on the call goes through the owner (rcml/call_control.py). When the document
runs out the call is hung up, as Twilio and RestComm do.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rcml.call_control import CallControl
from rcml.documents import Fetched, FetchFailed
from rcml.parser import Node
from rcml.verbs.base import Continue, Outcome, Problem, Redirect, Stop
from rcml.verbs.table import build
from telemetry import call_events

log = logging.getLogger(__name__)

# After this many <Redirect>s in a row without the call doing anything else, the application is looping.
MAX_REDIRECTS = 100


@dataclass(frozen=True)
class Source:
    """Where a document comes from: Url and Method, with an optional fallback."""

    url: str
    method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"


class Session:
    def __init__(self, host: CallControl) -> None:
        self.host = host

    async def run(self, source: Source) -> None:
        fetched = await self._first_document(source)
        if fetched is None:
            await self.host.fail("the application could not be fetched")
            return
        redirects = 0
        while True:
            self.host.set_document_url(fetched.url)
            outcome = await self._run_document(fetched.root)
            if not isinstance(outcome, Redirect):
                break
            redirects += 1
            if redirects > MAX_REDIRECTS:
                await self.host.error(13400, f"More than {MAX_REDIRECTS} <Redirect>s in a row; hanging up")
                break
            try:
                parameters = {**self.host.request_parameters(), **outcome.parameters}
                fetched = await self.host.fetch(outcome.url, outcome.method, parameters)
            except FetchFailed as failure:
                await self.host.report_fetch_failure(failure)
                break
        if not isinstance(outcome, Stop):
            await self.host.hangup()

    async def _first_document(self, source: Source) -> Fetched | None:
        try:
            return await self.host.fetch(source.url, source.method, self.host.request_parameters())
        except FetchFailed as failure:
            await self.host.report_fetch_failure(failure)
        if not source.fallback_url:
            return None
        try:
            return await self.host.fetch(source.fallback_url, source.fallback_method,
                                            self.host.request_parameters())
        except FetchFailed as failure:
            await self.host.report_fetch_failure(failure)
            return None

    async def _run_document(self, root: Node) -> Outcome:
        # The whole document is read before it runs, so its problems are reported once per kind, with a count:
        # an 80 KB document of unknown elements was 20,000 Notification rows, one write each.
        built = [(node, *build(node)) for node in root.children]
        for problem, count in _by_kind(problem for _, _, problems in built for problem in problems):
            await self._report(problem if count == 1 else Problem(
                problem.code, f"{problem.message} ({count} times in this document; the first is shown)",
                problem.is_error))
        for node, verb, _ in built:
            if verb is None:
                continue
            call_events.event("rcml.verb", verb=node.name)
            outcome = await verb.run(self.host)
            if not isinstance(outcome, Continue):
                return outcome
        return Continue()

    async def _report(self, problem: Problem) -> None:
        if problem.is_error:
            await self.host.error(problem.code, problem.message)
        else:
            await self.host.warn(problem.code, problem.message)


def _by_kind(problems: Iterable[Problem]) -> list[tuple[Problem, int]]:
    """The first problem of each kind (code, error or warning) in document order, and how many of its kind."""
    first: dict[tuple[int, bool], Problem] = {}
    counts: Counter[tuple[int, bool]] = Counter()
    for problem in problems:
        kind = (problem.code, problem.is_error)
        first.setdefault(kind, problem)
        counts[kind] += 1
    return [(problem, counts[kind]) for kind, problem in first.items()]
