"""One representation, two formats: every resource is a list of fields rendered as JSON or as RestComm XML.

A resource module describes its fields once (`Field(json_key, xml_name, value)`); this module turns them
into the JSON twin (`Calls.json`) or the XML twin (`Calls`), lists included.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

import orjson
import xmltodict
from connexion.lifecycle import ConnexionResponse

JSON = "application/json"
# The Twilio dialect's routes, which speak JSON only.
TWILIO_PREFIX = "/2010-04-01/"
XML = "application/xml"

# Characters XML 1.0 cannot carry. User input (a From, a friendly name) may contain them; xmltodict
# would write them raw and produce a document no parser accepts.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class Format(Enum):
    JSON = "json"
    XML = "xml"

    @property
    def media_type(self) -> str:
        return JSON if self is Format.JSON else XML

    @property
    def suffix(self) -> str:
        """What a URI of this format ends with (`/Calls/CA...` vs `/Calls/CA....json`)."""
        return ".json" if self is Format.JSON else ""

    @classmethod
    def of_path(cls, path: str) -> Format:
        """Every JSON route of the API carries `.json` in its path, and the Twilio dialect (`/2010-04-01/...`)
        answers JSON whatever the path; everything else answers XML."""
        return cls.JSON if ".json" in path or path.startswith(TWILIO_PREFIX) else cls.XML


class Field(NamedTuple):
    json_key: str
    xml_name: str
    # A scalar, None, or a sequence of Fields (a nested object such as subresource_uris).
    value: Any


Fields = Sequence[Field]


def to_json_object(fields: Fields) -> dict[str, Any]:
    return {f.json_key: to_json_object(f.value) if _is_nested(f.value) else f.value for f in fields}


def to_xml_object(fields: Fields) -> dict[str, Any]:
    return {f.xml_name: to_xml_object(f.value) if _is_nested(f.value) else _xml_text(f.value) for f in fields}


def _is_nested(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and isinstance(value[0], Field)


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def xml_document(inner: dict[str, Any]) -> bytes:
    text = xmltodict.unparse({"RestcommResponse": inner}, full_document=False, short_empty_elements=True)
    return _XML_ILLEGAL.sub("\ufffd", text).encode("utf-8")


def response(body: bytes, fmt: Format, status: int = 200, headers: dict[str, str] | None = None):
    """A response whose Content-Type is spelled exactly as openapi.yaml spells it (connexion insists)."""
    return ConnexionResponse(
        status_code=status,
        body=body,
        content_type=fmt.media_type,
        headers={"Content-Type": fmt.media_type, **(headers or {})},
    )


def render_item(fmt: Format, xml_name: str, fields: Fields, status: int = 200):
    if fmt is Format.JSON:
        return response(orjson.dumps(to_json_object(fields)), fmt, status)
    return response(xml_document({xml_name: to_xml_object(fields)}), fmt, status)


@dataclass(frozen=True)
class PageLinks:
    """The paging envelope of a list response, already computed."""

    page: int
    num_pages: int
    page_size: int
    total: int
    start: int
    end: int
    uri: str
    first_page_uri: str
    previous_page_uri: str | None
    next_page_uri: str | None
    last_page_uri: str


def render_list(
    fmt: Format,
    *,
    json_key: str | None,
    xml_list_name: str,
    xml_item_name: str,
    links: PageLinks,
    items: Iterable[Fields],
):
    """`json_key=None`: the JSON twin is a bare array (RestComm's shape for some lists), its paging in `Link`."""
    if fmt is Format.JSON and json_key is None:
        array = [to_json_object(item) for item in items]
        return response(orjson.dumps(array), fmt, headers={"Link": link_header(links)})
    if fmt is Format.JSON:
        envelope: dict[str, Any] = {
            "page": links.page,
            "num_pages": links.num_pages,
            "page_size": links.page_size,
            "total": links.total,
            "start": links.start,
            "end": links.end,
            "uri": links.uri,
            "first_page_uri": links.first_page_uri,
            "previous_page_uri": links.previous_page_uri,
            "next_page_uri": links.next_page_uri,
            "last_page_uri": links.last_page_uri,
            json_key: [to_json_object(item) for item in items],
        }
        return response(orjson.dumps(envelope), fmt)
    body: dict[str, Any] = {
        "@page": str(links.page),
        "@numpages": str(links.num_pages),
        "@pagesize": str(links.page_size),
        "@total": str(links.total),
        "@start": str(links.start),
        "@end": str(links.end),
        "@uri": links.uri,
        "@firstpageuri": links.first_page_uri,
        "@previouspageuri": links.previous_page_uri or "null",
        "@nextpageuri": links.next_page_uri or "null",
        "@lastpageuri": links.last_page_uri,
    }
    rows = [to_xml_object(item) for item in items]
    if rows:
        body[xml_item_name] = rows
    return response(xml_document({xml_list_name: body}), fmt)


def link_header(links: PageLinks) -> str:
    """RFC 8288 `Link`: the pages around this one, for lists whose body has no room for them (a bare array).

    `first` and `last` are always there (so the header is too); `prev` and `next` when such a page exists.
    """
    relations = [("first", links.first_page_uri), ("prev", links.previous_page_uri),
                 ("next", links.next_page_uri), ("last", links.last_page_uri)]
    return ", ".join(f'<{uri}>; rel="{rel}"' for rel, uri in relations if uri is not None)


Handler = Callable[..., Any]


def twins(handler: Handler) -> tuple[Handler, Handler]:
    """The JSON and XML operations of one handler: `get_json, get_xml = twins(get)`.

    openapi.yaml gives each twin its own operationId (connexion needs unique ids); both call the same
    function with the format as the first argument.
    """

    async def as_json(*args: Any, **kwargs: Any) -> Any:
        return await handler(Format.JSON, *args, **kwargs)

    async def as_xml(*args: Any, **kwargs: Any) -> Any:
        return await handler(Format.XML, *args, **kwargs)

    for twin, fmt in ((as_json, Format.JSON), (as_xml, Format.XML)):
        twin.__name__ = f"{handler.__name__}_{fmt.value}"
        twin.__qualname__ = twin.__name__
        twin.__doc__ = handler.__doc__
        # connexion passes only the arguments a handler declares; it reads them from the signature.
        twin.__signature__ = _without_format(handler)  # type: ignore[attr-defined]
    return as_json, as_xml


def _without_format(handler: Handler) -> inspect.Signature:
    signature = inspect.signature(handler)
    params = list(signature.parameters.values())[1:]
    return signature.replace(parameters=params)
