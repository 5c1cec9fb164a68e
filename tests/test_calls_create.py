"""POST Calls: a valid request stores a queued call; anything invalid is a 4xx that stores nothing."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from models import Call
from tests.conftest import ADMIN_SID

CALLS = f"/Accounts/{ADMIN_SID}/Calls"
CALL_KEYS = {"sid", "date_created", "date_updated", "parent_call_sid", "account_sid", "to", "from",
             "phone_number_sid", "status", "start_time", "end_time", "duration", "price", "price_unit",
             "direction", "answered_by", "answered_by_detail", "api_version", "forwarded_from", "caller_name", "muted",
             "uri", "subresource_uris"}
DOC_EXAMPLE = {"From": "+16175551212", "To": "sip:alice@127.0.0.1:5060",
               "Url": "http://127.0.0.1:8080/restcomm/demos/hello-play.xml"}


async def test_docs_example_creates_a_queued_call(api):
    response = await api.post(CALLS + ".json", DOC_EXAMPLE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    call = response.json()
    assert set(call) == CALL_KEYS
    assert call["sid"].startswith("CA") and len(call["sid"]) == 34
    assert call["status"] == "queued"
    assert call["to"] == "alice"
    assert call["from"] == "+16175551212"
    assert call["direction"] == "outbound-api"
    assert call["api_version"] == "2012-04-24"
    assert call["account_sid"] == ADMIN_SID
    assert call["start_time"] == call["date_created"]
    assert call["end_time"] is None and call["duration"] is None and call["parent_call_sid"] is None
    created = dt.datetime.fromisoformat(call["date_created"])
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 60
    assert call["date_created"].endswith("+00:00") and len(call["date_created"].split(".")[1]) == 9
    assert call["uri"] == f"/2012-04-24/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json"
    call_path = f"/2012-04-24/Accounts/{ADMIN_SID}/Calls/{call['sid']}"
    assert call["subresource_uris"]["recordings"] == f"{call_path}/Recordings.json"

    stored = await Call.get(sid=call["sid"])
    assert stored.destination == "sip:alice@127.0.0.1:5060"
    assert stored.url == DOC_EXAMPLE["Url"]
    assert stored.method == "POST" and stored.timeout == 60
    assert stored.status_callback_event == "completed"


async def make_client(api, login: str) -> None:
    response = await api.post(f"/Accounts/{ADMIN_SID}/Clients.json", {"Login": login, "Password": "1234"})
    assert response.status_code == 201


async def test_create_in_xml(api):
    await make_client(api, "bob")
    response = await api.post(CALLS, {"From": "alice", "To": "client:bob", "Url": "/restcomm/demos/hello-play.xml"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    call = ET.fromstring(response.content).find("Call")
    assert call.findtext("Status") == "queued"
    assert call.findtext("To") == "bob"
    assert call.findtext("From") == "alice"
    assert call.find("EndTime").text is None
    assert call.findtext("Uri") == f"/2012-04-24/Accounts/{ADMIN_SID}/Calls/{call.findtext('Sid')}"


async def test_unencoded_plus_in_a_curl_body_is_kept(api):
    # `curl -d "From=+16175551212"` sends the + raw, and form decoding turns it into a space.
    response = await api.post(CALLS + ".json", content=b"From=+16175551212&To=+15551234567&Url=/restcomm/x.xml",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert response.json()["from"] == "+16175551212"
    assert response.json()["to"] == "+15551234567"


async def test_all_options_are_stored(api):
    response = await api.post(CALLS + ".json", {
        **DOC_EXAMPLE,
        "To": "sip:bob@example.com:5090?X-Ticket=42&X-Team=blue",
        "Method": "GET",
        "FallbackUrl": "https://fallback.example/rcml",
        "FallbackMethod": "GET",
        "StatusCallback": "http://127.0.0.1:9/status",
        "StatusCallbackMethod": "GET",
        "StatusCallbackEvent": ["completed", "initiated ringing"],
        "Timeout": "20",
        "Username": "bob",
        "Password": "bobs-secret",
    })
    assert response.status_code == 200, response.text
    stored = await Call.get(sid=response.json()["sid"])
    assert stored.destination == "sip:bob@example.com:5090"
    assert stored.sip_headers == "X-Ticket=42&X-Team=blue"
    assert (stored.method, stored.fallback_method, stored.status_callback_method) == ("GET", "GET", "GET")
    assert stored.fallback_url == "https://fallback.example/rcml"
    assert stored.status_callback_event == "initiated,ringing,completed"
    assert stored.timeout == 20
    # Digest credentials are never written to the database.
    assert "bobs-secret" not in repr(await Call.filter(sid=stored.sid).values())


@pytest.mark.parametrize(("to", "shown", "destination"), [
    ("sip:alice@127.0.0.1:5060", "alice", "sip:alice@127.0.0.1:5060"),
    ("SIP:alice@example.com", "alice", "sip:alice@example.com"),
    ("sip:127.0.0.1:5061", "127.0.0.1", "sip:127.0.0.1:5061"),
    ("client:alice", "alice", "alice"),
    ("+1 (617) 555-1212", "+16175551212", "+16175551212"),
    ("1234", "1234", "1234"),
])
async def test_to_kinds(api, to, shown, destination):
    await make_client(api, "alice")
    response = await api.post(CALLS + ".json", {**DOC_EXAMPLE, "To": to})
    assert response.status_code == 200, response.text
    assert response.json()["to"] == shown
    assert (await Call.get(sid=response.json()["sid"])).destination == destination


async def test_an_unknown_client_is_refused_at_once(api):
    response = await api.post(CALLS + ".json", {**DOC_EXAMPLE, "To": "client:nobody"})
    assert response.status_code == 400
    assert response.json()["code"] == 21211
    assert "client:nobody is not a client" in response.json()["message"]
    assert await Call.all().count() == 0


async def test_sip_uri_from_shows_its_user(api):
    response = await api.post(CALLS + ".json", {**DOC_EXAMPLE, "From": "sip:+15126002188@mobicents.org"})
    assert response.json()["from"] == "+15126002188"


async def test_from_is_free_text(api):
    for caller_id in ("Front Desk", "sip:@", "<alice>"):
        response = await api.post(CALLS + ".json", {**DOC_EXAMPLE, "From": caller_id})
        assert response.status_code == 200
        assert response.json()["from"] == caller_id


async def test_event_list_accepts_commas_spaces_and_repeats(api):
    for events in ("ringing,answered", "ringing answered", ["ringing", "answered"]):
        response = await api.post(CALLS + ".json", {**DOC_EXAMPLE, "StatusCallbackEvent": events})
        assert response.status_code == 200
        assert (await Call.get(sid=response.json()["sid"])).status_callback_event == "ringing,answered"


BAD_REQUESTS = [
    ({"To": "sip:a@b", "Url": "/x"}, 21213, "No 'From' number is specified"),
    ({"From": "a", "Url": "/x"}, 21201, "No 'To' number is specified"),
    ({"From": "a", "To": "sip:a@b"}, 21205, "No 'Url' is specified"),
    ({"From": "", "To": "sip:a@b", "Url": "/x"}, 21212, "From may not be empty"),
    ({"From": "a", "To": "", "Url": "/x"}, 21211, "To may not be empty"),
    ({"From": "a", "To": "alice", "Url": "/x"}, 21211, None),
    ({"From": "a", "To": "sip:alice@", "Url": "/x"}, 21211, None),
    ({"From": "a", "To": "sip:alice@host:70000", "Url": "/x"}, 21211, None),
    ({"From": "a", "To": "client:", "Url": "/x"}, 21211, None),
    ({"From": "a", "To": "sip:a@b?Route=sip:evil", "Url": "/x"}, 21211, None),
    ({"From": "   ", "To": "sip:a@b", "Url": "/x"}, 21212, None),
    ({"From": "a", "To": "sip:a@b", "Url": "relative.xml"}, 21205,
     "Url must be an http(s) URL or a path starting with /"),
    ({"From": "a", "To": "sip:a@b", "Url": "ftp://host/x"}, 21205, None),
    ({"From": "a", "To": "sip:a@b", "Url": "http://host:99999/x"}, 21205, None),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "Method": "PUT"}, 20400, "Method must be one of GET, POST"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "Timeout": "0"}, 20400, "Timeout must be at least 1"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "Timeout": "601"}, 20400, "Timeout must be at most 600"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "Timeout": "ten"}, 20400, "Timeout must be an integer"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "StatusCallback": "nope"}, 21609, None),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "StatusCallbackEvent": "hangup"}, 20400, None),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "FallbackUrl": "javascript:alert(1)"}, 20400, None),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "MachineDetection": "enable"}, 20400,
     "MachineDetection must be one of Enable, DetectMessageEnd"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "MachineDetectionTimeout": "60"}, 20400,
     "MachineDetectionTimeout must be at most 59"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "MachineDetectionSpeechThreshold": "999"}, 20400,
     "MachineDetectionSpeechThreshold must be at least 1000"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "MachineDetectionSpeechEndThreshold": "5001"}, 20400,
     "MachineDetectionSpeechEndThreshold must be at most 5000"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "MachineDetectionSilenceTimeout": "1999"}, 20400,
     "MachineDetectionSilenceTimeout must be at least 2000"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "AsyncAmd": "maybe"}, 20400, "AsyncAmd must be true or false"),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "AsyncAmdStatusCallback": "nope"}, 20400, None),
    ({"From": "a", "To": "sip:a@b", "Url": "/x", "AsyncAmdStatusCallbackMethod": "PUT"}, 20400,
     "AsyncAmdStatusCallbackMethod must be one of GET, POST"),
]


@pytest.mark.parametrize(("form", "code", "message"), BAD_REQUESTS)
async def test_bad_requests_are_400_and_store_nothing(api, form, code, message):
    for suffix in (".json", ""):
        response = await api.post(CALLS + suffix, form)
        assert response.status_code == 400, response.text
        if suffix == ".json":
            error = response.json()
            assert error["code"] == code
            assert error["status"] == 400
            assert "\n" not in error["message"] and len(error["message"]) < 200
            if message:
                assert error["message"] == message
            assert error["more_info"].startswith("https://")
        else:
            exception = ET.fromstring(response.content).find("RestException")
            assert exception.findtext("Code") == str(code)
            assert exception.findtext("Status") == "400"
    assert await Call.all().count() == 0
