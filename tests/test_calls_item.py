"""GET and POST on one call, on every URL form (contract sections 1, 4 and 8)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from models import Call
from tests.conftest import ADMIN_SID, make_account, make_call, utc

CALLS = f"/Accounts/{ADMIN_SID}/Calls"


async def create_queued(api) -> dict:
    response = await api.post(CALLS + ".json", {"From": "+16175551212", "To": "sip:alice@127.0.0.1:5061",
                                                 "Url": "http://127.0.0.1:8080/restcomm/demos/hello-play.xml"})
    assert response.status_code == 200
    return response.json()


async def test_get_a_call_on_every_url_form(api):
    call = await create_queued(api)
    sid = call["sid"]
    for path in (f"{CALLS}/{sid}.json", f"{CALLS}.json/{sid}"):
        response = await api.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json() == call
    xml = await api.get(f"{CALLS}/{sid}")
    assert xml.headers["content-type"] == "application/xml"
    element = ET.fromstring(xml.content).find("Call")
    assert element.findtext("Sid") == sid
    assert element.findtext("Status") == "queued"
    # The docs' other spelling of the version reaches the same call.
    alias = await api.get(f"/restcomm/20120424/Accounts/{ADMIN_SID}/Calls.json/{sid}")
    assert alias.status_code == 200 and alias.json()["sid"] == sid


async def test_unknown_call_is_404_in_the_routes_format(api):
    missing = "CA" + "f" * 32
    json_response = await api.get(f"{CALLS}/{missing}.json")
    assert json_response.status_code == 404
    assert json_response.json() == {"code": 20404, "message": f"Call {missing} was not found",
                                    "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}
    xml_response = await api.get(f"{CALLS}/{missing}")
    assert ET.fromstring(xml_response.content).findtext("RestException/Code") == "20404"


async def test_a_call_of_another_account_is_not_found_through_mine(api):
    other = await make_account("other@company.com")
    foreign = await make_call(other.sid)
    assert (await api.get(f"{CALLS}/{foreign.sid}.json")).status_code == 404
    assert (await api.post(f"{CALLS}/{foreign.sid}.json", {"Status": "completed"})).status_code == 404
    assert (await Call.get(sid=foreign.sid)).status == "completed"


@pytest.mark.parametrize("status", ["canceled", "completed"])
async def test_hanging_up_a_queued_call_cancels_it(api, status):
    call = await create_queued(api)
    response = await api.post(f"{CALLS}.json/{call['sid']}", {"Status": status})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "canceled"
    assert body["end_time"] is not None and body["duration"] == 0
    assert body["price"] == "0.00" and body["price_unit"] == "USD"
    stored = await Call.get(sid=call["sid"])
    assert stored.status == "canceled"


async def test_modification_of_an_ended_call_is_409_21220_and_changes_nothing(api):
    ended = await make_call(status="completed", url="http://app.example/original")
    for form in ({"Status": "completed"}, {"Url": "http://app.example/new"}, {"Status": "canceled"}):
        response = await api.post(f"{CALLS}/{ended.sid}.json", form)
        assert response.status_code == 409
        assert response.json()["code"] == 21220
        xml = await api.post(f"{CALLS}/{ended.sid}", form)
        assert xml.status_code == 409
        assert ET.fromstring(xml.content).findtext("RestException/Code") == "21220"
    stored = await Call.get(sid=ended.sid)
    assert stored.status == "completed" and stored.url == "http://app.example/original"


async def test_a_modification_with_nothing_to_do_is_400(api):
    call = await create_queued(api)
    empty = await api.post(f"{CALLS}/{call['sid']}.json", {})
    assert empty.status_code == 400
    assert empty.json()["message"] == "The request has no parameters: send them form-encoded in the body"
    unrelated = await api.post(f"{CALLS}/{call['sid']}.json", {"Unrelated": "x"})
    assert unrelated.status_code == 400
    assert unrelated.json()["message"].startswith("Nothing to change: give Url, Method, Status,")


async def test_redirect_of_a_queued_call_replaces_its_application(api):
    call = await create_queued(api)
    response = await api.post(f"{CALLS}/{call['sid']}", {
        "Url": "http://127.0.0.1:8080/restcomm/demos/hello-world.xml", "Method": "GET",
        "FallbackUrl": "http://fallback.example/x", "StatusCallback": "http://status.example/cb",
        "StatusCallbackMethod": "GET",
    })
    assert response.status_code == 200
    assert ET.fromstring(response.content).findtext("Call/Status") == "queued"
    stored = await Call.get(sid=call["sid"])
    assert stored.url == "http://127.0.0.1:8080/restcomm/demos/hello-world.xml"
    assert stored.method == "GET"
    assert stored.fallback_url == "http://fallback.example/x"
    assert (stored.status_callback, stored.status_callback_method) == ("http://status.example/cb", "GET")


async def test_canceled_on_a_call_in_progress_does_nothing(api):
    live = await make_call(status="in-progress", end_time=None)
    response = await api.post(f"{CALLS}/{live.sid}.json", {"Status": "canceled"})
    assert response.status_code == 200
    assert response.json()["status"] == "in-progress"


async def test_the_modification_response_shows_the_mute_and_a_new_date_updated(api):
    live = await make_call(status="in-progress", end_time=None, date_updated=utc(2026, 1, 1))
    response = await api.post(f"{CALLS}/{live.sid}.json", {"Mute": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["muted"] is True and body["date_updated"] > "2026-01-01T00:00:00.000+00:00"
    xml = ET.fromstring((await api.get(f"{CALLS}/{live.sid}")).content)
    assert xml.findtext("Call/Muted") == "true"
    unmuted = await api.post(f"{CALLS}.json/{live.sid}", {"Mute": "false"})
    assert unmuted.json()["muted"] is False


@pytest.mark.parametrize("form", [{"Mute": "true"}, {"Url": "/x", "MoveConnectedCallLeg": "true"}])
async def test_leg_changes_need_a_call_in_progress(api, form):
    call = await create_queued(api)
    response = await api.post(f"{CALLS}/{call['sid']}.json", form)
    assert response.status_code == 409
    assert response.json()["code"] == 21220


@pytest.mark.parametrize(("form", "code"), [
    ({"Status": "busy"}, 20400),
    ({"Url": "not a url"}, 21205),
    ({"Method": "DELETE"}, 20400),
    ({"Mute": "maybe"}, 20400),
    ({"StatusCallback": "x"}, 21609),
])
async def test_malformed_modifications_are_400_and_change_nothing(api, form, code):
    call = await create_queued(api)
    response = await api.post(f"{CALLS}/{call['sid']}.json", form)
    assert response.status_code == 400
    assert response.json()["code"] == code
    stored = await Call.get(sid=call["sid"])
    assert stored.status == "queued"
    assert stored.url == "http://127.0.0.1:8080/restcomm/demos/hello-play.xml"


async def test_concurrent_hangups_end_the_call_once(api):
    import asyncio

    call = await create_queued(api)
    responses = await asyncio.gather(*[api.post(f"{CALLS}/{call['sid']}.json", {"Status": "completed"})
                                       for _ in range(5)])
    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 200
    assert set(codes) <= {200, 409}
    stored = await Call.get(sid=call["sid"])
    assert stored.status == "canceled"
