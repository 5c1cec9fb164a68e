"""A list filter's date that the spec's pattern lets through but that names no real day is a 400 in the
dialect's own error shape, on every list that filters by date, and never a 500."""

import pytest

from tests.conftest import ADMIN_SID

RESTCOMM = f"/restcomm/2012-04-24/Accounts/{ADMIN_SID}"
TWILIO = f"/2010-04-01/Accounts/{ADMIN_SID}"


@pytest.mark.parametrize(("path", "key"), [
    (f"{RESTCOMM}/Calls.json", "StartTime"),
    (f"{RESTCOMM}/Calls.json", "EndTime<"),
    (f"{RESTCOMM}/Recordings.json", "DateCreated"),
    (f"{RESTCOMM}/Recordings.json", "DateCreated>"),
])
async def test_a_day_that_does_not_exist_is_a_restcomm_400(api, path, key):
    response = await api.get(path, params={key: "2024-02-30"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 20400
    assert key in body["message"]


@pytest.mark.parametrize(("path", "key"), [
    (f"{TWILIO}/Calls.json", "StartTime"),
    (f"{TWILIO}/Calls.json", "EndTime>"),
    (f"{TWILIO}/Recordings.json", "DateCreated"),
    (f"{TWILIO}/Recordings.json", "DateCreated<"),
])
async def test_a_day_that_does_not_exist_is_a_twilio_400(api, path, key):
    response = await api.client.get(path, params={key: "2024-02-30"}, auth=api.auth)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert key in body["message"]
    assert set(body) >= {"code", "message", "more_info", "status"}
