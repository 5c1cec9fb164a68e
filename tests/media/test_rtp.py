"""Packet-level pieces: RTP header parsing, RFC 4733 de-duplication, loss counting, the gap histogram."""

from __future__ import annotations

import struct

import pytest

from sip.media import rtp
from sip.media.histogram import DurationHistogram
from sip.media.stats import LossCounter
from sip.media.telephone_event import DtmfReceiver, event_code, pack_event


def test_pack_and_parse_round_trip() -> None:
    data = rtp.pack(8, True, 65535 + 3, 2**32 + 5, 0xDEADBEEF, b"\xd5" * 160)
    assert data[:2] == b"\x80\x88"
    packet = rtp.parse(data)
    assert packet == rtp.RtpPacket(8, True, 2, 5, 0xDEADBEEF, b"\xd5" * 160)


def test_parse_skips_csrcs_extension_and_padding() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 0, 1, 2, 3) + b"C1C1C2C2"
    extension = struct.pack("!HH", 0xBEDE, 1) + b"xxxx"
    data = header + extension + b"payload" + b"\x00\x00\x03"
    packet = rtp.parse(data)
    assert packet is not None and packet.payload == b"payload"


@pytest.mark.parametrize("data", [
    b"", b"\x80\x00short", b"\x40" + bytes(11),  # version 1
    struct.pack("!BBHII", 0x80, 200, 0, 0, 0),  # RTCP sender report (PT 72 with the marker bit)
    struct.pack("!BBHII", 0x8F, 0, 0, 0, 0),  # claims 15 CSRCs it does not have
])
def test_parse_rejects(data: bytes) -> None:
    assert rtp.parse(data) is None


def test_dtmf_receiver_reports_each_press_once() -> None:
    receiver = DtmfReceiver()
    start, update, end = (pack_event(5, end=False, duration=160), pack_event(5, end=False, duration=400),
                          pack_event(5, end=True, duration=1280))
    seen = [receiver.feed(1, 1000, p) for p in (start, update, end, end, end)]
    assert seen == ["5", None, None, None, None]
    # The start was lost: the first update reports it. Then the same key again, as a new press.
    assert receiver.feed(1, 3000, update) == "5"
    assert receiver.feed(1, 5000, end) == "5"
    assert receiver.feed(2, 5000, end) == "5"  # another source
    assert receiver.feed(1, 7000, pack_event(16, end=False, duration=0)) is None  # flash: not a digit
    assert receiver.feed(1, 9000, b"\x01") is None


def test_event_codes() -> None:
    assert [event_code(d) for d in "0123456789*#abcD"] == list(range(16))
    with pytest.raises(ValueError, match="not a DTMF digit"):
        event_code("E")
    assert pack_event(11, end=True, duration=70000) == b"\x0b\x8a\xff\xff"


def test_loss_counter() -> None:
    counter = LossCounter()
    for sequence in [65530, 65531, 65533, 65535, 0, 1, 1, 4]:  # wraps; 65532, 65534, 2, 3 lost; 1 duplicated
        counter.update(7, sequence)
    assert counter.lost == 3  # four missing, one duplicate counted as received (RFC 3550)
    counter.update(7, 3)  # late
    assert counter.lost == 2
    counter.update(8, 100)  # a new source: a new count, the earlier losses kept
    counter.update(8, 102)
    assert counter.lost == 3
    counter.update(8, 30000)  # the sender restarted its numbering: no loss invented
    assert counter.lost == 3


def test_gap_histogram() -> None:
    gaps = DurationHistogram(bins_per_doubling=64)
    assert gaps.quantile(0.99) == 0.0
    for _ in range(98):
        gaps.add(0.020)
    gaps.add(0.035)
    gaps.add(0.500)
    assert gaps.quantile(0.5) == pytest.approx(20.1, abs=0.25)
    assert gaps.quantile(0.99) == pytest.approx(35.1, abs=0.4)
    assert gaps.max_ms == pytest.approx(500)
    assert gaps.quantile(1.0) == pytest.approx(500)
