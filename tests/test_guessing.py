"""Password guessing is throttled per source address, over HTTP Basic and REGISTER digest, and the rightful
user on another address keeps working (issue 12)."""

from __future__ import annotations

import httpx

from calls.guessing import GuessThrottle
from calls.registrar import ClientRegistrar
from tests.conftest import ADMIN_SID, ADMIN_TOKEN, BASE
from tests.test_registrar import make_alice, register


def client_from(app, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 40000)),
                             base_url="http://testserver")


async def test_http_basic_guesses_get_429_for_the_guesser_only(app, clean_db):
    url = f"{BASE}/Accounts/{ADMIN_SID}.json"
    async with client_from(app, "198.51.100.7") as attacker, client_from(app, "203.0.113.9") as owner:
        answers = [(await attacker.get(url, auth=(ADMIN_SID, f"guess-{n}"))).status_code for n in range(12)]
        assert answers == [401] * 10 + [429] * 2
        refused = await attacker.get(url, auth=(ADMIN_SID, ADMIN_TOKEN))  # even the right one, from there
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert (await owner.get(url, auth=(ADMIN_SID, ADMIN_TOKEN))).status_code == 200


async def test_register_guesses_get_403_for_the_guesser_only(api):
    registrar = ClientRegistrar()
    await make_alice()
    attacker, owner = ("198.51.100.7", 5060), ("203.0.113.9", 5060)
    answers = [(await registrar.handle(register([("sip:a@h", 60)], password=f"guess{n}", source=attacker))).status
               for n in range(12)]
    assert answers == [401] * 10 + [403] * 2
    assert (await registrar.handle(register([("sip:a@h", 60)], source=attacker))).status == 403
    assert (await registrar.handle(register([("sip:a@h", 60)], source=owner))).status == 200


def test_failures_leave_the_window_and_a_success_clears_them() -> None:
    now = [0.0]
    throttle = GuessThrottle(per_login=3, per_source=5, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("198.51.100.7", "alice")
    assert throttle.retry_after("198.51.100.7", "alice") == 60
    assert throttle.retry_after("198.51.100.7", "bob") is None  # another login: under the per-source limit
    now[0] = 61
    assert throttle.retry_after("198.51.100.7", "alice") is None
    for login in ("a", "b", "c", "d", "e"):
        throttle.failed("198.51.100.7", login)
    assert throttle.retry_after("198.51.100.7", "zed") is not None  # spraying many logins from one address
    throttle.failed("203.0.113.9", "alice")
    throttle.succeeded("203.0.113.9", "alice")
    assert throttle.retry_after("203.0.113.9", "alice") is None


def test_a_limit_of_zero_turns_the_throttle_off():
    throttle = GuessThrottle.from_limit(0)
    for _ in range(1000):
        throttle.failed("192.0.2.1", "alice")
    assert throttle.retry_after("192.0.2.1", "alice") is None
    limited = GuessThrottle.from_limit(3)
    for _ in range(3):
        limited.failed("192.0.2.1", "alice")
    assert limited.retry_after("192.0.2.1", "alice") is not None
    assert limited.retry_after("192.0.2.2", "alice") is None
