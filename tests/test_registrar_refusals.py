"""The registrar against a hostile network (issue 12): no login can be learnt by asking, and the clients of an
account that is suspended or closed, itself or above it, cannot register."""

from __future__ import annotations

from calls.registrar import ClientRegistrar
from models import Account, Registration
from tests.conftest import make_account
from tests.test_registrar import make_alice, register


async def test_an_unknown_login_and_a_wrong_password_get_the_same_answer(api):
    registrar = ClientRegistrar()
    await make_alice()
    unknown = await registrar.handle(register([("sip:m@h", 60)], user="mallory"))
    wrong = await registrar.handle(register([("sip:a@h", 60)], password="guess"))
    assert (unknown.status, unknown.reason) == (wrong.status, wrong.reason) == (401, "Unauthorized")
    assert unknown.challenge_realm == wrong.challenge_realm
    assert await Registration.all().count() == 0


async def test_clients_of_a_suspended_or_closed_account_or_of_one_below_a_suspended_one_cannot_register(api):
    registrar = ClientRegistrar()
    parent = await make_account("parent@company.com")
    child = await make_account("child@company.com", parent=parent)
    await make_alice(account_sid=child.sid)
    assert (await registrar.handle(register([("sip:a@h", 60)]))).status == 200
    await Registration.all().delete()
    for suspended, status in ((child.sid, "suspended"), (child.sid, "closed"), (parent.sid, "suspended")):
        await Account.filter(sid__in=[parent.sid, child.sid]).update(status="active")
        await Account.filter(sid=suspended).update(status=status)
        refused = await registrar.handle(register([("sip:a@h", 60)]))
        assert refused.status == 403, (suspended == parent.sid, status, refused.status)
    assert await Registration.all().count() == 0
