"""Accounts: get, list, create a sub-account, update name, password and status (both formats)."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

from models import Account
from tests.conftest import ADMIN_EMAIL, ADMIN_SID, ADMIN_TOKEN, BASE, make_account

ACCOUNT_KEYS = {"sid", "friendly_name", "email_address", "status", "type", "role", "auth_token", "parent_sid",
                "date_created", "date_updated", "calls_per_second", "max_concurrent_calls", "max_concurrent_requests",
                "uri", "subresource_uris"}


async def test_get_default_account_json(api):
    response = await api.get(f"/Accounts/{ADMIN_SID}.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == ACCOUNT_KEYS
    assert body["sid"] == ADMIN_SID
    assert body["email_address"] == ADMIN_EMAIL
    assert body["auth_token"] == ADMIN_TOKEN
    assert body["status"] == "uninitialized"
    assert body["role"] == "Administrator"
    assert body["parent_sid"] is None
    assert body["uri"] == f"/2012-04-24/Accounts/{ADMIN_SID}.json"
    assert body["subresource_uris"] == {"calls": f"/2012-04-24/Accounts/{ADMIN_SID}/Calls.json"}


async def test_get_default_account_xml(api):
    response = await api.get(f"/Accounts/{ADMIN_SID}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    account = ET.fromstring(response.content).find("Account")
    assert account.findtext("Sid") == ADMIN_SID
    assert account.findtext("EmailAddress") == ADMIN_EMAIL
    assert account.findtext("AuthToken") == ADMIN_TOKEN
    assert account.find("ParentSid").text is None
    assert account.findtext("Uri") == f"/2012-04-24/Accounts/{ADMIN_SID}"
    assert account.findtext("SubresourceUris/Calls") == f"/2012-04-24/Accounts/{ADMIN_SID}/Calls"


async def test_create_sub_account_returns_it_with_its_token(api):
    response = await api.post("/Accounts.json", {"FriendlyName": "Sales", "EmailAddress": "Sales@Company.com",
                                                  "Password": "sales-secret"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["friendly_name"] == "Sales"
    assert body["email_address"] == "sales@company.com"
    assert body["parent_sid"] == ADMIN_SID
    assert body["status"] == "active"
    assert body["role"] == "Developer"
    assert body["auth_token"] == hashlib.md5(b"sales-secret").hexdigest()
    stored = await Account.get(sid=body["sid"])
    assert stored.lineage == f"{ADMIN_SID}/{body['sid']}"
    # The new account can authenticate with the token it was given, and with its password.
    for secret in (body["auth_token"], "sales-secret"):
        mine = await api.get(f"/Accounts/{body['sid']}.json", auth=(body["sid"], secret))
        assert mine.status_code == 200


async def test_create_sub_account_xml(api):
    response = await api.post("/Accounts", {"EmailAddress": "ops@company.com", "Password": "ops-secret-1"})
    assert response.status_code == 201
    account = ET.fromstring(response.content).find("Account")
    assert account.findtext("FriendlyName") == "ops@company.com"
    assert account.findtext("ParentSid") == ADMIN_SID


async def test_default_name_of_a_long_address_is_its_first_64_characters(api):
    # An address may have 254 characters, a name 64: the default name is cut, not a 500 (found by schemathesis).
    email = "a" * 70 + "@example.com"
    response = await api.post("/Accounts.json", {"EmailAddress": email, "Password": "long-enough"})
    assert response.status_code == 201, response.text
    assert response.json()["friendly_name"] == email[:64]
    assert response.json()["email_address"] == email


async def test_create_with_taken_email_is_a_conflict_and_creates_nothing(api):
    before = await Account.all().count()
    response = await api.post("/Accounts.json", {"EmailAddress": "ADMINISTRATOR@company.com",
                                                  "Password": "another-secret"})
    assert response.status_code == 409
    assert response.json()["code"] == 20409
    assert await Account.all().count() == before


async def test_create_rejects_short_password_and_bad_email(api):
    short = await api.post("/Accounts.json", {"EmailAddress": "a@b.c", "Password": "short"})
    assert short.status_code == 400
    assert short.json()["message"] == "Password needs at least 8 characters"
    bad_email = await api.post("/Accounts.json", {"EmailAddress": "not-an-email", "Password": "long-enough"})
    assert bad_email.status_code == 400
    assert bad_email.json()["message"] == "EmailAddress must be an e-mail address"
    missing = await api.post("/Accounts.json", {"EmailAddress": "x@y.z"})
    assert missing.status_code == 400
    assert missing.json()["message"] == "Parameter 'Password' is required"


async def test_list_shows_self_and_descendants_only(api):
    child = await make_account("child@company.com")
    grandchild = await make_account("grandchild@company.com", parent=child)
    sibling = await make_account("sibling@company.com")

    everything = await api.get("/Accounts.json")
    assert everything.status_code == 200
    # A bare array, as RestComm answers the JSON Accounts list.
    assert {a["sid"] for a in everything.json()} == {ADMIN_SID, child.sid, grandchild.sid, sibling.sid}
    xml = ET.fromstring((await api.get("/Accounts")).content).find("Accounts")
    assert xml.attrib["total"] == "4" and len(xml.findall("Account")) == 4

    below_child = await api.get("/Accounts.json", auth=(child.sid, "secret-password"))
    assert {a["sid"] for a in below_child.json()} == {grandchild.sid, child.sid}


async def test_list_pages_with_after_sid_through_the_link_header(api):
    for n in range(5):
        await make_account(f"user{n}@company.com")
    first = await api.get("/Accounts.json", params={"PageSize": 2})
    # RFC 8288, parsed by the HTTP client's own Link parser.
    assert set(first.links) == {"first", "next", "last"}
    assert first.links["last"]["url"] == f"{BASE}/Accounts.json?Page=2&PageSize=2"
    second = await api.get(first.links["next"]["url"])
    assert set(second.links) == {"first", "prev", "next", "last"}
    assert second.links["prev"]["url"] == f"{BASE}/Accounts.json?Page=0&PageSize=2"
    third = await api.get(second.links["next"]["url"])
    seen = [a["sid"] for page in (first, second, third) for a in page.json()]
    assert len(seen) == len(set(seen)) == 6
    assert "next" not in third.links and len(third.json()) == 2
    # Page and PageSize without AfterSid still select a page.
    assert [a["sid"] for a in (await api.get("/Accounts.json", params={"Page": 1, "PageSize": 2})).json()] == [
        a["sid"] for a in second.json()]


async def test_update_friendly_name_and_password(api):
    child = await make_account("child@company.com")
    renamed = await api.post(f"/Accounts/{child.sid}.json", {"FriendlyName": "Child Co"})
    assert renamed.status_code == 200
    assert renamed.json()["friendly_name"] == "Child Co"

    changed = await api.post(f"/Accounts/{child.sid}.json", {"Password": "brand-new-secret"},
                             auth=(child.sid, "secret-password"))
    assert changed.status_code == 200
    new_token = hashlib.md5(b"brand-new-secret").hexdigest()
    assert changed.json()["auth_token"] == new_token
    assert (await api.get(f"/Accounts/{child.sid}.json", auth=(child.sid, "secret-password"))).status_code == 401
    assert (await api.get(f"/Accounts/{child.sid}.json", auth=(child.sid, new_token))).status_code == 200


async def test_changing_the_default_password_initializes_the_account(api):
    response = await api.post(f"/Accounts/{ADMIN_SID}.json", {"Password": "not-the-default"})
    assert response.status_code == 200
    assert response.json()["status"] == "active"


async def test_parent_suspends_and_reactivates_a_sub_account(api):
    child = await make_account("child@company.com")
    suspended = await api.post(f"/Accounts/{child.sid}", {"Status": "suspended"})
    assert suspended.status_code == 200
    assert ET.fromstring(suspended.content).findtext("Account/Status") == "suspended"
    refused = await api.get(f"/Accounts/{child.sid}.json", auth=(child.sid, "secret-password"))
    assert refused.status_code == 403
    assert refused.json()["code"] == 20005
    await api.post(f"/Accounts/{child.sid}.json", {"Status": "active"})
    assert (await api.get(f"/Accounts/{child.sid}.json", auth=(child.sid, "secret-password"))).status_code == 200


async def test_an_account_cannot_change_its_own_status(api):
    child = await make_account("child@company.com")
    response = await api.post(f"/Accounts/{child.sid}.json", {"Status": "suspended"},
                              auth=(child.sid, "secret-password"))
    assert response.status_code == 403
    assert (await Account.get(sid=child.sid)).status == "active"


async def test_closed_account_cannot_be_reopened(api):
    child = await make_account("child@company.com", status="closed")
    response = await api.post(f"/Accounts/{child.sid}.json", {"Status": "active"})
    assert response.status_code == 409
    assert (await Account.get(sid=child.sid)).status == "closed"


async def test_update_with_nothing_to_change_is_rejected(api):
    response = await api.post(f"/Accounts/{ADMIN_SID}.json", {"Unknown": "x"})
    assert response.status_code == 400
    assert "Nothing to change" in response.json()["message"]


async def test_update_rejects_unknown_status(api):
    child = await make_account("child@company.com")
    response = await api.post(f"/Accounts/{child.sid}.json", {"Status": "deleted"})
    assert response.status_code == 400
    assert response.json()["message"] == "Status must be one of active, suspended, closed"


async def test_sub_account_cannot_see_or_change_its_parent(api):
    child = await make_account("child@company.com")
    auth = (child.sid, "secret-password")
    assert (await api.get(f"/Accounts/{ADMIN_SID}.json", auth=auth)).status_code == 403
    response = await api.post(f"/Accounts/{ADMIN_SID}.json", {"FriendlyName": "mine now"}, auth=auth)
    assert response.status_code == 403
    assert (await Account.get(sid=ADMIN_SID)).friendly_name == "Default Administrator Account"


async def test_nesting_depth_is_bounded(api):
    parent = await Account.get(sid=ADMIN_SID)
    for level in range(9):
        parent = await make_account(f"level{level}@company.com", parent=parent)
    response = await api.post("/Accounts.json", {"EmailAddress": "too-deep@company.com", "Password": "long-enough"},
                              auth=(parent.sid, "secret-password"))
    assert response.status_code == 400
    assert "nested at most 10 deep" in response.json()["message"]
