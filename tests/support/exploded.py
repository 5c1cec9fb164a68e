"""The one thing schemathesis cannot know about RestComm's range filters (`StartTime>=`), for its hooks.

openapi.yaml declares each range key as the only member of an object parameter in form style with
explode. Such an object's extra members become query keys of their own on the wire, and the server
ignores unknown keys (api-contract section 1), as RestComm does: a case whose only flaw is an extra
member is not invalid input the server could refuse, so such cases are filtered out before they are sent.
"""

from __future__ import annotations

from typing import Any

from restcomm.spec import exploded_members


def has_extra_members(operation: Any, query: Any) -> bool:
    """Whether a form-exploded object parameter of `operation` was given a member the spec does not name."""
    if not isinstance(query, dict):
        return False
    for parameter in operation.query:
        members = exploded_members(parameter.definition)
        value = query.get(parameter.name)
        if members is not None and isinstance(value, dict) and set(value) - set(members):
            return True
    return False
