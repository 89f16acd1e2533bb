"""The shape of the code (docs/architecture.md), read from its imports: apps depend downward only, other apps
use tracking through its public face, and no two files import each other, however indirectly.

Every import counts, also one inside a function: deferring an import hides a loop from Python, not from a
reader. Tests and migrations are left out (tests may reach anywhere; migrations name models by string).
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each app, by layer: an app may import apps of lower layers only. byline is the project: its library
# modules (sanitize, fetch, edge, server...) sit under everything.
LAYERS = {
    "byline": 0,
    "accounts": 1, "images": 1, "jobs": 1,
    "stories": 2,
    "republish": 3,
    "tracking": 4,
    "appeals": 5, "verify": 5, "wire": 5,
    "demo": 6, "partners": 6,
    "corrections": 7,
}
# The project's wiring: what ties the apps together, so it may import any of them.
WIRING = {"byline/urls.py", "byline/wsgi.py", "byline/asgi.py", "byline/serve.py", "byline/health.py"}
# What other apps may import of tracking.
TRACKING_FACE = "tracking.api"


def source_files():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if {"tests", "migrations"} & set(relative.parts) or relative.parts[:2] == ("byline", "settings"):
                continue
            yield relative


def module_name(relative):
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(relative):
    """Every module `relative` imports (dotted names, absolute), wherever in the file."""
    tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
    package = module_name(relative).split(".")
    if relative.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            # `from . import signals`, `from tracking import api`: the names may be modules themselves.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def project_graph():
    """{module: {project modules it imports}} over the apps' own files."""
    files = {module_name(relative): relative for relative in source_files()}
    graph = {}
    for module, relative in files.items():
        graph[module] = {name for name in imports_of(relative) if name in files and name != module}
    return graph, files


def app_of(module):
    return module.split(".")[0]


def test_every_app_is_given_a_layer():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert apps <= set(LAYERS), f"give these apps a layer in LAYERS: {sorted(apps - set(LAYERS))}"


def test_apps_import_only_apps_below_them():
    graph, files = project_graph()
    upward = []
    for module, imported in graph.items():
        if str(files[module]) in WIRING:
            continue
        for name in imported:
            if app_of(name) != app_of(module) and LAYERS[app_of(name)] >= LAYERS[app_of(module)]:
                upward.append(f"{files[module]} imports {name}")
    assert not upward, "imports of an app at the same layer or above:\n" + "\n".join(sorted(upward))


def test_other_apps_use_tracking_only_through_its_public_face():
    graph, files = project_graph()
    reaching_in = [f"{files[module]} imports {name}" for module, imported in graph.items()
                   if str(files[module]) not in WIRING
                   for name in imported
                   if app_of(name) == "tracking" != app_of(module) and name not in (TRACKING_FACE, "tracking")]
    assert not reaching_in, f"use {TRACKING_FACE} instead:\n" + "\n".join(sorted(reaching_in))


def test_no_files_import_each_other():
    graph, files = project_graph()
    cycles = []
    state = {}  # module: "open" while on the current path, "done" after

    def visit(module, path):
        state[module] = "open"
        for name in sorted(graph[module]):
            if state.get(name) == "open":
                cycles.append(" -> ".join(str(files[m]) for m in [*path[path.index(name):], name]))
            elif name not in state:
                visit(name, [*path, name])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_check_sees_imports_inside_functions_and_relative_ones(tmp_path, monkeypatch):
    """The reader of imports itself: a deferred relative import is an import."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories" / "models.py").write_text(
        "def page():\n    from .lists import latest\n    from republish import panels\n")
    assert imports_of(Path("stories/models.py")) >= {"stories.lists", "stories.lists.latest", "republish",
                                                       "republish.panels"}
