"""Small conversions between sippy's message objects and plain Python values (SIP thread only)."""

from __future__ import annotations

from sippy.MsgBody import MsgBody
from sippy.SipContact import SipContact
from sippy.SipGenericHF import SipGenericHF
from sippy.SipHeader import SipHeader
from sippy.SipMsg import SipMsg
from sippy.SipURL import SipURL

from sip.headers import canonical_name

# Headers whose URI becomes a target of later requests (the remote target and the route set).
_TARGET_HEADERS = ("contact", "record-route")


class RawHeader(SipGenericHF):
    """A header added verbatim, with its name spelled as given (sippy would capitalize only the first letter)."""

    def __init__(self, body: str, name: str) -> None:
        super().__init__(body, name)
        self.spelling = name

    def getCanName(self, name: str, compact: bool = False) -> str:
        return self.spelling

    def getCopy(self) -> RawHeader:
        return RawHeader(self.body, self.spelling)


def extra_headers(pairs: tuple[tuple[str, str], ...]) -> tuple[SipHeader, ...]:
    return tuple(SipHeader(name=name, body=RawHeader(value, name)) for name, value in pairs)


def parse_url(text: str) -> SipURL:
    """A SIP URI object; ValueError when sippy cannot read it."""
    try:
        url = SipURL(text.strip())
    except Exception as exc:
        raise ValueError(f"{text!r} is not a SIP URI: {exc}") from None
    lower_transport(url)
    return url


def lower_transport(url: SipURL) -> None:
    """sippy matches the transport parameter case-sensitively: an in-dialog request towards
    `;transport=UDP` (sipp's default Contact) raises "unsupported transport: UDP"."""
    if isinstance(url.transport, str):
        url.transport = url.transport.lower()


def normalize_targets(message: SipMsg) -> None:
    """Lower-cases the transport of the URIs sippy will send later requests to, before sippy reads them."""
    for header in message.headers:
        if header.name not in _TARGET_HEADERS:
            continue
        try:
            body = header.getBody()
            if not getattr(body, "asterisk", False):
                lower_transport(body.getUrl())
        except Exception:
            # An unreadable header is sippy's to reject; leave it as it came.
            continue


def local_contact() -> SipContact:
    """Our Contact: sippy's default carries the display name "Anonymous", with which sipp builds a broken
    ACK Request-URI from `[next_url]`."""
    contact = SipContact()
    contact.address.name = None
    return contact


def quoted_pair_escape(display_name: str) -> str:
    """sippy puts quotes around a display name that needs them but escapes nothing inside (RFC 3261 25.1)."""
    return display_name.replace("\\", "\\\\").replace('"', '\\"')


def header_pairs(message: SipMsg) -> list[tuple[str, str]]:
    """Every header of a message as (canonical name, value), in order, Content-Type included."""
    pairs = [(canonical_name(header.name), str(header.body)) for header in message.headers]
    body = message.getBody()
    if body is not None:
        pairs.append(("Content-Type", str(body.mtype)))
    return pairs


def body_text(body: MsgBody | None) -> str | None:
    return None if body is None else str(body)


def content_type(body: MsgBody | None) -> str:
    return "" if body is None else body.getType()


def sdp_body(sdp: str) -> MsgBody:
    return MsgBody(sdp)
