"""IncomingPhoneNumbers (contract section 9): the numbers an account answers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from models import IncomingPhoneNumber
from tests.conftest import ADMIN_SID, make_account

NUMBERS = f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers"


async def create(api, number: str = "+15551234567", **form) -> dict:
    response = await api.post(NUMBERS + ".json", {"PhoneNumber": number, **form})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_get_update_delete(api):
    number = await create(api, FriendlyName="Support", VoiceUrl="http://app.example/support.xml",
                          StatusCallback="http://app.example/status")
    assert number["phone_number"] == "+15551234567"
    assert number["friendly_name"] == "Support"
    assert number["voice_url"] == "http://app.example/support.xml"
    assert number["uri"] == f"/2012-04-24{NUMBERS}/{number['sid']}.json"
    assert (await api.get(f"{NUMBERS}/{number['sid']}.json")).json() == number
    element = ET.fromstring((await api.get(f"{NUMBERS}/{number['sid']}")).content).find("IncomingPhoneNumber")
    assert element.findtext("PhoneNumber") == "+15551234567"

    updated = await api.post(f"{NUMBERS}/{number['sid']}.json", {"VoiceUrl": "/restcomm/demos/hello-play.xml",
                                                                 "VoiceMethod": "GET"})
    assert updated.json()["voice_url"] == "/restcomm/demos/hello-play.xml"
    assert updated.json()["voice_method"] == "GET"

    assert (await api.request("DELETE", f"{NUMBERS}/{number['sid']}.json")).status_code == 204
    assert await IncomingPhoneNumber.all().count() == 0


async def test_curl_plus_and_uniqueness_across_spellings(api):
    response = await api.post(NUMBERS + ".json", content=b"PhoneNumber=+15550001111",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.json()["phone_number"] == "+15550001111"
    other = await make_account("other@company.com")
    taken = await api.post(f"/Accounts/{other.sid}/IncomingPhoneNumbers.json", {"PhoneNumber": "15550001111"})
    assert taken.status_code == 409


async def test_list_filters(api):
    first = await create(api, "+15550000001", FriendlyName="Sales")
    second = await create(api, "+15550000002", FriendlyName="Support")
    by_number = (await api.get(NUMBERS + ".json", params={"PhoneNumber": "15550000001"})).json()
    assert [n["sid"] for n in by_number["incomingPhoneNumbers"]] == [first["sid"]]
    by_name = (await api.get(NUMBERS + ".json", params={"FriendlyName": "Support"})).json()
    assert [n["sid"] for n in by_name["incomingPhoneNumbers"]] == [second["sid"]]
    assert "FriendlyName=Support" in by_name["uri"]


async def test_bad_input(api):
    for form in ({"PhoneNumber": "call-me"}, {}, {"PhoneNumber": "+1555", "VoiceMethod": "PUT"}):
        assert (await api.post(NUMBERS + ".json", form)).status_code == 400
    assert await IncomingPhoneNumber.all().count() == 0
