"""Accounts in the Twilio dialect: GET Accounts/{AccountSid}.json, which twilio-python's `client.api.accounts`
reads (the SDK fetches it to check credentials)."""

from __future__ import annotations

from typing import Any

from handlers.auth import authorize
from handlers.twilio import render
from handlers.twilio.render import PREFIX, date
from models import Account, AccountStatus


def account_json(account: Account, *, show_token: bool) -> dict[str, Any]:
    path = f"{PREFIX}/Accounts/{account.sid}"
    return {
        "sid": account.sid,
        "friendly_name": account.friendly_name,
        # RestComm's `uninitialized` (a new account whose password was never changed) works as active does;
        # Twilio has no such status.
        "status": "active" if account.status == AccountStatus.UNINITIALIZED else account.status,
        "type": account.type,
        "auth_token": account.auth_token if show_token else None,
        "owner_account_sid": account.parent_sid or account.sid,
        "date_created": date(account.date_created),
        "date_updated": date(account.date_updated),
        "uri": f"{path}.json",
        "subresource_uris": {"calls": f"{path}/Calls.json"},
    }


async def fetch(AccountSid: str, user: str):
    acting, account = await authorize(user, AccountSid)
    return render.json(account_json(account, show_token=acting.is_same_or_ancestor_of(account)))
