"""SDP for audio calls (RFC 4566 / 3264): our offer, our answer to an offer, and what a peer's SDP says.

We speak G.711 (PCMU 0, PCMA 8) and RFC 4733 telephone-event. An answer takes the first codec of the
offer's list that we support, as RFC 3264 asks, and the offer's telephone-event payload type.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import secrets
from dataclasses import dataclass, field

TELEPHONE_EVENT_PT = 101
# Static payload types and the names dynamic ones may carry in an rtpmap.
_OUR_CODECS = {0: "PCMU", 8: "PCMA"}
_RTPMAP = re.compile(r"^a=rtpmap:(\d+)\s+([\w.-]+)/(\d+)", re.IGNORECASE)
_versions = itertools.count(1)


class SdpError(ValueError):
    """The SDP is unreadable, or offers nothing we can speak (488 Not Acceptable Here)."""


# Stream directions (RFC 3264 section 5.1), as SDP attributes.
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# Our answer's direction to each direction of an offer (RFC 3264 section 6.1).
_ANSWERING = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}


@dataclass(frozen=True)
class AudioDescription:
    """The first audio stream of an SDP: where it wants RTP, its payload types in preference order, and its
    direction from the sender's side (RFC 3264 section 5.1) as it stands: a connection address of 0.0.0.0
    (RFC 2543's hold) or a port of 0 (a refused or removed stream) means the sender receives nothing, so a
    sendrecv stream there is sendonly, a recvonly one inactive, and port 0 is always inactive."""

    host: str
    port: int
    payload_types: tuple[int, ...]
    rtpmap: dict[int, str] = field(default_factory=dict)
    direction: str = "sendrecv"

    def codec_name(self, payload_type: int) -> str | None:
        return self.rtpmap.get(payload_type, _OUR_CODECS.get(payload_type))

    @property
    def unspecified(self) -> bool:
        """c=0.0.0.0 (or ::, however written): RFC 2543's hold, no address to send to."""
        return _unspecified(self.host)

    @property
    def expects_rtp(self) -> bool:
        """Whether its sender can be expected to send RTP all along, so that its silence means it is gone. Only
        a sendrecv stream at a real address does: sendonly is RFC 3264's hold (section 8.4), whose holder may send
        music or nothing at all (most phones do); recvonly and inactive send nothing."""
        return self.direction == "sendrecv"

    @property
    def wants_rtp(self) -> bool:
        """Whether its sender wants our RTP: sendrecv or recvonly at a real address. While it says sendonly or
        inactive (it holds the call), or c=0.0.0.0, we send it nothing (RFC 3264 sections 5.1, 8.4)."""
        return self.direction in ("sendrecv", "recvonly")

    @property
    def answer_direction(self) -> str:
        """The direction of our answer to it as an offer (RFC 3264 section 6.1): we send when the offerer
        receives and receive when it sends, so sendonly is answered recvonly, recvonly sendonly."""
        return _ANSWERING[self.direction]


@dataclass(frozen=True)
class Negotiated:
    remote_host: str
    remote_port: int
    payload_type: int
    telephone_event_pt: int | None


def read(text: str) -> AudioDescription:
    """The first audio stream of `text` as it says it, whatever it says: SdpError only when there is none, or its
    media line is unreadable. parse() is the one that also refuses what we cannot send to. The host is "" when
    no connection line covers the stream."""
    # Session-level lines hold for every stream that does not say otherwise (RFC 4566 section 5).
    found = {"session": {"c": "", "a": ""}, "audio": {"c": "", "a": ""}}
    section = "session"  # then "audio" in the first audio stream, "other" in any stream before it
    port: int | None = None
    formats: tuple[int, ...] = ()
    rtpmap: dict[int, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if section == "audio":
                break  # only the first audio stream
            parts = line[2:].split()
            section = "audio" if len(parts) >= 4 and parts[0] == "audio" else "other"
            if section == "audio":
                try:
                    port = int(parts[1].split("/")[0])  # a port count (RFC 4566 section 5.14) is no matter here
                    formats = tuple(int(pt) for pt in parts[3:] if pt.isdigit())
                except ValueError:
                    raise SdpError(f"unreadable media line {line!r}") from None
        elif section == "other":
            continue
        elif line.startswith("c=") and line[2:].split():
            found[section]["c"] = line[2:].split()[-1].split("/")[0]
        elif line.lower()[2:] in _DIRECTIONS and line.startswith("a="):
            found[section]["a"] = line.lower()[2:]
        elif section == "audio" and (match := _RTPMAP.match(line)):
            rtpmap[int(match[1])] = match[2].upper()
    if port is None:
        raise SdpError("no audio stream")
    host = found["audio"]["c"] or found["session"]["c"]
    direction = found["audio"]["a"] or found["session"]["a"] or "sendrecv"
    if port == 0:
        direction = "inactive"
    elif _unspecified(host):
        direction = {"sendrecv": "sendonly", "recvonly": "inactive"}.get(direction, direction)
    return AudioDescription(host, port, formats, rtpmap, direction)


def parse(text: str) -> AudioDescription:
    """The first audio stream of `text` (read()), refused (SdpError) unless it names an address and port we may
    send RTP to, or says that we send none:
    - port 0 is a stream refused or removed (RFC 3264 sections 6, 8.2), its direction inactive; whoever cannot
      do without the stream (an initial offer) refuses it;
    - a connection address of 0.0.0.0 (or ::) is RFC 2543's hold, "send nothing here", which RFC 3264 section
      8.4 still lets a peer send, in a re-INVITE or from the start: its direction says we send nothing, and the
      address is never one to send to (Linux would deliver it to the local host)."""
    audio = read(text)
    if not audio.host:
        raise SdpError("no audio stream with an address")
    if not 0 <= audio.port < 65536:
        raise SdpError(f"audio port {audio.port} is not a UDP port to send to")
    try:
        address = ipaddress.ip_address(audio.host)
    except ValueError:
        # A host name would be looked up by a blocking sendto on the event loop, on every packet.
        raise SdpError(f"connection address {audio.host!r} is not an IP address") from None
    if address.is_multicast:
        raise SdpError(f"connection address {audio.host} is not one to send a call's audio to")
    return audio


def negotiate(remote: AudioDescription) -> Negotiated:
    """Our choice from a peer's SDP: its first G.711 codec, and its telephone-event type if any."""
    codec = next((pt for pt in remote.payload_types if remote.codec_name(pt) in ("PCMU", "PCMA")), None)
    if codec is None:
        raise SdpError("the offer has neither PCMU nor PCMA")
    events = next((pt for pt in remote.payload_types if remote.codec_name(pt) == "TELEPHONE-EVENT"), None)
    # A dynamic payload type for PCMU/PCMA is legal; RTP is sent with the static type our encoder knows.
    payload_type = 0 if remote.codec_name(codec) == "PCMU" else 8
    return Negotiated(remote.host, remote.port, payload_type, events)


def offer(host: str, port: int) -> str:
    formats = [*_OUR_CODECS, TELEPHONE_EVENT_PT]
    lines = [*_session_lines(host), f"m=audio {port} RTP/AVP {' '.join(map(str, formats))}"]
    lines += [f"a=rtpmap:{pt} {name}/8000" for pt, name in _OUR_CODECS.items()]
    lines += [f"a=rtpmap:{TELEPHONE_EVENT_PT} telephone-event/8000", f"a=fmtp:{TELEPHONE_EVENT_PT} 0-15"]
    return _text([*lines, "a=ptime:20", "a=sendrecv"])


def answer(host: str, port: int, chosen: Negotiated, direction: str = "sendrecv") -> str:
    """Our answer to an offer: the chosen codec, and `direction` (the offer's AudioDescription.answer_direction)."""
    formats = [chosen.payload_type] + ([chosen.telephone_event_pt] if chosen.telephone_event_pt is not None else [])
    lines = [*_session_lines(host), f"m=audio {port} RTP/AVP {' '.join(map(str, formats))}",
             f"a=rtpmap:{chosen.payload_type} {_OUR_CODECS[chosen.payload_type]}/8000"]
    if chosen.telephone_event_pt is not None:
        lines += [f"a=rtpmap:{chosen.telephone_event_pt} telephone-event/8000",
                  f"a=fmtp:{chosen.telephone_event_pt} 0-15"]
    return _text([*lines, "a=ptime:20", f"a={direction}"])


def reanswer(previous: str, offer_text: str, media: str | None = None) -> str:
    """Our answer to a re-INVITE's offer: our address and port as in `media` (the last SDP we sent with our
    stream in it; `previous` when None), the codec and direction the new offer calls for, and `previous`'s (the
    SDP we sent last) origin with its version one higher (RFC 3264 section 8: a changed session description).
    Raises SdpError when the offer has nothing we can speak: the re-INVITE is then refused with 488 and the
    session stays as it was (RFC 3261 section 14.2).

    An offer with the audio port 0 removes (or disables) the stream: it "MUST be marked with port zero in the
    answer" (RFC 3264 section 8.2), with one of the offer's formats, whatever they are, and no media either way;
    a later offer with a port brings it back, on our port as before."""
    remote = parse(offer_text)
    ours = parse(media or previous)
    if remote.port == 0:
        formats = remote.payload_types[:1] or (0,)
        removed = [*_session_lines(ours.host), f"m=audio 0 RTP/AVP {formats[0]}"]
        return _next_version(previous, _text(removed))
    return _next_version(previous, answer(ours.host, ours.port, negotiate(remote), remote.answer_direction))


def reoffer(previous: str, media: str | None = None) -> str:
    """Our offer in the 200 to a re-INVITE without SDP (RFC 3261 section 14.2): everything we speak, sendrecv,
    at our address and port as in `media` (as in reanswer()), with `previous`'s origin, its version one higher."""
    ours = parse(media or previous)
    return _next_version(previous, offer(ours.host, ours.port))


def _next_version(previous: str, text: str) -> str:
    """`text` with the origin line of `previous`, its version one higher: the same session, changed."""
    origin = next((line for line in previous.splitlines() if line.startswith("o=")), None)
    fields = origin[2:].split() if origin else []
    if len(fields) == 6 and fields[2].isdigit():
        fields[2] = str(int(fields[2]) + 1)
        text = re.sub(r"^o=.*$", lambda _: "o=" + " ".join(fields), text, count=1, flags=re.MULTILINE)
    return text


def _session_lines(host: str) -> list[str]:
    family = "IP6" if ":" in host else "IP4"
    session = secrets.randbelow(2**31)
    return ["v=0", f"o=RestComm {session} {next(_versions)} IN {family} {host}", "s=RestComm",
            f"c=IN {family} {host}", "t=0 0"]


def _text(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _described(text: str | None) -> AudioDescription | None:
    try:
        return read(text) if text else None
    except SdpError:
        return None


def expects_rtp(text: str | None) -> bool:
    """AudioDescription.expects_rtp of a peer's SDP, for what keeps only its text (the RTP timeout). No SDP (a late
    offer) or none we can read tells nothing: RTP is expected."""
    audio = _described(text)
    return audio is None or audio.expects_rtp


def wants_rtp(text: str | None) -> bool:
    """AudioDescription.wants_rtp of a peer's SDP; with no SDP nothing says otherwise."""
    audio = _described(text)
    return audio is None or audio.wants_rtp


def answer_direction(offer_text: str | None) -> str:
    """AudioDescription.answer_direction of an offer; sendrecv for no offer."""
    audio = _described(offer_text)
    return "sendrecv" if audio is None else audio.answer_direction
