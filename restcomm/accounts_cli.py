"""`restcomm accounts ...`: the shell's way to list accounts, create one, set a password or the limits."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from models import Account, AccountRole
from models import account as accounts
from models.db import close_database, open_database
from restcomm.seed import seed_default_account, warn_if_published_password
from restcomm.settings import Settings


class CommandError(Exception):
    pass


async def run(config: Settings, args: argparse.Namespace, ask_password: Callable[[], str]) -> int:
    await open_database(config.database_url)
    # The same first-start rule as the server's: an empty database gets the default account first.
    warn_if_published_password(await seed_default_account(config.admin_password))
    try:
        if args.action == "list":
            for account in await Account.all().order_by("date_created", "sid"):
                print(f"{account.sid}  {account.status:<13} {account.role:<13} {account.email_address}"
                      f"  {account.friendly_name}")
            return 0
        if args.action == "limits":
            return await _limits(args)
        password = args.password if args.password is not None else ask_password()
        try:
            accounts.check_password(password)
            if args.action == "create":
                return await _create(args, password)
            return await _set_password(args.account, password)
        except accounts.AccountError as exc:
            raise CommandError(str(exc)) from None
    finally:
        await close_database()


async def _find(login: str) -> Account:
    account = await (Account.get_or_none(email_address=login.lower()) if "@" in login
                     else Account.get_or_none(sid=login))
    if account is None:
        raise CommandError(f"no account {login}")
    return account


async def _create(args: argparse.Namespace, password: str) -> int:
    parent = await _find(args.parent) if args.parent else None
    account = await accounts.create_account(
        email_address=args.email,
        password=password,
        friendly_name=args.friendly_name,
        parent=parent,
        role=AccountRole.ADMINISTRATOR if args.administrator else AccountRole.DEVELOPER,
    )
    print(f"created {account.sid} ({account.email_address}); auth token {account.auth_token}")
    return 0


async def _set_password(login: str, password: str) -> int:
    account = await _find(login)
    account.set_password(password)
    account.touch()
    await account.save()
    print(f"password changed for {account.sid}; auth token {account.auth_token}")
    return 0


async def _limits(args: argparse.Namespace) -> int:
    """Sets the limits given (0 removes one), then prints all three: what the server will apply within 2 s."""
    account = await _find(args.account)
    given = {field: getattr(args, field) for field in accounts.LIMIT_FIELDS if getattr(args, field) is not None}
    if given:
        for field, value in given.items():
            setattr(account, field, value or None)
        try:
            accounts.check_limits(account.calls_per_second, account.max_concurrent_calls,
                                  account.max_concurrent_requests)
        except accounts.AccountError as exc:
            raise CommandError(str(exc)) from None
        account.touch()
        await account.save()
    shown = "  ".join(f"{field}={_shown(getattr(account, field))}" for field in accounts.LIMIT_FIELDS)
    print(f"{account.sid}  {shown}")
    return 0


def _shown(value: float | int | None) -> str:
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)
