"""The default administrator account every RestComm doc example uses, created on an empty database."""

from __future__ import annotations

import logging

from tortoise.exceptions import IntegrityError

from models import Account, AccountRole, AccountStatus
from models.account import auth_token_for

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_SID = "ACae6e420f425248d6a26948c17a9e2acf"
DEFAULT_EMAIL = "administrator@company.com"
DEFAULT_PASSWORD = "RestComm"
DEFAULT_FRIENDLY_NAME = "Default Administrator Account"


async def seed_default_account(admin_password: str = "") -> Account | None:
    """Create the administrator if no account exists yet, and return it (None once it was deleted)."""
    if not await Account.exists():
        password = admin_password or DEFAULT_PASSWORD
        account = Account.build(
            sid=DEFAULT_ACCOUNT_SID,
            friendly_name=DEFAULT_FRIENDLY_NAME,
            email_address=DEFAULT_EMAIL,
            password=password,
            parent=None,
            role=AccountRole.ADMINISTRATOR,
            # RestComm's convention: the seeded account is "uninitialized" until its password changes.
            status=AccountStatus.ACTIVE if admin_password else AccountStatus.UNINITIALIZED,
        )
        try:
            await account.save(force_create=True)
            log.info("created the default account %s (%s)", DEFAULT_ACCOUNT_SID, DEFAULT_EMAIL)
        except IntegrityError:
            pass  # another server node seeded it first
    return await Account.get_or_none(sid=DEFAULT_ACCOUNT_SID)


def warn_if_published_password(default: Account | None) -> bool:
    """Log, loudly, that the default account still opens with the password every doc example prints.

    Said once per start of the server or the accounts command, apart from seeding: a test suite that re-seeds
    an emptied database before each test would otherwise repeat it thousands of times."""
    if default is None or default.auth_token != auth_token_for(DEFAULT_PASSWORD):
        return False
    log.warning(
        "!!! The default account %s still has the published password %r: anyone can use this server. "
        "Change it with `restcomm accounts passwd %s` or POST Password to /Accounts/%s.json !!!",
        DEFAULT_ACCOUNT_SID, DEFAULT_PASSWORD, DEFAULT_EMAIL, DEFAULT_ACCOUNT_SID,
    )
    return True
