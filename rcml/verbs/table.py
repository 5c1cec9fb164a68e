"""The table of verbs: which class runs which element, and the one factory that builds a verb from its node.

Attributes are read here from each verb's declaration (rcml/verbs/base.py), and <Gather>'s nested verbs are
built with it, so everything wrong with a document element becomes a Problem in one place, before it runs.
"""

from __future__ import annotations

from rcml.parser import Node
from rcml.verbs.base import Problem, Verb, read_attributes
from rcml.verbs.dial import Dial
from rcml.verbs.gather import NESTABLE, Gather
from rcml.verbs.hangup import Hangup
from rcml.verbs.pause import Pause
from rcml.verbs.play import Play
from rcml.verbs.record import Record
from rcml.verbs.redirect import RedirectVerb
from rcml.verbs.reject import Reject
from rcml.verbs.say import Say

VERBS: dict[str, type[Verb]] = {verb.name: verb for verb in (Hangup, Reject, Pause, RedirectVerb, Play, Say,
                                                              Gather, Record, Dial)}
# RestComm verbs this build recognises but cannot run yet; the document goes on without them.
NOT_YET_SUPPORTED = frozenset({"Sms", "Email", "Fax", "Enqueue", "Leave"})


def build(node: Node) -> tuple[Verb | None, list[Problem]]:
    """The verb for `node`, or None with the reason when it cannot run."""
    verb_class = VERBS.get(node.name)
    if verb_class is None:
        if node.name in NOT_YET_SUPPORTED:
            return None, [Problem(12200, f"<{node.name}> is not supported by this server yet; skipped", True)]
        return None, [Problem(12200, f"<{node.name}> is not an RCML verb; skipped", True)]
    values, attribute_problems = read_attributes(node, verb_class.attributes)
    problems = [Problem(code, text, False) for code, text in attribute_problems]
    nested: list[Verb] = []
    if verb_class is Gather:
        for child in node.children:
            if child.name not in NESTABLE:
                problems.append(Problem(13320, f"<{child.name}> cannot be nested in <Gather>; skipped", False))
                continue
            verb, child_problems = build(child)
            problems.extend(child_problems)
            if verb is not None:
                nested.append(verb)
    return verb_class(node=node, values=values, nested=tuple(nested)), problems
