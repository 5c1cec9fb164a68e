"""Clients (contract section 9): create, list, get, update, delete, in both formats, per account."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from models import Client, Registration, clock
from models.client import digest_ha1
from tests.conftest import ADMIN_SID, make_account

CLIENTS = f"/Accounts/{ADMIN_SID}/Clients"
CLIENT_KEYS = {"sid", "date_created", "date_updated", "account_sid", "api_version", "friendly_name", "login",
               "status", "voice_url", "voice_method", "voice_fallback_url", "voice_fallback_method", "uri"}


async def create(api, **form) -> dict:
    response = await api.post(CLIENTS + ".json", {"Login": "alice", "Password": "1234", **form})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_stores_a_digest_hash_never_the_password(api):
    client = await create(api, FriendlyName="Alice", VoiceUrl="http://app.example/alice.xml")
    assert set(client) == CLIENT_KEYS
    assert client["login"] == "alice" and client["friendly_name"] == "Alice"
    assert client["status"] == "1"
    assert client["voice_url"] == "http://app.example/alice.xml" and client["voice_method"] == "POST"
    assert client["uri"] == f"/2012-04-24{CLIENTS}/{client['sid']}.json"
    stored = await Client.get(sid=client["sid"])
    assert stored.password_ha1 == digest_ha1("alice", "1234")
    assert "1234" not in str(await Client.filter(sid=client["sid"]).values())


async def test_get_list_and_xml(api):
    client = await create(api)
    assert (await api.get(f"{CLIENTS}/{client['sid']}.json")).json() == client
    element = ET.fromstring((await api.get(f"{CLIENTS}/{client['sid']}")).content).find("Client")
    assert element.findtext("Login") == "alice"
    assert element.find("Password") is None
    listing = await api.get(CLIENTS + ".json")
    # A bare array, as RestComm answers the JSON Clients list; paging links in the Link header.
    assert [c["sid"] for c in listing.json()] == [client["sid"]]
    assert set(listing.links) == {"first", "last"}
    xml_list = ET.fromstring((await api.get(CLIENTS)).content).find("Clients")
    assert xml_list.attrib["total"] == "1"


async def test_login_is_unique_on_the_server(api):
    await create(api)
    other = await make_account("other@company.com")
    response = await api.post(f"/Accounts/{other.sid}/Clients.json", {"Login": "alice", "Password": "5678"})
    assert response.status_code == 409
    assert await Client.all().count() == 1


async def test_update_password_and_disable_drops_registrations(api):
    client = await create(api)
    now = clock.now()
    await Registration.create(client_sid=client["sid"], login="alice", contact_uri="sip:alice@127.0.0.1:5090",
                              source_host="127.0.0.1", source_port=5090, expires_at=now, date_created=now,
                              date_updated=now)
    changed = await api.post(f"{CLIENTS}/{client['sid']}.json", {"Password": "new-pass", "Status": "0"})
    assert changed.status_code == 200
    assert changed.json()["status"] == "0"
    stored = await Client.get(sid=client["sid"])
    assert stored.password_ha1 == digest_ha1("alice", "new-pass")
    assert await Registration.filter(client_sid=client["sid"]).count() == 0


async def test_delete(api):
    client = await create(api)
    response = await api.request("DELETE", f"{CLIENTS}/{client['sid']}.json")
    assert response.status_code == 204 and response.content == b""
    assert (await api.get(f"{CLIENTS}/{client['sid']}.json")).status_code == 404
    assert (await api.request("DELETE", f"{CLIENTS}/{client['sid']}")).status_code == 404


async def test_bad_input(api):
    for form, message in (
        ({"Login": "al ice", "Password": "1234"}, "Login must be letters, digits and . _ ~ + - only"),
        ({"Login": "alice", "Password": "123"}, "Password needs at least 4 characters"),
        ({"Login": "alice"}, "Parameter 'Password' is required"),
        ({"Login": "alice", "Password": "1234", "Status": "2"}, "Status must be one of 0, 1"),
        ({"Login": "alice", "Password": "1234", "VoiceUrl": "x"},
         "VoiceUrl must be an http(s) URL or a path starting with /"),
    ):
        response = await api.post(CLIENTS + ".json", form)
        assert response.status_code == 400
        assert response.json()["message"] == message
    assert await Client.all().count() == 0


async def test_clients_of_another_account_are_out_of_reach(api):
    other = await make_account("other@company.com")
    mine = await create(api)
    auth = (other.sid, "secret-password")
    assert (await api.get(f"{CLIENTS}/{mine['sid']}.json", auth=auth)).status_code == 403
    assert (await api.get(f"/Accounts/{other.sid}/Clients/{mine['sid']}.json", auth=auth)).status_code == 404


async def test_a_login_longer_than_any_number_is_created_not_a_500(api):
    # The number/login namespace check looked the login up as a number, a column of 32: Tortoise raised.
    login = "0" * 63
    client = await create(api, Login=login, Password="alice-secret-1")
    assert client["login"] == login
