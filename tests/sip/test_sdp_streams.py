"""sip.sdp: an offer of several streams (RFC 3264 section 6). We take one audio stream; the answer has exactly one
m= line per m= line of the offer, in its order, every other stream refused with port 0, its media and proto, and
one of its formats."""

from __future__ import annotations

import pytest

from sip import sdp

SESSION = "v=0\r\no=phone 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n"
AUDIO = "m=audio 5000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
VIDEO = "m=video 5002 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\na=rtpmap:97 VP8/90000\r\na=sendrecv\r\n"
T38 = "m=image 5004 udptl t38\r\na=T38FaxVersion:0\r\n"
G729 = "m=audio 5006 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
SRTP = "m=audio 5008 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\r\n"

PREVIOUS = sdp.answer("127.0.0.1", 4000, sdp.Negotiated("127.0.0.2", 5000, 0, 101))


def answer_to(offer: str) -> str:
    remote = sdp.parse(offer)
    return sdp.answer("127.0.0.1", 4000, sdp.negotiate(remote), remote.answer_direction, offer)


def media_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("m=")]


@pytest.mark.parametrize(("streams", "expected"), [
    ([AUDIO], ["m=audio 4000 RTP/AVP 0 101"]),
    ([VIDEO, AUDIO], ["m=video 0 RTP/AVP 96", "m=audio 4000 RTP/AVP 0 101"]),
    ([AUDIO, VIDEO], ["m=audio 4000 RTP/AVP 0 101", "m=video 0 RTP/AVP 96"]),
    ([T38, AUDIO, VIDEO], ["m=image 0 udptl t38", "m=audio 4000 RTP/AVP 0 101", "m=video 0 RTP/AVP 96"]),
    # A second audio stream is refused; so is one whose formats we do not speak, or not in plain RTP, before ours.
    ([AUDIO, AUDIO.replace("5000", "5010")], ["m=audio 4000 RTP/AVP 0 101", "m=audio 0 RTP/AVP 0"]),
    ([G729, AUDIO], ["m=audio 0 RTP/AVP 18", "m=audio 4000 RTP/AVP 0 101"]),
    ([SRTP, VIDEO, AUDIO], ["m=audio 0 RTP/SAVP 0", "m=video 0 RTP/AVP 96", "m=audio 4000 RTP/AVP 0 101"]),
    ([AUDIO.replace("5000", "0"), AUDIO], ["m=audio 0 RTP/AVP 0", "m=audio 4000 RTP/AVP 0 101"]),
])
def test_the_answer_has_one_m_line_per_offered_one_in_order(streams, expected):
    offer = SESSION + "".join(streams)
    text = answer_to(offer)
    assert media_lines(text) == expected
    taken = expected.index("m=audio 4000 RTP/AVP 0 101")
    assert sdp.read(offer).stream == taken and sdp.read(offer).port != 0
    # Our codec's lines stay in our audio section; refused streams have none.
    sections = text.split("m=")[1:]
    assert all(("a=" in section) == (index == taken) for index, section in enumerate(sections)), text
    assert sdp.parse(text).port == 4000


def test_the_audio_after_a_video_stream_has_its_own_address_or_the_sessions():
    video = VIDEO.replace("a=sendrecv", "c=IN IP4 127.0.0.50\r\na=recvonly")
    audio = sdp.parse(SESSION + video + AUDIO.replace("a=sendrecv\r\n", ""))
    assert (audio.host, audio.port, audio.direction, audio.stream) == ("127.0.0.9", 5000, "sendrecv", 1)
    audio = sdp.parse(SESSION + video + AUDIO.replace("a=sendrecv", "c=IN IP4 127.0.0.60"))
    assert (audio.host, audio.port) == ("127.0.0.60", 5000)
    # The session's direction holds for it; the video's does not.
    audio = sdp.parse(SESSION.replace("t=0 0", "t=0 0\r\na=sendonly") + video + AUDIO.replace("a=sendrecv\r\n", ""))
    assert audio.direction == "sendonly" and sdp.read(SESSION + video + AUDIO).answer_direction == "sendrecv"


def test_an_offer_of_video_alone_or_of_audio_we_cannot_speak_is_refused():
    with pytest.raises(sdp.SdpError, match="no audio stream"):
        sdp.parse(SESSION + VIDEO)
    with pytest.raises(sdp.SdpError, match="neither PCMU nor PCMA"):
        answer_to(SESSION + VIDEO + G729)


def test_an_unreadable_second_audio_stream_is_refused_not_the_offer():
    offer = SESSION + AUDIO + "m=audio x RTP/AVP 0\r\n"
    assert media_lines(answer_to(offer)) == ["m=audio 4000 RTP/AVP 0 101", "m=audio 0 RTP/AVP 0"]


def test_a_reanswer_keeps_the_offers_streams_and_removing_the_audio_refuses_them_all():
    offer = SESSION + VIDEO + AUDIO.replace("a=sendrecv", "a=sendonly")
    text = sdp.reanswer(PREVIOUS, offer)
    assert media_lines(text) == ["m=video 0 RTP/AVP 96", "m=audio 4000 RTP/AVP 0 101"] and "a=recvonly" in text
    removed = sdp.reanswer(text, SESSION + VIDEO + AUDIO.replace("m=audio 5000 RTP/AVP 0 101", "m=audio 0 RTP/AVP 8"))
    assert media_lines(removed) == ["m=video 0 RTP/AVP 96", "m=audio 0 RTP/AVP 8"] and "a=rtpmap" not in removed
    # Our own answer read back: the audio we sent last is the one on our port, after the refused video.
    assert sdp.read(text).port == 4000 and sdp.read(removed).port == 0
    back = sdp.reanswer(removed, offer, media=text)
    assert media_lines(back) == ["m=video 0 RTP/AVP 96", "m=audio 4000 RTP/AVP 0 101"]
