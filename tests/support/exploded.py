"""The one thing schemathesis cannot know about RestComm's range filters (`StartTime>=`), for its hooks.

openapi.yaml declares each range key as the only member of an object parameter in form style with
explode. On the wire such an object is nothing but its members' keys: an extra member, or the object
replaced by a number, reaches the server as a query key no parameter declares, and the server ignores
unknown keys (api-contract section 1), as RestComm does. schemathesis still counts those cases as invalid
input that must be refused, so on the operations that have such parameters they are filtered out before
they are sent. Every other negative case (a malformed date under `StartTime>`, ...) is still sent.
"""

from __future__ import annotations

from typing import Any

from restcomm.spec import exploded_members


def has_stray_keys(operation: Any, query: Any) -> bool:
    """Whether `query` (nested or already exploded) holds a key that is none of `operation`'s wire keys."""
    if not isinstance(query, dict):
        return False
    wire_keys: set[str] = set()
    members_of: dict[str, set[str]] = {}
    for parameter in operation.query:
        members = exploded_members(parameter.definition)
        if members is None:
            wire_keys.add(parameter.name)
        else:
            members_of[parameter.name] = set(members)
            wire_keys |= set(members)
    if not members_of:
        return False  # no form-exploded object: unknown keys are schemathesis's own business here
    for key, value in query.items():
        if key in members_of:
            # Not exploded yet: the object itself, which may only hold its own members.
            if not isinstance(value, dict) or set(value) - members_of[key]:
                return True
        elif key not in wire_keys:
            return True
    return False
