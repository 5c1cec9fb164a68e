"""Calls per second: over the rate calls wait `queued` and start in creation order; nobody else waits."""

from __future__ import annotations

import asyncio
import itertools

from models import Account
from tests.conftest import ADMIN_SID, make_account
from tests.support.sipp import Sipp


async def test_ten_calls_at_2_per_second_start_over_about_5_s_in_order(server, application, workdir):
    rcml = application.on("/rcml", "<Response><Hangup/></Response>")
    other_rcml = application.on("/other", "<Response><Hangup/></Response>")
    sub = await make_account("paced@company.com", password="paced-password")
    await Account.filter(sid=sub.sid).update(calls_per_second=2)
    async with Sipp("uas_answer.xml", workdir, calls=11, lifetime_s=40) as peer:
        form = {"From": "+16175551212", "To": f"sip:alice@{peer.uri_host}", "Url": rcml}

        async def create(index: int) -> dict:
            response = await server.http.post(f"{server.base_url}/restcomm/2012-04-24/Accounts/{sub.sid}/Calls.json",
                                              data=form, auth=(sub.sid, "paced-password"))
            assert response.status_code == 200, response.text
            return response.json()

        created = await asyncio.gather(*(create(i) for i in range(10)))
        # Another account's call, created while the ten wait, starts at once.
        other = await server.place(f"sip:bob@{peer.uri_host}", other_rcml)
        [other_fetch] = await application.wait_for("/other", 1, seconds=10)
        fetches = await application.wait_for("/rcml", 10, seconds=30)
        for call in created:
            await server.wait_status(call["sid"], "completed", within=30)
        await server.wait_status(other["sid"], "completed")
        assert await peer.wait(30) == 0, peer.explain()
    assert {c["status"] for c in created} == {"queued"}
    start_order = [r.params["CallSid"] for r in fetches]
    assert sorted(start_order) == sorted(c["sid"] for c in created)  # none lost, none twice
    # In creation order: the order the server created them (date_created; two in one millisecond tie), not the
    # order the client happened to send them.
    created_at = {c.sid: c.date_created for c in await _calls(start_order)}
    started = [created_at[sid] for sid in start_order]
    assert started == sorted(started), start_order
    spread = fetches[-1].at - fetches[0].at
    assert 3.8 <= spread <= 6.5, f"10 calls at 2/s started over {spread:.2f} s"
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(fetches)]
    assert min(gaps) > 0.25, gaps  # paced, not bunched
    first = min(r.at for r in fetches)
    assert other_fetch.at - first < 2.0, "the other account's call waited for the paced ones"
    assert other["account_sid"] == ADMIN_SID


async def _calls(sids: list[str]):
    from models import Call

    return await Call.filter(sid__in=sids)


async def test_a_call_waiting_for_its_slot_is_canceled_at_once_and_never_rung(server, application, workdir):
    rcml = application.on("/rcml", "<Response><Hangup/></Response>")
    sub = await make_account("slow@company.com", password="slow-password")
    await Account.filter(sid=sub.sid).update(calls_per_second=0.2)  # one call per 5 s
    calls_path = f"{server.base_url}/restcomm/2012-04-24/Accounts/{sub.sid}/Calls.json"
    auth = (sub.sid, "slow-password")
    async with Sipp("uas_answer.xml", workdir, calls=1, lifetime_s=20) as peer:
        form = {"From": "+16175551212", "To": f"sip:alice@{peer.uri_host}", "Url": rcml}
        first = (await server.http.post(calls_path, data=form, auth=auth)).json()
        waiting = (await server.http.post(calls_path, data=form, auth=auth)).json()
        started = asyncio.get_running_loop().time()
        canceled = await server.http.post(f"{calls_path[:-5]}/{waiting['sid']}.json", data={"Status": "canceled"},
                                          auth=auth)
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        assert asyncio.get_running_loop().time() - started < 1.0
        await server.wait_status(first["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    assert [r.params["CallSid"] for r in application.requests_to("/rcml")] == [first["sid"]]
