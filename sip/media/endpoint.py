"""RtpEndpoint: one call leg's RTP: G.711 audio out on a 20 ms clock, RFC 4733 digits out, audio and digits in."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from sip.media import g711, rtp
from sip.media.clock import MediaClock
from sip.media.histogram import DurationHistogram
from sip.media.ports import PortPool
from sip.media.prompt import Prompt
from sip.media.stats import LossCounter, RtpStats
from sip.media.telephone_event import DtmfReceiver, event_code, pack_event
from telemetry.metrics import METRICS

log = logging.getLogger(__name__)

FRAME_S = 0.020
FRAME_SAMPLES = 160
FRAME_BYTES = 2 * FRAME_SAMPLES  # PCM16
# Encode this many frames at a time: each G.711 encode call costs a few µs on top of its per-sample cost, but a
# big chunk stalls the loop (a second takes ~0.4 ms; 400 calls doing it at once would block for 160 ms).
# The first chunk is one frame, the second of random length, so the chunk boundaries of calls that started
# together spread out instead of all landing on the same tick.
_ENCODE_FRAMES = 10
# A sender this far behind its schedule (the loop was blocked) stops catching up with a burst and shifts the
# rest of its schedule instead; below it, overdue packets go out back to back.
_MAX_CATCH_UP_S = 0.060
# RFC 4733: updates of a key press every 50 ms; its final packet three times, here a frame apart.
_DTMF_UPDATE_S = 0.050
_DTMF_END_REPEATS = 3

Audio = bytes | bytearray | memoryview | Prompt
AudioListener = Callable[["AudioFrame"], None]
DtmfListener = Callable[[str], None]
EventListener = Callable[[rtp.RtpPacket], None]
# forward(): a source whose timestamps and the wall clock disagree by more than this between two packets has
# restarted or stalled (a hold, a new SSRC); its timeline is mapped afresh instead of copied.
_FORWARD_SLIP_S = 0.200
# forward(): this long with nothing sent is a gap in the stream; the next packet carries the marker bit.
_FORWARD_GAP_S = 0.060
# Strict RTP (as Asterisk's `strictrtp` and rtpengine's strict source): after a new SDP the endpoint learns where
# its peer sends from, for this long at most. Packets from the SDP's address latch at once; another address
# (the peer behind a NAT) latches after this many packets in sequence from it, so one spoofed packet cannot.
# Once latched, or once the window is over, packets from anywhere else are dropped: only a new SDP moves it.
# rtpengine and Asterisk learn the same way; a stranger's packets can at most be heard while learning.
LEARN_WINDOW_S = 3.0
LEARN_PROBATION = 3


class AudioFrame:
    """One received packet's audio as it came (G.711), and decoded to PCM16 (usually 20 ms, 320 bytes).

    The PCM is decoded on first use: a bridge between legs of one codec relays the G.711 bytes and never
    needs it, and a frame is made for every packet received.
    """

    __slots__ = ("_codec", "_pcm", "arrival", "marker", "payload", "payload_type", "sequence", "ssrc", "timestamp")

    def __init__(self, payload: bytes, payload_type: int, marker: bool, sequence: int, timestamp: int,
                 arrival: float, ssrc: int = 0, *, codec: g711.Codec | None = None, pcm: bytes | None = None
                 ) -> None:
        if pcm is None and codec is None:
            raise ValueError("an AudioFrame needs its PCM or the codec to decode its payload with")
        self.payload = payload
        self.payload_type = payload_type
        self.marker = marker
        self.sequence = sequence
        self.timestamp = timestamp
        self.arrival = arrival  # time.monotonic() when the datagram was read (the event loop's time base)
        self.ssrc = ssrc  # the sender's stream: a relay maps each source's timeline onto its own
        self._codec = codec
        self._pcm = pcm

    @property
    def pcm(self) -> bytes:
        if self._pcm is None:
            assert self._codec is not None
            self._pcm = g711.decode(self.payload, self._codec)
        return self._pcm


class _Packet(NamedTuple):  # a tuple: built for every packet sent, so cheap to make
    offset_s: float  # when to send it, after the start of its talkspurt or event
    payload_type: int
    marker: bool
    timestamp_offset: int  # its RTP timestamp, after the talkspurt's first
    span: int  # the media time it ends, after its own timestamp: the next packet's timestamp starts there
    payload: bytes


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: RtpEndpoint) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self._endpoint._received(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like, reported for an earlier sendto: the peer is not there (yet).
        log.debug("RTP socket error on port %s: %s", self._endpoint.local_address[1], exc)


class RtpEndpoint:
    """One call leg's RTP session. Create with `await RtpEndpoint.open(pool, host)`; see the package docs."""

    def __init__(self, pool: PortPool, local_address: tuple[str, int]) -> None:
        self._pool = pool
        self.local_address = local_address
        self._transport: asyncio.DatagramTransport | None = None
        self._socket: socket.socket | None = None
        self._closed = False
        self._clock = MediaClock.current()
        # Remote side, from the SDP and then from where packets actually come from (symmetric RTP), learnt in a
        # short window and then fixed (strict RTP: see LEARN_WINDOW_S).
        self._remote: tuple[str, int] | None = None
        self._sdp_remote: tuple[str, int] | None = None  # the address the last SDP named
        self._latched = False
        self._learn_until: float | None = None  # None: not configured yet, learning has not started
        self._candidate: tuple[tuple[str, int], int, int] | None = None  # (source, packets in sequence, last seq)
        self._foreign_drops = 0
        # Sending waits for this: set at once, unless hold_until_confirmed() (an answer waiting for its ACK).
        self._confirmed = asyncio.Event()
        self._confirmed.set()
        # False while the peer holds the call (its SDP says sendonly or inactive): packets are made on the same
        # timeline as ever, but not sent (see the `sending` property).
        self._sending = True
        self._payload_type: int = 0
        self._codec: g711.Codec = "PCMU"
        self._event_payload_type: int | None = None
        # Sending: random SSRC, first sequence number and timestamp (RFC 3550 section 5.1).
        self.ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)  # the timestamp of the next packet if sending continues
        self._resume_at: float | None = None  # when that next packet would be due
        # forward(): the source timeline being mapped onto ours (see there), by a fixed timestamp offset.
        self._origin: object = None
        self._origin_offset = 0
        # When its last packet was sent (a key press's first, for its later packets), and its timestamp.
        self._origin_last: tuple[float, int] = (0.0, 0)
        self._send_lock = asyncio.Lock()
        self._sender: _Sender | None = None
        # One listener of the audio sent (a whole-call recording's outbound track); None costs one test a packet.
        self._sent_listener: AudioListener | None = None
        # Receiving.
        self._audio_listeners: list[AudioListener] = []
        self._dtmf_listeners: list[DtmfListener] = []
        self._event_listeners: list[EventListener] = []
        self._dtmf_in = DtmfReceiver()
        self._loss = LossCounter()
        # Counters.
        self._gaps = DurationHistogram(bins_per_doubling=64)  # a 20 ms gap to within 0.2 ms
        self._packets_sent = self._bytes_sent = self._late_packets = self._send_drops = 0
        self._packets_received = self._bytes_received = 0
        self._last_received: float | None = None  # media clock time of the last packet taken in

    @classmethod
    async def open(cls, pool: PortPool, host: str) -> RtpEndpoint:
        """Binds UDP on host and an even port from `pool`."""
        sock = pool.bind(host)
        port = sock.getsockname()[1]
        endpoint = cls(pool, (host, port))
        try:
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Protocol(endpoint), sock=sock)
        except BaseException:
            sock.close()
            pool.release(port)
            raise
        endpoint._transport = transport
        endpoint._socket = sock
        METRICS.rtp_streams_opened.inc()
        METRICS.rtp_streams.inc()
        return endpoint

    # --- set-up ------------------------------------------------------------------------------------------

    def configure(self, remote_host: str, remote_port: int, payload_type: int,
                  telephone_event_pt: int | None = None) -> None:
        """The negotiated SDP: where to send, PCMU (0) or PCMA (8), and the telephone-event payload type.
        May be called again (a re-INVITE): a new address holds, and learning where the peer sends from starts
        afresh (see LEARN_WINDOW_S); the address the last SDP named (a hold, a session refresh, a codec change)
        keeps what was learnt, so a peer behind a NAT is not sent to its private address again. The port, SSRC,
        sequence and timeline stay ours."""
        if payload_type not in g711.PAYLOAD_TYPES:
            raise ValueError(f"payload type {payload_type} is not PCMU (0) or PCMA (8)")
        if not 0 < remote_port < 65536:
            raise ValueError(f"RTP port {remote_port} is not a UDP port")
        if (remote_host, remote_port) != self._sdp_remote:
            self._sdp_remote = self._remote = (remote_host, remote_port)
            self._latched = False
            self._candidate = None
            self._learn_until = self._clock.time() + LEARN_WINDOW_S
        self._payload_type = payload_type
        self._codec = g711.PAYLOAD_TYPES[payload_type]
        self._event_payload_type = telephone_event_pt

    @property
    def remote_address(self) -> tuple[str, int] | None:
        return self._remote

    @property
    def sending(self) -> bool:
        """Whether RTP goes out: False while the peer holds the call (RFC 3264 section 5.1: its sendonly or
        inactive stream is answered recvonly or inactive, and we send nothing). Playing, forwarding and mixing
        go on as ever, their packets are just not sent (nor counted), so the timeline is where it would be when
        the peer resumes and `sending` is True again."""
        return self._sending

    @sending.setter
    def sending(self, value: bool) -> None:
        self._sending = value

    @property
    def last_received_at(self) -> float | None:
        """When the last RTP packet from the peer was taken in (audio, comfort noise, RFC 4733 events alike; not
        the packets strict RTP drops), on the endpoint's media clock (MediaClock.time()); None before the first."""
        return self._last_received

    @property
    def foreign_packets_dropped(self) -> int:
        """Packets dropped because they came from an address other than the latched peer's."""
        return self._foreign_drops

    def hold_until_confirmed(self) -> None:
        """Sends nothing until confirm() or the first packet from the peer: an answered INVITE whose ACK has not
        come yet may have named a victim's address in its SDP (media amplification)."""
        if not self._closed:
            self._confirmed.clear()

    def confirm(self) -> None:
        """The dialog is confirmed (ACK): sending may start."""
        self._confirmed.set()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def payload_type(self) -> int:
        """The negotiated audio payload type: 0 (PCMU) or 8 (PCMA)."""
        return self._payload_type

    @property
    def codec(self) -> g711.Codec:
        return self._codec

    @property
    def telephone_event_pt(self) -> int | None:
        """The negotiated RFC 4733 payload type, or None when the peer did not offer telephone-event."""
        return self._event_payload_type

    def listen(self, listener: AudioListener) -> None:
        """Calls `listener(frame)` for every audio packet received, in arrival order (no jitter buffer)."""
        self._audio_listeners.append(listener)

    def unlisten(self, listener: AudioListener) -> None:
        if listener in self._audio_listeners:
            self._audio_listeners.remove(listener)

    def listen_sent(self, listener: AudioListener | None) -> None:
        """Calls `listener(frame)` for every audio packet sent (played, forwarded or mixed), as it leaves; its
        `timestamp` is on this endpoint's own timeline. One listener at a time; None removes it."""
        self._sent_listener = listener

    def on_dtmf(self, listener: DtmfListener) -> None:
        """Calls `listener(digit)` once per RFC 4733 key press received ("0"-"9", "*", "#", "A"-"D")."""
        self._dtmf_listeners.append(listener)

    def off_dtmf(self, listener: DtmfListener) -> None:
        if listener in self._dtmf_listeners:
            self._dtmf_listeners.remove(listener)

    def on_telephone_event(self, listener: EventListener) -> None:
        """Calls `listener(packet)` for every RFC 4733 packet received, repeats included (a relay forwards them
        all, so the far end sees the key press's real duration); on_dtmf still reports each press once."""
        self._event_listeners.append(listener)

    def off_telephone_event(self, listener: EventListener) -> None:
        if listener in self._event_listeners:
            self._event_listeners.remove(listener)

    # --- sending -----------------------------------------------------------------------------------------

    async def play(self, audio: Audio) -> None:
        """Sends 8 kHz mono PCM16 (bytes, or a Prompt for audio many calls play) as 20 ms packets on absolute
        deadlines; returns when the last one is sent.

        Cancelling stops it at once: no further packet leaves. A play that starts within a frame of the end of
        the previous one continues its talkspurt (gapless prompts); otherwise a new talkspurt starts, with
        the marker bit and a timestamp that has advanced with the clock. Calls queue behind each other and
        behind send_dtmf. On a closed endpoint (the call hung up) it returns at once.
        """
        if len(audio) < 2:
            return
        async with self._send_lock:
            await self._send(lambda new_talkspurt: self._audio_packets(audio, new_talkspurt), audio=True)

    async def send_dtmf(self, digit: str, duration_ms: int = 160) -> None:
        """Sends one key press as RFC 4733 events: a start packet (marker bit), updates every 50 ms, and the end
        packet three times, all with the same timestamp. Needs a negotiated telephone-event payload type."""
        await self.send_dtmf_sequence(((0.0, digit),), duration_ms)

    async def send_dtmf_sequence(self, presses: Sequence[tuple[float, str]], duration_ms: int = 160) -> None:
        """Sends key presses one after the other, each `(pause, digit)` as send_dtmf() would, on one schedule:
        a key starts `pause` seconds after the last packet of the key before it (the first key: after where
        send_dtmf() would start), and its RTP timestamp says so exactly. A loop running late sends the packets
        late but leaves the timestamps, which are what the far end's DTMF detector spaces the keys by, as
        planned; one send per key would stamp each key with however late the loop got round to it. The sequence
        has the line throughout, pauses included (as a play() has: forward() sends nothing meanwhile)."""
        codes = [(pause, event_code(digit)) for pause, digit in presses]
        if not codes:
            return
        if self._event_payload_type is None:
            raise RuntimeError("no telephone-event payload type was negotiated for this call")
        if duration_ms <= 0 or any(pause < 0 for pause, _ in codes):
            raise ValueError("duration_ms must be positive, pauses not negative")
        async with self._send_lock:
            await self._send(lambda _: self._sequence_packets(codes, duration_ms * 8), audio=False)

    async def _send(self, packets: Callable[[bool], Iterator[_Packet]], *, audio: bool) -> None:
        """Sends `packets(new_talkspurt)` on schedule, continuing the media timeline where the last send left it."""
        if self._closed or self._transport is None:
            return
        if not self._confirmed.is_set():
            # First: after an INVITE without SDP the address comes with the ACK that confirms the dialog.
            await self._confirmed.wait()
            if self._closed:
                return
        if self._remote is None:
            raise RuntimeError("RTP endpoint has no remote address: call configure() first")
        start, timestamp, new_talkspurt = self._continuation(self._clock.time())
        self._origin = None  # a forward() after this play maps its source afresh
        sender = _Sender(self, start, timestamp, packets(new_talkspurt), measure_gaps=audio)
        self._sender = sender
        try:
            await sender.run()
        finally:
            sender.stop()
            self._sender = None
            self._resume_at = sender.resume_at
            self._timestamp = sender.next_timestamp

    def _continuation(self, now: float) -> tuple[float, int, bool]:
        """Where a send starting `now` goes on the timeline: (when its first packet is due, its timestamp,
        whether it starts a new talkspurt). Within a frame of the end of the last packet sent, it continues
        that talkspurt; otherwise the timestamp has moved on with the clock (RFC 3550 section 5.1)."""
        resume_at = self._resume_at
        if resume_at is not None and now <= resume_at + FRAME_S:
            return resume_at, self._timestamp, False
        gap = round((now - resume_at) * rtp.CLOCK_RATE) if resume_at is not None else 0
        return now, (self._timestamp + gap) & 0xFFFFFFFF, True

    def forward(self, payload: bytes, *, origin: object, timestamp: int, marker: bool = False,
                event: bool = False) -> bool:
        """Sends one packet at once, unpaced, on this endpoint's own RTP timeline: for a relay or a mixer, whose
        source or clock already paces the stream. Audio is G.711 in the negotiated codec (one byte a sample);
        `event` sends an RFC 4733 payload with the negotiated telephone-event type instead.

        `timestamp` is on the timeline of `origin` (a relayed stream's SSRC, a mixer's frame counter) and is
        mapped onto this endpoint's by a fixed offset, so the source's spacing, talkspurts (`marker`) and
        events (all packets of a key press share one timestamp) carry over. The offset is set afresh, by the
        play() rule (continue the talkspurt a play() just ended, or start a new one with the marker bit and a
        timestamp moved on with the clock), on the first packet, when `origin` changes, after a play() or
        send_dtmf(), and when the source's timestamps and the clock disagree by more than 200 ms (it restarted,
        or was on hold). After 60 ms with nothing sent the next packet carries the marker bit. An event packet
        with the timestamp of the packet before it (from the same `origin`) continues that key press: it keeps
        the mapping and its own marker however late it comes, and the next packet's timestamp is checked against
        the time the key press started. A play() or send_dtmf() that follows continues the timeline as after
        its own packets: after the audio sent, or after the key press's duration so far.

        Returns False, sending nothing, when the endpoint is closed, while a play() or send_dtmf() is sending
        (it has the line), and for an event when no telephone-event type was negotiated.
        """
        if self._closed or self._transport is None or self._sender is not None or not self._confirmed.is_set():
            return False
        if self._remote is None:
            raise RuntimeError("RTP endpoint has no remote address: call configure() first")
        if event:
            payload_type = self._event_payload_type
            if payload_type is None:
                return False
        else:
            payload_type = self._payload_type
        now = self._clock.time()
        last_sent, last_timestamp = self._origin_last
        # An update or end of the key press in progress (RFC 4733: all its packets have the timestamp of its start,
        # only the first the marker). Its timestamp stands still while the clock moves, so neither the slip nor the
        # gap rule applies: a late one (a loaded loop) re-mapped or marked would be a new key press to the far end.
        # _origin_last keeps the press's start, which the next packet's timestamp (about its start plus its
        # duration) is measured from.
        continues_press = event and origin == self._origin and timestamp == last_timestamp
        if not continues_press:
            slip = ((timestamp - last_timestamp + 0x80000000) & 0xFFFFFFFF) - 0x80000000  # signed, in samples
            if origin != self._origin or abs(slip / rtp.CLOCK_RATE - (now - last_sent)) > _FORWARD_SLIP_S:
                _, ours, new_talkspurt = self._continuation(now)
                self._origin, self._origin_offset = origin, ours - timestamp
                marker = marker or new_talkspurt
            elif self._resume_at is not None and now - self._resume_at > _FORWARD_GAP_S:
                marker = True
            self._origin_last = (now, timestamp)
        mapped = (timestamp + self._origin_offset) & 0xFFFFFFFF
        self._transmit(payload_type, marker, mapped, payload)
        # Where a play(), or a source mapped afresh, continues: after this packet's audio, or after the key press
        # so far (an event's duration field; all its packets share the timestamp of its start).
        span = len(payload) if not event else int.from_bytes(payload[2:4], "big") if len(payload) >= 4 else 0
        self._timestamp = (mapped + span) & 0xFFFFFFFF
        self._resume_at = now + (span / rtp.CLOCK_RATE if not event else 0.0)
        return True

    def _audio_packets(self, audio: Audio, new_talkspurt: bool) -> Iterator[_Packet]:
        pt, codec = self._payload_type, self._codec
        chunks = iter((audio.encoded(codec),)) if isinstance(audio, Prompt) else _encode_gradually(audio, codec)
        pad = bytes([g711.SILENCE[codec]]) * FRAME_SAMPLES
        frame = 0
        for chunk in chunks:
            for start in range(0, len(chunk), FRAME_SAMPLES):
                payload = chunk[start:start + FRAME_SAMPLES]
                if len(payload) < FRAME_SAMPLES:  # a partial last frame is padded with silence
                    payload += pad[len(payload):]
                yield _Packet(frame * FRAME_S, pt, frame == 0 and new_talkspurt, frame * FRAME_SAMPLES,
                              FRAME_SAMPLES, payload)
                frame += 1

    def _sequence_packets(self, presses: list[tuple[float, int]], duration: int) -> Iterator[_Packet]:
        """Key presses laid out on the media timeline: each `pause` after the last end packet of the one before."""
        at = 0  # samples after the sender's start
        for pause, code in presses:
            at += round(pause * rtp.CLOCK_RATE)
            yield from self._event_packets(code, duration, at)
            at += duration + (_DTMF_END_REPEATS - 1) * FRAME_SAMPLES

    def _event_packets(self, code: int, duration: int, at: int = 0) -> Iterator[_Packet]:
        """One key press, `at` samples after the sender's start. Every packet has the event's timestamp; the
        duration field says how long it has lasted so far (the first packet claims one frame, as most phones
        do), and the next audio must start after it."""
        pt = self._event_payload_type
        assert pt is not None
        update = round(_DTMF_UPDATE_S * rtp.CLOCK_RATE)
        for elapsed in range(0, duration, update):
            so_far = min(max(elapsed, FRAME_SAMPLES), duration)
            yield _Packet((at + elapsed) / rtp.CLOCK_RATE, pt, elapsed == 0, at, so_far,
                          pack_event(code, end=False, duration=so_far))
        end = pack_event(code, end=True, duration=duration)
        for repeat in range(_DTMF_END_REPEATS):
            yield _Packet((at + duration) / rtp.CLOCK_RATE + repeat * FRAME_S, pt, False, at, duration, end)

    def _transmit(self, payload_type: int, marker: bool, timestamp: int, payload: bytes) -> None:
        # Straight to the socket, not through the transport: that skips a layer of Python per packet, and a full
        # send buffer drops this packet (late audio is useless) where the transport would queue it.
        assert self._socket is not None and self._remote is not None
        if self._sending:
            try:
                self._socket.sendto(rtp.pack(payload_type, marker, self._sequence, timestamp, self.ssrc, payload),
                                    self._remote)
            except OSError as error:  # a full send buffer (BlockingIOError), no route: the packet is lost
                self._send_drops += 1
                log.debug("RTP send from port %s failed: %s", self.local_address[1], error)
            else:
                self._packets_sent += 1
                self._bytes_sent += len(payload)
            # A dropped packet is a lost one, as on the network; one held back is no packet at all.
            self._sequence = (self._sequence + 1) & 0xFFFF
        if self._sent_listener is not None and payload_type == self._payload_type:  # audio, not key presses
            _call(self._sent_listener, AudioFrame(payload, payload_type, marker, self._sequence, timestamp,
                                                  self._clock.time(), self.ssrc, codec=self._codec))

    # --- receiving ---------------------------------------------------------------------------------------

    def _received(self, data: bytes, addr: tuple) -> None:
        packet = rtp.parse(data)
        if packet is None:
            return
        source = (addr[0], addr[1])
        if (source != self._remote or not self._latched) and not self._admit(source, packet.sequence):
            self._foreign_drops += 1  # strict RTP: not the peer's
            return
        self._last_received = self._clock.time()  # read by the call's owner now and then (its RTP timeout)
        self._packets_received += 1
        self._bytes_received += len(packet.payload)
        self._loss.update(packet.ssrc, packet.sequence)
        if packet.payload_type == self._event_payload_type:
            for event_listener in tuple(self._event_listeners):
                _call(event_listener, packet)
            digit = self._dtmf_in.feed(packet.ssrc, packet.timestamp, packet.payload)
            if digit is not None:
                for dtmf_listener in tuple(self._dtmf_listeners):
                    _call(dtmf_listener, digit)
            return
        codec = g711.PAYLOAD_TYPES.get(packet.payload_type)
        if codec is None or not self._audio_listeners:  # comfort noise, video, unknown: ignored
            return
        frame = AudioFrame(packet.payload, packet.payload_type, packet.marker, packet.sequence, packet.timestamp,
                           self._clock.time(), packet.ssrc, codec=codec)
        for audio_listener in tuple(self._audio_listeners):
            _call(audio_listener, frame)

    def _admit(self, source: tuple[str, int], sequence: int) -> bool:
        """Strict RTP: whether a packet from `source` is taken in, latching onto its sender while learning.

        While learning, packets from any address are taken in (the first key presses and words of a peer behind
        a NAT are not lost), but only the SDP's address, or one that sent LEARN_PROBATION packets in sequence,
        becomes where we send to. Once latched, only the latched address is heard."""
        if self._latched:
            return False  # only a new SDP (configure) moves a latched stream
        if self._learn_until is not None and self._clock.time() > self._learn_until:
            self._latched = True  # nothing learnt in the window: the SDP's address it is, and only it
            return source == self._remote
        if source == self._remote:
            return self._latch(source)
        count = 1
        if self._candidate is not None:
            held, seen, last = self._candidate
            if held == source and (sequence - last) & 0xFFFF == 1:
                count = seen + 1
        self._candidate = (source, count, sequence)
        if count >= LEARN_PROBATION:
            # Symmetric RTP: answer where the packets come from (a NAT may have rewritten the SDP's address).
            log.info("RTP port %s: sending to %s instead of %s (symmetric RTP)", self.local_address[1],
                     _where(source), _where(self._remote))
            self._latch(source)
        return True

    def _latch(self, source: tuple[str, int]) -> bool:
        self._remote = source
        self._latched = True
        self._candidate = None
        self._confirmed.set()  # the peer sends from where we send to: media may flow
        return True

    # --- the rest ----------------------------------------------------------------------------------------

    def stats(self) -> RtpStats:
        return RtpStats(
            packets_sent=self._packets_sent, bytes_sent=self._bytes_sent,
            packets_received=self._packets_received, bytes_received=self._bytes_received,
            packets_lost=self._loss.lost, max_send_gap_ms=self._gaps.max_ms,
            p99_send_gap_ms=self._gaps.quantile(0.99), median_send_gap_ms=self._gaps.quantile(0.5),
            late_packets=self._late_packets, send_drops=self._send_drops)

    def close(self) -> None:
        """Stops any sending, closes the socket and returns the port to the pool; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._confirmed.set()  # a send waiting for the ACK returns (it finds the endpoint closed)
        if self._transport is not None:  # an endpoint that never opened was never counted
            METRICS.rtp_streams.dec()
            METRICS.rtp_packets_lost.inc(self._loss.lost)
            METRICS.rtp_packets_late.inc(self._late_packets)
        if self._sender is not None:
            self._sender.stop()
        if self._transport is not None:
            self._transport.close()
        self._pool.release(self.local_address[1])
        self._audio_listeners.clear()
        self._sent_listener = None
        self._dtmf_listeners.clear()
        self._event_listeners.clear()


class _Sender:
    """Sends one talkspurt or event's packets at start + offset, driven by the media clock's callbacks."""

    def __init__(self, endpoint: RtpEndpoint, start: float, timestamp: int, packets: Iterator[_Packet], *,
                 measure_gaps: bool) -> None:
        self._endpoint = endpoint
        self._measure_gaps = measure_gaps  # audio only: key-press updates are 50 ms apart by design
        self._clock = endpoint._clock
        self._start = start
        self._timestamp = timestamp
        self._packets = packets
        self._pending = next(packets, None)
        self._last_sent: float | None = None
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.resume_at = start  # when the packet after the last one sent would be due
        self.next_timestamp = timestamp

    async def run(self) -> None:
        if self._pending is None:
            return
        self._schedule()
        await self._done

    def stop(self) -> None:
        self._pending = None
        if not self._done.done():
            self._done.set_result(None)

    def _schedule(self) -> None:
        assert self._pending is not None
        self._clock.call_at(self._start + self._pending.offset_s, self._tick)

    def _tick(self) -> None:
        endpoint = self._endpoint
        now = self._clock.time()
        while self._pending is not None:
            if endpoint.closed:
                self.stop()
                return
            packet = self._pending
            deadline = self._start + packet.offset_s
            if deadline > now:
                self._schedule()
                return
            lag = now - deadline
            if lag > FRAME_S:
                endpoint._late_packets += 1
                if lag > _MAX_CATCH_UP_S:  # blocked too long: shift the schedule rather than burst
                    self._start += lag
            endpoint._transmit(packet.payload_type, packet.marker, self._timestamp + packet.timestamp_offset,
                               packet.payload)
            if self._measure_gaps and self._last_sent is not None:
                endpoint._gaps.add(now - self._last_sent)
            self._last_sent = now
            end = packet.timestamp_offset + packet.span
            self.resume_at = self._start + end / rtp.CLOCK_RATE
            self.next_timestamp = (self._timestamp + end) & 0xFFFFFFFF
            self._pending = next(self._packets, None)
        self.stop()


def _encode_gradually(pcm: bytes | bytearray | memoryview, codec: g711.Codec) -> Iterator[bytes]:
    """G.711 of `pcm` in chunks of whole frames, encoded as they are needed (see _ENCODE_FRAMES)."""
    view = memoryview(pcm).cast("B")
    start, frames = 0, 1
    while start < len(view):
        end = start + frames * FRAME_BYTES
        yield g711.encode(view[start:end], codec)
        frames = random.randint(1, _ENCODE_FRAMES) if start == 0 else _ENCODE_FRAMES
        start = end


def _where(address: tuple[str, int] | None) -> str:
    return f"{address[0]}:{address[1]}" if address else "nowhere"


def _call(listener: Callable, argument: object) -> None:
    try:
        listener(argument)
    except Exception:  # a consumer's bug must not break reception for the others
        log.exception("RTP listener %r failed", listener)
