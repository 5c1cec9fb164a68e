"""Status callbacks: delivered in order per call, retried with backoff, never holding up the call.

A call's owner hands each callback to `CallbackSender.send` and goes on at once. One delivery task per
call sends that call's callbacks one after the other, so the receiver sees them in SequenceNumber order
even when an earlier one needed retries. A callback still failing after the last retry is recorded as a
warning Notification (Twilio's 15003) so the application's owner can see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from calls import notifications
from calls.types import TWILIO_API_VERSION
from models import Call, LogLevel, clock
from rcml.documents import absolute
from rcml.http import HttpClient, HttpError, HttpResponse
from rcml.webhooks import Webhooks
from telemetry import call_events
from telemetry.metrics import METRICS

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)
# A receiver answering these may succeed later; any other 4xx will not.
_RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Nobody reads what a callback's receiver answers: a bigger answer is an error rather than memory spent.
_MAX_REPLY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Callback:
    account_sid: str
    call_sid: str
    url: str
    method: str
    parameters: dict[str, str]


def call_parameters(call: Call, sip_header_parameters: dict[str, str] | None = None) -> dict[str, str]:
    """What every request about a call carries: its RCML fetches and its status callbacks alike."""
    parameters = {
        "CallSid": call.sid,
        "AccountSid": call.account_sid,
        "From": call.from_address,
        "To": call.to_address,
        "CallStatus": call.status,
        "ApiVersion": call.api_version,
        "Direction": call.direction,
        "ForwardedFrom": call.forwarded_from or "",
        "CallerName": call.caller_name or "",
    }
    if call.parent_call_sid:
        parameters["ParentCallSid"] = call.parent_call_sid
    if call.api_version == TWILIO_API_VERSION:
        # What Twilio sends beside From and To, and what Twilio applications read.
        parameters["Called"] = call.to_address
        parameters["Caller"] = call.from_address
    if call.answered_by_detail:
        # Twilio's value (machine_end_beep...), which applications written for MachineDetection test.
        parameters["AnsweredBy"] = call.answered_by_detail
    if sip_header_parameters:
        parameters.update(sip_header_parameters)
    return parameters


def progress_callback(call: Call, url: str, method: str, parameters: dict[str, str], *, sequence: int,
                      **extra: str) -> Callback:
    """A status callback (`call-progress-events`) about `call`, numbered `sequence` among the call's own."""
    return Callback(call.account_sid, call.sid, url, method, {
        **parameters,
        "SequenceNumber": str(sequence),
        "Timestamp": clock.rfc2822(clock.now()),
        "CallbackSource": "call-progress-events",
        **extra,
    })


@dataclass
class _CallQueue:
    pending: deque[Callback] = field(default_factory=deque)
    worker: asyncio.Task | None = None


class CallbackSender:
    def __init__(self, http: HttpClient, base_url: str,
                 retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS, webhooks: Webhooks | None = None) -> None:
        self.http = http
        self.webhooks = webhooks or Webhooks(http)
        self.base_url = base_url
        self.retry_delays = tuple(retry_delays)
        self._queues: dict[str, _CallQueue] = {}

    def send(self, callback: Callback) -> None:
        queue = self._queues.setdefault(callback.call_sid, _CallQueue())
        queue.pending.append(callback)
        if queue.worker is None:
            queue.worker = asyncio.get_running_loop().create_task(self._deliver_all(callback.call_sid, queue))

    async def drain(self, within: float | None = None) -> None:
        """Wait until every queued callback was delivered or given up, or `within` seconds passed."""
        workers = [q.worker for q in self._queues.values() if q.worker is not None]
        if workers:
            await asyncio.wait(workers, timeout=within)

    async def close(self, within: float = 5.0) -> None:
        """Give pending callbacks `within` seconds to go out, then drop the rest."""
        await self.drain(within)
        for queue in self._queues.values():
            if queue.worker is not None:
                queue.worker.cancel()

    async def _deliver_all(self, call_sid: str, queue: _CallQueue) -> None:
        try:
            while queue.pending:
                await self._deliver(queue.pending[0])
                queue.pending.popleft()
        finally:
            queue.worker = None
            if not queue.pending:
                self._queues.pop(call_sid, None)

    async def _deliver(self, callback: Callback) -> None:
        url = absolute(callback.url, self.base_url)
        failure = ""
        for attempt, delay in enumerate((0.0, *self.retry_delays)):
            if delay:
                await asyncio.sleep(delay)
                METRICS.callback_retries.inc()
            try:
                response = await self._request(url, callback)
            except HttpError as exc:
                failure = f"{type(exc).__name__}: {exc}"
                call_events.event("callback.sent", url=url, call_status=callback.parameters.get("CallStatus"),
                                  attempt=attempt + 1, error=failure)
                continue
            call_events.event("callback.sent", url=url, call_status=callback.parameters.get("CallStatus"),
                              attempt=attempt + 1, status=response.status)
            if response.status < 300:
                METRICS.callbacks.labels("delivered").inc()
                return
            failure = f"HTTP {response.status}"
            if response.status < 500 and response.status not in _RETRYABLE_STATUSES:
                break
            log.debug("status callback %s attempt %d failed: %s", url, attempt + 1, failure)
        METRICS.callbacks.labels("given_up").inc()
        log.warning("status callback to %s for %s failed: %s", url, callback.call_sid, failure)
        await notifications.record(
            account_sid=callback.account_sid, call_sid=callback.call_sid, code=15003, level=LogLevel.WARNING,
            message=f"Status callback to {url} failed: {failure}", request_url=url,
            request_method=callback.method, request_variables=urlencode(callback.parameters),
        )

    async def _request(self, url: str, callback: Callback) -> HttpResponse:
        method = "GET" if callback.method == "GET" else "POST"
        return await self.webhooks.request("status-callback", method, url, callback.parameters,
                                           max_bytes=_MAX_REPLY_BYTES)
