"""Account lookups for every request, cached for a moment.

Authentication and the tenancy check run on every request; without a cache each costs a database read or
two (the account, then its place in the tree). Entries live `ttl` seconds, so a change made on another
server node is seen within that time; a change made through this process is seen at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from models.account import Account


@dataclass
class _Entry:
    account: Account | None
    expires: float


class AccountDirectory:
    def __init__(self, ttl: float = 2.0, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._by_sid: dict[str, _Entry] = {}
        self._by_email: dict[str, _Entry] = {}

    async def by_sid(self, sid: str) -> Account | None:
        return await self._lookup(self._by_sid, sid, lambda: Account.get_or_none(sid=sid))

    async def by_email(self, email: str) -> Account | None:
        email = email.lower()
        return await self._lookup(self._by_email, email, lambda: Account.get_or_none(email_address=email))

    async def by_login(self, username: str) -> Account | None:
        """The account a Basic-auth username names: an account SID, or an e-mail address."""
        if "@" in username:
            return await self.by_email(username)
        return await self.by_sid(username)

    def forget(self, account: Account) -> None:
        self._by_sid.pop(account.sid, None)
        self._by_email.pop(account.email_address, None)

    def clear(self) -> None:
        self._by_sid.clear()
        self._by_email.clear()

    async def _lookup(self, table: dict[str, _Entry], key: str, load) -> Account | None:
        now = time.monotonic()
        entry = table.get(key)
        if entry is not None and entry.expires > now:
            return entry.account
        account = await load()
        if len(table) >= self.max_entries:
            table.clear()
        table[key] = _Entry(account, now + self.ttl)
        return account
