"""The rooms of the house and the direction of their arrows (README, "Architecture").

Read from the source with `ast`, so imports inside functions count too: a lazy import is still
an arrow, and a circle of lazy imports is still a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 600


def _packages() -> list[str]:
    return sorted(
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").exists() and p.name not in {"tests", "build", "scripts"}
    )


def _product_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in _packages():
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


MODULES = _product_modules()


def _imported(name: str, path: Path) -> Iterator[str]:
    """Every module name `path` imports, at any depth of the file."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _owner(imported: str) -> str | None:
    """The product module an import lands in (`a.b.c` may be the name `c` of module `a.b`)."""
    while imported and imported not in MODULES:
        imported = imported.rpartition(".")[0]
    return imported or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {_owner(i) for i in _imported(name, path)}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


GRAPH = _graph()


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    return circles


def test_the_circle_finder_finds_a_circle() -> None:
    # A test of the tool, so that "no circles" below cannot pass by finding nothing ever.
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_every_app_and_lazy_imports() -> None:
    assert {"orders", "catalog", "billing", "panel"} <= set(_packages())
    assert len(MODULES) > 50
    assert sum(len(targets) for targets in GRAPH.values()) > 200


def test_no_import_circle_between_product_modules() -> None:
    assert _circles(GRAPH) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_product_module_is_over_600_lines(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines"


def test_services_never_import_tasks() -> None:
    # Tasks call services; a service sends a task by name through panel.enqueue.
    offenders = sorted(
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if target.endswith(".tasks") and not name.endswith(".tasks") and name != "panel.celery"
    )
    assert offenders == []


def _app_of(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize(
    ("app", "never"),
    [
        ("catalog", {"orders", "billing", "support", "accounts"}),
        ("billing", {"orders", "support"}),
        ("accounts", {"orders", "support"}),
        ("content", {"orders", "billing", "support"}),
        ("orders", {"support"}),
    ],
)
def test_arrows_point_one_way(app: str, never: set[str]) -> None:
    # Apps that sell use apps that know, never the reverse (DESIGN, "Growing rooms").
    offenders = sorted(
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if _app_of(name) == app
        for target in targets
        if _app_of(target) in never
    )
    assert offenders == []


def test_the_upstream_client_knows_no_django_app() -> None:
    apps = set(_packages()) - {"panel"}
    offenders = sorted(
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name.startswith("panel.upstream")
        for target in targets
        if _app_of(target) in apps
        or (target.startswith("panel.") and not target.startswith("panel.upstream"))
    )
    assert offenders == []


def test_other_apps_read_billing_only_through_its_selectors_and_services() -> None:
    # The ledger's and wallets' tables are billing's own: other apps ask billing's selectors and
    # services, so a change of the money tables stays inside billing.
    offenders = sorted(
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if _app_of(name) != "billing"
        for target in targets
        if target == "billing.models"
    )
    assert offenders == []
