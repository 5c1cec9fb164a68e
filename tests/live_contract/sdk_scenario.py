"""What both SDK tests do, so that the Python and the TypeScript run check the same thing.

As the default administrator: create a sub-account. As that sub-account (its SID and the auth token the
creation returned): create a client; make three calls, two to the client (not registered, so they fail)
and one to a sipp UAS that answers, with the server's own demo application as `Url`; list the calls from
one number a page of one at a time, following `next_page_uri` (AfterSid); get the answered call until
it is in progress; complete it (POST Status=completed), which hangs it up (sipp gets the BYE).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

# The numbers of the calls; the list is filtered on FROM, which two of the three calls have.
FROM = "+15550001"
OTHER_FROM = "+15550002"
CLIENT_PASSWORD = "sdk-secret-1234"


def demo_url(base: str) -> str:
    """The server's own demo application: plays a 6.7 s greeting, long enough to complete the call first."""
    return f"{base}/restcomm/demos/hello-play.xml"


def page_query(next_page_uri: str) -> dict[str, str]:
    """The query of a paging URI, one value per key (`AfterSid`, `Page`, `PageSize` and the filters)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(next_page_uri).query).items()}
