"""Accounts: credentials, status and the account tree that decides who may act on whose resources."""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import StrEnum

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from models import clock, sids

# A tree deeper than this is almost surely a mistake, and the ancestry column must stay bounded.
MAX_DEPTH = 10
LINEAGE_SEPARATOR = "/"
# The same rules openapi.yaml states for the Password parameter; checked here for the command line.
PASSWORD_LENGTH = (8, 128)
FRIENDLY_NAME_LENGTH = 64
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class AccountError(ValueError):
    """An account change that the rules refuse; the message says which rule."""


class EmailTaken(AccountError):
    pass


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    # The seeded administrator keeps this status until its default password is changed.
    UNINITIALIZED = "uninitialized"


class AccountRole(StrEnum):
    ADMINISTRATOR = "Administrator"
    DEVELOPER = "Developer"


def auth_token_for(password: str) -> str:
    """RestComm's auth token is the MD5 hex of the password; clients rely on that relation."""
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest()


class Account(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()
    friendly_name = fields.CharField(max_length=FRIENDLY_NAME_LENGTH)
    # Stored lower-cased: logins by e-mail are case-insensitive, and the unique index must agree.
    email_address = fields.CharField(max_length=254, unique=True)
    status = fields.CharField(max_length=16, default=AccountStatus.ACTIVE.value)
    type = fields.CharField(max_length=16, default="Full")
    role = fields.CharField(max_length=32, default=AccountRole.DEVELOPER.value)
    auth_token = fields.CharField(max_length=32)
    parent_sid = fields.CharField(max_length=sids.SID_LENGTH, null=True)
    # SIDs from the root down to this account, joined by "/": descendants share it as a prefix,
    # so "this account and everything below it" is one indexed prefix match.
    lineage = fields.CharField(max_length=(sids.SID_LENGTH + 1) * MAX_DEPTH, db_index=True)
    # Limits, as Twilio has them per account (null: none). Set by an account above this one or the CLI, never
    # by the account itself. Calls created through the API start at most this many per second (the rest wait
    # `queued`, in order); more live calls than this are refused (429); so are more API requests at once.
    calls_per_second = fields.FloatField(null=True)
    max_concurrent_calls = fields.IntField(null=True)
    max_concurrent_requests = fields.IntField(null=True)
    # Who set the account `suspended` (an account above it): only that account, or one above it, may lift it,
    # so a parent cannot undo what the administrator imposed on its sub-account.
    suspended_by = fields.CharField(max_length=sids.SID_LENGTH, null=True)

    class Meta:
        table = "accounts"

    @classmethod
    def build(
        cls,
        *,
        friendly_name: str,
        email_address: str,
        password: str,
        parent: Account | None,
        role: AccountRole = AccountRole.DEVELOPER,
        status: AccountStatus = AccountStatus.ACTIVE,
        sid: str | None = None,
    ) -> Account:
        sid = sid or sids.new_sid(sids.ACCOUNT)
        now = clock.now()
        return cls(
            sid=sid,
            date_created=now,
            date_updated=now,
            friendly_name=friendly_name,
            email_address=email_address.lower(),
            status=status.value,
            role=role.value,
            auth_token=auth_token_for(password),
            parent_sid=parent.sid if parent else None,
            lineage=f"{parent.lineage}{LINEAGE_SEPARATOR}{sid}" if parent else sid,
        )

    @property
    def depth(self) -> int:
        return self.lineage.count(LINEAGE_SEPARATOR) + 1

    def ancestors_and_self(self) -> list[str]:
        return self.lineage.split(LINEAGE_SEPARATOR)

    def is_same_or_ancestor_of(self, other: Account) -> bool:
        return self.sid in other.ancestors_and_self()

    @property
    def may_authenticate(self) -> bool:
        return self.status not in (AccountStatus.SUSPENDED, AccountStatus.CLOSED)

    def accepts_secret(self, secret: bytes) -> bool:
        """True for the auth token or the plain password; both compared in constant time, as bytes."""
        token = self.auth_token.encode("ascii")
        by_token = hmac.compare_digest(secret, token)
        by_password = hmac.compare_digest(hashlib.md5(secret, usedforsecurity=False).hexdigest().encode("ascii"), token)
        return by_token or by_password

    def set_password(self, password: str) -> None:
        self.auth_token = auth_token_for(password)
        if self.status == AccountStatus.UNINITIALIZED:
            self.status = AccountStatus.ACTIVE.value

    def touch(self) -> None:
        self.date_updated = clock.now()


LIMIT_FIELDS = ("calls_per_second", "max_concurrent_calls", "max_concurrent_requests")
# Bounds of the limits: 0 would shut the account out (suspend it for that), and more than these is no limit.
MAX_CALLS_PER_SECOND = 10_000.0
MAX_CONCURRENCY = 1_000_000


def check_limits(calls_per_second: float | None, max_concurrent_calls: int | None,
                 max_concurrent_requests: int | None) -> None:
    if calls_per_second is not None and not 0.01 <= calls_per_second <= MAX_CALLS_PER_SECOND:
        raise AccountError(f"calls per second must lie within 0.01-{MAX_CALLS_PER_SECOND:g}")
    for name, value in (("concurrent calls", max_concurrent_calls), ("concurrent requests", max_concurrent_requests)):
        if value is not None and not 1 <= value <= MAX_CONCURRENCY:
            raise AccountError(f"the maximum of {name} must lie within 1-{MAX_CONCURRENCY}")


def check_password(password: str) -> None:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise AccountError(f"a password has {low} to {high} characters")
    if _CONTROL.search(password):
        raise AccountError("a password may not contain control characters")


async def create_account(
    *,
    email_address: str,
    password: str,
    friendly_name: str | None = None,
    parent: Account | None = None,
    role: AccountRole = AccountRole.DEVELOPER,
) -> Account:
    """A new account under `parent` (or a new tree root); raises EmailTaken or AccountError."""
    if parent is not None and parent.depth >= MAX_DEPTH:
        raise AccountError(f"accounts may be nested at most {MAX_DEPTH} deep")
    email_address = email_address.strip()
    account = Account.build(
        # The default name is the address, cut to the 64 characters a name has (an address may have 254).
        friendly_name=friendly_name or email_address[:FRIENDLY_NAME_LENGTH],
        email_address=email_address,
        password=password,
        parent=parent,
        role=role,
    )
    try:
        await account.save(force_create=True)
    except IntegrityError:
        raise EmailTaken(f"an account with e-mail address {email_address.lower()} already exists") from None
    return account


async def in_force(account: Account) -> bool:
    """Whether the account may act at all (its API, its numbers' calls, its clients' registrations): neither it
    nor any account above it is suspended or closed. Suspending an account suspends everything below it."""
    if not account.may_authenticate:
        return False
    above = account.ancestors_and_self()[:-1]
    return not above or not await Account.filter(
        sid__in=above, status__in=[AccountStatus.SUSPENDED.value, AccountStatus.CLOSED.value]).exists()
