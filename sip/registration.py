"""A REGISTER as the registrar sees it, and the answer it gives; the stack does the SIP around them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sip import digest


@dataclass(frozen=True)
class RegisterRequest:
    to_user: str
    # (Contact URI, its expires parameter or None); the URI "*" with the Expires header 0 removes every binding.
    contacts: list[tuple[str, int | None]]
    expires: int | None
    call_id: str
    cseq: int
    source: tuple[str, int]
    # Digest fields of the Authorization header (names lower-cased), or None when it carried none.
    authorization: dict[str, str] | None
    _signer: digest.NonceSigner = field(repr=False, compare=False)

    def verify_digest(self, password: str, realm: str) -> bool:
        """True when the request proves `password` for the registering user under a live nonce of ours.

        The Authorization username must be the user being registered (To), so credentials of one client
        can never register another.
        """
        credentials = self.authorization
        if credentials is None or credentials.get("username") != self.to_user:
            return False
        return digest.verify(credentials, password=password, realm=realm, method="REGISTER", signer=self._signer)

    def verify_digest_ha1(self, ha1: str, realm: str) -> bool:
        """As verify_digest, for a registrar that stores MD5(username:realm:password) instead of passwords."""
        credentials = self.authorization
        if credentials is None or credentials.get("username") != self.to_user:
            return False
        return digest.verify(credentials, ha1=ha1, realm=realm, method="REGISTER", signer=self._signer)


@dataclass(frozen=True)
class RegisterResponse:
    status: int
    reason: str
    # (Contact URI, granted expires) pairs echoed in the response: the client's bindings after this request.
    contacts: tuple[tuple[str, int], ...] = ()
    # When set, the response carries a WWW-Authenticate challenge with a fresh nonce for this realm.
    challenge_realm: str | None = None

    @classmethod
    def ok(cls, contacts: tuple[tuple[str, int], ...] = ()) -> RegisterResponse:
        return cls(200, "OK", contacts)

    @classmethod
    def unauthorized(cls, realm: str) -> RegisterResponse:
        return cls(401, "Unauthorized", challenge_realm=realm)
