"""openapi.yaml documents every operation fully: a summary, a description, an example of the request body and
of every response in its format (JSON or XML), and a schema for every response, errors included.

Spectral (`make lint`) checks that the JSON examples fit their schemas; the XML examples are checked here to be
RestComm documents, as the server writes them. Binary bodies (a recording's WAV) have no example.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from restcomm.spec import Spec

# Parsed as the server parses it (libyaml): at collection, in every worker of a parallel run.
SPEC = Spec.load(Path(__file__).resolve().parents[1] / "openapi.yaml").document
METHODS = ("get", "put", "post", "delete", "patch")
BINARY = ("audio/",)


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def has_example(media: dict[str, Any]) -> bool:
    """An example on the media type, or on the schema it names (shared by the operations that use it)."""
    return "example" in media or "examples" in media or "example" in resolve(media.get("schema", {}))


def examples_of(media: dict[str, Any]) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    return [resolve(example)["value"] for example in media.get("examples", {}).values()]


OPERATIONS = [pytest.param(method, path, operation, id=f"{method.upper()} {path}")
              for path, item in SPEC["paths"].items() for method, operation in item.items() if method in METHODS]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS)
def test_operation_is_documented(method: str, path: str, operation: dict[str, Any]) -> None:
    gaps = []
    if not operation.get("summary"):
        gaps.append("no summary")
    if not operation.get("description"):
        gaps.append("no description")
    body = resolve(operation.get("requestBody"))
    for media_type, media in (body or {}).get("content", {}).items():
        if not has_example(media):
            gaps.append(f"request {media_type}: no example")
    for status, response in operation["responses"].items():
        response = resolve(response)
        if not response.get("description"):
            gaps.append(f"{status}: no description")
        content = response.get("content")
        if content is None:
            if status != "204":
                gaps.append(f"{status}: no body documented")
            continue
        for media_type, media in content.items():
            if "schema" not in media:
                gaps.append(f"{status} {media_type}: no schema")
            if not media_type.startswith(BINARY) and not has_example(media):
                gaps.append(f"{status} {media_type}: no example")
            if media_type == "application/xml":
                for example in examples_of(media):
                    root = ET.fromstring(example)  # a malformed example fails here
                    if root.tag != "RestcommResponse":
                        gaps.append(f"{status} {media_type}: the example's root is <{root.tag}>")
    assert not gaps, gaps


def test_every_json_operation_has_an_xml_twin() -> None:
    """Both formats are documented: every `.json` operation has its XML twin, with the same method."""
    operations = {(method, path) for path, item in SPEC["paths"].items() for method in item if method in METHODS}
    missing = sorted(f"{method.upper()} {path}" for method, path in operations
                     if ".json" in path and (method, path.replace(".json", "")) not in operations)
    assert not missing, missing
