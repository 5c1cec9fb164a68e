"""Who may lift a suspension (issue 12): the account that imposed it, or one above it; not the parent of an
account the administrator suspended."""

from __future__ import annotations

from models import Account
from tests.conftest import make_account


async def test_a_parent_cannot_lift_a_suspension_the_administrator_imposed(api):
    parent = await make_account("parent@company.com")
    child = await make_account("child@company.com", parent=parent)
    as_parent = (parent.sid, "secret-password")
    suspended = await api.post(f"/Accounts/{child.sid}.json", {"Status": "suspended"})  # by the administrator
    assert suspended.status_code == 200, suspended.text
    lifted = await api.post(f"/Accounts/{child.sid}.json", {"Status": "active"}, auth=as_parent)
    assert lifted.status_code == 403, lifted.text
    assert "only that account or one above it" in lifted.json()["message"]
    assert (await Account.get(sid=child.sid)).status == "suspended"
    assert (await api.post(f"/Accounts/{child.sid}.json", {"Status": "active"})).status_code == 200


async def test_who_suspended_may_lift_it_and_so_may_an_account_above(api):
    parent = await make_account("parent@company.com")
    child = await make_account("child@company.com", parent=parent)
    as_parent = (parent.sid, "secret-password")
    assert (await api.post(f"/Accounts/{child.sid}.json", {"Status": "suspended"}, auth=as_parent)).status_code == 200
    assert (await api.post(f"/Accounts/{child.sid}.json", {"Status": "active"}, auth=as_parent)).status_code == 200
    assert (await api.post(f"/Accounts/{child.sid}.json", {"Status": "suspended"}, auth=as_parent)).status_code == 200
    assert (await api.post(f"/Accounts/{child.sid}.json", {"Status": "active"})).status_code == 200  # above it
    assert (await Account.get(sid=child.sid)).status == "active"
