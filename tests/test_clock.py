"""models/clock.py: the RFC 2822 dates of the Twilio dialect and of callbacks, as the standard library writes them."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime

from hypothesis import given
from hypothesis import strategies as st

from models import clock


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1, 12), max_value=dt.datetime(9999, 12, 31, 12),
                    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5)),
                                               dt.timezone(dt.timedelta(hours=5, minutes=30))])))
def test_rfc2822_is_what_email_utils_writes_for_the_same_instant(value):
    written = clock.rfc2822(value)
    assert written == format_datetime(value.astimezone(dt.UTC))
    assert parsedate_to_datetime(written) == value.replace(microsecond=0)


def test_rfc2822_of_a_known_instant():
    instant = dt.datetime(2010, 8, 31, 20, 36, 28, 999000, tzinfo=dt.UTC)
    assert clock.rfc2822(instant) == "Tue, 31 Aug 2010 20:36:28 +0000"
