"""The URL spellings RestComm serves beside the canonical ones (contract sections 1 and 9).

RestComm strips `.json` from every path segment, so `Clients.json/{Sid}` is `Clients/{Sid}.json`; its own SDK
and docs use that form for accounts, clients and numbers. A trailing slash is ignored there too: its docs
create a sub-account with `POST .../Accounts/`, its SDK with `POST .../Accounts.json/`.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

from models import Conference, clock, sids
from tests.conftest import ADMIN_SID, BASE, make_account, make_call, make_notification, make_recording

ACCOUNT = f"/Accounts/{ADMIN_SID}"


async def _same_on_both_spellings(api, canonical: str, alias: str) -> dict:
    first = await api.get(canonical)
    second = await api.get(alias)
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert second.headers["content-type"] == "application/json"
    assert second.json() == first.json()
    return second.json()


async def test_an_account_on_accounts_json_slash_sid(api):
    sub = await make_account("sales@company.com")
    fetched = await _same_on_both_spellings(api, f"/Accounts/{sub.sid}.json", f"/Accounts.json/{sub.sid}")
    assert fetched["sid"] == sub.sid

    # What the SDK's ChangeAccountPassword sends (AccountSid in the body is an unknown parameter: ignored).
    changed = await api.post(f"/Accounts.json/{sub.sid}", {"AccountSid": sub.sid, "Password": "a-new-password"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["auth_token"] != fetched["auth_token"]
    login = await api.get(f"/Accounts.json/{sub.sid}", auth=(sub.sid, changed.json()["auth_token"]))
    assert login.status_code == 200

    # The SDK's CloseSubAccount.
    closed = await api.post(f"/Accounts.json/{sub.sid}", {"Status": "closed"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    missing = await api.get(f"/Accounts.json/AC{'0' * 32}")
    assert missing.status_code == 404 and missing.json()["code"] == 20404


async def test_a_client_on_clients_json_slash_sid(api):
    created = (await api.post(f"{ACCOUNT}/Clients.json", {"Login": "alice", "Password": "secret-1234"})).json()
    sid = created["sid"]
    await _same_on_both_spellings(api, f"{ACCOUNT}/Clients/{sid}.json", f"{ACCOUNT}/Clients.json/{sid}")
    renamed = await api.post(f"{ACCOUNT}/Clients.json/{sid}", {"FriendlyName": "Alice L."})
    assert renamed.status_code == 200 and renamed.json()["friendly_name"] == "Alice L."
    deleted = await api.request("DELETE", f"{ACCOUNT}/Clients.json/{sid}")
    assert deleted.status_code == 204
    assert (await api.get(f"{ACCOUNT}/Clients/{sid}.json")).status_code == 404


async def test_a_number_on_incoming_phone_numbers_json_slash_sid(api):
    created = (await api.post(f"{ACCOUNT}/IncomingPhoneNumbers.json", {
        "PhoneNumber": "+15551234567", "VoiceUrl": "http://127.0.0.1:8080/restcomm/demos/hello-play.xml"})).json()
    sid = created["sid"]
    base = f"{ACCOUNT}/IncomingPhoneNumbers"
    await _same_on_both_spellings(api, f"{base}/{sid}.json", f"{base}.json/{sid}")
    renamed = await api.post(f"{base}.json/{sid}", {"FriendlyName": "Front desk"})
    assert renamed.status_code == 200 and renamed.json()["friendly_name"] == "Front desk"
    assert (await api.request("DELETE", f"{base}.json/{sid}")).status_code == 204
    assert (await api.get(f"{base}/{sid}.json")).status_code == 404


async def test_recordings_notifications_and_conferences_on_the_json_slash_sid_form(api):
    call = await make_call()
    recording = await make_recording(call)
    notification = await make_notification(call)
    now = clock.now()
    room = await Conference.create(sid=sids.new_sid(sids.CONFERENCE), account_sid=ADMIN_SID, friendly_name="room",
                                   date_created=now, date_updated=now)
    for resource, sid in (("Recordings", recording.sid), ("Notifications", notification.sid),
                          ("Conferences", room.sid)):
        fetched = await _same_on_both_spellings(api, f"{ACCOUNT}/{resource}/{sid}.json",
                                                f"{ACCOUNT}/{resource}.json/{sid}")
        assert fetched["sid"] == sid
    assert (await api.request("DELETE", f"{ACCOUNT}/Recordings.json/{recording.sid}")).status_code == 204
    assert (await api.get(f"{ACCOUNT}/Recordings/{recording.sid}.json")).status_code == 404


async def test_a_trailing_slash_creates_and_lists_without_a_redirect(api):
    # The SDK's CreateSubAccount: a client that does not follow a 307 on POST would create nothing.
    created = await api.post("/Accounts.json/", {"FriendlyName": "Sales", "EmailAddress": "sales@company.com",
                                                 "Password": "sales-secret"})
    assert created.status_code == 201, created.text
    assert created.json()["email_address"] == "sales@company.com"
    # The docs' XML form.
    docs = await api.post("/Accounts/", {"FriendlyName": "MySubAccount", "EmailAddress": "test@telestax.com",
                                         "Password": "restcomm-1"})
    assert docs.status_code == 201
    assert ET.fromstring(docs.content).findtext("Account/EmailAddress") == "test@telestax.com"

    listed = await api.get("/Accounts.json/")
    assert listed.status_code == 200
    one = await api.get(f"/Accounts/{ADMIN_SID}/")
    assert one.status_code == 200 and ET.fromstring(one.content).findtext("Account/Sid") == ADMIN_SID
    # The other version spelling with a slash as well.
    alias = await api.get(f"/restcomm/20120424/Accounts/{ADMIN_SID}/Calls.json/")
    assert alias.status_code == 200


async def test_the_api_reference_keeps_its_slash(api):
    page = await api.get(f"{BASE}/ui/", auth=None)
    assert page.status_code == 200 and "swagger" in page.text.lower()


async def test_put_updates_an_account_as_the_restcomm_docs_do(api):
    sub = await make_account("sales@company.com")
    # "Close Sub-Accounts", JSON: curl -X PUT .../Accounts.json/<subAccountSid> -d "Status=closed"
    closed = await api.request("PUT", f"/Accounts.json/{sub.sid}", data={"Status": "closed"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    other = await make_account("ops@company.com")
    # "Change default account password", XML: curl -X PUT .../Accounts/<secondaryAccountSid> -d "Password=..."
    changed = await api.request("PUT", f"/Accounts/{other.sid}", data={"Password": "NewPassword"})
    assert changed.status_code == 200
    token = ET.fromstring(changed.content).findtext("Account/AuthToken")
    assert token == hashlib.md5(b"NewPassword").hexdigest()
    renamed = await api.request("PUT", f"/Accounts/{other.sid}.json", data={"FriendlyName": "Ops"})
    assert renamed.status_code == 200 and renamed.json()["friendly_name"] == "Ops"
    # Deleting stays refused, as RestComm deprecated it (405 with the methods the resource has).
    deleted = await api.request("DELETE", f"/Accounts.json/{other.sid}")
    assert deleted.status_code == 405 and "PUT" in deleted.headers["allow"]
