"""What an RTP endpoint counts: its statistics, and receive loss (its send gaps go to a DurationHistogram)."""

from __future__ import annotations

from dataclasses import dataclass

# A forward sequence jump this large is a sender restart, not loss (RFC 3550 appendix A.1's MAX_DROPOUT).
_MAX_DROPOUT = 3000


@dataclass(frozen=True)
class RtpStats:
    packets_sent: int
    bytes_sent: int  # payload octets, as RTCP counts them
    packets_received: int
    bytes_received: int
    packets_lost: int  # from sequence gaps, per RFC 3550; never negative (duplicates can exceed losses)
    max_send_gap_ms: float  # between consecutive packets of one talkspurt
    p99_send_gap_ms: float
    median_send_gap_ms: float
    late_packets: int  # sent more than one frame after their deadline
    send_drops: int  # not sent: the socket's buffer was full, or the network unreachable


class LossCounter:
    """Packets lost, from received sequence numbers (RFC 3550 A.1/A.3, without the probation step).

    A new SSRC starts a new count; what the earlier sources lost is kept.
    """

    def __init__(self) -> None:
        self._ssrc: int | None = None
        self._base = self._max = self._cycles = self._received = 0
        self._lost_before = 0

    def update(self, ssrc: int, sequence: int) -> None:
        if ssrc != self._ssrc:
            self._lost_before += self._lost_current()
            self._restart(ssrc, sequence)
            return
        delta = (sequence - self._max) & 0xFFFF
        if 0 < delta < _MAX_DROPOUT:
            if sequence < self._max:
                self._cycles += 1 << 16
            self._max = sequence
        elif _MAX_DROPOUT <= delta < 0x10000 - 100:  # a jump, not a late packet: the sender restarted
            self._lost_before += self._lost_current()
            self._restart(ssrc, sequence)
            return
        self._received += 1  # duplicates and late packets count as received, as in RFC 3550

    @property
    def lost(self) -> int:
        return self._lost_before + self._lost_current()

    def _restart(self, ssrc: int, sequence: int) -> None:
        self._ssrc = ssrc
        self._base = self._max = sequence
        self._cycles = 0
        self._received = 1

    def _lost_current(self) -> int:
        if self._ssrc is None:
            return 0
        expected = self._cycles + self._max - self._base + 1
        return max(expected - self._received, 0)
