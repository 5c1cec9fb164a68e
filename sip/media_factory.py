"""Media for a call leg: an RTP endpoint from the port pool, and the SDP offer or answer that describes it."""

from __future__ import annotations

import logging

from sip import sdp
from sip.media.endpoint import RtpEndpoint
from sip.media.ports import PortPool

log = logging.getLogger(__name__)


class MediaFactory:
    def __init__(self, pool: PortPool, host: str) -> None:
        self.pool = pool
        self.host = host

    async def open(self) -> RtpEndpoint:
        return await RtpEndpoint.open(self.pool, self.host)

    def offer(self, endpoint: RtpEndpoint) -> str:
        return sdp.offer(self.host, endpoint.local_address[1])

    def answer(self, endpoint: RtpEndpoint, remote_offer: str | None) -> str:
        """The SDP answer to `remote_offer` (raises sdp.SdpError when nothing matches); sets the endpoint up.

        Without an offer (a late-offer INVITE) our answer is an offer and the endpoint learns where to send
        from the first packets it receives (symmetric RTP).
        """
        if not remote_offer:
            return self.offer(endpoint)
        remote = sdp.parse(remote_offer)
        if remote.port == 0:
            raise sdp.SdpError("the offer's audio stream is refused (port 0): a call with no audio")
        chosen = sdp.negotiate(remote)
        # A call may start on hold (sendonly, inactive, c=0.0.0.0): then nothing is sent until a re-INVITE
        # resumes it; an address of 0.0.0.0 is configured only to be replaced by that re-INVITE's.
        endpoint.configure(chosen.remote_host, chosen.remote_port, chosen.payload_type, chosen.telephone_event_pt)
        endpoint.sending = remote.wants_rtp
        return sdp.answer(self.host, endpoint.local_address[1], chosen, remote.answer_direction, remote_offer)

    def connect(self, endpoint: RtpEndpoint, remote_answer: str) -> None:
        """Set the endpoint up from the answer to our offer; an unusable answer leaves it learning from packets."""
        try:
            remote = sdp.parse(remote_answer)
            if remote.port == 0:
                # The far end refused our audio stream (RFC 3264 section 6): nothing may be sent to it.
                log.warning("the SDP answer refuses our audio stream (port 0); sending nothing")
                endpoint.sending = False
                return
            chosen = sdp.negotiate(remote)
        except sdp.SdpError as exc:
            log.warning("unusable SDP answer (%s); waiting for the peer's packets", exc)
            return
        endpoint.configure(chosen.remote_host, chosen.remote_port, chosen.payload_type, chosen.telephone_event_pt)
        endpoint.sending = remote.wants_rtp

    def reoffered(self, endpoint: RtpEndpoint, offer: str | None) -> None:
        """A re-INVITE's offer, which the SIP side has answered already (sdp.reanswer; one with nothing we can
        speak was refused with 488 and never comes here), or the ACK's answer to our offer in the 200 to a
        re-INVITE without SDP: RTP goes to the offer's address and port, in its codec,
        from the same port, SSRC and timeline; strict RTP learns the new source. While the offer holds the call
        (sendonly, inactive, c=0.0.0.0) nothing is sent; its resume sends again. One with the port 0 removes the
        stream (RFC 3264 section 8.2): nothing is sent, to the address we had, until an offer brings it back."""
        if not offer:
            return
        try:
            remote = sdp.parse(offer)
            if remote.port == 0:
                endpoint.sending = False
                return
            chosen = sdp.negotiate(remote)
        except sdp.SdpError as exc:
            log.warning("unusable SDP in a re-INVITE (%s); the media stays as it was", exc)
            return
        if not remote.unspecified:  # RFC 2543's hold names no address: keep the last one
            endpoint.configure(chosen.remote_host, chosen.remote_port, chosen.payload_type,
                               chosen.telephone_event_pt)
        endpoint.sending = remote.wants_rtp
