"""<Dial>: connect the call to another party: numbers, clients and SIP URIs ring at once, first answer wins.

Nouns: <Number> (through the outbound proxy), <Client>, <Sip> (with username/password for a digest
challenge), plain text (a number), and <Conference> (rcml/verbs/conference.py). Each noun may carry its
own statusCallback, and Twilio's machineDetection attributes: the party is then connected once its
answer is known (or at once with amdStatusCallback, which gets the result). Afterwards the `action` URL
gets DialCallSid, DialCallStatus and DialCallDuration (and RecordingUrl when recorded); without an action
the document goes on. Twilio's answerOnBridge="true" answers a caller that is not answered yet only once a
party answers (calls/dial_attempt.py); by default, as RCML does, the caller is answered as the Dial starts.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar
from urllib.parse import urljoin

from rcml.call_control import CallControl, DialNoun, DialOptions
from rcml.machine_detection import MachineDetection
from rcml.parser import Node
from rcml.verbs.base import (
    Attribute,
    Continue,
    Outcome,
    Redirect,
    Verb,
    boolean,
    http_method,
    one_of,
    positive_int,
)
from rcml.verbs.conference import join
from sip.destination import InvalidAddress, parse_destination
from sip.media.key_presses import KEYS_WITH_LETTERS, key_string

MAX_TIMEOUT_S = 600
MAX_TIME_LIMIT_S = 4 * 3600
_EVENTS = ("initiated", "ringing", "answered", "completed")


def ring_seconds(raw: str) -> int:
    return min(positive_int(raw), MAX_TIMEOUT_S)


def limit_seconds(raw: str) -> int:
    return min(positive_int(raw), MAX_TIME_LIMIT_S)


def record_mode(raw: str) -> bool:
    # RestComm takes true/false; Twilio also writes record-from-answer (what recording from the bridge is).
    return one_of("true", "false", "record-from-answer", "do-not-record")(raw) in ("true", "record-from-answer")


class Dial(Verb):
    name: ClassVar[str] = "Dial"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("action", str, default=None, error_code=13210),
        Attribute("method", http_method, default="POST", error_code=13211),
        Attribute("timeout", ring_seconds, default=30, error_code=13212),
        Attribute("timeLimit", limit_seconds, default=MAX_TIME_LIMIT_S, error_code=13213),
        Attribute("callerId", str, default=None, error_code=13214),
        Attribute("record", record_mode, default=False, error_code=13215),
        Attribute("hangupOnStar", boolean, default=False, error_code=13216),
        Attribute("answerOnBridge", boolean, default=False, error_code=13217),
    )

    async def run(self, call: CallControl) -> Outcome:
        conference = next((node for node in self.node.children if node.name == "Conference"), None)
        if conference is not None:
            return await join(call, conference, self.values)
        nouns = await self._nouns(call)
        if not nouns:
            await call.warn(13221, "<Dial> has no number, client or SIP URI to call; the document goes on")
            return Continue()
        if not self.values["answerOnBridge"]:
            await call.answer()
        result = await call.dial(nouns, DialOptions(
            caller_id=self.values["callerId"] or _default_caller_id(call), timeout=self.values["timeout"],
            time_limit=self.values["timeLimit"], hangup_on_star=self.values["hangupOnStar"],
            record=self.values["record"], answer_on_bridge=self.values["answerOnBridge"]))
        if not self.values["action"]:
            return Continue()
        parameters = {"DialCallStatus": result.status, "DialCallSid": result.call_sid or "",
                      "DialCallDuration": str(result.duration)}
        if result.recording is not None:
            parameters["RecordingUrl"] = call.recording_url(result.recording.sid)
        return Redirect(urljoin(call.document_url, self.values["action"]), self.values["method"], parameters)

    async def _nouns(self, call: CallControl) -> list[DialNoun]:
        nodes = list(self.node.children) or ([Node("Number", text=self.node.text)] if self.node.text else [])
        nouns = []
        for node in nodes:
            try:
                noun = _noun(node)
            except (InvalidAddress, ValueError) as exc:
                await call.warn(13223, f"<Dial><{node.name}>{node.text}</{node.name}> skipped: {exc}")
                continue
            nouns.append(await _with_send_digits(call, node, noun))
        return nouns


async def _with_send_digits(call: CallControl, node: Node, noun: DialNoun) -> DialNoun:
    """<Number sendDigits>: keys sent to the party once it answers, before it is bridged. Twilio's alphabet
    (its warning 13222): 0-9, A-D, *, #, w (half a second's wait) and W (a second's). An invalid value is that
    warning, and the number is dialled without it, as Twilio does."""
    raw = node.attributes.get("sendDigits")
    if node.name != "Number" or not raw:
        return noun
    try:
        return dataclasses.replace(noun, send_digits=key_string(raw, KEYS_WITH_LETTERS, "wW"))
    except ValueError as exc:
        await call.warn(13222, f"<Number sendDigits=\"{raw}\"> ignored: sendDigits {exc}")
        return noun


def _noun(noun: Node) -> DialNoun:
    text = noun.text.strip()
    if noun.name == "Number":
        to = text
    elif noun.name == "Client":
        to = f"client:{text}"
    elif noun.name == "Sip":
        if not text.lower().startswith(("sip:", "sips:")):
            raise ValueError("a <Sip> noun holds a sip: URI")
        to = text
    else:
        raise ValueError(f"<{noun.name}> is not a noun of <Dial>")
    events = [e for e in noun.attributes.get("statusCallbackEvent", "").replace(",", " ").split() if e in _EVENTS]
    return DialNoun(
        to=parse_destination(to),
        status_callback=noun.attributes.get("statusCallback") or None,
        status_callback_method=http_method(noun.attributes.get("statusCallbackMethod", "POST")),
        status_callback_events=tuple(events) or ("completed",),
        username=noun.attributes.get("username") or None,
        password=noun.attributes.get("password") or None,
        machine_detection=MachineDetection.from_attributes(noun.attributes),
    )


def _default_caller_id(call: CallControl) -> str:
    # The party on the other end of the calling call: who called in, or whom the API called.
    return call.call.from_address if call.inbound else call.call.to_address
