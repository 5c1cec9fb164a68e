"""Who is asking, and may they act on the account in the path (contract section 2)."""

from __future__ import annotations

import inspect
from typing import Any

from handlers import context
from handlers.errors import REALM, ApiError, Code, forbidden, not_found
from models import Account


async def basic_auth(username: str, password: str, required_scopes: list[str] | None = None,
                     request: Any = None) -> dict | None:
    """connexion's Basic-auth hook: the account named by SID or e-mail, with its token or password.

    connexion decodes the credentials as Latin-1, so encoding back gives the bytes the client sent;
    a username that is not UTF-8 names no account. A source that guessed wrong too often for a login gets
    429 with Retry-After before its password is looked at (calls/guessing.py).
    """
    try:
        login = username.encode("latin-1").decode("utf-8")
        secret = password.encode("latin-1")
    except UnicodeError:
        return None
    current = context.current()
    source = _client_host(request)
    wait = current.guesses.retry_after(source, login.lower())
    if wait is not None:
        raise ApiError(429, Code.TOO_MANY_REQUESTS, "Too many failed logins from this address; try again later",
                       {"Retry-After": str(wait)})
    account = await current.accounts.by_login(login)
    if account is None or not account.accepts_secret(secret):
        current.guesses.failed(source, login.lower())
        return None
    current.guesses.succeeded(source, login.lower())
    current.requests.take(account)  # 429 when the account has all its requests under way already
    return {"sub": account.sid}


# connexion's security handler asks for this hook's signature twice per request (does it take `required_scopes`?
# `request`?); with `__signature__` set, `inspect.signature` returns it at once instead of rebuilding it.
basic_auth.__signature__ = inspect.signature(basic_auth)  # type: ignore[attr-defined]


def _client_host(request: Any) -> str:
    client = request.scope.get("client") if request is not None else None
    return client[0] if client else ""


async def operator(user: str) -> Account:
    """The authenticated account, refused when it or an account above it is suspended or closed."""
    directory = context.current().accounts
    account = await directory.by_sid(user)
    if account is None:
        raise ApiError(401, Code.AUTHENTICATION_FAILED, "Authentication failed", {"WWW-Authenticate": REALM})
    if not account.may_authenticate:
        raise ApiError(403, Code.ACCOUNT_NOT_ACTIVE, f"Account {account.sid} is {account.status}")
    # Suspending or closing an account shuts out everything below it too.
    for ancestor_sid in account.ancestors_and_self()[:-1]:
        ancestor = await directory.by_sid(ancestor_sid)
        if ancestor is not None and not ancestor.may_authenticate:
            raise ApiError(403, Code.ACCOUNT_NOT_ACTIVE,
                           f"Account {account.sid} is not active: account {ancestor.sid} is {ancestor.status}")
    return account


async def authorize(user: str, account_sid: str) -> tuple[Account, Account]:
    """(operator, path account): the operator must be the path account or one of its ancestors."""
    acting = await operator(user)
    target = acting if account_sid == acting.sid else await context.current().accounts.by_sid(account_sid)
    if target is None:
        raise not_found(f"Account {account_sid} was not found")
    if not acting.is_same_or_ancestor_of(target):
        raise forbidden(f"This account may not act on account {account_sid}")
    return acting, target
