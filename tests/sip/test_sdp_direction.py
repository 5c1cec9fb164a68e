"""sip.sdp.expects_rtp: which SDP says its sender will keep sending RTP, and which holds the call (RFC 3264)."""

from __future__ import annotations

import pytest

from sip import sdp

SDP = sdp.offer("127.0.0.1", 9000)
HOLD = SDP.replace("a=sendrecv", "a=sendonly")


@pytest.mark.parametrize(("text", "expected"), [
    (None, True),
    (SDP, True),
    (SDP.replace("a=sendrecv\r\n", ""), True),  # sendrecv is the default
    (HOLD, False),
    (SDP.replace("a=sendrecv", "a=recvonly"), False),
    (SDP.replace("a=sendrecv", "a=inactive"), False),
    (SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"), False),  # RFC 2543 hold
    (SDP.replace("m=audio 9000 ", "m=audio 0 "), False),  # a refused stream
    # A session-level direction holds unless the audio stream says otherwise.
    (SDP.replace("a=sendrecv", "").replace("t=0 0", "t=0 0\r\na=inactive"), False),
    (SDP.replace("t=0 0", "t=0 0\r\na=inactive"), True),
    # A video stream before the audio one: its lines are not the audio's, nor the session's.
    (SDP.replace("m=audio", "m=video 5000 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=inactive\r\nm=audio"), True),
    (SDP.replace("m=audio", "m=video 5000 RTP/AVP 96\r\nm=audio").replace("a=sendrecv", "a=sendonly"), False),
])
def test_which_sdp_says_rtp_will_come(text, expected):
    assert sdp.expects_rtp(text) is expected
