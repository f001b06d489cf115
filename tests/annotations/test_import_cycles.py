"""No module of the apps imports, directly or through others, a module that imports it back:
not at the top, and not lazily inside a function either."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("annotations", "analysis")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The app modules a file imports anywhere in it (`from a import b` counts a.b if a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found & modules


def graph() -> dict[str, set[str]]:
    paths = [p for app in APPS for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]
    modules = {module_name(p): p for p in paths}
    return {name: imports(path, set(modules)) - {name} for name, path in modules.items()}


def cycle_through(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in edges[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_module_of_the_apps_is_in_an_import_cycle():
    edges = graph()
    assert "annotations.services" in edges["annotations.tasks"]  # the graph sees imports
    assert {name: cycle_through(name, edges) for name in edges} == dict.fromkeys(edges)
