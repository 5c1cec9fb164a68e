"""The registrar's rules, driven with REGISTER requests built here (the SIP round trips are in tests/calls)."""

from __future__ import annotations

import datetime as dt
import hashlib

from calls.registrar import ClientRegistrar
from models import Client, Registration, clock, sids
from models.client import SIP_REALM
from sip.digest import NonceSigner
from sip.registration import RegisterRequest

SIGNER = NonceSigner(b"test-secret")


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def register(contacts, *, password: str = "s3cret", expires: int | None = None, user: str = "alice",
             signed: bool = True, source: tuple[str, int] = ("127.0.0.1", 5090)) -> RegisterRequest:
    authorization = None
    if signed:
        nonce = SIGNER.issue(SIP_REALM)
        uri = "sip:127.0.0.1:5080"
        response = md5(f"{md5(f'{user}:{SIP_REALM}:{password}')}:{nonce}:{md5(f'REGISTER:{uri}')}")
        authorization = {"username": user, "realm": SIP_REALM, "nonce": nonce, "uri": uri, "response": response}
    return RegisterRequest(to_user=user, contacts=contacts, expires=expires, call_id="c1", cseq=1,
                           source=source, authorization=authorization, _signer=SIGNER)


async def make_alice(account_sid: str = "ACae6e420f425248d6a26948c17a9e2acf", status: str = "1") -> Client:
    now = clock.now()
    client = Client(sid=sids.new_sid(sids.CLIENT), account_sid=account_sid, login="alice", friendly_name="alice",
                    status=status, date_created=now, date_updated=now)
    client.set_password("s3cret")
    await client.save(force_create=True)
    return client


async def test_bindings_expiry_refresh_and_removal(api):
    alice = await make_alice()
    registrar = ClientRegistrar()
    first = await registrar.handle(register([("sip:alice@10.0.0.1:5060", 120)]))
    assert first.status == 200 and first.contacts == (("sip:alice@10.0.0.1:5060", 120),)
    both = await registrar.handle(register([("sip:alice@10.0.0.2:5060", None)], expires=30))
    # 30 s is raised to the minimum of 60; the first device is still listed with what it has left.
    assert both.contacts == (("sip:alice@10.0.0.1:5060", 120), ("sip:alice@10.0.0.2:5060", 60))
    huge = await registrar.handle(register([("sip:alice@10.0.0.2:5060", 999999)]))
    assert dict(huge.contacts)["sip:alice@10.0.0.2:5060"] == 3600
    removed = await registrar.handle(register([("sip:alice@10.0.0.1:5060", 0)]))
    assert removed.contacts == (("sip:alice@10.0.0.2:5060", 3600),)
    await Registration.filter(client_sid=alice.sid).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    expired = await registrar.handle(register([], expires=None))
    assert expired.status == 200 and expired.contacts == ()


async def test_wrong_password_unknown_login_and_disabled_client(api):
    registrar = ClientRegistrar()
    await make_alice(status="0")
    assert (await registrar.handle(register([("sip:a@h", 60)], signed=False))).status == 401
    assert (await registrar.handle(register([("sip:a@h", 60)]))).status == 403  # disabled
    assert (await registrar.handle(register([("sip:m@h", 60)], user="mallory"))).status == 401  # as a wrong one
    await Client.filter(login="alice").update(status="1")
    wrong = await registrar.handle(register([("sip:a@h", 60)], password="guess"))
    assert wrong.status == 401 and wrong.challenge_realm == SIP_REALM
    assert await Registration.all().count() == 0
