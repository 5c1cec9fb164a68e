"""Requests shaped as RestComm's own Python SDK (RestComm/restcomm-sdk-python) sends them.

PyPI's `restcomm-python-sdk` 1.3.2 cannot be installed as a client: its package holds only an `__init__.py`
and it requires `vcr`, which PyPI does not have. So this module sends what that SDK's documented operations
send, written from their behaviour (not its code): the same library (`requests`), the same URLs built on a
base URL ending in `/restcomm/2012-04-24` (note the `X.json/{Sid}` forms and the trailing slash), the same form
fields, HTTP Basic with the account SID and auth token; and, like the SDK, each returns `json.loads` of the
body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

TIMEOUT_S = 10


@dataclass
class RestCommSdk:
    sid: str
    auth_token: str
    base_url: str  # e.g. http://127.0.0.1:8080/restcomm/2012-04-24

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, self.base_url + path, auth=(self.sid, self.auth_token),
                                    timeout=TIMEOUT_S, **kwargs)
        self.last_status = response.status_code
        return json.loads(response.text) if response.text else None

    # --- Account: AccountDetails, ChangeAccountPassword, CreateSubAccount, CloseSubAccount, SubAccountDetails
    def account_details(self) -> Any:
        return self._send("GET", f"/Accounts.json/{self.sid}")

    def change_account_password(self, password: str) -> Any:
        return self._send("POST", f"/Accounts.json/{self.sid}", data={"AccountSid": self.sid, "Password": password})

    def create_sub_account(self, friendly_name: str, email: str, password: str) -> Any:
        return self._send("POST", "/Accounts.json/", data={"FriendlyName": friendly_name, "EmailAddress": email,
                                                            "Password": password})

    def close_sub_account(self, sub_sid: str) -> Any:
        return self._send("POST", f"/Accounts.json/{sub_sid}", data={"Status": "closed"})

    def sub_account_details(self) -> Any:
        return self._send("GET", "/Accounts.json/")

    # --- Client: CreateClient, ClientList, ChangeClientPassword, DeleteClient
    def create_client(self, login: str, password: str) -> Any:
        return self._send("POST", f"/Accounts/{self.sid}/Clients.json", data={"Login": login, "Password": password})

    def client_list(self) -> Any:
        return self._send("GET", f"/Accounts/{self.sid}/Clients.json")

    def change_client_password(self, client_sid: str, password: str) -> Any:
        return self._send("POST", f"/Accounts/{self.sid}/Clients.json/{client_sid}", data={"Password": password})

    def delete_client(self, client_sid: str) -> Any:
        return self._send("DELETE", f"/Accounts/{self.sid}/Clients.json/{client_sid}")

    # --- IncomingNumber: PhoneNumberList, AttachPhoneNumber, DeletePhoneNumber
    def phone_number_list(self) -> Any:
        return self._send("GET", f"/Accounts/{self.sid}/IncomingPhoneNumbers.json")

    def attach_phone_number(self, number: str, voice_url: str) -> Any:
        return self._send("POST", f"/Accounts/{self.sid}/IncomingPhoneNumbers.json",
                          data={"PhoneNumber": number, "VoiceUrl": voice_url, "isSIP": "true"})

    def delete_phone_number(self, number_sid: str) -> Any:
        return self._send("DELETE", f"/Accounts/{self.sid}/IncomingPhoneNumbers.json/{number_sid}")

    # --- call: MakeCall, CallList, ModifyCall (Url), redirect with MoveConnectedCallLeg
    def make_call(self, from_: str, to: str, url: str) -> Any:
        return self._send("POST", f"/Accounts/{self.sid}/Calls.json", data={"From": from_, "To": to, "Url": url})

    def call_list(self) -> Any:
        return self._send("GET", f"/Accounts/{self.sid}/Calls.json")

    def redirect_call(self, call_sid: str, url: str) -> Any:
        return self._send("POST", f"/Accounts/{self.sid}/Calls.json/{call_sid}", data={"Url": url})

    # --- Notification and Recording lists, with the SDK's filters
    def notification_list(self, **params: str) -> Any:
        return self._send("GET", f"/Accounts/{self.sid}/Notifications.json?", params=params)

    def recording_list(self, **params: str) -> Any:
        return self._send("GET", f"/Accounts/{self.sid}/Recordings.json?", params=params)
