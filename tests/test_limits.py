"""Per-account limits through the Accounts API and the CLI, the 429s they give, and what they leave alone."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from models import Account
from tests.conftest import ADMIN_SID, make_account
from tests.support.processes import run_cli

CALL = {"From": "+16175551212", "To": "sip:alice@127.0.0.1:5060", "Url": "http://127.0.0.1/app.xml"}


async def test_a_parent_sets_a_sub_accounts_limits_and_0_removes_one(api):
    sub = await make_account("sub@company.com")
    set_ = await api.post(f"/Accounts/{sub.sid}.json",
                          {"CallsPerSecond": "2", "MaxConcurrentCalls": "10", "MaxConcurrentRequests": "5"})
    assert set_.status_code == 200, set_.text
    body = set_.json()
    assert (body["calls_per_second"], body["max_concurrent_calls"], body["max_concurrent_requests"]) == (2, 10, 5)
    xml = ET.fromstring((await api.get(f"/Accounts/{sub.sid}")).content).find("Account")
    assert (xml.findtext("CallsPerSecond"), xml.findtext("MaxConcurrentCalls")) == ("2.0", "10")
    cleared = await api.post(f"/Accounts/{sub.sid}.json", {"MaxConcurrentCalls": "0"})
    assert cleared.json()["max_concurrent_calls"] is None and cleared.json()["calls_per_second"] == 2
    stored = await Account.get(sid=sub.sid)
    assert (stored.calls_per_second, stored.max_concurrent_calls, stored.max_concurrent_requests) == (2, None, 5)


async def test_an_account_may_not_raise_its_own_limits(api):
    sub = await make_account("sub@company.com", password="sub-password")
    refused = await api.post(f"/Accounts/{sub.sid}.json", {"MaxConcurrentCalls": "100"},
                             auth=(sub.sid, sub.auth_token))
    assert refused.status_code == 403 and refused.json()["code"] == 20403
    assert (await Account.get(sid=sub.sid)).max_concurrent_calls is None


async def test_a_limit_out_of_range_is_400_and_changes_nothing(api):
    sub = await make_account("sub@company.com")
    for form in ({"CallsPerSecond": "-1"}, {"MaxConcurrentCalls": "2.5"}, {"MaxConcurrentRequests": "x"},
                 {"CallsPerSecond": "0.001", "FriendlyName": "New"}):
        response = await api.post(f"/Accounts/{sub.sid}.json", form)
        assert response.status_code == 400, (form, response.text)
    stored = await Account.get(sid=sub.sid)
    assert stored.calls_per_second is None and stored.friendly_name != "New"


async def test_over_the_live_call_cap_the_create_is_429_in_the_routes_format(api):
    sub = await make_account("sub@company.com")
    await Account.filter(sid=sub.sid).update(max_concurrent_calls=2)
    path = f"/Accounts/{sub.sid}/Calls"
    # SIP is off in this app: created calls stay queued, which is live.
    assert [(await api.post(path + ".json", CALL)).status_code for _ in range(2)] == [200, 200]
    refused = await api.post(path + ".json", CALL)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json() == {"code": 20429, "status": 429, "more_info": "https://www.twilio.com/docs/errors/20429",
                              "message": "This account may have 2 live call(s) at a time; try again when one has "
                                         "ended"}
    xml = await api.post(path, CALL)
    assert xml.status_code == 429 and ET.fromstring(xml.content).findtext("RestException/Code") == "20429"
    assert (await api.get(path + ".json")).json()["total"] == 2  # nothing was created
    # Another account (the parent, no cap) is not held back by the sub-account's cap.
    assert (await api.post(f"/Accounts/{ADMIN_SID}/Calls.json", CALL)).status_code == 200


async def test_over_the_request_cap_any_operation_is_429_and_the_slot_comes_back(api, app):
    sub = await make_account("sub@company.com", password="sub-password")
    await Account.filter(sid=sub.sid).update(max_concurrent_requests=1)
    app.context.accounts.clear()
    slots = app.context.requests
    # One request of the account under way (held here the way the server holds it while a request runs).
    token = slots.begin()
    slots.take(await Account.get(sid=sub.sid))
    try:
        busy = await api.get(f"/Accounts/{sub.sid}/Calls.json", auth=(sub.sid, "sub-password"))
        busy_xml = await api.get(f"/Accounts/{sub.sid}", auth=(sub.sid, "sub-password"))
        other = await api.get(f"/Accounts/{sub.sid}.json")  # the administrator's own slots: free
    finally:
        slots.end(token)
    assert busy.status_code == 429 and busy.json()["code"] == 20429
    assert busy_xml.status_code == 429 and ET.fromstring(busy_xml.content).findtext("RestException/Code") == "20429"
    assert other.status_code == 200
    # Every response gave its slot back: one after the other, none is refused.
    for _ in range(3):
        assert (await api.get(f"/Accounts/{sub.sid}.json", auth=(sub.sid, "sub-password"))).status_code == 200
    assert slots.in_flight(sub.sid) == 0
    # Wrong credentials never take (or use up) a slot: they are a 401.
    assert (await api.get(f"/Accounts/{sub.sid}.json", auth=(sub.sid, "wrong"))).status_code == 401


def test_the_cli_shows_and_sets_limits(tmp_path):
    url = f"sqlite://{tmp_path}/limits.sqlite3"
    changed = run_cli("accounts", "limits", "administrator@company.com", "--calls-per-second", "2.5",
                      "--max-concurrent-calls", "3", database_url=url)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.split()[1:] == ["calls_per_second=2.5", "max_concurrent_calls=3",
                                          "max_concurrent_requests=none"]
    cleared = run_cli("accounts", "limits", ADMIN_SID, "--max-concurrent-calls", "0", database_url=url)
    assert "max_concurrent_calls=none" in cleared.stdout and "calls_per_second=2.5" in cleared.stdout
    refused = run_cli("accounts", "limits", ADMIN_SID, "--calls-per-second", "-1", database_url=url)
    assert refused.returncode == 1 and "calls per second" in refused.stderr


async def test_the_twilio_dialects_create_has_the_same_cap(api):
    sub = await make_account("sub@company.com")
    await Account.filter(sid=sub.sid).update(max_concurrent_calls=1)
    path = f"/2010-04-01/Accounts/{sub.sid}/Calls.json"
    first = await api.client.post(path, data=CALL, auth=api.auth)
    assert first.status_code == 201, first.text
    refused = await api.client.post(path, data=CALL, auth=api.auth)
    assert refused.status_code == 429 and refused.json()["code"] == 20429
