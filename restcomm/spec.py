"""Facts read from openapi.yaml that the wiring needs beyond what connexion does with it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
# The Twilio dialect (2010-04-01): a second API on the same app, over the same records and engine.
TWILIO_SPEC_PATH = Path(__file__).resolve().parent / "twilio.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# libyaml's parser where PyYAML was built with it (its wheels are): openapi.yaml and twilio.yaml take 0.04 s of
# CPU with it and 0.33 s with PyYAML's pure-Python one, on every start of the server and of every test app.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Spec:
    document: dict[str, Any]

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> Spec:
        return cls(yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER))

    @property
    def base_path(self) -> str:
        return self.document["servers"][0]["url"].rstrip("/")

    @cached_property
    def routes(self) -> list[tuple[re.Pattern[str], str]]:
        """(full-path regex, Allow header value) in spec order, the order connexion matches in."""
        table = []
        for template, item in self.document["paths"].items():
            methods = [m.upper() for m in HTTP_METHODS if m in item]
            if "GET" in methods and "HEAD" not in methods:
                methods.insert(methods.index("GET") + 1, "HEAD")
            table.append((self._path_pattern(template), ", ".join(methods)))
        return table

    def allowed_methods(self, path: str) -> str | None:
        for pattern, allow in self.routes:
            if pattern.match(path):
                return allow
        return None

    @cached_property
    def _declared(self) -> list[tuple[re.Pattern[str], dict[str, frozenset[str]]]]:
        table = []
        for template, item in self.document["paths"].items():
            per_method: dict[str, frozenset[str]] = {}
            for method in HTTP_METHODS:
                operation = item.get(method)
                if not operation:
                    continue
                parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
                names = {key for parameter in parameters for key in self.query_keys(self.resolve(parameter))}
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    names.update(self.resolve(media.get("schema", {})).get("properties", {}))
                per_method[method.upper()] = frozenset(names)
            table.append((self._path_pattern(template), per_method))
        return table

    def declared_parameters(self, path: str, method: str) -> frozenset[str] | None:
        """The query and form parameters the operation at (`path`, `method`) declares; None if there is none."""
        for pattern, per_method in self._declared:
            if pattern.match(path):
                return per_method.get(method.upper())
        return None

    def query_keys(self, parameter: dict[str, Any]) -> list[str]:
        """The keys a parameter takes in a query string: its name, or its members when it is a form-exploded object."""
        members = exploded_members(parameter, self.resolve)
        return list(members) if members is not None else [parameter["name"]]

    def _path_pattern(self, template: str) -> re.Pattern[str]:
        pattern = re.escape(self.base_path + template)
        return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern) + "$")

    @cached_property
    def repeatable_parameters(self) -> frozenset[str]:
        """Names of query parameters and form fields declared as arrays: the only ones that may repeat."""
        names: set[str] = set()
        for item in self.document["paths"].values():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if not operation:
                    continue
                for parameter in operation.get("parameters", []):
                    parameter = self.resolve(parameter)
                    if self.resolve(parameter.get("schema", {})).get("type") == "array":
                        names.add(parameter["name"])
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    for name, schema in self.resolve(media.get("schema", {})).get("properties", {}).items():
                        if self.resolve(schema).get("type") == "array":
                            names.add(name)
        return frozenset(names)

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node


@dataclass(frozen=True)
class Specs:
    """The APIs the app serves, answering the guard's and the error handlers' questions for any path.

    Their base paths (`/restcomm/2012-04-24`, `/2010-04-01`) do not overlap, so the first spec that knows a
    path decides.
    """

    specs: tuple[Spec, ...]

    @classmethod
    def load(cls, *paths: Path) -> Specs:
        return cls(tuple(Spec.load(path) for path in (paths or (SPEC_PATH, TWILIO_SPEC_PATH))))

    def allowed_methods(self, path: str) -> str | None:
        # Only the spec whose base path the path is under: every request runs this, and each spec has dozens
        # of route patterns.
        for spec in self.specs:
            if path.startswith(spec.base_path + "/"):
                return spec.allowed_methods(path)
        return None

    def declared_parameters(self, path: str, method: str) -> frozenset[str] | None:
        for spec in self.specs:
            if path.startswith(spec.base_path + "/"):
                return spec.declared_parameters(path, method)
        return None

    @cached_property
    def repeatable_parameters(self) -> frozenset[str]:
        return frozenset().union(*(spec.repeatable_parameters for spec in self.specs))


def exploded_members(parameter: dict[str, Any],
                     resolve: Callable[[dict[str, Any]], dict[str, Any]] = lambda node: node,
                     ) -> dict[str, dict[str, Any]] | None:
    """{query key: schema} of an object query parameter in `form` style with `explode`; None for any other.

    Such a parameter's own name never reaches the wire: each member is a query key of its own. openapi.yaml
    uses them for RestComm's `StartTime>` keys, which generators would otherwise name like `StartTime`.
    """
    if parameter.get("in") != "query" or parameter.get("style", "form") != "form" or not parameter.get("explode", True):
        return None
    schema = resolve(parameter.get("schema", {}))
    if schema.get("type") != "object":
        return None
    return {key: resolve(member) for key, member in schema.get("properties", {}).items()}
