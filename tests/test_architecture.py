"""The structure docs/architecture.md describes, checked: importing registers nothing and create_app()
calls every package's init_app; small files and views; services that never commit; imports that follow
the allowed directions, without cycles; no function body copied from another."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("classroom/**/*.py"), *ROOT.glob("courses/**/*.py")])
MAX_FILE_LINES = 300
MAX_VIEW_LINES = 25

# The allowed directions between packages (docs/architecture.md): each may import those listed, and any
# package may import the shared data and event layer (``*.models``, ``*.hooks``). "core" is the shell's
# top-level modules below the packages; "top" the factory, commands and seeds, which may import anything.
ALLOWED = {
    "core": set(),
    "classroom.notifications": {"core"},
    "classroom.unions": {"classroom.notifications", "core"},
    "classroom.accounts": {"classroom.unions", "classroom.notifications", "core"},
    "classroom.main": {"classroom.accounts", "classroom.unions", "core"},
    "classroom.api": {"classroom.accounts", "classroom.unions", "classroom.notifications", "core"},
    "courses.catalog": {"classroom.*"},
    "courses.enrollment": {"courses.catalog", "classroom.*"},
    "courses.study": {"courses.enrollment", "courses.catalog", "classroom.*"},
    "courses.attendance": {"courses.enrollment", "courses.catalog", "classroom.*"},
    "courses.hours": {"courses.study", "courses.attendance", "courses.enrollment", "courses.catalog", "classroom.*"},
    "courses.certificates": {"courses.study", "courses.enrollment", "courses.catalog", "classroom.*"},
    "courses.reminders": {"courses.certificates", "courses.enrollment", "courses.catalog", "classroom.*"},
    "courses.competitions": {"courses.reminders", "courses.certificates", "courses.catalog", "classroom.*"},
    "courses.drills": {"courses.competitions", "courses.reminders", "courses.catalog", "classroom.*"},
}
TOP = {"classroom", "classroom.cli", "classroom.worker", "classroom.seed", "classroom.seed_scale", "classroom.scheduler",
       "courses.privacy", "courses.seed", "courses.cli"}


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def layer(module: str) -> str:
    """The package a module belongs to, "core" for the shell's own modules, "top" for the factory & co."""
    parts = module.split(".")
    if module in TOP or parts[:2] == ["classroom", "scheduler"]:
        return "top"
    if len(parts) > 1 and (ROOT / parts[0] / parts[1]).is_dir() and parts[1] != "fonts":
        return f"{parts[0]}.{parts[1]}"
    return "core" if parts[0] == "classroom" else module


def allowed(source: str, target: str) -> bool:
    if source == "top" or source == target:
        return True
    rules = ALLOWED.get(source, set())
    return target in rules or ("classroom.*" in rules and (target == "core" or target.startswith("classroom.")))


def imported_modules(tree: ast.AST) -> list[str]:
    """Every module of ours an import statement names (``from a import b`` may name module a.b)."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                as_module = ROOT / Path(*candidate.split("."))
                names.append(candidate if as_module.with_suffix(".py").exists() or as_module.is_dir() else node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [name for name in names if name.split(".")[0] in ("classroom", "courses")]


def package_edges() -> dict[tuple[str, str], list[str]]:
    """{(importing layer, imported layer): [where]} for every import between layers, data and events aside."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in SOURCES:
        source = layer(module_name(path))
        for target_module in imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            if target_module.endswith((".models", ".hooks", "_models")) or ".models." in target_module:
                continue
            target = layer(target_module)
            if target != source:
                edges[(source, target)].append(f"{path.relative_to(ROOT)} imports {target_module}")
    return edges


def test_imports_follow_the_allowed_directions_without_cycles():
    edges = package_edges()
    wrong = {edge: where for edge, where in edges.items() if not allowed(*edge)}
    assert not wrong, "\n".join(f"{a} → {b}: {where[:3]}" for (a, b), where in wrong.items())
    graph = defaultdict(set)
    for source, target in edges:
        if source != "top":
            graph[source].add(target)

    def cycle_from(node, path):
        for following in graph[node]:
            if following in path:
                return [*path[path.index(following):], following]
            if (found := cycle_from(following, [*path, following])) is not None:
                return found
        return None

    cycles = [cycle for node in list(graph) if (cycle := cycle_from(node, [node]))]
    assert not cycles, cycles


def test_no_file_over_300_lines():
    long = {str(path.relative_to(ROOT)): count for path in SOURCES
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES}
    assert not long, long


def _routes(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "route"
                for d in node.decorator_list):
            yield node


def test_no_view_over_25_lines():
    long = {f"{path.relative_to(ROOT)}:{view.name}": view.end_lineno - view.lineno + 1
            for path in SOURCES for view in _routes(ast.parse(path.read_text(encoding="utf-8")))
            if view.end_lineno - view.lineno + 1 > MAX_VIEW_LINES}
    assert not long, long


def is_service_module(path: Path) -> bool:
    """Service modules: the rules and their transactions' contents. Views, jobs, commands, seeds, forms,
    package wiring and the shell's infrastructure own or end transactions; services never do."""
    name = path.name
    shell_infrastructure = path.parent == ROOT / "classroom" and name in (
        "http.py", "database.py", "cli.py", "seed.py", "seed_scale.py", "errors.py", "health.py", "__init__.py")
    api_door = path == ROOT / "classroom" / "api" / "door.py"  # the API's perform(): run, authenticate, idempotent
    return not (name.endswith("views.py") or name in ("jobs.py", "cli.py", "forms.py", "__init__.py")
                or name.startswith("seed") or shell_infrastructure or api_door or "scheduler" in path.parts
                or path.name == "scheduler.py")


