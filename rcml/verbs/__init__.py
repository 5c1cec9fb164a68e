"""The RCML verbs, one class each, and the table that makes a verb from a document node."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from rcml.parser import Node
from rcml.verbs.base import Verb, read_attributes
from rcml.verbs.control import Hangup, Pause, RedirectVerb, Reject

# RestComm verbs this build recognises but cannot run yet; the document goes on without them.
NOT_YET_SUPPORTED = frozenset({"Sms", "Email", "Fax", "Enqueue", "Leave"})


@functools.cache
def _verb_classes() -> dict[str, type[Verb]]:
    # Imported here: <Gather> builds its nested verbs through this module.
    from rcml.verbs.audio import Play, Say
    from rcml.verbs.dial import Dial
    from rcml.verbs.gather import Gather
    from rcml.verbs.record import Record

    return {verb.name: verb for verb in (Hangup, Reject, Pause, RedirectVerb, Play, Say, Gather, Record, Dial)}


@dataclass(frozen=True)
class Problem:
    """Something wrong with a verb, to be recorded as a Notification."""

    code: int
    message: str
    # An error means the verb is skipped; a warning means it runs with defaults.
    is_error: bool


def build(node: Node) -> tuple[Verb | None, list[Problem]]:
    """The verb for `node`, or None with the reason when it cannot run."""
    verb_class = _verb_classes().get(node.name)
    if verb_class is None:
        if node.name in NOT_YET_SUPPORTED:
            return None, [Problem(12200, f"<{node.name}> is not supported by this server yet; skipped", True)]
        return None, [Problem(12200, f"<{node.name}> is not an RCML verb; skipped", True)]
    values, problems = read_attributes(node, verb_class.attributes)
    return verb_class(node=node, values=values), [Problem(code, text, False) for code, text in problems]
