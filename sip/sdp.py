"""SDP for audio calls (RFC 4566 / 3264): our offer, our answer to an offer, and what a peer's SDP says.

We speak G.711 (PCMU 0, PCMA 8) and RFC 4733 telephone-event. An answer takes the first codec of the
offer's list that we support, as RFC 3264 asks, and the offer's telephone-event payload type. We take one audio
stream of an offer; an answer still has one m= line per m= line of the offer, in its order (RFC 3264 section 6),
every stream but that one refused with port 0.
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
    """The audio stream of an SDP we take (read()): where it wants RTP, its payload types in preference order, and its
    direction from the sender's side (RFC 3264 section 5.1) as it stands: a connection address of 0.0.0.0
    (RFC 2543's hold) or a port of 0 (a refused or removed stream) means the sender receives nothing, so a
    sendrecv stream there is sendonly, a recvonly one inactive, and port 0 is always inactive."""

    host: str
    port: int
    payload_types: tuple[int, ...]
    rtpmap: dict[int, str] = field(default_factory=dict)
    direction: str = "sendrecv"
    stream: int = 0  # the position of its m= line among the SDP's, where our answer's audio goes
    proto: str = "RTP/AVP"  # its transport: we speak plain RTP/AVP only, and an answer must keep the offer's

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
    """The audio stream of `text` we take, as it says it, whatever it says: the first audio m= line on a port, in
    RTP/AVP, with PCMU or PCMA among its formats; when none is, the first audio m= line (a refused stream, or one
    we cannot speak: its callers refuse it). SdpError only when there is no audio m= line, or that one is
    unreadable. parse() is the one that also refuses what we cannot send to. The host is "" when no connection
    line covers the stream. Every other stream (video, image, a second audio) is answered refused (answer())."""
    session, streams = _sections(text)
    audio = [(index, lines) for index, lines in enumerate(streams) if _media(lines[0])[0] == "audio"]
    if not audio:
        raise SdpError("no audio stream")
    for index, lines in audio:
        try:
            candidate = _described_stream(session, index, lines)
        except SdpError:
            continue  # an unreadable stream is no choice; the first audio one stands for them all below
        if _acceptable(candidate):
            return candidate
    return _described_stream(session, *audio[0])


def _sections(text: str) -> tuple[list[str], list[list[str]]]:
    """The session-level lines of `text`, and each media section's lines, its m= line first (RFC 4566 section 5)."""
    session: list[str] = []
    streams: list[list[str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            streams.append([line])
        elif line:
            (streams[-1] if streams else session).append(line)
    return session, streams


def _media(m_line: str) -> tuple[str, str, str, list[str]]:
    """An m= line's media, port, proto and formats, "" for what it lacks."""
    parts = m_line[2:].split()
    parts += [""] * (3 - len(parts))
    return parts[0], parts[1], parts[2], parts[3:]


def _described_stream(session: list[str], index: int, lines: list[str]) -> AudioDescription:
    """The AudioDescription of the audio section `lines`, the `index`th stream; session-level lines hold for it
    unless it says otherwise (RFC 4566 section 5), and no other stream's lines do."""
    _, port_text, proto, format_texts = _media(lines[0])
    try:
        port = int(port_text.split("/")[0])  # a port count (RFC 4566 section 5.14) is no matter here
        formats = tuple(int(pt) for pt in format_texts if pt.isdigit())
    except ValueError:
        raise SdpError(f"unreadable media line {lines[0]!r}") from None
    found = {"session": {"c": "", "a": ""}, "audio": {"c": "", "a": ""}}
    rtpmap: dict[int, str] = {}
    for level, line in [*(("session", line) for line in session), *(("audio", line) for line in lines[1:])]:
        if line.startswith("c=") and line[2:].split():
            found[level]["c"] = line[2:].split()[-1].split("/")[0]
        elif line.lower()[2:] in _DIRECTIONS and line.startswith("a="):
            found[level]["a"] = line.lower()[2:]
        elif level == "audio" and (match := _RTPMAP.match(line)):
            rtpmap[int(match[1])] = match[2].upper()
    host = found["audio"]["c"] or found["session"]["c"]
    direction = found["audio"]["a"] or found["session"]["a"] or "sendrecv"
    if port == 0:
        direction = "inactive"
    elif _unspecified(host):
        direction = {"sendrecv": "sendonly", "recvonly": "inactive"}.get(direction, direction)
    return AudioDescription(host, port, formats, rtpmap, direction, index, proto.upper())


def _acceptable(audio: AudioDescription) -> bool:
    """Whether we can take this audio stream: on a port, plain RTP (we answer RTP/AVP), in a codec we speak."""
    return (audio.port != 0 and audio.proto == "RTP/AVP"
            and any(audio.codec_name(pt) in ("PCMU", "PCMA") for pt in audio.payload_types))


def parse(text: str) -> AudioDescription:
    """The audio stream of `text` we take (read()), refused (SdpError) unless it names an address and port we may
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
    if remote.proto != "RTP/AVP":
        # RTP/SAVP (SRTP), RTP/AVPF, UDP/TLS/RTP/SAVPF (WebRTC): an answer must keep the offer's transport (RFC
        # 3264 section 6), and plain RTP to a peer that keys SRTP would be refused or heard as noise.
        raise SdpError(f"the audio stream is {remote.proto or 'of no transport'}; only RTP/AVP is spoken here")
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


def answer(host: str, port: int, chosen: Negotiated, direction: str = "sendrecv", offer: str | None = None) -> str:
    """Our answer to an offer: the chosen codec, and `direction` (the offer's AudioDescription.answer_direction),
    in the place of the offer's audio stream we took, among its other streams refused (_answering())."""
    formats = [chosen.payload_type] + ([chosen.telephone_event_pt] if chosen.telephone_event_pt is not None else [])
    audio = [f"m=audio {port} RTP/AVP {' '.join(map(str, formats))}",
             f"a=rtpmap:{chosen.payload_type} {_OUR_CODECS[chosen.payload_type]}/8000"]
    if chosen.telephone_event_pt is not None:
        audio += [f"a=rtpmap:{chosen.telephone_event_pt} telephone-event/8000",
                  f"a=fmtp:{chosen.telephone_event_pt} 0-15"]
    return _text([*_session_lines(host), *_answering(offer, [*audio, "a=ptime:20", f"a={direction}"])])


def _answering(offer: str | None, audio: list[str] | None) -> list[str]:
    """The media sections of an answer to `offer`: exactly one per m= line of the offer, in its order (RFC 3264
    section 6): `audio` in the place of the audio stream read() takes, and every other stream (video, T.38, a
    second audio) refused with port 0, its media and proto, and its first format ("at least one", of the
    offer's); `audio` None refuses them all. Without an offer (or one with one stream) `audio` is all there is."""
    streams = _sections(offer)[1] if offer else []
    if not streams:
        return audio or []
    taken = read(offer or "").stream
    sections: list[str] = []
    for index, lines in enumerate(streams):
        if index == taken and audio is not None:
            sections += audio
        else:
            media, _, proto, formats = _media(lines[0])
            sections.append(f"m={media or 'audio'} 0 {proto or 'RTP/AVP'} {(formats or ['0'])[0]}")
    return sections


def reanswer(previous: str, offer_text: str, media: str | None = None) -> str:
    """Our answer to a re-INVITE's offer: our address and port as in `media` (the last SDP we sent with our
    stream in it; `previous` when None), the codec and direction the new offer calls for, and `previous`'s (the
    SDP we sent last) origin with its version one higher (RFC 3264 section 8: a changed session description).
    Raises SdpError when the offer has nothing we can speak: the re-INVITE is then refused with 488 and the
    session stays as it was (RFC 3261 section 14.2).

    An offer with the audio port 0 removes (or disables) the stream: it "MUST be marked with port zero in the
    answer" (RFC 3264 section 8.2), with one of the offer's formats, whatever they are, and no media either way;
    a later offer with a port brings it back, on our port as before. Every other stream of the offer is answered
    refused in its place, as in answer()."""
    remote = parse(offer_text)
    ours = parse(media or previous)
    if remote.port == 0:
        removed = [*_session_lines(ours.host), *_answering(offer_text, None)]
        return _next_version(previous, _text(removed))
    chosen = negotiate(remote)
    return _next_version(previous, answer(ours.host, ours.port, chosen, remote.answer_direction, offer_text))


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


def expects_rtp(text: str | None) -> bool:
    """AudioDescription.expects_rtp of a peer's SDP, for what keeps only its text (the RTP timeout). No SDP (a late
    offer) or none we can read tells nothing: RTP is expected."""
    if not text:
        return True
    try:
        return read(text).expects_rtp
    except SdpError:
        return True
