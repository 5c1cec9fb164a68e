"""Log lines as an operator reads them: text or JSON, with the call's context, and never a credential."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from restcomm import logs
from restcomm.cli import main
from telemetry import log_context
from telemetry.call_events import event
from tests.conftest import ADMIN_TOKEN


@pytest.mark.parametrize(("line", "secret"), [
    ("fetching http://ACae6e420f425248d6a26948c17a9e2acf:s3cr3t-pass@example.com/app.xml", "s3cr3t-pass"),
    ("Authorization: Basic QUNhZTZlNDIwZjQyNTI0OGQ2YTI2OTQ4YzE3YTllMmFjZjpzZWNyZXQ=", "QUNhZTZl"),
    ('Proxy-Authorization: Digest username="alice", response="6629fae49393a05397450978507c4ef1"', "6629fae4"),
    ("POST /Accounts.json FriendlyName=Sales&Password=sales-secret&EmailAddress=x", "sales-secret"),
    ('{"auth_token": "mytoken-value", "sid": "AC1"}', "mytoken-value"),
    (f"token {ADMIN_TOKEN} in a message", ADMIN_TOKEN),
    ("sip_secret=node-key-1 and metrics_token=scrape-key", "node-key-1"),
])
def test_credentials_are_redacted(line, secret):
    redacted = logs.redact(line)
    assert secret not in redacted and logs.REDACTED in redacted


def test_sids_and_sip_call_ids_keep_their_hex():
    line = "call CAae6e420f425248d6a26948c17a9e2acf of ACae6e420f425248d6a26948c17a9e2acf\r\n" \
           "Call-ID: 5f1c0e7d9a2b4c6d8e0f1a2b3c4d5e6f\r\ni: 0123456789abcdef0123456789abcdef"
    assert logs.redact(line) == line


async def test_a_json_line_carries_the_call_context_and_the_event_fields():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter("node-a"))
    logger = logging.getLogger("restcomm.call")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def in_a_call_task():
        log_context.bind_call("CA" + "1" * 32, "AC" + "2" * 32)
        event("rcml.fetched", url="http://u:pw@host/app", status=200, ms=12.5, from_="alice")

    try:
        await asyncio.get_running_loop().create_task(in_a_call_task())
        event("call.created", call_sid="CA" + "3" * 32, account_sid="AC" + "4" * 32)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == first["message"] == "rcml.fetched" and first["level"] == "info"
    assert (first["call_sid"], first["account_sid"], first["node"]) == ("CA" + "1" * 32, "AC" + "2" * 32, "node-a")
    assert (first["status"], first["ms"], first["from"]) == (200, 12.5, "alice")
    assert first["url"] == "http://u:[redacted]@host/app"
    # The context of the task that logged it, not of whoever ran before: this line was logged outside.
    assert second["call_sid"] == "CA" + "3" * 32 and "request_id" not in second


def test_text_lines_put_fields_and_context_after_the_message():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextFormatter("node-a"))
    logger = logging.getLogger("restcomm.call")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        event("call.ended", call_sid="CA" + "5" * 32, status="completed", duration=3)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert stream.getvalue().rstrip().endswith(
        f"INFO restcomm.call: call.ended status=completed duration=3 [call_sid=CA{'5' * 32}]")


def test_an_unknown_log_format_is_refused_at_start(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--log-format", "xml"])
    assert exited.value.code == 2
    assert "RESTCOMM_LOG_FORMAT must be text or json" in capsys.readouterr().err
