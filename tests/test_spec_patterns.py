"""Whatever openapi.yaml's patterns admit, the server can use: a 400 the spec does not predict is a bug.

Property tests: hypothesis writes strings that match each pattern the server relies on, and the code that
reads them must take every one without raising.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.list_filters import restore_plus
from models.time_filter import bounds
from rcml.documents import absolute
from restcomm.spec import Spec
from sip.destination import caller_display, parse_destination, sip_user_part

SPEC = Spec.load()
SCHEMAS = SPEC.document["components"]["schemas"]
CALL = SCHEMAS["CreateCallRequest"]["properties"]
FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def matching(schema: dict) -> st.SearchStrategy[str]:
    pattern = schema["pattern"]
    limit = schema.get("maxLength", 10_000)
    return st.from_regex(re.compile(pattern), fullmatch=True).filter(lambda text: len(text) <= limit)


@FAST
@given(matching(CALL["To"]))
def test_every_to_the_spec_admits_is_a_destination(to):
    destination = parse_destination(restore_plus(to))
    assert destination.display and len(destination.target) <= 1024


@FAST
@given(matching(CALL["From"]))
def test_every_from_the_spec_admits_can_be_shown_and_sent(from_):
    assert caller_display(restore_plus(from_))
    user = sip_user_part(restore_plus(from_))
    assert not re.search(r"[\s<>\"@:]", user)


@FAST
@given(matching(CALL["Url"]))
def test_every_url_the_spec_admits_is_absolute_once_resolved(url):
    assert absolute(url, "http://127.0.0.1:8080").lower().startswith(("http://", "https://"))


@FAST
@given(matching(SCHEMAS["DateFilter"]), st.sampled_from(["=", ">=", "<="]))
def test_every_date_the_spec_admits_is_a_bound(text, relation):
    assert isinstance(bounds("StartTime", text, relation), list)
