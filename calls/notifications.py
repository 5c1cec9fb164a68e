"""Recording what went wrong in a call as a Notification row (contract section 9)."""

from __future__ import annotations

import re

from models import LogLevel, Notification, clock, sids
from rcml.documents import FetchFailed

# user:password@ in a URL a tenant gave (`http://user:secret@app/rcml`): the password never goes into a row that
# the API shows, as it never goes into a log line (restcomm/logs.py).
_URL_PASSWORD = re.compile(r"://([^/\s:@\"']+):([^/\s@\"']+)@")
REDACTED = "[redacted]"


def redact_urls(text: str) -> str:
    return _URL_PASSWORD.sub(rf"://\1:{REDACTED}@", text) if "@" in text else text


async def record(
    *,
    account_sid: str,
    call_sid: str | None,
    code: int,
    message: str,
    level: LogLevel = LogLevel.ERROR,
    request_url: str = "",
    request_method: str = "",
    request_variables: str = "",
    response_headers: str = "",
    response_body: str = "",
) -> Notification:
    now = clock.now()
    return await Notification.create(
        sid=sids.new_sid(sids.NOTIFICATION),
        account_sid=account_sid,
        call_sid=call_sid,
        date_created=now,
        date_updated=now,
        log=int(level),
        error_code=code,
        more_info=f"https://www.twilio.com/docs/errors/{code}",
        message_text=redact_urls(message),
        message_date=now,
        request_url=redact_urls(request_url),
        request_method=request_method,
        request_variables=request_variables,
        response_headers=response_headers,
        response_body=response_body,
    )


async def record_fetch_failure(account_sid: str, call_sid: str, failure: FetchFailed) -> Notification:
    return await record(
        account_sid=account_sid,
        call_sid=call_sid,
        code=failure.code,
        message=failure.message,
        request_url=failure.url,
        request_method=failure.method,
        request_variables=failure.variables,
        response_headers=failure.response_headers,
        response_body=failure.response_body,
    )
