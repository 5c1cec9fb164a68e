"""RTP payloads out of the pcap files sipp replays, to know exactly what audio a peer sent."""

from __future__ import annotations

import struct
from pathlib import Path


def rtp_payloads(path: str | Path) -> list[tuple[int, bytes]]:
    """(payload type, payload) of every RTP packet in a pcap of Ethernet/IPv4/UDP frames, in file order."""
    data = Path(path).read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    link_type = struct.unpack(endian + "I", data[20:24])[0]
    offset, packets = 24, []
    while offset + 16 <= len(data):
        captured = struct.unpack(endian + "I", data[offset + 8:offset + 12])[0]
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        ip = frame[14:] if link_type == 1 else frame[16:] if link_type == 113 else frame
        if not ip or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4:]
        rtp = udp[8:]
        if len(rtp) < 12 or rtp[0] >> 6 != 2:
            continue
        header = 12 + 4 * (rtp[0] & 0x0F)
        packets.append((rtp[1] & 0x7F, rtp[header:]))
    return packets
