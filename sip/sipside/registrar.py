"""REGISTER on the SIP side: parse it, keep its transaction open while asyncio decides, send the answer.

sippy has no registrar. Its transaction manager hands REGISTER to our request callback, and drops the server
transaction when the callback neither answers nor leaves a timer armed on it. So the callback arms Timer E
(the timer sippy itself arms on an INVITE that awaits its answer) as the reply deadline, returns no answer,
and `reply()` later sends the response on that same transaction; retransmissions meanwhile are absorbed.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from sippy.SipHeader import SipHeader
from sippy.Time.Timeout import Timeout

from sip import digest
from sip.outlet import Outlet
from sip.registration import RegisterRequest, RegisterResponse

# The asyncio side must answer within this; the client's own Timer F gives up at 32 s.
REPLY_TIMEOUT_S = 10.0
_tokens = itertools.count(1)


class RegisterTransactions:
    def __init__(self, tm: Any, outlet: Outlet, signer: digest.NonceSigner, server_name: str) -> None:
        self._tm = tm
        self._outlet = outlet
        self._signer = signer
        self._server_name = server_name
        self._pending: dict[int, tuple[Any, Any, RegisterRequest]] = {}

    def receive(self, req: Any, t: Any) -> None:
        request = self._parse(req)
        token = next(_tokens)
        self._pending[token] = (req, t, request)
        t.teE = Timeout(self._expired, REPLY_TIMEOUT_S, 1, token, t)
        self._outlet.register(token, request)

    def reply(self, token: int, response: RegisterResponse) -> None:
        entry = self._pending.pop(token, None)
        if entry is None:
            return  # already answered: timed out, or the stack is stopping
        req, t, request = entry
        self._tm.sendResponse(self._build(req, request, response), t)

    def fail_all(self, status: int, reason: str) -> None:
        for token in list(self._pending):
            self.reply(token, RegisterResponse(status, reason))

    def _expired(self, token: int, t: Any) -> None:
        t.teE = None  # this very timer is firing; sendResponse must not cancel it again
        self.reply(token, RegisterResponse(500, "Server Internal Error"))

    def _parse(self, req: Any) -> RegisterRequest:
        contacts: list[tuple[str, int | None]] = []
        for contact in req.getHFBodys("contact"):
            if contact.asterisk:
                contacts.append(("*", None))
                continue
            expires = contact.address.getParam("expires")
            contacts.append((str(contact.getUrl()), int(expires) if expires and expires.isdigit() else None))
        credentials = None
        if req.countHFs("authorization"):
            credentials = digest.parse_credentials(str(req.getHF("authorization").body))
        host, port = req.getSource()
        via = req.getHFBody("via").getAddr() if req.countHFs("via") else None
        return RegisterRequest(
            to_user=req.getHFBody("to").getUrl().username or "",
            contacts=contacts,
            expires=req.getHFBody("expires").getNum() if req.countHFs("expires") else None,
            call_id=str(req.getHFBody("call-id")),
            cseq=req.getHFBody("cseq").getCSeqNum(),
            source=(host, int(port)),
            authorization=credentials,
            _signer=self._signer,
            via=(str(via[0]), int(via[1])) if via else None,
            path=tuple(uri for header in req.getHFs("path") for uri in _path_uris(str(header.getBody()))),
        )

    def _build(self, req: Any, request: RegisterRequest, response: RegisterResponse) -> Any:
        resp = req.genResponse(response.status, response.reason, server=self._server_name)
        for uri, expires in response.contacts:
            resp.appendHeader(SipHeader(name="contact", bodys=f"<{uri}>;expires={int(expires)}"))
        realm = response.challenge_realm
        if realm is not None:
            nonce = (request.authorization or {}).get("nonce", "")
            stale = bool(nonce) and self._signer.check(nonce, realm) is digest.NonceState.STALE
            name = "proxy-authenticate" if response.status == 407 else "www-authenticate"
            value = digest.challenge(realm, self._signer.issue(realm), stale=stale)
            resp.appendHeader(SipHeader(name=name, bodys=value))
        return resp


def _path_uris(value: str) -> list[str]:
    """`<sip:p1;lr>, <sip:p2;lr;received=...>` -> the bracketed URIs, in order (RFC 3327 Path)."""
    return re.findall(r"<([^>]+)>", value)
