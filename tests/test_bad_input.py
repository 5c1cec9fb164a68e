"""Malformed requests of every kind: a clear 4xx in the route's format, and nothing changed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from models import Account, Call
from tests.conftest import ADMIN_SID

CALLS = f"/Accounts/{ADMIN_SID}/Calls"
VALID = "From=%2B16175551212&To=sip%3Aalice%40127.0.0.1&Url=%2Frestcomm%2Fdemos%2Fhello-play.xml"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def error_of(response) -> dict:
    if response.headers["content-type"] == "application/json":
        return response.json()
    exception = ET.fromstring(response.content).find("RestException")
    return {"code": int(exception.findtext("Code")), "message": exception.findtext("Message"),
            "status": int(exception.findtext("Status"))}


@pytest.mark.parametrize("suffix", [".json", ""])
@pytest.mark.parametrize("extra", ["%00", "%1F", "%7F", "a%0Ab", "x%0D"])
async def test_control_characters_in_any_form_value_are_400(api, suffix, extra):
    for body in (f"{VALID}&FriendlyName={extra}", VALID.replace("alice", f"al{extra}ice"), f"{VALID}&Unknown=a{extra}"):
        response = await api.post(CALLS + suffix, content=body.encode(), headers=FORM)
        assert response.status_code == 400, body
        error = error_of(response)
        assert error["code"] == 20400
        assert "control character" in error["message"]
    assert await Call.all().count() == 0


async def test_control_characters_in_the_query_are_400(api):
    for query in ("From=a%00b", "To=%0A", "Unknown=%01"):
        response = await api.get(f"{CALLS}.json?{query}")
        assert response.status_code == 400
        assert "control character" in response.json()["message"]


async def test_nul_in_an_account_name_never_reaches_the_database(api):
    # PostgreSQL cannot store NUL in text; this must be a 400 on both databases, never a 500.
    response = await api.post("/Accounts.json", content=b"EmailAddress=x%40y.z&Password=long-enough&FriendlyName=a%00",
                              headers=FORM)
    assert response.status_code == 400
    assert await Account.all().count() == 1


async def test_repeated_parameters_are_rejected(api):
    body = VALID + "&From=%2B15550000000"
    response = await api.post(CALLS + ".json", content=body.encode(), headers=FORM)
    assert response.status_code == 400
    assert response.json()["message"] == "Parameter 'From' is given more than once"
    query = await api.get(f"{CALLS}.json?Status=completed&Status=busy")
    assert query.status_code == 400
    assert await Call.all().count() == 0


async def test_repeatable_parameter_may_repeat(api):
    body = VALID + "&StatusCallbackEvent=ringing&StatusCallbackEvent=completed"
    response = await api.post(CALLS + ".json", content=body.encode(), headers=FORM)
    assert response.status_code == 200


async def test_invalid_utf8_and_raw_bytes_are_400(api):
    for body in (VALID + "&FriendlyName=%FF%FE", VALID.encode() + b"&FriendlyName=\xc3"):
        response = await api.post(CALLS + ".json", content=body if isinstance(body, bytes) else body.encode(),
                                  headers=FORM)
        assert response.status_code == 400
        assert "UTF-8" in response.json()["message"]
    assert await Call.all().count() == 0


async def test_huge_bodies_are_413_without_being_stored(api):
    huge = VALID + "&Padding=" + "x" * 70_000
    response = await api.post(CALLS + ".json", content=huge.encode(), headers=FORM)
    assert response.status_code == 413
    assert response.json()["code"] == 20413

    async def chunks():
        # No Content-Length: the limit must hold while reading, too.
        yield VALID.encode()
        for _ in range(100):
            yield b"&Padding=" + b"y" * 1000

    streamed = await api.post(CALLS, content=chunks(), headers=FORM)
    assert streamed.status_code == 413
    assert error_of(streamed)["code"] == 20413
    assert await Call.all().count() == 0


async def test_json_body_is_415(api):
    response = await api.post(CALLS + ".json", json={"From": "a", "To": "sip:a@b", "Url": "/x"})
    assert response.status_code == 415
    assert response.json()["code"] == 20415


async def test_unknown_routes_are_404_in_the_paths_format(api):
    json_response = await api.get(f"/Accounts/{ADMIN_SID}/Nothing.json")
    assert json_response.status_code == 404
    assert json_response.json()["code"] == 20404
    xml_response = await api.get(f"/Accounts/{ADMIN_SID}/Nothing")
    assert xml_response.status_code == 404
    assert error_of(xml_response)["code"] == 20404


async def test_newline_in_a_path_parameter_is_404_not_500(api):
    response = await api.get(f"{CALLS}/CA%0A.json")
    assert response.status_code == 404


async def test_unsupported_method_is_405_with_allow(api):
    response = await api.request("DELETE", CALLS + ".json")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json()["code"] == 20405
    put = await api.request("PUT", f"{CALLS}/CA{'0' * 32}")
    assert put.status_code == 405
    assert error_of(put)["status"] == 405


async def test_a_parameter_name_with_a_control_character_is_just_unknown(api):
    response = await api.post(CALLS + ".json", content=(VALID + "&X%01=1&X%01=2").encode(), headers=FORM)
    assert response.status_code == 200


async def test_unknown_parameters_are_ignored(api):
    response = await api.post(CALLS + ".json", content=(VALID + "&Record=true&IfMachine=Continue").encode(),
                              headers=FORM)
    assert response.status_code == 200
    listing = await api.get(CALLS + ".json?SortBy=DateCreated&Whatever=1")
    assert listing.status_code == 200


@pytest.mark.parametrize("sid", ["CA123", "ca" + "0" * 32, "CA" + "G" * 32, "AC" + "0" * 32])
async def test_malformed_call_sids_are_400(api, sid):
    response = await api.get(f"{CALLS}/{sid}.json")
    assert response.status_code == 400
    assert response.json()["message"] == "CallSid must be a call SID (CA followed by 32 lowercase hex digits)"


async def test_malformed_account_sid_is_400(api):
    response = await api.get("/Accounts/administrator@company.com/Calls")
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("AccountSid must be an account SID")


async def test_malformed_content_length_is_400_on_any_method(api):
    for method in ("GET", "POST"):
        response = await api.request(method, CALLS + ".json", content=b"", headers={**FORM, "Content-Length": "P2&Ub0"})
        assert response.status_code == 400, method
        assert "Content-Length" in response.json()["message"]
    assert await Call.all().count() == 0


async def test_a_get_is_not_refused_for_the_size_it_declares(api):
    # A GET's body is never read, so its declared size does not matter; the cap is for bodies the API reads.
    response = await api.get(CALLS + ".json", headers={"Content-Length": "100000"})
    assert response.status_code == 200
