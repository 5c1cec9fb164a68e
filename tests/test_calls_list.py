"""GET Calls: every filter, its inequality forms, and paging by Page and by AfterSid (contract section 5)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import ADMIN_SID, make_account, make_call, utc

CALLS = f"/Accounts/{ADMIN_SID}/Calls"


async def sids(api, **params) -> list[str]:
    response = await api.get(CALLS + ".json", params=params)
    assert response.status_code == 200, response.text
    return [call["sid"] for call in response.json()["calls"]]


async def test_empty_list_matches_the_docs(api):
    response = await api.get(CALLS)
    assert response.status_code == 200
    calls = ET.fromstring(response.content).find("Calls")
    assert dict(calls.attrib) == {
        "page": "0", "numpages": "0", "pagesize": "50", "total": "0", "start": "0", "end": "0",
        "uri": f"/restcomm/2012-04-24{CALLS}?Page=0&PageSize=50",
        "firstpageuri": f"/restcomm/2012-04-24{CALLS}?Page=0&PageSize=50",
        "previouspageuri": "null", "nextpageuri": "null",
        "lastpageuri": f"/restcomm/2012-04-24{CALLS}?Page=0&PageSize=50",
    }
    assert list(calls) == []


async def test_newest_first_with_sid_breaking_ties(api):
    same_moment = utc(2024, 5, 1, 12)
    tied = [await make_call(date_created=same_moment, start_time=same_moment) for _ in range(3)]
    newest = await make_call(date_created=utc(2024, 5, 2), start_time=utc(2024, 5, 2))
    oldest = await make_call(date_created=utc(2024, 4, 1), start_time=utc(2024, 4, 1))
    expected = [newest.sid, *sorted((c.sid for c in tied), reverse=True), oldest.sid]
    assert await sids(api) == expected


@pytest.mark.parametrize(("param", "field"), [("To", "to_address"), ("From", "from_address")])
async def test_to_and_from_are_exact_matches(api, param, field):
    wanted = await make_call(**{field: "alice"})
    await make_call(**{field: "alice2"})
    await make_call(**{field: "malice"})
    assert await sids(api, **{param: "alice"}) == [wanted.sid]


async def test_from_filter_with_an_unencoded_plus(api):
    wanted = await make_call(from_address="+16175551212")
    response = await api.get(CALLS + ".json?From=+16175551212")
    assert [c["sid"] for c in response.json()["calls"]] == [wanted.sid]
    assert "From=%2B16175551212" in response.json()["uri"]


async def test_status_filter(api):
    by_status = {status: await make_call(status=status) for status in
                 ("queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled")}
    for status, call in by_status.items():
        assert await sids(api, Status=status) == [call.sid]


async def test_parent_call_sid_filter(api):
    parent = await make_call(status="in-progress")
    children = [await make_call(parent_call_sid=parent.sid, direction="outbound-dial") for _ in range(2)]
    await make_call()
    assert set(await sids(api, ParentCallSid=parent.sid)) == {c.sid for c in children}


@pytest.fixture
async def timed_calls(api):
    """Calls that started (and ended an hour later) at midday of Jan 1, 2 and 3, plus one still live."""
    calls = {}
    for day in (1, 2, 3):
        start = utc(2024, 1, day, 12)
        calls[day] = await make_call(date_created=start, start_time=start, end_time=start + dt.timedelta(hours=1))
    calls["live"] = await make_call(date_created=utc(2024, 1, 2, 13), start_time=utc(2024, 1, 2, 13),
                                    status="in-progress", end_time=None)
    return calls


async def test_start_time_on_a_day(api, timed_calls):
    assert set(await sids(api, StartTime="2024-01-02")) == {timed_calls[2].sid, timed_calls["live"].sid}


async def test_start_time_inequalities_as_clients_send_them(api, timed_calls):
    # `StartTime>=2024-01-02` is the key `StartTime>` with the value `2024-01-02`.
    after = await api.get(CALLS + ".json?StartTime>=2024-01-02")
    assert {c["sid"] for c in after.json()["calls"]} == {timed_calls[2].sid, timed_calls[3].sid,
                                                          timed_calls["live"].sid}
    before = await api.get(CALLS + ".json?StartTime%3C=2024-01-02")
    assert {c["sid"] for c in before.json()["calls"]} == {timed_calls[1].sid, timed_calls[2].sid,
                                                           timed_calls["live"].sid}
    between = await api.get(CALLS + ".json?StartTime>=2024-01-02&StartTime<=2024-01-02")
    assert {c["sid"] for c in between.json()["calls"]} == {timed_calls[2].sid, timed_calls["live"].sid}


async def test_start_time_with_an_instant(api, timed_calls):
    response = await api.get(CALLS + ".json", params={"StartTime>": "2024-01-02T12:30:00Z"})
    assert {c["sid"] for c in response.json()["calls"]} == {timed_calls[3].sid, timed_calls["live"].sid}


@pytest.mark.parametrize("query", ["StartTime=9999-12-31", "StartTime<=9999-12-31", "StartTime>=0001-01-01",
                                   "StartTime<=0001-01-01T00:00:00%2B01:00", "EndTime>=9999-12-31T23:59-01:00"])
async def test_dates_at_the_ends_of_time_are_answered(api, timed_calls, query):
    response = await api.get(f"{CALLS}.json?{query}")
    assert response.status_code == 200
    assert response.json()["total"] == len(response.json()["calls"])


async def test_end_time_filters_never_match_live_calls(api, timed_calls):
    assert set(await sids(api, EndTime="2024-01-02")) == {timed_calls[2].sid}
    response = await api.get(CALLS + ".json?EndTime<=2024-01-03")
    assert {c["sid"] for c in response.json()["calls"]} == {timed_calls[d].sid for d in (1, 2, 3)}
    response = await api.get(CALLS + ".json?EndTime>=2024-01-03")
    assert {c["sid"] for c in response.json()["calls"]} == {timed_calls[3].sid}


async def test_filters_combine_with_and(api):
    match = await make_call(from_address="alice", to_address="bob", status="completed")
    await make_call(from_address="alice", to_address="bob", status="busy")
    await make_call(from_address="alice", to_address="carol", status="completed")
    await make_call(from_address="dave", to_address="bob", status="completed")
    assert await sids(api, From="alice", To="bob", Status="completed") == [match.sid]


async def test_only_the_path_accounts_calls_are_listed(api):
    other = await make_account("other@company.com")
    await make_call(other.sid)
    mine = await make_call()
    assert await sids(api) == [mine.sid]


async def test_docs_page_size_one_example(api):
    calls = [await make_call(date_created=utc(2024, 1, 1, 0, minute), start_time=utc(2024, 1, 1, 0, minute))
             for minute in range(7)]
    response = await api.get(CALLS, params={"PageSize": 1})
    listing = ET.fromstring(response.content).find("Calls")
    newest = calls[-1].sid
    assert listing.attrib["page"] == "0"
    assert listing.attrib["numpages"] == "7"
    assert listing.attrib["pagesize"] == "1"
    assert listing.attrib["total"] == "7"
    assert (listing.attrib["start"], listing.attrib["end"]) == ("0", "0")
    assert listing.attrib["previouspageuri"] == "null"
    assert listing.attrib["nextpageuri"] == f"/restcomm/2012-04-24{CALLS}?Page=1&PageSize=1&AfterSid={newest}"
    assert listing.attrib["lastpageuri"] == f"/restcomm/2012-04-24{CALLS}?Page=6&PageSize=1"
    assert [c.findtext("Sid") for c in listing.findall("Call")] == [newest]


async def test_walking_next_page_uri_visits_every_call_once(api):
    created = [await make_call() for _ in range(23)]
    seen: list[str] = []
    uri = f"{CALLS}.json?PageSize=5"
    pages = 0
    while uri:
        body = (await api.get(uri)).json()
        assert body["page"] == pages
        assert body["start"] == pages * 5
        assert body["total"] == 23 and body["num_pages"] == 5
        assert body["end"] == body["start"] + len(body["calls"]) - 1
        seen.extend(c["sid"] for c in body["calls"])
        uri = body["next_page_uri"]
        pages += 1
    assert pages == 5
    assert sorted(seen) == sorted(c.sid for c in created)


async def test_after_sid_is_stable_while_calls_are_added(api):
    old = [await make_call(date_created=utc(2024, 1, 1, 0, m), start_time=utc(2024, 1, 1, 0, m)) for m in range(4)]
    first = (await api.get(CALLS + ".json", params={"PageSize": 2})).json()
    await make_call()  # newer than everything: would shift an offset page by one
    second = (await api.get(first["next_page_uri"])).json()
    assert [c["sid"] for c in first["calls"] + second["calls"]] == [c.sid for c in reversed(old)]


async def test_last_page_and_page_past_the_end(api):
    for _ in range(5):
        await make_call()
    last = (await api.get(CALLS + ".json", params={"PageSize": 2, "Page": 2})).json()
    assert len(last["calls"]) == 1
    assert (last["start"], last["end"]) == (4, 4)
    assert last["next_page_uri"] is None
    assert last["previous_page_uri"] == f"/restcomm/2012-04-24{CALLS}.json?Page=1&PageSize=2"
    assert last["last_page_uri"] == f"/restcomm/2012-04-24{CALLS}.json?Page=2&PageSize=2"

    past = await api.get(CALLS + ".json", params={"PageSize": 2, "Page": 9})
    assert past.status_code == 200
    body = past.json()
    assert body["calls"] == [] and body["total"] == 5
    assert (body["start"], body["end"]) == (18, 18)
    assert body["next_page_uri"] is None


async def test_paging_uris_carry_the_filters(api):
    for _ in range(3):
        await make_call(from_address="alice", status="completed")
    body = (await api.get(CALLS + ".json?From=alice&Status=completed&StartTime>=2000-01-01&PageSize=1")).json()
    for key in ("uri", "first_page_uri", "next_page_uri", "last_page_uri"):
        query = dict(parse_qsl(urlsplit(body[key]).query))
        assert query["From"] == "alice" and query["Status"] == "completed"
        assert query["StartTime>"] == "2000-01-01"
        assert urlsplit(body[key]).path == f"/restcomm/2012-04-24{CALLS}.json"
    second = (await api.get(body["next_page_uri"])).json()
    assert second["total"] == 3 and second["page"] == 1


async def test_after_sid_must_name_a_call_of_this_account(api):
    other = await make_account("other@company.com")
    foreign = await make_call(other.sid)
    for sid in (foreign.sid, "CA" + "0" * 32):
        response = await api.get(CALLS + ".json", params={"AfterSid": sid})
        assert response.status_code == 404
        assert "AfterSid" in response.json()["message"]


@pytest.mark.parametrize(("params", "message"), [
    ({"PageSize": "0"}, "PageSize must be at least 1"),
    ({"PageSize": "1001"}, "PageSize must be at most 1000"),
    ({"PageSize": "x"}, "PageSize must be an integer"),
    ({"Page": "-1"}, "Page must be at least 0"),
    ({"Status": "QUEUED"}, None),
    ({"StartTime": "2024-02-30"}, "StartTime must be a date (YYYY-MM-DD) or an ISO 8601 date-time with an offset"),
    ({"StartTime": "2023-02-29"}, None),
    ({"EndTime>": "2024-01-01T24:00Z"}, None),
    ({"StartTime>": "2024-02-30"}, "StartTime> must be a date (YYYY-MM-DD) or an ISO 8601 date-time with an offset"),
    ({"StartTime": "yesterday"}, None),
    ({"EndTime<": "2024-01-01T10:00"}, None),
    ({"ParentCallSid": "CA123"}, "ParentCallSid must be a call SID (CA followed by 32 lowercase hex digits)"),
    ({"AfterSid": "ca" + "0" * 32}, None),
])
async def test_malformed_list_parameters_are_400_in_both_formats(api, params, message):
    response = await api.get(CALLS + ".json", params=params)
    assert response.status_code == 400
    assert response.json()["code"] == 20400
    if message:
        assert response.json()["message"] == message
    xml = await api.get(CALLS, params=params)
    assert xml.status_code == 400
    assert ET.fromstring(xml.content).findtext("RestException/Status") == "400"


async def test_a_range_filter_given_twice_is_400(api):
    response = await api.get(CALLS + ".json?StartTime>=2024-01-01&StartTime>=2024-01-02")
    assert response.status_code == 400
    assert response.json()["message"] == "Parameter 'StartTime>' is given more than once"


async def test_xml_list_carries_the_call_fields(api):
    call = await make_call(status="busy", duration=0, price="0.00", price_unit="USD",
                           end_time=utc(2024, 1, 1), caller_name="Alice & <Bob>")
    listing = ET.fromstring((await api.get(CALLS)).content).find("Calls")
    element = listing.find("Call")
    assert element.findtext("Sid") == call.sid
    assert element.findtext("Status") == "busy"
    assert element.findtext("Duration") == "0"
    assert element.findtext("Price") == "0.00"
    assert element.findtext("CallerName") == "Alice & <Bob>"
    assert element.findtext("EndTime") == "2024-01-01T00:00:00.000+00:00"
    assert element.find("ParentCallSid").text is None


async def test_totals_follow_every_change_to_the_calls_table(api):
    """The unfiltered and Status totals come from trigger-kept counters; they must equal COUNT(*)."""
    from models import Call

    other = await make_account("other@company.com")
    calls = [await make_call(status="queued") for _ in range(4)] + [await make_call(other.sid, status="busy")]
    await Call.filter(sid=calls[0].sid).update(status="ringing")
    await Call.filter(sid=calls[1].sid).update(status="completed", end_time=utc(2024, 1, 1))
    await Call.filter(sid=calls[2].sid).update(account_sid=other.sid)
    await Call.filter(sid=calls[3].sid).delete()
    cancel = await api.post(CALLS + ".json", {"From": "a", "To": "sip:b@127.0.0.1", "Url": "/x"})
    await api.post(f"{CALLS}/{cancel.json()['sid']}.json", {"Status": "canceled"})

    for account_sid in (ADMIN_SID, other.sid):
        path = f"/Accounts/{account_sid}/Calls.json"
        listed = (await api.get(path)).json()
        assert listed["total"] == await Call.filter(account_sid=account_sid).count()
        for status in ("queued", "ringing", "completed", "busy", "canceled"):
            by_status = (await api.get(path, params={"Status": status})).json()
            assert by_status["total"] == await Call.filter(account_sid=account_sid, status=status).count()
            assert by_status["total"] == len(by_status["calls"])
