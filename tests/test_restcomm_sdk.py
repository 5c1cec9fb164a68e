"""RestComm's own Python SDK's operations against the real server (`restcomm serve`), over SQLite and PostgreSQL.

The requests are the SDK's (tests/support/restcomm_sdk.py says why they are not sent by the SDK itself); each
check is what a user of that SDK reads back.
"""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support import database_urls
from tests.support.processes import running_server
from tests.support.restcomm_sdk import RestCommSdk


@pytest.fixture(params=["sqlite", "postgres"])
def server_db(request, tmp_path):
    with database_urls.server_database(request.param, str(tmp_path)) as url:
        if url is None:
            pytest.skip(database_urls.skip_reason())
        yield url


def test_the_sdks_account_client_number_and_call_operations(server_db):
    with running_server(server_db) as base:
        admin = RestCommSdk(ADMIN_SID, ADMIN_TOKEN, base + "/restcomm/2012-04-24")

        account = admin.account_details()
        assert admin.last_status == 200 and account["sid"] == ADMIN_SID

        # CreateSubAccount (POST .../Accounts.json/ with the trailing slash), then SubAccountDetails.
        sub = admin.create_sub_account("Sales", "sales@company.com", "sales-secret-1")
        assert admin.last_status == 201 and sub["email_address"] == "sales@company.com"
        listed = admin.sub_account_details()
        assert isinstance(listed, list) and sub["sid"] in {a["sid"] for a in listed}

        # ChangeAccountPassword, as the sub-account itself: its token changes, the new one works.
        sales = RestCommSdk(sub["sid"], sub["auth_token"], admin.base_url)
        changed = sales.change_account_password("sales-secret-2")
        assert sales.last_status == 200 and changed["auth_token"] != sub["auth_token"]
        sales.account_details()
        assert sales.last_status == 401  # the old token is refused at once
        sales.auth_token = changed["auth_token"]
        assert sales.account_details()["sid"] == sub["sid"] and sales.last_status == 200

        # Clients: CreateClient, ClientList (a bare array), ChangeClientPassword, DeleteClient.
        client = admin.create_client("alice", "alice-secret")
        assert admin.last_status == 201 and client["login"] == "alice"
        assert [c["sid"] for c in admin.client_list()] == [client["sid"]]
        admin.change_client_password(client["sid"], "alice-secret-2")
        assert admin.last_status == 200
        assert admin.delete_client(client["sid"]) is None and admin.last_status == 204
        assert admin.client_list() == []

        # Numbers: AttachPhoneNumber (isSIP is RestComm's own extra: ignored), PhoneNumberList, DeletePhoneNumber.
        number = admin.attach_phone_number("+15551234567", base + "/restcomm/demos/hello-play.xml")
        assert admin.last_status == 201 and number["phone_number"] == "+15551234567"
        numbers = admin.phone_number_list()
        assert [n["sid"] for n in numbers["incomingPhoneNumbers"]] == [number["sid"]] and numbers["total"] == 1
        admin.delete_phone_number(number["sid"])
        assert admin.last_status == 204 and admin.phone_number_list()["incomingPhoneNumbers"] == []

        # Calls: MakeCall, CallList, ModifyCall on Calls.json/{CallSid} (the call has ended by then: 409).
        call = admin.make_call("+16175551212", "sip:bob@127.0.0.1:9", base + "/restcomm/demos/hello-play.xml")
        assert admin.last_status == 200 and call["status"] == "queued"
        assert call["sid"] in {c["sid"] for c in admin.call_list()["calls"]}
        redirected = admin.redirect_call(call["sid"], base + "/restcomm/demos/hello-world.xml")
        assert admin.last_status in (200, 409), redirected
        # Notifications and Recordings with the SDK's filters.
        assert admin.notification_list(PageSize="10")["page_size"] == 10
        assert admin.recording_list(CallSid=call["sid"])["recordings"] == []

        # CloseSubAccount: closed, and its credentials no longer work.
        closed = admin.close_sub_account(sub["sid"])
        assert admin.last_status == 200 and closed["status"] == "closed"
        sales.account_details()
        assert sales.last_status in (401, 403)
