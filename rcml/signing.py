"""Request signing, as Twilio documents it, so applications can reject forged webhooks.

The signature is the Base64 HMAC-SHA1, keyed by the account's auth token, of the full URL the request went to
(query string included) followed by each POST parameter's name and value, sorted by name. Twilio's own
`RequestValidator` checks it. Every webhook of either dialect carries it twice: `X-Twilio-Signature`, which
Twilio's libraries read, and `X-RestComm-Signature`, the same value under this server's name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

HEADERS = ("X-Twilio-Signature", "X-RestComm-Signature")


def signature(auth_token: str, url: str, post_parameters: Mapping[str, str] | None = None) -> str:
    payload = url + "".join(name + value for name, value in sorted((post_parameters or {}).items()))
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def headers(auth_token: str | None, url: str, post_parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """The signature headers of a request, or none when the account (and so its token) is unknown."""
    if not auth_token:
        return {}
    value = signature(auth_token, url, post_parameters)
    return dict.fromkeys(HEADERS, value)
