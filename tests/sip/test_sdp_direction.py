"""sip.sdp: which SDP says its sender will keep sending RTP, which holds the call, and our answer to a
re-INVITE (RFC 3264)."""

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


@pytest.mark.parametrize(("offer", "answer", "we_send"), [
    (SDP, "sendrecv", True),
    (HOLD, "recvonly", False),  # RFC 3264 section 6.1
    (SDP.replace("a=sendrecv", "a=recvonly"), "sendonly", True),
    (SDP.replace("a=sendrecv", "a=inactive"), "inactive", False),
    (SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"), "recvonly", False),  # RFC 2543 hold: it may send
    (SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0").replace("a=sendrecv", "a=recvonly"), "inactive", False),
])
def test_the_answers_direction_and_whether_we_send(offer, answer, we_send):
    audio = sdp.read(offer)
    assert audio.answer_direction == answer
    assert audio.wants_rtp is we_send


PREVIOUS = sdp.answer("127.0.0.1", 4000, sdp.Negotiated("127.0.0.2", 5000, 0, 101))


def test_a_reanswer_keeps_our_address_and_origin_and_follows_the_new_offer():
    moved = sdp.offer("127.0.0.9", 6000).replace("RTP/AVP 0 8 101", "RTP/AVP 8 101").replace("a=sendrecv", "a=sendonly")
    text = sdp.reanswer(PREVIOUS, moved)
    ours = sdp.parse(text)
    assert (ours.host, ours.port, ours.payload_types) == ("127.0.0.1", 4000, (8, 101))  # its codec: PCMA
    assert "a=recvonly" in text and "a=sendrecv" not in text
    [old_origin] = [line.split() for line in PREVIOUS.splitlines() if line.startswith("o=")]
    [new_origin] = [line.split() for line in text.splitlines() if line.startswith("o=")]
    # RFC 3264 section 8: the same session, its version one higher.
    assert new_origin[1] == old_origin[1] and int(new_origin[2]) == int(old_origin[2]) + 1


def test_a_reoffer_at_0_0_0_0_is_a_hold_and_one_without_our_codecs_is_refused():
    held = sdp.reanswer(PREVIOUS, SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"))
    assert "a=recvonly" in held and "m=audio 4000 " in held
    with pytest.raises(sdp.SdpError, match="neither PCMU nor PCMA"):
        sdp.reanswer(PREVIOUS, SDP.replace("RTP/AVP 0 8 101", "RTP/AVP 18").replace("a=rtpmap:0 PCMU/8000\r\n", ""))
    # An initial offer at 0.0.0.0 is the same hold (RFC 3264 section 8.4), not an address to refuse; a multicast
    # one still is.
    assert sdp.parse(SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0")).direction == "sendonly"
    with pytest.raises(sdp.SdpError, match="not one to send"):
        sdp.parse(SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 224.0.0.1"))


def test_the_offer_to_a_reinvite_without_sdp_is_everything_we_speak_on_our_port():
    held = sdp.reanswer(PREVIOUS, HOLD)
    text = sdp.reoffer(held)
    assert "m=audio 4000 RTP/AVP 0 8 101" in text and "a=sendrecv" in text
    [held_origin] = [line.split() for line in held.splitlines() if line.startswith("o=")]
    [new_origin] = [line.split() for line in text.splitlines() if line.startswith("o=")]
    assert new_origin[1] == held_origin[1] and int(new_origin[2]) == int(held_origin[2]) + 1


@pytest.mark.parametrize(("text", "direction"), [
    (SDP, "sendrecv"),
    (HOLD, "sendonly"),
    (SDP.replace("a=sendrecv", "").replace("t=0 0", "t=0 0\r\na=recvonly"), "recvonly"),  # from the session
    (SDP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"), "sendonly"),
    (SDP.replace("m=audio 9000 ", "m=audio 0 "), "inactive"),
])
def test_one_read_gives_the_stream_and_its_direction(text, direction):
    audio = sdp.read(text)
    assert audio.direction == direction
    assert audio.payload_types == (0, 8, 101) and audio.codec_name(101) == "TELEPHONE-EVENT"


def test_a_stream_before_the_audio_one_lends_it_no_address():
    video_first = SDP.replace("c=IN IP4 127.0.0.1\r\n", "").replace(
        "m=audio", "m=video 5000 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\nm=audio")
    with pytest.raises(sdp.SdpError, match="no audio stream with an address"):
        sdp.parse(video_first)


def test_a_reoffer_with_port_0_is_answered_with_port_0_and_the_next_one_on_our_port_again():
    removal = SDP.replace("m=audio 9000 RTP/AVP 0 8 101", "m=audio 0 RTP/AVP 18")  # any format will do
    removed = sdp.reanswer(PREVIOUS, removal)
    assert "m=audio 0 RTP/AVP 18" in removed.splitlines() and "a=rtpmap" not in removed
    assert sdp.read(removed).port == 0
    back = sdp.reanswer(removed, SDP, media=PREVIOUS)
    assert "m=audio 4000 RTP/AVP 0 101" in back and "a=sendrecv" in back
    [removed_origin] = [line.split() for line in removed.splitlines() if line.startswith("o=")]
    [back_origin] = [line.split() for line in back.splitlines() if line.startswith("o=")]
    assert int(back_origin[2]) == int(removed_origin[2]) + 1


def test_an_unspecified_address_however_written_is_a_hold():
    for host in ("IP4 0.0.0.0", "IP6 ::", "IP6 0:0::0"):
        audio = sdp.parse(SDP.replace("c=IN IP4 127.0.0.1", f"c=IN {host}"))
        assert audio.unspecified and audio.direction == "sendonly" and not audio.wants_rtp
    assert not sdp.parse(SDP).unspecified
