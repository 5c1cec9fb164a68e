"""Authentication and tenancy (contract section 2): who may act on whose calls."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_SID, ADMIN_TOKEN, make_account, make_call

CALLS_JSON = f"/Accounts/{ADMIN_SID}/Calls.json"


def raw_basic(credentials: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


async def test_no_credentials_is_401_with_a_challenge_in_both_formats(api):
    for path, fmt in ((CALLS_JSON, "json"), (f"/Accounts/{ADMIN_SID}/Calls", "xml")):
        response = await api.get(path, auth=None)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="Restcomm realm"'
        if fmt == "json":
            assert response.json()["code"] == 20003
        else:
            assert ET.fromstring(response.content).findtext("RestException/Code") == "20003"


@pytest.mark.parametrize("auth", [
    (ADMIN_SID, "0" * 32),
    (ADMIN_SID, ""),
    ("ACffffffffffffffffffffffffffffffff", ADMIN_TOKEN),
    ("Default Administrator Account", ADMIN_TOKEN),  # friendly names are not logins
])
async def test_wrong_credentials_are_401(api, auth):
    response = await api.get(CALLS_JSON, auth=auth)
    assert response.status_code == 401
    assert response.json()["status"] == 401


async def test_login_by_email_with_token_or_password(api):
    for secret in (ADMIN_TOKEN, "RestComm"):
        for login in (ADMIN_EMAIL, ADMIN_EMAIL.upper()):
            assert (await api.get(CALLS_JSON, auth=(login, secret))).status_code == 200


async def test_login_by_sid_with_plain_password(api):
    assert (await api.get(CALLS_JSON, auth=(ADMIN_SID, "RestComm"))).status_code == 200


@pytest.mark.parametrize("credentials", [
    "administrator@company.com:RéstComm".encode(),
    "ädministrator@company.com:RestComm".encode(),
    b"\xff\xfe:\xff",
    "AC\u00e9:x".encode("latin-1"),
])
async def test_non_ascii_credentials_are_refused_not_crashed(api, credentials):
    response = await api.get(CALLS_JSON, auth=None, headers=raw_basic(credentials))
    assert response.status_code == 401


@pytest.mark.parametrize("header", [
    "Basic", "Basic !!!notbase64", "Bearer abc", "Basic " + base64.b64encode(b"nocolon").decode(),
])
async def test_malformed_authorization_header_is_401(api, header):
    response = await api.get(CALLS_JSON, auth=None, headers={"Authorization": header})
    assert response.status_code == 401


async def test_sub_account_sees_its_own_calls_not_its_parents(api):
    child = await make_account("child@company.com")
    own = await make_call(child.sid)
    await make_call(ADMIN_SID)
    auth = (child.sid, "secret-password")

    listing = await api.get(f"/Accounts/{child.sid}/Calls.json", auth=auth)
    assert listing.status_code == 200
    assert [c["sid"] for c in listing.json()["calls"]] == [own.sid]
    assert (await api.get(f"/Accounts/{child.sid}/Calls/{own.sid}.json", auth=auth)).status_code == 200

    parent_list = await api.get(CALLS_JSON, auth=auth)
    assert parent_list.status_code == 403
    assert parent_list.json()["code"] == 20403
    created = await api.post(CALLS_JSON, {"From": "bob", "To": "client:alice", "Url": "/restcomm/url"}, auth=auth)
    assert created.status_code == 403


async def test_parent_acts_on_sub_account_through_its_path(api):
    child = await make_account("child@company.com")
    grandchild = await make_account("grandchild@company.com", parent=child)
    call = await make_call(grandchild.sid)
    listing = await api.get(f"/Accounts/{grandchild.sid}/Calls.json")
    assert [c["sid"] for c in listing.json()["calls"]] == [call.sid]
    assert (await api.get(f"/Accounts/{grandchild.sid}/Calls/{call.sid}")).status_code == 200
    # Through the parent's own path the sub-account's call is not one of its calls.
    assert (await api.get(f"/Accounts/{ADMIN_SID}/Calls/{call.sid}.json")).status_code == 404
    created = await api.post(f"/Accounts/{grandchild.sid}/Calls.json",
                             {"From": "+15550001", "To": "+15550002", "Url": "http://app.example/rcml"})
    assert created.status_code == 200
    assert created.json()["account_sid"] == grandchild.sid


async def test_siblings_cannot_reach_each_other(api):
    alpha = await make_account("alpha@company.com")
    beta = await make_account("beta@company.com")
    call = await make_call(beta.sid)
    auth = (alpha.sid, "secret-password")
    assert (await api.get(f"/Accounts/{beta.sid}/Calls.json", auth=auth)).status_code == 403
    assert (await api.get(f"/Accounts/{beta.sid}/Calls/{call.sid}.json", auth=auth)).status_code == 403
    assert (await api.get(f"/Accounts/{beta.sid}.json", auth=auth)).status_code == 403


@pytest.mark.parametrize("status", ["suspended", "closed"])
async def test_inactive_account_is_403_even_on_its_own_resources(api, status):
    child = await make_account("child@company.com", status=status)
    response = await api.get(f"/Accounts/{child.sid}/Calls.json", auth=(child.sid, "secret-password"))
    assert response.status_code == 403
    assert response.json()["code"] == 20005
    assert status in response.json()["message"]


async def test_descendants_of_a_suspended_account_are_shut_out(api):
    child = await make_account("child@company.com")
    grandchild = await make_account("grandchild@company.com", parent=child)
    await api.post(f"/Accounts/{child.sid}.json", {"Status": "suspended"})
    response = await api.get(f"/Accounts/{grandchild.sid}/Calls.json", auth=(grandchild.sid, "secret-password"))
    assert response.status_code == 403
    assert response.json()["code"] == 20005


async def test_unknown_path_account_is_404(api):
    response = await api.get("/Accounts/AC0123456789abcdef0123456789abcdef/Calls")
    assert response.status_code == 404
    assert ET.fromstring(response.content).findtext("RestException/Code") == "20404"


async def test_wrong_credentials_on_unknown_route_still_401_not_404_leak(api):
    response = await api.get(f"/Accounts/{ADMIN_SID}/Calls.json", auth=(ADMIN_SID, "bad"))
    assert response.status_code == 401


async def test_uninitialized_default_account_may_use_the_api(api):
    account = (await api.get(f"/Accounts/{ADMIN_SID}.json")).json()
    assert account["status"] == "uninitialized"
    assert (await api.get(CALLS_JSON)).status_code == 200
