"""Input that two parts of the stack could read two ways is refused (issue 12): over 1,000 form fields, and two
Content-Type or Content-Length headers (the SIP side: tests/calls/test_hostile_media.py)."""

from __future__ import annotations

from models import Call
from tests.conftest import ADMIN_SID, BASE

CALLS = f"{BASE}/Accounts/{ADMIN_SID}/Calls.json"
FORM = "application/x-www-form-urlencoded"


async def test_a_form_of_1001_fields_is_400_not_500(api):
    response = await api.post(CALLS, {f"F{n}": "x" for n in range(1001)})
    assert response.status_code == 400, response.text
    assert "1000 parameters" in response.json()["message"]


async def test_two_content_types_are_400_and_nothing_is_stored(api):
    body = b"From=%2B1555&From=%2B1666&To=sip:a@127.0.0.1&Url=http://127.0.0.1:9/x"
    for order in ((FORM, "text/plain"), ("text/plain", FORM)):
        response = await api.request("POST", CALLS, content=body,
                                     headers=[("Content-Type", order[0]), ("Content-Type", order[1])])
        assert response.status_code == 400, response.text
        assert "Content-Type header is given more than once" in response.json()["message"]
    assert await Call.all().count() == 0


async def test_two_content_lengths_are_400(api):
    body = b"From=%2B1555&To=sip:a@127.0.0.1&Url=http://127.0.0.1:9/x"
    response = await api.request("POST", CALLS, content=body, headers=[
        ("Content-Type", FORM), ("Content-Length", str(len(body))), ("Content-Length", "5")])
    assert response.status_code == 400, response.text
    assert await Call.all().count() == 0
