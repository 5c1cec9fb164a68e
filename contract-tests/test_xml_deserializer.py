"""The XML deserializer really feeds `response_schema_conformance`: a broken XML body is a failure."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from harness import ADMIN_SID, BASE, SCHEMA
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import ContentDeserializationError
from schemathesis.specs.openapi.checks import response_schema_conformance


def xml_response(body: bytes) -> httpx.Response:
    url = f"http://testserver{BASE}/Accounts/{ADMIN_SID}"
    response = httpx.Response(200, headers={"Content-Type": "application/xml"}, content=body,
                              request=httpx.Request("GET", url))
    response.elapsed = dt.timedelta(0)  # httpx sets it only for responses that went through a transport
    return response


def check(body: bytes) -> None:
    case = SCHEMA.find_operation_by_id("handlers.accounts.fetch_xml").Case(path_parameters={"AccountSid": ADMIN_SID})
    case.validate_response(xml_response(body), checks=[response_schema_conformance])


def test_well_formed_restcomm_document_passes() -> None:
    check(b"<RestcommResponse><Account><Sid>AC1</Sid></Account></RestcommResponse>")


@pytest.mark.parametrize("body", [
    pytest.param(b"<RestcommResponse><Account></RestcommResponse>", id="mismatched-tag"),
    pytest.param(b"<RestcommResponse><From>\x01</From></RestcommResponse>", id="control-character"),
    pytest.param(b'{"sid": "AC1"}', id="json"),
    pytest.param(b"<Response/>", id="wrong-root"),
])
def test_broken_document_fails(body: bytes) -> None:
    with pytest.raises(FailureGroup) as raised:
        check(body)
    assert any(isinstance(failure, ContentDeserializationError) for failure in raised.value.exceptions)
