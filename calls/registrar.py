"""The registrar: which clients may register, with what password, and where their devices are.

Bindings live in the database (the `registrations` table) so any server node can ring a client that
registered with another. Passwords are checked against the stored HA1 hash (realm `restcomm`).
"""

from __future__ import annotations

import datetime as dt
import logging

from calls.guessing import GuessThrottle
from models import Client, Registration, clock
from models.account import Account, in_force
from models.client import SIP_REALM, ClientStatus
from sip.registration import RegisterRequest, RegisterResponse

log = logging.getLogger(__name__)

DEFAULT_EXPIRES = 3600
# A device asking for less is told this (RFC 3261 10.2.8 would answer 423; accepting and raising is kinder).
MIN_EXPIRES = 60
MAX_EXPIRES = 3600


class ClientRegistrar:
    def __init__(self, guesses: GuessThrottle | None = None) -> None:
        # Failed digests per source address (and login): past the limit, 403 without looking at the answer.
        self.guesses = guesses or GuessThrottle()

    async def handle(self, request: RegisterRequest) -> RegisterResponse:
        source, login = request.source[0], request.to_user
        if self.guesses.retry_after(source, login) is not None:
            return RegisterResponse(403, "Forbidden")
        client = await Client.get_or_none(login=login)
        # An unknown login, a wrong password and no credentials all get the same challenge: whether a login
        # exists must not be learnt by asking.
        if client is None or not request.verify_digest_ha1(client.password_ha1, SIP_REALM):
            if request.authorization is not None:  # an answer to a challenge, and a wrong one: a guess
                self.guesses.failed(source, login)
            return RegisterResponse.unauthorized(SIP_REALM)
        self.guesses.succeeded(source, login)
        # Past here the caller knows the password: saying no plainly tells it nothing new.
        if client.status != ClientStatus.ENABLED:
            return RegisterResponse(403, "Forbidden")
        account = await Account.get_or_none(sid=client.account_sid)
        if account is None or not await in_force(account):
            # A suspended or closed account (or one below such an account) has no devices to ring.
            return RegisterResponse(403, "Forbidden")
        now = clock.now()
        await self._apply(client, request, now)
        return RegisterResponse.ok(await self._bindings(client, now))

    async def _apply(self, client: Client, request: RegisterRequest, now: dt.datetime) -> None:
        for contact, contact_expires in request.contacts:
            expires = _granted(contact_expires if contact_expires is not None else request.expires)
            if contact == "*":
                if expires == 0:
                    await Registration.filter(client_sid=client.sid).delete()
                continue
            if expires == 0:
                await Registration.filter(client_sid=client.sid, contact_uri=contact).delete()
                continue
            await Registration.update_or_create(
                login=client.login,
                contact_uri=contact,
                defaults={
                    "client_sid": client.sid,
                    "source_host": request.source[0],
                    "source_port": request.source[1],
                    "behind_nat": request.behind_nat(contact),
                    "path": ",".join(request.path),
                    "expires_at": now + dt.timedelta(seconds=expires),
                    "date_created": now,
                    "date_updated": now,
                },
            )

    async def _bindings(self, client: Client, now: dt.datetime) -> tuple[tuple[str, int], ...]:
        """Every live binding with its remaining time, counted from the same instant the new ones were."""
        live = await Registration.filter(client_sid=client.sid, expires_at__gt=now).order_by("id")
        return tuple((r.contact_uri, max(1, round((r.expires_at - now).total_seconds()))) for r in live)


def _granted(asked: int | None) -> int:
    if asked is None:
        return DEFAULT_EXPIRES
    if asked == 0:
        return 0
    return min(max(asked, MIN_EXPIRES), MAX_EXPIRES)
