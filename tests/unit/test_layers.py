"""The layers hold: every import of the project, read with `ast`, goes one way and never in a circle.

ARCHITECTURE.md explains the order. A module may import its own layer and the layers below it. Every
import counts, also one written inside a function, so a cycle cannot hide in a deferred import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "kiosk", "server")

# Lowest first. The longest matching prefix gives a module its layer.
LAYERS = {
    "shared": 0,  # the wire protocol and the FFT question: the only definitions the tablet and server share
    "kiosk": 1,  # the tablet page's files and the Python kiosk client
    "server.clock": 1,  # the one clock
    "server.store": 2,  # the data dir
    "server.ward": 3,  # the ward service and the pure ward domain
    "server.web": 4,  # Flask, Socket.IO, pages
    "server.tools": 5,  # demo, soak, bench: drive the product from outside
    "server.cli": 6,  # the `wardpulse` commands
    "server.entry": 7,  # chooses the async mode, then runs the CLI
    "server.__main__": 7,
    "server": 7,
}
# The pure ward domain: rules about ratings, trends and alerts that run without a web or a disk.
PURE = ("server.ward.picture", "server.ward.trends", "server.ward.alerts", "server.ward.limits", "server.ward.spc", "server.ward.redact",
        "server.ward.presence", "server.ward.wall", "server.ward.baseline", "server.ward.keeper",
        "server.ward.spreadsheet", "server.ward.themes", "server.ward.monthly_return", "server.ward.coverage",
        "server.ward.overview", "server.ward.you_said")
WEB_LIBRARIES = ("flask", "flask_socketio", "flask_babel", "flask_wtf", "flask_talisman", "werkzeug", "wtforms", "socketio", "engineio")
# Imports that must wait for a reason other than a cycle: eventlet patches the standard library first.
DEFERRED_ON_PURPOSE = {("server.entry", "server.cli")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


MODULES = project_modules()


def resolve(name: str, imported: str | None = None) -> str:
    """`from name import imported` names the submodule when there is one, else the module itself."""
    if imported and f"{name}.{imported}" in MODULES:
        return f"{name}.{imported}"
    return name


def imports_of(module: str) -> list[tuple[str, bool]]:
    """(imported module, written inside a function or class) for every import in the module's file."""
    tree = ast.parse(MODULES[module].read_text())
    nested = {id(n) for outer in ast.walk(tree) if isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
              for n in ast.walk(outer) if n is not outer}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in nested) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(resolve(node.module, alias.name), id(node) in nested) for alias in node.names]
    return found


def project_imports(module: str) -> set[str]:
    return {name for name, _ in imports_of(module) if name.split(".")[0] in PACKAGES}


def layer(module: str) -> int:
    best = max((prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")), key=len)
    return LAYERS[best]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in the graph, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


@pytest.mark.parametrize(
    "graph, cycle",
    [
        ({"a": {"b"}, "b": set()}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
        ({"a": {"a"}}, ["a", "a"]),
    ],
)
def test_the_cycle_finder_finds_cycles(graph, cycle):
    assert find_cycle(graph) == cycle


@pytest.mark.parametrize(
    "module, expected",
    [("shared.protocol", 0), ("server.store.journal", 2), ("server.ward.service", 3), ("server.cli.serve", 6), ("server", 7)],
)
def test_a_module_takes_the_layer_of_its_longest_prefix(module, expected):
    assert layer(module) == expected


def test_every_module_has_a_layer():
    assert all(layer(m) >= 0 for m in MODULES)


def test_no_import_cycles():
    graph = {m: project_imports(m) - {m} for m in MODULES}
    assert find_cycle(graph) is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down_the_layers(module):
    upward = sorted(t for t in project_imports(module) if t in MODULES and layer(t) > layer(module))
    assert upward == [], f"{module} (layer {layer(module)}) imports a higher layer"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_project_import_is_deferred(module):
    deferred = sorted(name for name, nested in imports_of(module)
                      if nested and name.split(".")[0] in PACKAGES and (module, name) not in DEFERRED_ON_PURPOSE)
    assert deferred == [], f"{module} imports project modules inside a function"


@pytest.mark.parametrize("module", [m for m in sorted(MODULES) if m.startswith(("server.ward", "server.store", "server.clock", "shared"))])
def test_the_ward_and_the_store_know_nothing_of_the_web(module):
    web = sorted(name for name, _ in imports_of(module) if name.split(".")[0] in WEB_LIBRARIES)
    assert web == []


@pytest.mark.parametrize("module", PURE)
def test_the_ward_domain_is_pure(module):
    """Rules that can be tested with tables: no disk, no TinyDB, no ward service state."""
    impure = sorted(name for name, _ in imports_of(module)
                    if name.split(".")[0] == "tinydb" or name.startswith(("server.store", "server.ward.service")))
    assert impure == []


@pytest.mark.parametrize("module", [m for m in sorted(MODULES) if m.startswith("server.cli.")])
def test_cli_leaves_never_import_the_root(module):
    assert "server.cli" not in project_imports(module)


def test_the_product_never_imports_the_tools():
    product = [m for m in MODULES if layer(m) <= LAYERS["server.web"]]
    assert sorted(m for m in product if any(t.startswith("server.tools") for t in project_imports(m))) == []
