"""RCML text to a tree of nodes, in document order.

xmltodict groups same-named siblings into one list, which would lose the order of
`<Say/><Play/><Say/>`. Its postprocessor sees every child as it is attached to its parent, in document
order, so it numbers each child's key; building the tree sorts by those numbers. Entities are disabled
(xmltodict's default), so a hostile document cannot expand itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict

_ORDER_SEPARATOR = "|"


class RcmlSyntaxError(ValueError):
    """The document is not well-formed XML or its root is not <Response>."""


@dataclass(frozen=True)
class Node:
    name: str
    attributes: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[Node, ...] = ()


def parse(document: str | bytes) -> Node:
    """The <Response> element of an RCML document."""
    counter = itertools.count()

    def number_children(_path: Any, key: str, value: Any) -> tuple[str, Any]:
        if key.startswith("@") or key == "#text":
            return key, value
        return f"{next(counter):08d}{_ORDER_SEPARATOR}{key}", value

    try:
        tree = xmltodict.parse(document, postprocessor=number_children, disable_entities=True)
    except (ExpatError, ValueError) as exc:
        raise RcmlSyntaxError(f"the document is not well-formed XML ({exc})") from None
    if not tree:
        raise RcmlSyntaxError("the document is empty")
    [(key, value)] = tree.items()
    root = _node(key, value)
    if root.name != "Response":
        raise RcmlSyntaxError(f"the root element is <{root.name}>, not <Response>")
    return root


def _node(key: str, value: Any) -> Node:
    name = key.split(_ORDER_SEPARATOR, 1)[1] if _ORDER_SEPARATOR in key else key
    if value is None:
        return Node(name)
    if isinstance(value, str):
        return Node(name, text=value.strip())
    attributes = {k[1:]: v for k, v in value.items() if k.startswith("@")}
    text = value.get("#text") or ""
    children = sorted(_children(value), key=lambda pair: pair[0])
    return Node(name, attributes, text.strip(), tuple(_node(k, v) for k, v in children))


def _children(value: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, child in value.items():
        if key.startswith("@") or key == "#text":
            continue
        # The numbering makes every key unique, so no child arrives as a list.
        yield key, child
