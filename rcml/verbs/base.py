"""What every verb is: a name, its attributes declared once as data, and one `run` coroutine; the value
parsers of the attribute tables, and what more than one verb does.

The attribute table drives parsing: a value that does not fit its declaration becomes a warning
Notification and the attribute falls back to its default, as RestComm does, so a typo in `loop=` does
not end a caller's call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rcml.call_control import CallControl
from rcml.parser import Node
from sip.media.prompt import Prompt


@dataclass(frozen=True)
class Attribute:
    name: str
    parse: Callable[[str], Any]
    default: Any = None
    # Warning code recorded (with the default used instead) when a value does not parse.
    error_code: int = 12200


class Outcome:
    """What the session does after a verb: go on, stop the document, or switch to another document."""


@dataclass(frozen=True)
class Continue(Outcome):
    pass


@dataclass(frozen=True)
class Stop(Outcome):
    pass


@dataclass(frozen=True)
class Redirect(Outcome):
    """Fetch `url` (with the call's parameters and `parameters`) and run that document instead."""

    url: str
    method: str
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class Verb:
    name: ClassVar[str]
    attributes: ClassVar[tuple[Attribute, ...]] = ()
    node: Node
    values: dict[str, Any] = field(default_factory=dict)
    # The verbs nested in this one, built with it (only <Gather> has any).
    nested: tuple[Verb, ...] = ()

    async def run(self, call: CallControl) -> Outcome:
        raise NotImplementedError


@dataclass(frozen=True)
class Problem:
    """Something wrong with a verb, to be recorded as a Notification."""

    code: int
    message: str
    # An error means the verb is skipped; a warning means it runs with defaults.
    is_error: bool


def read_attributes(node: Node, declared: tuple[Attribute, ...]) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """(values, problems): every declared attribute's value, defaults where absent or invalid."""
    values: dict[str, Any] = {}
    problems: list[tuple[int, str]] = []
    for attribute in declared:
        raw = node.attributes.get(attribute.name)
        if raw is None:
            values[attribute.name] = attribute.default
            continue
        try:
            values[attribute.name] = attribute.parse(raw.strip())
        except ValueError as exc:
            values[attribute.name] = attribute.default
            problems.append((attribute.error_code,
                             f"<{node.name}> {attribute.name}={raw!r} is invalid ({exc}); using {attribute.default!r}"))
    return values, problems


# --- value parsers for the attribute tables ---------------------------------------------------------------

def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def one_of(*choices: str) -> Callable[[str], str]:
    lowered = {choice.lower(): choice for choice in choices}

    def parse(raw: str) -> str:
        try:
            return lowered[raw.lower()]
        except KeyError:
            raise ValueError("must be one of " + ", ".join(choices)) from None

    return parse


http_method = one_of("GET", "POST")


def boolean(raw: str) -> bool:
    return one_of("true", "false")(raw) == "true"


# loop="0" means "until the call ends" (Twilio); a bound keeps a mistaken document from running forever.
MAX_LOOPS = 1000


def loops(raw: str) -> int:
    value = non_negative_int(raw)
    return MAX_LOOPS if value == 0 else min(value, MAX_LOOPS)


_KEYS = set("0123456789*#")


def finish_keys(raw: str) -> str:
    # "" means no finishing key; otherwise any of the keys, each ending the input.
    if any(ch not in _KEYS for ch in raw):
        raise ValueError("must be keys among 0-9, * and #")
    return raw


# --- what more than one verb does ----------------------------------------------------------------------------

async def play_repeatedly(call: CallControl, prompt: Prompt, times: int) -> None:
    for _ in range(times):
        await call.media.play(prompt)
