"""What a call leg reports to its owner: plain, immutable events with no SIP-stack types in them.

Every leg delivers exactly one terminal event (`Failed` or `Ended`) and nothing after it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ringing:
    """The far end is alerting (180) or sent early media (183, usually with an SDP). Never 100."""

    code: int
    sdp: str | None


@dataclass(frozen=True)
class Answered:
    """Our INVITE got a 2xx; `sdp` is the answer."""

    sdp: str | None


@dataclass(frozen=True)
class Confirmed:
    """The caller's ACK to our answer of its INVITE: the dialog is confirmed and media may flow to it. `sdp` is
    the ACK's, the caller's answer when its INVITE had none (our 200 made the offer); else None."""

    sdp: str | None = None


@dataclass(frozen=True)
class Failed:
    """Terminal: a final non-2xx to our INVITE, or one made here when nothing came back from the far end.

    `reached` is False for the ones made here: a 408 when Timer B expired with no response at all, a 503 when
    the kernel reported the destination unreachable (ICMP; RFC 3261 8.1.3.1 treats a transport error as 503).
    """

    code: int
    reason: str
    reached: bool = True


@dataclass(frozen=True)
class Ended:
    """Terminal: the dialog is over (a BYE either way, a caller's CANCEL, our CANCEL or reject completing)."""

    by_remote: bool


@dataclass(frozen=True)
class Dtmf:
    """A digit from SIP INFO (application/dtmf-relay)."""

    digit: str
    duration_ms: int


@dataclass(frozen=True)
class Reoffered:
    """The far end sent a new offer in the confirmed dialog (a re-INVITE: hold, resume, a session refresh), or the
    answer to ours (the ACK to our 200 to a re-INVITE without SDP); `sdp` is that SDP (sip.sdp.expects_rtp tells a
    hold). The SIP side has answered an offer already (sip.sdp.reanswer: same port, the codec and direction it
    calls for); the owner moves the media to it (MediaFactory.reoffered). One we could not accept (488) is not
    reported: nothing changed."""

    sdp: str | None


LegEvent = Ringing | Answered | Confirmed | Failed | Ended | Dtmf | Reoffered


def is_terminal(event: LegEvent) -> bool:
    return isinstance(event, Failed | Ended)
