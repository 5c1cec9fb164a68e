"""The Accounts resource: the account tree, its credentials and statuses (contract sections 2 and 9)."""

from __future__ import annotations

from typing import Any

from handlers import context, errors
from handlers.auth import authorize, operator
from handlers.errors import ApiError, Code
from handlers.listing import API_PREFIX, Resource
from handlers.render import Field, Fields, Format, twins
from models import Account, AccountStatus, clock
from models import account as accounts
from models.paging import page_request


def account_fields(account: Account, fmt: Format, *, show_token: bool = True) -> Fields:
    path = f"{API_PREFIX}/Accounts/{account.sid}"
    return [
        Field("sid", "Sid", account.sid),
        Field("friendly_name", "FriendlyName", account.friendly_name),
        Field("email_address", "EmailAddress", account.email_address),
        Field("status", "Status", account.status),
        Field("type", "Type", account.type),
        Field("role", "Role", account.role),
        Field("auth_token", "AuthToken", account.auth_token if show_token else None),
        Field("parent_sid", "ParentSid", account.parent_sid),
        Field("date_created", "DateCreated", clock.iso(account.date_created)),
        Field("date_updated", "DateUpdated", clock.iso(account.date_updated)),
        Field("calls_per_second", "CallsPerSecond", account.calls_per_second),
        Field("max_concurrent_calls", "MaxConcurrentCalls", account.max_concurrent_calls),
        Field("max_concurrent_requests", "MaxConcurrentRequests", account.max_concurrent_requests),
        Field("uri", "Uri", path + fmt.suffix),
        Field("subresource_uris", "SubresourceUris", [
            Field("calls", "Calls", f"{path}/Calls{fmt.suffix}"),
        ]),
    ]


# JSON list: a bare array, as RestComm 9 answers it (`gson.toJson(accounts)`) and its clients parse it.
ACCOUNTS = Resource(None, "Accounts", "Account", account_fields)


def _visible_fields(viewer: Account):
    def fields_of(account: Account, fmt: Format) -> Fields:
        return account_fields(account, fmt, show_token=viewer.is_same_or_ancestor_of(account))

    return fields_of


async def list_accounts(fmt: Format, user: str, Page: int = 0, PageSize: int = 50, AfterSid: str | None = None):
    acting = await operator(user)
    scope = Account.filter(lineage__startswith=acting.lineage)
    return await ACCOUNTS.page(fmt, path="/Accounts", scope=scope, request=page_request(Page, PageSize, AfterSid),
                               fields_of=_visible_fields(acting))


async def create_account(fmt: Format, user: str, body: dict[str, Any]):
    parent = await operator(user)
    try:
        account = await accounts.create_account(
            email_address=body["EmailAddress"],
            password=body["Password"],
            friendly_name=body.get("FriendlyName"),
            parent=parent,
        )
    except accounts.EmailTaken as exc:
        raise ApiError(409, Code.CONFLICT, _sentence(exc)) from None
    except accounts.AccountError as exc:
        raise errors.bad_request(_sentence(exc)) from None
    return ACCOUNTS.item(fmt, account, status=201)


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:]


async def fetch_account(fmt: Format, AccountSid: str, user: str):
    acting, account = await authorize(user, AccountSid)
    return ACCOUNTS.item(fmt, account, fields_of=_visible_fields(acting))


async def update_account(fmt: Format, AccountSid: str, user: str, body: dict[str, Any] | None = None):
    acting, account = await authorize(user, AccountSid)
    body = body or {}
    if not any(name in body for name in ("FriendlyName", "Password", "Status", *_LIMITS)):
        raise errors.bad_request("Nothing to change: give FriendlyName, Password, Status or a limit")
    # Work on a fresh row, not the cached one other requests may be reading.
    account = await Account.get(sid=account.sid)
    if "Status" in body:
        await _check_status_change(acting, account, body["Status"])
        if body["Status"] == AccountStatus.SUSPENDED and account.status != AccountStatus.SUSPENDED:
            account.suspended_by = acting.sid
        elif body["Status"] != AccountStatus.SUSPENDED:
            account.suspended_by = None
        account.status = body["Status"]
    _apply_limits(acting, account, body)
    if "FriendlyName" in body:
        account.friendly_name = body["FriendlyName"]
    if "Password" in body:
        account.set_password(body["Password"])
    account.touch()
    await account.save()
    context.current().accounts.forget(account)
    if not account.may_authenticate:
        # Suspended or closed: its calls, and those of every account below it, end now (on this node).
        await context.current().engine.end_calls_below(account)
    return ACCOUNTS.item(fmt, account, fields_of=_visible_fields(acting))


# Form parameter -> Account field; 0 removes the limit.
_LIMITS = {"CallsPerSecond": "calls_per_second", "MaxConcurrentCalls": "max_concurrent_calls",
           "MaxConcurrentRequests": "max_concurrent_requests"}


def _apply_limits(acting: Account, account: Account, body: dict[str, Any]) -> None:
    given = {field: body[name] for name, field in _LIMITS.items() if name in body}
    if not given:
        return
    if acting.sid == account.sid:
        raise errors.forbidden("An account may not change its own limits; ask an account above it")
    for field, value in given.items():
        number = float(value) if field == "calls_per_second" else int(value)  # the spec checked the form
        setattr(account, field, number or None)
    try:
        accounts.check_limits(account.calls_per_second, account.max_concurrent_calls, account.max_concurrent_requests)
    except accounts.AccountError as exc:
        raise errors.bad_request(_sentence(exc)) from None


async def _check_status_change(acting: Account, account: Account, status: str) -> None:
    if acting.sid == account.sid:
        raise errors.forbidden("An account may not change its own status; ask an account above it")
    if account.status == AccountStatus.CLOSED and status != AccountStatus.CLOSED:
        raise ApiError(409, Code.CONFLICT, f"Account {account.sid} is closed; a closed account cannot be reopened")
    if account.status == AccountStatus.SUSPENDED and status == AccountStatus.ACTIVE and account.suspended_by:
        # Only who suspended it, or an account above that one, lifts a suspension.
        suspender = await Account.get_or_none(sid=account.suspended_by)
        if suspender is not None and not acting.is_same_or_ancestor_of(suspender):
            raise errors.forbidden(f"Account {account.sid} was suspended by account {account.suspended_by}; "
                                   "only that account or one above it may lift the suspension")


list_json, list_xml = twins(list_accounts)
create_json, create_xml = twins(create_account)
fetch_json, fetch_xml = twins(fetch_account)
update_json, update_xml = twins(update_account)
# RestComm's `X.json/{Sid}` spelling of the same item (its SDK and docs use it).
fetch_json_alias = fetch_json
update_json_alias = update_json
# PUT is POST: RestComm's docs change a password and close a sub-account with PUT.
update_put_json, update_put_xml, update_put_json_alias = update_json, update_xml, update_json
