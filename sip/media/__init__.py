"""The media engine: RTP for call legs, on the asyncio loop (no threads), in pure Python
(no audioop; numpy only in amd, the answering machine detector).

Audio inside the engine is 8 kHz mono signed 16-bit little-endian PCM ("PCM16"); on the wire it is G.711.

    pool = PortPool(16000, 16999)                       # one per process: even UDP ports, round-robin
    endpoint = await RtpEndpoint.open(pool, "10.0.0.5") # binds host:port, port from the pool
    endpoint.configure(remote_host, remote_port, 0, telephone_event_pt=101)  # from the negotiated SDP
    endpoint.listen(lambda frame: ...)                  # AudioFrame: pcm, payload, sequence, timestamp, arrival
    endpoint.on_dtmf(lambda digit: ...)                 # "0"-"9", "*", "#", "A"-"D", once per key press
    await endpoint.play(read_audio("prompt.mp3"))       # 20 ms packets on absolute deadlines; cancellable
    await endpoint.send_dtmf("5", duration_ms=160)      # RFC 4733
    await endpoint.send_dtmf_sequence([(0, "1"), (0.5, "2")])  # keys on one schedule, 0.5 s of silence between
    endpoint.stats()                                    # RtpStats: counts, send gaps (max, p99), losses
    endpoint.close()                                    # idempotent; the port goes back to the pool

    with WavRecorder("call.wav") as recorder:           # valid on disk at every moment; repair_wav() after
        endpoint.listen(lambda frame: recorder.write(frame.pcm))  # a crash recovers the last second too

Behaviour worth knowing:
* Strict, symmetric RTP: packets go back to where the peer's packets come from, learnt in a short window after
  each configure() (logged on change); afterwards packets from any other address are dropped.
* hold_until_confirmed(): nothing is sent until confirm() (the ACK) or the peer's first packet.
* Several play() calls continue one RTP timeline (sequence numbers, timestamps); a play that follows the
  previous one within a frame continues its talkspurt, otherwise the next starts with the marker bit.
  play() and send_dtmf() queue behind each other; cancelling a play() stops its packets at once; a closed
  endpoint (hung-up call) makes them return at once.
* Reception has no jitter buffer: frames are delivered in arrival order, any payload type 0 or 8 decoded.
* All endpoints of a loop share one MediaClock, so N streams cost at most one wake-up per millisecond.

Modules: g711 (codec tables), decoder (audio files to 8 kHz mono, by FFmpeg), decoder_pool and decode_worker
(decoding tenants' files in worker processes), fair_share (per-account slots), recorder (writing WAV),
ports (the pool), rtp (packets), telephone_event (RFC 4733), stats, clock, endpoint.
"""

from sip.media.decoder import DecodeError, DecodeLimits, decode_bytes, read_audio
from sip.media.endpoint import AudioFrame, RtpEndpoint
from sip.media.ports import PortPool, PortPoolExhausted
from sip.media.recorder import WavRecorder, repair_wav
from sip.media.stats import RtpStats

__all__ = [
    "AudioFrame", "DecodeError", "DecodeLimits", "PortPool", "PortPoolExhausted", "RtpEndpoint", "RtpStats",
    "WavRecorder", "decode_bytes", "read_audio", "repair_wav",
]
