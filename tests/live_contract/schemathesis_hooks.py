"""Hooks of the schemathesis CLI run against `restcomm serve`: load with SCHEMATHESIS_HOOKS=<this file>.

They do over HTTP what contract-tests/harness.py does in process, so that both runs check the same things:

- an XML deserializer, or schemathesis leaves every XML body (half of the API) unchecked;
- a `To=client:<name>` of the default account gets a client called <name> before the call is created (the
  server answers 400, code 21211, for a client that does not exist, which the schema cannot express);
- a case that changed the default account's password gets it put back, or every later case is a 401;
- a case whose range filter object (`StartTimeOnOrAfter`) brings a stray query key is not sent:
  on the wire that member is an unknown query key, which the server ignores (tests/support/exploded.py);
- POST Accounts may start stateful scenarios (schemathesis reads `EmailAddress` as a reference to an
  "Email" resource that no operation creates, and would never start one with it).

The credentials and the AccountSid pin come from schemathesis.toml beside this file. Never loaded by the
in-process run (pytest sets SCHEMATHESIS_HOOKS only for the CLI it starts). With RESTCOMM_HOOKS_TALLY set to
a file, the counts of what the hooks did are written there as JSON when the run ends (the test checks that
XML bodies were really parsed).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

import httpx
import schemathesis

from tests.support.exploded import has_stray_keys

ADMIN_SID = "ACae6e420f425248d6a26948c17a9e2acf"
ADMIN_PASSWORD = "RestComm"  # the published password; its MD5 is the token in schemathesis.toml
ADMIN_TOKEN = "77f8c12cc7b8f8423e5c38b035249166"
# Operations that create a call, in both specs (twilio.yaml's Calls.json is spelled as openapi.yaml's; its
# participant dial-in creates one too).
CREATE_CALL_PATHS = ("/Accounts/{AccountSid}/Calls.json", "/Accounts/{AccountSid}/Calls",
                     "/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants.json")
TWILIO_PREFIX = "/2010-04-01"
RESTCOMM_PREFIX = "/restcomm/2012-04-24"
# Inline TwiML must parse to run; random text of the schema's length cannot, and twilio.yaml documents the 400.
# A generated one is replaced by a real document, as test data for a valid request (as in-process).
VALID_TWIML = "<Response><Pause length=\"1\"/><Hangup/></Response>"
# Every spelling of the account update (RestComm's /Accounts.json/{AccountSid} included), by POST or PUT.
ACCOUNT_UPDATE_PATHS = ("/Accounts/{AccountSid}.json", "/Accounts/{AccountSid}", "/Accounts.json/{AccountSid}")
ACCOUNT_UPDATE_METHODS = ("POST", "PUT")
_CLIENT_TO = re.compile(r"^[cC][lL][iI][eE][nN][tT]:([A-Za-z0-9._~+-]{1,64})(\?|$)")
TALLY: Counter[str] = Counter()


def _write_tally(path: str) -> None:
    with open(path, "w") as out:
        json.dump(TALLY, out)


if os.environ.get("RESTCOMM_HOOKS_TALLY"):
    atexit.register(_write_tally, os.environ["RESTCOMM_HOOKS_TALLY"])


@schemathesis.deserializer("application/xml")
def restcomm_xml(_ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> str:
    """Parse an XML body (a malformed one fails response_schema_conformance); the spec's XML is a string."""
    root = ET.fromstring(response.content)
    if root.tag != "RestcommResponse":
        raise ValueError(f"the root element is <{root.tag}>, not <RestcommResponse>")
    TALLY["xml bodies parsed"] += 1
    return response.content.decode("utf-8")


@schemathesis.hook
def after_load_schema(_context: schemathesis.HookContext, schema: Any) -> None:
    for node in schema.analysis.dependency_graph.operations.values():
        node.inputs = [slot for slot in node.inputs if slot.resource.name != "Email"]


@schemathesis.hook
def filter_query(context: schemathesis.HookContext, query: Any) -> bool:
    if has_stray_keys(context.operation, query):
        TALLY["range filter cases with stray keys skipped"] += 1
        return False
    return True


@schemathesis.hook
def before_call(_context: schemathesis.HookContext, case: schemathesis.Case, _kwargs: dict[str, Any]) -> None:
    operation = case.operation
    if operation.method.upper() != "POST" or operation.path not in CREATE_CALL_PATHS:
        return
    base = operation.schema.get_base_url()
    if base.endswith(TWILIO_PREFIX) and isinstance(case.body, dict) and isinstance(case.body.get("Twiml"), str) \
            and case.body["Twiml"]:
        case.body["Twiml"] = VALID_TWIML
        TALLY["inline TwiML replaced"] += 1
    to = case.body.get("To") if isinstance(case.body, dict) else None
    match = _CLIENT_TO.match(to) if isinstance(to, str) else None
    if not match or (case.path_parameters or {}).get("AccountSid") != ADMIN_SID:
        return
    # Clients are made through the RestComm dialect (the Twilio one has no Clients resource).
    login = _ensure_client(base.removesuffix(TWILIO_PREFIX) + RESTCOMM_PREFIX if base.endswith(TWILIO_PREFIX)
                           else base, match[1])
    TALLY["clients ensured for calls"] += 1
    if login != match[1]:
        case.body["To"] = f"client:{login}" + to[match.end(1):]


@schemathesis.hook
def after_call(_context: schemathesis.HookContext, case: schemathesis.Case, _response: Any) -> None:
    operation = case.operation
    if operation.method.upper() not in ACCOUNT_UPDATE_METHODS or operation.path not in ACCOUNT_UPDATE_PATHS:
        return
    new_password = case.body.get("Password") if isinstance(case.body, dict) else None
    if (case.path_parameters or {}).get("AccountSid") != ADMIN_SID or not isinstance(new_password, str):
        return
    # The XML twin, authenticated with the password the case may have set (UTF-8, not httpx's Latin-1):
    # 200 means it was put back, 401 that it had not changed.
    restored = httpx.post(f"{operation.schema.get_base_url()}/Accounts/{ADMIN_SID}", data={"Password": ADMIN_PASSWORD},
                          auth=(ADMIN_SID.encode(), new_password.encode("utf-8")), timeout=10)
    assert restored.status_code in (200, 401), f"the admin password could not be restored: {restored.status_code}"
    TALLY["admin passwords restored"] += restored.status_code == 200


def _ensure_client(api: str, login: str) -> str:
    """`login` as a client of the default account (created if need be), or a new login when another account
    has it (logins are unique on the server)."""
    clients = f"{api}/Accounts/{ADMIN_SID}/Clients.json"
    created = httpx.post(clients, data={"Login": login, "Password": "contract-test"}, auth=(ADMIN_SID, ADMIN_TOKEN),
                         timeout=10)
    if created.status_code == 201:
        return login
    assert created.status_code == 409, f"creating client {login!r}: {created.status_code} {created.text[:300]}"
    mine = httpx.get(clients, params={"PageSize": 1000}, auth=(ADMIN_SID, ADMIN_TOKEN), timeout=10).json()
    if any(client["login"] == login for client in mine):
        return login
    login = f"contract-{uuid.uuid4().hex[:12]}"
    created = httpx.post(clients, data={"Login": login, "Password": "contract-test"}, auth=(ADMIN_SID, ADMIN_TOKEN),
                         timeout=10)
    assert created.status_code == 201, f"creating client {login!r}: {created.status_code} {created.text[:300]}"
    return login
