"""HTTP digest authentication for SIP (RFC 2617, MD5, with qop=auth and without), server side.

Nonces are stateless: a timestamp and a salt signed with HMAC-SHA256 over the realm, so any node that shares
the secret can verify a nonce another node issued, and nothing is stored per challenge. A nonce is good for
five minutes; an expired but genuine nonce is reported as stale so the client can retry without asking its
user again (RFC 2617 3.2.1). Being stateless, the nonce count is not tracked: a captured request can be
replayed until its nonce expires, which is the usual trade-off for a registrar that runs on several nodes.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable

NONCE_LIFETIME_S = 300
# Nodes' clocks may differ a little; a nonce "from the future" within this margin is still accepted.
CLOCK_SKEW_S = 30
_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class NonceState(enum.Enum):
    VALID = "valid"
    STALE = "stale"
    INVALID = "invalid"


class NonceSigner:
    """Issues and checks signed nonces; share `secret` between nodes that serve the same clients."""

    def __init__(self, secret: bytes | None = None, *, lifetime_s: float = NONCE_LIFETIME_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._lifetime_s = lifetime_s
        self._clock = clock

    def issue(self, realm: str) -> str:
        payload = f"{int(self._clock()):x}.{secrets.token_hex(8)}"
        return f"{payload}.{self._mac(payload, realm)}"

    def check(self, nonce: str, realm: str) -> NonceState:
        stamp, dot, rest = nonce.partition(".")
        salt, dot2, mac = rest.partition(".")
        if not (dot and dot2 and stamp and salt):
            return NonceState.INVALID
        if not hmac.compare_digest(mac, self._mac(f"{stamp}.{salt}", realm)):
            return NonceState.INVALID
        try:
            age = self._clock() - int(stamp, 16)
        except ValueError:
            return NonceState.INVALID
        if age < -CLOCK_SKEW_S:
            return NonceState.INVALID
        return NonceState.STALE if age > self._lifetime_s else NonceState.VALID

    def _mac(self, payload: str, realm: str) -> str:
        return hmac.new(self._secret, f"{payload}:{realm}".encode(), hashlib.sha256).hexdigest()[:32]


def challenge(realm: str, nonce: str, *, stale: bool = False) -> str:
    """The value of a WWW-Authenticate (or Proxy-Authenticate) header."""
    value = f'Digest realm="{_quote(realm)}", nonce="{nonce}", algorithm=MD5, qop="auth"'
    return value + ", stale=TRUE" if stale else value


def parse_credentials(value: str) -> dict[str, str] | None:
    """The fields of a Digest Authorization header value (names lower-cased), or None if it is not Digest."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    fields = {}
    for match in _PARAM.finditer(rest):
        quoted = match[2]
        fields[match[1].lower()] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match[3]
    return fields


def expected_response(fields: dict[str, str], password: str | None, method: str, *,
                      ha1: str | None = None) -> str | None:
    """The response a client knowing `password` would have sent, or None if the fields are unusable.

    A registrar that stores only HA1 = MD5(username:realm:password) gives `ha1` instead of the password.
    """
    try:
        username, realm, nonce, uri = fields["username"], fields["realm"], fields["nonce"], fields["uri"]
    except KeyError:
        return None
    algorithm = fields.get("algorithm", "MD5").upper()
    if ha1 is None:
        ha1 = _md5(f"{username}:{realm}:{password}")
    if algorithm == "MD5-SESS":
        if "cnonce" not in fields:
            return None
        ha1 = _md5(f"{ha1}:{nonce}:{fields['cnonce']}")
    elif algorithm != "MD5":
        return None
    ha2 = _md5(f"{method}:{uri}")
    qop = fields.get("qop")
    if qop is None:
        return _md5(f"{ha1}:{nonce}:{ha2}")
    if qop.lower() != "auth" or "nc" not in fields or "cnonce" not in fields:
        return None
    return _md5(f"{ha1}:{nonce}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}")


def verify(fields: dict[str, str], *, password: str | None = None, realm: str, method: str, signer: NonceSigner,
           ha1: str | None = None) -> bool:
    """True when the credentials answer a live nonce we issued for `realm` and prove knowledge of the password
    (given as `password`, or as its HA1 hash)."""
    if fields.get("realm") != realm or signer.check(fields.get("nonce", ""), realm) is not NonceState.VALID:
        return False
    expected = expected_response(fields, password, method, ha1=ha1)
    return expected is not None and hmac.compare_digest(expected, fields.get("response", "").lower())


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
