"""Digest authentication (RFC 2617) and its stateless nonces, without any network."""

from __future__ import annotations

import hashlib

from sip import digest
from sip.registration import RegisterRequest

# RFC 2617 section 3.5: the worked example (qop=auth).
RFC_EXAMPLE = {
    "username": "Mufasa", "realm": "testrealm@host.com", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    "uri": "/dir/index.html", "qop": "auth", "nc": "00000001", "cnonce": "0a4f113b",
    "response": "6629fae49393a05397450978507c4ef1",
}


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def credentials(signer: digest.NonceSigner, password: str, *, realm: str = "restcomm.test", qop: bool = True,
                username: str = "alice") -> dict[str, str]:
    fields = {"username": username, "realm": realm, "nonce": signer.issue(realm), "uri": "sip:127.0.0.1:5080"}
    ha1, ha2 = md5(f"{username}:{realm}:{password}"), md5(f"REGISTER:{fields['uri']}")
    if qop:
        fields |= {"qop": "auth", "nc": "00000001", "cnonce": "abcdef"}
        fields["response"] = md5(f"{ha1}:{fields['nonce']}:00000001:abcdef:auth:{ha2}")
    else:
        fields["response"] = md5(f"{ha1}:{fields['nonce']}:{ha2}")
    return fields


def test_the_rfc_2617_example() -> None:
    assert digest.expected_response(RFC_EXAMPLE, "Circle Of Life", "GET") == RFC_EXAMPLE["response"]


def test_credentials_parse_with_quoted_commas_and_escapes() -> None:
    value = ('Digest username="ali\\"ce", realm="a, b", nonce="n", uri="sip:x@y;transport=udp", '
             'response="R", qop=auth, nc=00000001, cnonce="c", algorithm=MD5')
    fields = digest.parse_credentials(value)
    assert fields == {"username": 'ali"ce', "realm": "a, b", "nonce": "n", "uri": "sip:x@y;transport=udp",
                      "response": "R", "qop": "auth", "nc": "00000001", "cnonce": "c", "algorithm": "MD5"}
    assert digest.parse_credentials("Basic YWxpY2U6c2VjcmV0") is None


def test_verify_with_and_without_qop() -> None:
    signer = digest.NonceSigner(b"k")
    for qop in (True, False):
        fields = credentials(signer, "s3cret", qop=qop)
        kwargs = {"realm": "restcomm.test", "method": "REGISTER", "signer": signer}
        assert digest.verify(fields, password="s3cret", **kwargs)
        assert not digest.verify(fields, password="wrong", **kwargs)
        assert not digest.verify(fields, password="s3cret", realm="other", method="REGISTER", signer=signer)


def test_nonces_are_shared_by_nodes_with_the_same_secret_and_expire_after_five_minutes() -> None:
    clock = Clock()
    issuer = digest.NonceSigner(b"shared", clock=clock)
    other_node = digest.NonceSigner(b"shared", clock=clock)
    stranger = digest.NonceSigner(b"another secret", clock=clock)
    nonce = issuer.issue("restcomm.test")
    assert other_node.check(nonce, "restcomm.test") is digest.NonceState.VALID
    assert stranger.check(nonce, "restcomm.test") is digest.NonceState.INVALID
    assert other_node.check(nonce, "another.realm") is digest.NonceState.INVALID
    clock.now += 299
    assert other_node.check(nonce, "restcomm.test") is digest.NonceState.VALID
    clock.now += 2
    assert other_node.check(nonce, "restcomm.test") is digest.NonceState.STALE


def test_forged_nonces_are_invalid() -> None:
    signer = digest.NonceSigner(b"k")
    stamp, salt, mac = signer.issue("r").split(".")
    later = f"{int(stamp, 16) + 1000:x}"
    for forged in (f"{later}.{salt}.{mac}", f"{stamp}.{salt}x.{mac}", f"{stamp}.{salt}", "", "...", "zz.yy.xx"):
        assert signer.check(forged, "r") is digest.NonceState.INVALID


def test_a_stale_nonce_is_refused_even_with_the_right_password() -> None:
    clock = Clock()
    signer = digest.NonceSigner(b"k", clock=clock)
    fields = credentials(signer, "s3cret")
    clock.now += 301
    assert not digest.verify(fields, password="s3cret", realm="restcomm.test", method="REGISTER", signer=signer)


def test_register_credentials_must_be_for_the_registering_user() -> None:
    signer = digest.NonceSigner(b"k")

    def request(auth: dict[str, str] | None) -> RegisterRequest:
        return RegisterRequest("alice", [("sip:alice@127.0.0.1:5090", 60)], None, "c", 2, ("127.0.0.1", 5090),
                               auth, signer)

    assert request(credentials(signer, "s3cret")).verify_digest("s3cret", "restcomm.test")
    assert not request(credentials(signer, "s3cret", username="mallory")).verify_digest("s3cret", "restcomm.test")
    assert not request(None).verify_digest("s3cret", "restcomm.test")


def test_challenge_header() -> None:
    expected = 'Digest realm="restcomm.test", nonce="N", algorithm=MD5, qop="auth"'
    assert digest.challenge("restcomm.test", "N") == expected
    assert digest.challenge("r", "N", stale=True).endswith(", stale=TRUE")
