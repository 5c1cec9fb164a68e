"""The dependency rule of README's "Development" section, checked on the source (ast; nothing is imported).

`restcomm -> handlers -> calls -> rcml -> (models, sip) -> telemetry`: a package imports only packages to its
right, and `models` and `sip` not each other; `telemetry` (metrics, log context) imports none of the project.
No module of `calls/` imports the engine (it makes the owners, never the reverse). Only `sip/` imports sippy.
No import cycle between modules. Every import statement counts: at the top, inside a function (a lazy import)
and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Left to right; a package may import the packages after its own entry, never one before it.
LAYERS: tuple[tuple[str, ...], ...] = (("restcomm",), ("handlers",), ("calls",), ("rcml",), ("models", "sip"),
                                       ("telemetry",))
PACKAGES = tuple(package for layer in LAYERS for package in layer)
LAYER_OF = {package: index for index, layer in enumerate(LAYERS) for package in layer}
ENGINE = "calls.engine"
# Third-party libraries that only one package may use.
CONFINED = {"sippy": "sip", "elperiodic": "sip", "av": "sip"}


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        path = self.importer.replace(".", "/")
        return f"{self.importer} -> {self.imported}  ({path}.py line {self.line})"


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[Edge]:
    """Every module `name` imports: a `from a import b` names module a.b when b is one, else module a."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Edge(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield Edge(name, candidate if candidate in known else base, node.lineno)


def all_edges() -> list[Edge]:
    """One edge per (importer, imported) pair, at the first line that makes it."""
    modules = project_modules()
    known = set(modules)
    first: dict[tuple[str, str], Edge] = {}
    for name, path in modules.items():
        for edge in imports_of(name, path, known):
            key = (edge.importer, edge.imported)
            if key not in first or edge.line < first[key].line:
                first[key] = edge
    return list(first.values())


def against_the_rule(edges: list[Edge]) -> list[Edge]:
    wrong = []
    for edge in edges:
        source, target = edge.importer.split(".")[0], edge.imported.split(".")[0]
        if target in CONFINED and CONFINED[target] != source:
            wrong.append(edge)
        if target not in LAYER_OF or target == source:
            continue
        if LAYER_OF[target] <= LAYER_OF[source]:
            wrong.append(edge)
    return wrong


def engine_imports(edges: list[Edge]) -> list[Edge]:
    """Modules of calls/ other than the engine itself that import it."""
    return [edge for edge in edges
            if edge.importer.startswith("calls.") and edge.importer != ENGINE and edge.imported == ENGINE]


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if edge.imported.split(".")[0] in LAYER_OF and edge.imported != edge.importer:
            graph.setdefault(edge.importer, set()).add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_import_follows_the_layers():
    wrong = against_the_rule(all_edges())
    assert not wrong, (f"{len(wrong)} import(s) against restcomm -> handlers -> calls -> rcml -> (models, sip)"
                       " -> telemetry:\n"
                       + "\n".join(map(str, wrong)))


def test_nothing_in_calls_imports_the_engine():
    wrong = engine_imports(all_edges())
    assert not wrong, "the engine makes owners; they never import it:\n" + "\n".join(map(str, wrong))


def test_no_import_cycle():
    found = cycles(all_edges())
    assert not found, "\n".join(f"a cycle of {len(c)} modules: {', '.join(c)}" for c in found)


def test_the_checker_sees_lazy_and_type_only_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from calls import engine\n"
                      "def f():\n    import handlers.calls\n    from . import sibling\n")
    edges = list(imports_of("rcml.m", source, {"calls.engine", "rcml.sibling"}))
    assert {edge.imported for edge in edges} == {"typing", "calls.engine", "handlers.calls", "rcml.sibling"}
    assert {edge.imported for edge in against_the_rule(edges)} == {"calls.engine", "handlers.calls"}
    cycle = [Edge("rcml.a", "rcml.b", 1), Edge("rcml.b", "rcml.c", 1), Edge("rcml.c", "rcml.a", 1),
             Edge("rcml.c", "models.call", 1)]
    assert cycles(cycle) == [["rcml.a", "rcml.b", "rcml.c"]]


def modules_under(*tops: str) -> dict[str, Path]:
    return {".".join(path.relative_to(ROOT).with_suffix("").parts): path
            for top in tops for path in sorted((ROOT / top).rglob("*.py"))}


def test_the_server_never_imports_tests_and_benchmarks_never_import_tests():
    """testkit/ is what tests and benchmarks share (processes, ports, sipp, scratch databases, the application
    stand-in); the server imports none of them, benchmarks do not import tests, and testkit imports neither."""
    forbidden = {**{package: {"tests", "bench", "testkit"} for package in PACKAGES}, "bench": {"tests"},
                 "testkit": {"tests", "bench"}}
    modules = {**project_modules(), **modules_under("bench", "testkit")}
    wrong = [edge for name, path in modules.items() for edge in imports_of(name, path, set(modules))
             if edge.imported.split(".")[0] in forbidden[name.split(".")[0]]]
    assert not wrong, "\n".join(map(str, wrong))
