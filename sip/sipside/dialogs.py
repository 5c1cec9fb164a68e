"""One call leg on the SIP side: a sippy UA, and the translation of what it reports into plain leg events.

A `Dialog` lives in the SIP thread. It sends its events through the outlet (which posts them to the loop),
delivers exactly one terminal event, and forgets itself when it does (an inbound one hung up before the caller's
ACK, once its BYE has gone after it). sippy's UA is subclassed only to normalise URIs before sippy stores them
and to see final responses while we are cancelling.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from typing import Any

from sippy.CCEvents import (
    CCEventConnect,
    CCEventDisconnect,
    CCEventFail,
    CCEventInfo,
    CCEventPreConnect,
    CCEventRedirect,
    CCEventRing,
    CCEventTry,
    CCEventUpdate,
)
from sippy.SipAddress import SipAddress
from sippy.SipCallId import SipCallId
from sippy.SipHeader import SipHeader
from sippy.SipRoute import SipRoute
from sippy.SipTo import SipTo
from sippy.Time.Timeout import Timeout
from sippy.UA import UA

from sip import sdp
from sip.dtmf import parse_dtmf
from sip.events import Answered, Confirmed, Ended, Failed, LegEvent, Reoffered, Ringing, is_terminal
from sip.headers import HeaderDict
from sip.legs import InboundInvite, OutboundInvite
from sip.outlet import Outlet
from sip.sipside import messages

log = logging.getLogger(__name__)

# After our CANCEL, the INVITE normally ends with 487 at once; a far end that never answers it must not keep
# the leg open forever (sippy itself would wait 300 s), so the leg ends after Timer B at most.
CANCEL_WAIT_S = 32.0
RINGING_CODES = (180, 183)
# How long a UA that has ended stays registered for its Call-ID, answering a BYE that crosses ours with 200
# (sippy: 32 s). Afterwards a stray in-dialog request gets 481, as for any unknown dialog; retransmissions are
# absorbed by the transaction layer either way. Each lingering UA keeps ~60 objects that every full garbage
# collection walks: at 150 calls/s, 32 s of them made those collections grow through a 15 s run from 70 to
# 150 ms, stopping the loop and the SIP thread (the p99 of API -> INVITE); with 5 s they stay at 30-60 ms.
UA_LINGER_S = 5.0


class _UA(UA):
    dialog: Dialog
    godead_timeout = UA_LINGER_S

    def recvRequest(self, req: Any, sip_t: Any) -> Any:
        messages.normalize_targets(req)
        # sippy reports a re-INVITE without SDP as the last offer at 0.0.0.0 (a hold): it asks for our offer.
        self.dialog.offer_wanted = req.getMethod() == "INVITE" and req.getBody() is None and self.isConnected()
        return super().recvRequest(req, sip_t)

    def recvResponse(self, resp: Any, tr: Any) -> None:
        messages.normalize_targets(resp)
        if tr is not None and resp is getattr(tr, "r408", None):
            # The 408 the transaction manager makes itself when Timer B expires (or when the destination was
            # reported unreachable): nothing came from the far end.
            self.dialog.not_reached = True
        super().recvResponse(resp, tr)
        self.dialog.after_response(resp)


class Dialog:
    def __init__(self, key: int, config: dict[str, Any], outlet: Outlet, forget: Callable[[int], None],
                 user_agent: str, *, inbound: bool) -> None:
        self.key = key
        self.inbound = inbound
        self.ended = False
        self._config = config
        self._user_agent = user_agent
        self._outlet = outlet
        self._forget = forget
        self._cancelling = False
        self._cancel_timer: Any = None
        # A CANCEL can only go out once the far end has answered the INVITE at all (even with 100).
        self._heard_back = False
        self._request: Any = None
        self.ua: Any = None
        # Our INVITE got nothing back at all: why, when the kernel said (ICMP), else Timer B expired.
        self.not_reached = False
        self._unreachable_reason: str | None = None
        # The far end's SDP of the session as it stands (sippy's MsgBody): sippy forgets it when an ACK has no
        # body and when a re-INVITE is refused, and needs it for the next re-INVITE (one without SDP, a refresh).
        self._remote_sdp: Any = None
        self.offer_wanted = False  # the re-INVITE being handled has no SDP
        self._answer_in_ack = False  # our 200 to a re-INVITE without SDP offered: its ACK has the answer
        # The last SDP we sent with our audio port in it: one answering a removed stream has port 0 instead.
        self._media_sdp: str | None = None
        # Inbound: the caller's ACK to our 200 has come. Until it has, our BYE waits (RFC 3261 section 15): sippy
        # counts the dialog connected from the moment the 200 leaves, and would send it at once.
        self._confirmed = False
        # Inbound: hung up before the ACK came. The leg has ended for its owner; the dialog stays (and stays
        # known to the core, which BYEs it on stop) until the ACK lets the BYE go, or sippy's own BYE when the
        # 200 is never ACKed (its retransmissions end after 64*T1, Timer H), or the caller's BYE.
        self._bye_waits_for_ack = False

    def _make_ua(self, **kwargs: Any) -> Any:
        ua = _UA(self._config, event_cb=self._on_sippy_event, **kwargs)
        ua.dialog = self
        ua.local_ua = self._user_agent
        ua.lContact = messages.local_contact()
        self.ua = ua
        return ua

    # -- creation --------------------------------------------------------------------------------------

    def place(self, invite: OutboundInvite, call_id: str) -> None:
        """Sends the INVITE. Raises ValueError for URIs sippy cannot use."""
        request_uri = messages.parse_url(invite.request_uri)
        to_url = messages.parse_url(invite.to_uri)
        if request_uri.scheme != "sip" or request_uri.transport not in (None, "udp"):
            raise ValueError(f"{invite.request_uri!r}: only sip: URIs over UDP can be called")
        next_hop = invite.next_hop or request_uri.getAddr()
        ua = self._make_ua(username=invite.username, password=invite.password, nh_address=tuple(next_hop))
        display = messages.quoted_pair_escape(invite.from_display) if invite.from_display else None
        event = CCEventTry((SipCallId(call_id), invite.from_user, to_url.username or "",
                            messages.sdp_body(invite.sdp_offer), None, display))
        if invite.headers:
            event.extra_headers = messages.extra_headers(invite.headers)

        def aim(ua: UA) -> None:
            # sippy builds the Request-URI as user@next-hop and To from the same; a registered client must be
            # called at its Contact, and To must name the client.
            ua.rTarget = request_uri
            ua.rUri = SipTo(address=SipAddress(url=to_url, hadbrace=True))
            # A Path (RFC 3327) becomes the INVITE's Route set; the 2xx's Record-Route replaces it later.
            ua.routes = [SipRoute(body=f"<{uri}>") for uri in invite.routes]

        event.onUacSetupComplete = aim
        ua.recvEvent(event)

    def accept(self, req: Any, t: Any) -> Any:
        """Hands a new INVITE to the UA, which answers 100 Trying and reports CCEventTry."""
        self._request = req
        self._remote_sdp = req.getBody()
        return self._make_ua().recvRequest(req, t)

    # -- actions from the loop ----------------------------------------------------------------------------

    def ring(self, code: int) -> None:
        if self._early_inbound():
            self.ua.recvEvent(CCEventRing((code, _REASONS.get(code, "Ringing"), None)))

    def answer(self, sdp: str) -> None:
        if self._early_inbound():
            # PreConnect, not Connect: only then does sippy hand us the caller's ACK (as a CCEventConnect, with its
            # body), which confirms the dialog (media may flow) and, after an INVITE without SDP, has the answer.
            self.ua.recvEvent(CCEventPreConnect((200, "OK", messages.sdp_body(sdp))))

    def reject(self, code: int, reason: str, retry_after: int | None = None) -> None:
        if self._early_inbound():
            event = CCEventFail((code, reason))
            if retry_after is not None:
                event.extra_headers = (SipHeader(name="retry-after", bodys=str(int(retry_after))),)
            self.ua.recvEvent(event)
            self._emit(Ended(by_remote=False))

    @property
    def cancel_under_way(self) -> bool:
        """True while our CANCEL is out and the INVITE's final response (normally 487) is awaited."""
        return self._cancelling and self._heard_back and not self.ended

    def hangup(self) -> None:
        if self.ended:
            return
        if self.ua.isConnected() and self.inbound and not self._confirmed:
            self._bye_waits_for_ack = True
            self._emit(Ended(by_remote=False))
        elif self.ua.isConnected():
            self.ua.recvEvent(CCEventDisconnect())
            self._emit(Ended(by_remote=False))
        elif self.inbound:
            # An unanswered inbound call we give up on: 487 tells the caller the request was terminated,
            # without the "busy" or "declined" meaning a caller might act on.
            self.reject(487, "Request Terminated")
        elif not self._cancelling:
            self._cancelling = True
            # A 401/407 arriving now must not make sippy resend the INVITE with credentials.
            self.ua.username = self.ua.password = None
            self.ua.recvEvent(CCEventDisconnect())
            self._cancel_timer = Timeout(self._cancel_unanswered, CANCEL_WAIT_S)

    def hang_up_now(self) -> None:
        """Stopping: the socket closes now, so a BYE that waits for the ACK goes at once; anything else as hangup()."""
        if self._bye_waits_for_ack:
            self._bye_after_ack()
        else:
            self.hangup()

    def _bye_after_ack(self) -> None:
        """The BYE that waited for the caller's ACK; the dialog is done with here."""
        self._bye_waits_for_ack = False
        self.ua.recvEvent(CCEventDisconnect())
        self._forget(self.key)

    def _cancel_unanswered(self) -> None:
        self._cancel_timer = None  # this timer is the one firing: nothing left to cancel
        self._emit(Ended(by_remote=False))

    def destination_unreachable(self, address: tuple[str, int], code: int) -> None:
        """The kernel reported `address` unreachable: if that is where our unanswered INVITE went, it fails now
        (as at Timer B) instead of retransmitting for 32 s."""
        if self.inbound or self.ended or self._heard_back or self.ua is None:
            return
        transaction = getattr(self.ua, "tr", None)
        if transaction is None or getattr(transaction, "method", None) != "INVITE" or transaction.r408 is None:
            return
        host, port = transaction.address[0], int(transaction.address[1])
        if (str(host), port) != address:
            return
        self._unreachable_reason = f"{os.strerror(code)} ({errno.errorcode.get(code, code)}, reported by ICMP)"
        if transaction.teB is not None:
            transaction.teB.cancel()
        transaction.teB = Timeout(self.ua.global_config["_sip_tm"].timerB, 0, 1, transaction)

    # -- what sippy reports -------------------------------------------------------------------------------

    def after_response(self, resp: Any) -> None:
        """Our CANCEL completes when the INVITE gets its final response (normally 487)."""
        if self._cancelling and resp.getSCode()[0] >= 200 and resp.getHFBody("cseq").getCSeqMethod() == "INVITE":
            self._emit(Ended(by_remote=False))

    def _on_sippy_event(self, event: Any, ua: Any) -> None:
        data = event.getData()
        if isinstance(event, CCEventTry):
            self._announce()
        elif isinstance(event, CCEventRing):
            self._heard_back = True
            code, _, body = data
            if code in RINGING_CODES:
                self._emit(Ringing(code, messages.body_text(body)))
        elif isinstance(event, CCEventConnect) and self._bye_waits_for_ack:
            self._bye_after_ack()  # the caller's ACK to our 200, after we hung up: now the BYE may go
        elif isinstance(event, CCEventDisconnect) and self._bye_waits_for_ack:
            # sippy sent the BYE itself (our 200 was never ACKed), or the caller sent one: nothing left to wait for.
            self._bye_waits_for_ack = False
            self._forget(self.key)
        elif isinstance(event, CCEventConnect) and self._answer_in_ack:
            self._answer_in_ack = False
            self._acked(ua, data[2])
        elif isinstance(event, CCEventConnect):
            # For an inbound leg this is the caller's ACK to our answer: media may start. After an INVITE without
            # SDP (our 200 made the offer) the ACK carries the caller's answer.
            if self.inbound:
                self._confirmed = True
            if data[2] is not None:
                self._remote_sdp = data[2].getCopy()
            self._keep_remote_sdp(ua)
            self._emit(Answered(messages.body_text(data[2])) if not self.inbound
                       else Confirmed(messages.body_text(data[2])))
        elif isinstance(event, CCEventFail | CCEventRedirect) and self.not_reached and not self.inbound:
            if self._unreachable_reason is not None:
                self._emit(Failed(503, self._unreachable_reason, reached=False))
            else:
                self._emit(Failed(int(data[0]), "no response (Timer B expired)", reached=False))
        elif isinstance(event, CCEventFail | CCEventRedirect):
            self._emit(Failed(int(data[0]), str(data[1])) if not self.inbound else Ended(by_remote=False))
        elif isinstance(event, CCEventDisconnect):
            # A BYE or CANCEL from the far end carries its origin; sippy's own disconnects (no ACK) carry none.
            self._emit(Ended(by_remote=event.origin is not None))
        elif isinstance(event, CCEventInfo):
            digit = parse_dtmf(messages.content_type(data), messages.body_text(data) or "")
            if digit is not None:
                self._emit(digit)
        elif isinstance(event, CCEventUpdate):
            self._reoffered(ua, data)

    def _reoffered(self, ua: Any, body: Any) -> None:
        """A re-INVITE (a hold or resume, media moving to a new address, another codec, a refresh): answered at
        once, here, from its offer and the SDP we sent last (same port; the direction RFC 3264 section 6.1
        asks), while the owner moves the media to it (Reoffered). An offer with nothing we can speak is refused
        with 488 and changes nothing (RFC 3261 section 14.2).

        A re-INVITE without SDP (a refresh, a third party's renegotiation, RFC 3725) asks for our offer: it gets
        everything we speak, sendrecv, and the media stays as it is until the ACK brings the answer (_acked). sippy
        would have it be a hold (the last offer at 0.0.0.0); and it answers a re-INVITE without waiting for the
        ACK, so the 200 is sent here as sippy sends the 200 to an INVITE (ack_wait), and the ACK is reported."""
        self._answer_in_ack = False  # an ACK that never came (Timer H) must not stand for this one's
        previous = messages.body_text(ua.lSDP) or ""
        media = self._our_media(previous)
        if self.offer_wanted:
            offer = messages.sdp_body(sdp.reoffer(previous, media))
            ua.lSDP = offer
            ua.sendUasResponse(200, "OK", offer, (ua.lContact,), ack_wait=True)
            ua.changeState((ua.UaStateConnected,))
            self._answer_in_ack = True
            self._keep_remote_sdp(ua, force=True)  # sippy's 0.0.0.0 copy is no SDP the far end sent
            return
        offer = messages.body_text(body)
        try:
            answer = sdp.reanswer(previous, offer or "", media)
        except sdp.SdpError as exc:
            log.info("re-INVITE refused with 488: %s", exc)
            ua.recvEvent(CCEventFail((488, "Not Acceptable Here")))
            self._keep_remote_sdp(ua, force=True)
            return
        self._remote_sdp = body.getCopy() if body is not None else None
        self._emit(Reoffered(offer))
        ua.recvEvent(CCEventConnect((200, "OK", messages.sdp_body(answer))))

    def _our_media(self, previous: str) -> str:
        """The last SDP we sent with our audio port in it: `previous` unless that removed the stream (port 0)."""
        try:
            if sdp.read(previous).port != 0:
                self._media_sdp = previous
        except sdp.SdpError:
            pass
        return self._media_sdp or previous

    def _acked(self, ua: Any, body: Any) -> None:
        """The ACK to our 200 that offered (a re-INVITE without SDP): its SDP is the far end's answer (RFC 3261
        section 14.2, RFC 6337 section 5), which moves or holds the media as an offer would (Reoffered). An ACK
        without one, or with one we cannot use, leaves the session as it was: there is no response to refuse it
        with, and hanging up a call over a refresh would be worse."""
        answer = messages.body_text(body)
        try:
            remote = sdp.parse(answer or "")
            if remote.port != 0:  # port 0 refuses the stream (RFC 3264 section 6): that is taken too, no codec in it
                sdp.negotiate(remote)
        except sdp.SdpError as exc:
            log.warning("the ACK to our offer in a re-INVITE's 200 has no usable answer (%s); nothing changes", exc)
            self._keep_remote_sdp(ua, force=True)
            return
        self._remote_sdp = body.getCopy()
        self._emit(Reoffered(answer))

    def _keep_remote_sdp(self, ua: Any, *, force: bool = False) -> None:
        """Gives sippy back the session's remote SDP it dropped (see _remote_sdp)."""
        if (force or ua.rSDP is None) and self._remote_sdp is not None:
            ua.rSDP = self._remote_sdp.getCopy()

    def _announce(self) -> None:
        req = self._request
        from_header = req.getHFBody("from")
        host, port = req.getSource()
        invite = InboundInvite(
            call_id=str(req.getHFBody("call-id")),
            request_user=req.getRURI().username or "",
            from_user=from_header.getUrl().username or "",
            from_display=from_header.getUri().name or None,
            to_user=req.getHFBody("to").getUrl().username or "",
            headers=HeaderDict(messages.header_pairs(req)),
            sdp_offer=messages.body_text(req.getBody()),
            source=(host, int(port)),
        )
        self._request = None
        self._outlet.inbound_call(self.key, invite)

    def _emit(self, event: LegEvent) -> None:
        if self.ended:
            return
        if is_terminal(event):
            self.ended = True
            if self._cancel_timer is not None:
                self._cancel_timer.cancel()
                self._cancel_timer = None
            if not self._bye_waits_for_ack:
                self._forget(self.key)
        self._outlet.leg_event(self.key, event)

    def _early_inbound(self) -> bool:
        return self.inbound and not self.ended and not self.ua.isConnected()


_REASONS = {180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress"}
