"""Changes to a live call that another node owns, carried to that node over HTTP (as jambonz and Somleng do).

Why HTTP to the owner and not PostgreSQL NOTIFY: a change needs the owner's answer (the call after the
change, or why it could not be made), and NOTIFY has no reply path; it is delivered only at COMMIT and only
to sessions already listening, so a reply would need a second channel and timeouts of its own. A request
to the owner's internal address (its row in `nodes`) gets the answer on the same connection, from the one
process allowed to change the call.

Node-to-node requests carry the cluster secret (RESTCOMM_CLUSTER_SECRET) in a header of their own, checked
in constant time on the other side; tenants' credentials (HTTP Basic) never open that route. The client is
this module's own aiohttp session: cluster traffic is not subject to the tenant fetch policy, and keeps its
connections to the other nodes open.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from tortoise import fields

from calls.types import CallChange
from models import Call

SECRET_HEADER = "X-RestComm-Cluster-Secret"
# On an API request a draining node relayed to an active one (restcomm/drain_relay.py): never relayed again.
RELAYED_HEADER = "X-RestComm-Relayed"
CHANGE_PATH = "/internal/cluster/calls/{sid}/change"
PARTICIPANT_PATH = "/internal/cluster/conferences/{sid}/participants/{call_sid}/change"

# The owner's answers.
APPLIED = "applied"  # the change was made; the call row says what the call is now
NOT_LIVE = "not-live"  # refused as the owner would refuse it locally (409), with its message
NOT_HERE = "not-here"  # the owner does not run this call (it ended meanwhile)


class OwnerUnreachable(Exception):
    """The owner node did not answer (or not as a node answers)."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    message: str = ""
    # With APPLIED: the call's row as the owner wrote it (call_to_json), so the forwarding node need not read
    # it back from the database; None from a node that does not send it.
    call: dict[str, Any] | None = None


def call_to_json(call: Call) -> dict[str, Any]:
    """The owner's row of a call, for the node that forwarded the change (datetimes as ISO 8601)."""
    row = {}
    for name in Call._meta.db_fields:
        value = getattr(call, name)
        row[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return row


def call_from_json(row: dict[str, Any]) -> Call:
    """The Call a node sent back (call_to_json); ValueError/KeyError/TypeError for anything else."""
    values = {}
    for name in Call._meta.db_fields:
        value = row[name]
        if isinstance(Call._meta.fields_map[name], fields.DatetimeField) and value is not None:
            value = dt.datetime.fromisoformat(value)
        values[name] = value
    call = Call(**values)
    call._saved_in_db = True  # it is the stored row, as a read would have given it
    return call


def change_to_json(change: CallChange) -> dict[str, Any]:
    return {name: value for name, value in dataclasses.asdict(change).items() if value is not None}


def change_from_json(body: Any) -> CallChange:
    """The change a node sent; ValueError for anything a node would not send."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    known = {f.name: f.type for f in dataclasses.fields(CallChange)}
    for name, value in body.items():
        if name not in known:
            raise ValueError(f"unknown field {name!r}")
        expected = bool if name in ("mute", "move_connected_leg") else int if name == "time_limit" else str
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ValueError(f"{name} must be a {expected.__name__}")
    return CallChange(**body)


class Forwarder:
    def __init__(self, secret: str, *, timeout: float = 10.0) -> None:
        self.secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=3.0)
        self._session: aiohttp.ClientSession | None = None

    async def change_call(self, node_url: str, call_sid: str, change: CallChange) -> Outcome:
        return await self._post(node_url.rstrip("/") + CHANGE_PATH.format(sid=call_sid), change_to_json(change))

    async def change_participant(self, node_url: str, conference_sid: str, call_sid: str, *,
                                 mute: bool | None = None, remove: bool = False) -> Outcome:
        """`{"mute": bool}` or `{"remove": true}` to the room's node."""
        body: dict[str, bool] = {"remove": True} if remove else {"mute": bool(mute)}
        path = PARTICIPANT_PATH.format(sid=conference_sid, call_sid=call_sid)
        return await self._post(node_url.rstrip("/") + path, body)

    async def relay(self, node_url: str, path_and_query: str, headers: dict[str, str],
                    body: bytes) -> tuple[int, dict[str, str], bytes]:
        """An API request passed as it came to another node's API (its own credentials in it); the answer."""
        url = node_url.rstrip("/") + path_and_query
        try:
            # The tenant's request and credentials, not the cluster secret: it is an API request like any other.
            async with self._client().post(url, data=body, headers={**headers, RELAYED_HEADER: "1"}) as response:
                return response.status, dict(response.headers), await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OwnerUnreachable(f"{type(exc).__name__}: {exc}") from exc

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _post(self, url: str, body: dict[str, Any]) -> Outcome:
        self._client()
        try:
            async with self._session.post(url, json=body, headers={SECRET_HEADER: self.secret}) as response:
                answer_bytes = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OwnerUnreachable(f"{type(exc).__name__}: {exc}") from exc
        try:
            answer = json.loads(answer_bytes)
            outcome = Outcome(answer["outcome"], answer.get("message", ""), answer.get("call"))
        except (ValueError, KeyError, TypeError):
            raise OwnerUnreachable(f"HTTP {response.status} from {url} is not a node's answer") from None
        if outcome.kind not in (APPLIED, NOT_LIVE, NOT_HERE):
            raise OwnerUnreachable(f"unknown answer {outcome.kind!r} from {url}")
        return outcome

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