def test_no_commit_or_rollback_in_a_service_module():
    found = []
    for path in filter(is_service_module, SOURCES):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("commit", "rollback") and "session" in ast.unparse(node.func.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert not found, found


def test_create_app_calls_every_packages_init_app():
    factory = (ROOT / "classroom" / "__init__.py").read_text(encoding="utf-8")
    body = factory[factory.index("def create_app("):factory.index("\ndef ", factory.index("def create_app("))]
    called = set(re.findall(r"^\s+(\w+)\.init_app\(app\)", body, re.M))
    packages = [path.parent for path in SOURCES if path.name == "__init__.py" and "def init_app" in path.read_text()]
    for package in packages:
        alias = {"courses/privacy.py": "course_privacy"}.get(str(package.relative_to(ROOT)), package.name)
        assert alias in called, f"create_app() does not call {package.relative_to(ROOT)}'s init_app"
    for extra in ("registry", "cli", "course_cli", "course_privacy", "scheduler", "errors"):
        assert extra in called, extra


IMPORT_ALL = """
import importlib, pkgutil, sys, json
import classroom, courses
names = [m.name for package in (classroom, courses)
         for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
import blinker
from sqlalchemy import event
from sqlalchemy.orm import Session
from classroom.extensions import login_manager
signals = {f"{module}.{attr}": len(value.receivers) for module in names for attr, value in vars(sys.modules[module]).items()
           if isinstance(value, blinker.Signal) and value.receivers}
from classroom.accounts import session_cache
listeners = [name for name in ("after_flush", "do_orm_execute", "after_commit", "after_transaction_end")
             if event.contains(Session, name, getattr(session_cache, {"after_flush": "_after_flush",
                 "do_orm_execute": "_on_execute", "after_commit": "_after_commit",
                 "after_transaction_end": "_after_transaction_end"}[name]))]
from classroom.unions.models import Membership
from classroom.unions import counters
ddl = [d for d in counters._DDL if event.contains(Membership.__table__, "after_create", d)]
state = {"modules": len(names), "signals": signals, "session_listeners": listeners, "ddl": len(ddl),
         "user_loader": login_manager._user_callback is not None}
if "--create-app" in sys.argv:
    from classroom import create_app
    create_app("testing", DATABASE_URL="sqlite://", AUTH_CACHE_URL="redis://127.0.0.1:1/0")
    state["after_create_app"] = {"signals": sum(len(s.receivers) for m in names for s in vars(sys.modules[m]).values()
                                                if isinstance(s, blinker.Signal)),
                                 "session_listeners": sum(event.contains(Session, "after_commit", session_cache._after_commit)
                                                          for _ in [0]),
                                 "ddl": sum(event.contains(Membership.__table__, "after_create", d) for d in counters._DDL),
                                 "user_loader": login_manager._user_callback is not None}
print(json.dumps(state))
"""


def _import_everything(*flags: str) -> dict:
    import json

    result = subprocess.run([sys.executable, "-c", IMPORT_ALL, *flags], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={"PATH": "/usr/bin:/bin", "CLASSROOM_ENV": "testing"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_any_module_registers_nothing():
    """Every module of classroom/ and courses/ imported into a fresh interpreter: no signal has a receiver,
    no session listener or DDL event is attached, no user loader set. create_app() then wires them all
    (so the check would see them)."""
    state = _import_everything("--create-app")
    assert state["modules"] > 100
    assert (state["signals"], state["session_listeners"], state["ddl"], state["user_loader"]) == ({}, [], 0, False)
    wired = state["after_create_app"]
    assert wired["signals"] >= 8 and wired["session_listeners"] == 1 and wired["ddl"] > 0 and wired["user_loader"]


class _Shape(ast.NodeTransformer):
    """A function body with its names, strings and numbers blanked: what stays is its shape."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(id="_", ctx=node.ctx), node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.copy_location(ast.Constant(value=None), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        node.attr = "_"
        return node


def _bodies(path: Path):
    """(normalized body, where) of each function of six statements or more, names and constants aside, and
    without its docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(node.body) >= 6:
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            shape = ast.dump(_Shape().visit(ast.Module(body=[ast.parse(ast.unparse(b)).body[0] for b in body],
                                                        type_ignores=[])), annotate_fields=False)
            yield shape, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"


def test_no_function_body_is_copied():
    seen: dict[str, list[str]] = defaultdict(list)
    for path in SOURCES:
        for shape, where in _bodies(path):
            seen[shape].append(where)
    copies = [places for places in seen.values() if len(places) > 1]
    assert not copies, copies


@pytest.mark.parametrize("module", ["classroom.registry", "classroom.timefmt", "classroom.http"])
def test_shell_infrastructure_imports_no_package(module):
    path = ROOT / Path(*module.split(".")).with_suffix(".py")
    outside = [name for name in imported_modules(ast.parse(path.read_text(encoding="utf-8")))
               if layer(name) not in ("core",) and not name.endswith(".models")]
    assert not outside, outside
