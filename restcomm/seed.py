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
    """Create the administrator if no account exists yet; warn while it keeps the published password."""
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
    default = await Account.get_or_none(sid=DEFAULT_ACCOUNT_SID)
    if default is not None and default.auth_token == auth_token_for(DEFAULT_PASSWORD):
        log.warning(
            "!!! The default account %s still has the published password %r: anyone can use this server. "
            "Change it with `restcomm accounts passwd %s` or POST Password to /Accounts/%s.json !!!",
            DEFAULT_ACCOUNT_SID, DEFAULT_PASSWORD, DEFAULT_EMAIL, DEFAULT_ACCOUNT_SID,
        )
    return default
