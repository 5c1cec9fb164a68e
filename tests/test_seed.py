"""The default account: seeded on an empty database, and the published-password warning said where a person
reads it (each start of the server or the accounts command), not on every seeding."""

from __future__ import annotations

import logging

from models import Account
from restcomm.seed import DEFAULT_ACCOUNT_SID, seed_default_account, warn_if_published_password
from tests.conftest import ADMIN_TOKEN


async def test_seeding_an_empty_database_creates_the_documented_administrator_and_says_nothing_alarming(
        clean_db, caplog):
    await Account.all().delete()
    with caplog.at_level(logging.INFO, logger="restcomm.seed"):
        default = await seed_default_account()
    assert default is not None and default.sid == DEFAULT_ACCOUNT_SID and default.auth_token == ADMIN_TOKEN
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_the_published_password_is_warned_about_until_it_is_changed(clean_db, caplog):
    default = await seed_default_account()
    with caplog.at_level(logging.WARNING, logger="restcomm.seed"):
        assert warn_if_published_password(default) is True
    [warning] = caplog.records
    assert "published password" in warning.getMessage() and DEFAULT_ACCOUNT_SID in warning.getMessage()

    await Account.filter(sid=DEFAULT_ACCOUNT_SID).update(auth_token="0" * 32)
    caplog.clear()
    assert warn_if_published_password(await seed_default_account()) is False
    assert warn_if_published_password(None) is False  # the default account was deleted
    assert not caplog.records
