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


def write_pcap(pcm: bytes, path: str | Path, codec: str = "PCMU") -> Path:
    """8 kHz mono PCM16 as 20 ms RTP packets (PCMU, or PCMA) in a pcap of Ethernet/IPv4/UDP frames, paced by
    their capture times, for sipp's play_pcap_audio to replay (a callee that says something known)."""
    import socket

    from sip.media import g711

    payload = g711.encode(pcm, codec)  # type: ignore[arg-type]
    payload_type = 0 if codec == "PCMU" else 8
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index, offset in enumerate(range(0, len(payload) - 159, 160)):
        rtp = struct.pack("!BBHII", 0x80, payload_type, index & 0xFFFF, index * 160, 0x1234)
        udp_payload = rtp + payload[offset:offset + 160]
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(udp_payload), 0) + udp_payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index & 0xFFFF, 0, 64, 17, 0,
                         socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1")) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        micros = index * 20_000
        out.append(struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame)
    path = Path(path)
    path.write_bytes(b"".join(out))
    return path
