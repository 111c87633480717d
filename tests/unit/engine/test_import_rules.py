"""Contract: the dependency rules of STYLE §A, checked on the source with `ast`.

- `engine/` never imports `stages` (built-ins are reached through import strings only);
- nothing in `engine/` or `stages/` imports `engine.app` except the entry points
  `engine/serve.py` and `engine/cli.py`;
- no `global` statements (module-level mutable state).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGES = {"engine": "ongoingai.engine", "stages": "ongoingai.stages"}
APP_IMPORTERS = {"engine/serve.py", "engine/cli.py"}


@dataclass(frozen=True, slots=True)
class Imported:
    """One module name an import statement brings in."""

    line: int
    module: str
    module_level: bool


def _sources(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (REPO / f).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _package_of(path: Path) -> str:
    """Installed package of `path` (engine/models/x.py → ongoingai.engine.models)."""
    top, *rest = path.relative_to(REPO).parts
    return ".".join([PACKAGES[top], *rest[:-1]])


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _function_nodes(tree: ast.AST) -> set[int]:
    """ids of every node nested in a function or lambda body."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    return inside


def _imports(path: Path, package: str | None = None) -> list[Imported]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nested = _function_nodes(tree)
    package = package or _package_of(path)
    found: list[Imported] = []
    for node in ast.walk(tree):
        top = id(node) not in nested
        if isinstance(node, ast.Import):
            found += [Imported(node.lineno, a.name, top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            found.append(Imported(node.lineno, base, top))
            found += [Imported(node.lineno, f"{base}.{a.name}", top) for a in node.names]
    return found


def _is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imports_stages(module: str) -> bool:
    return _is_within(module, "ongoingai.stages") or _is_within(module, "stages")


def _imports_app(module: str) -> bool:
    return _is_within(module, "ongoingai.engine.app") or _is_within(module, "engine.app")


# --- the checker itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "package", "expected"),
    [
        ("import ongoingai.stages.route\n", "ongoingai.engine", "ongoingai.stages.route"),
        ("from ongoingai import stages\n", "ongoingai.engine", "ongoingai.stages"),
        ("from ..stages import route\n", "ongoingai.engine", "ongoingai.stages"),
        ("from . import app\n", "ongoingai.engine", "ongoingai.engine.app"),
        ("from .app import create_app\n", "ongoingai.engine", "ongoingai.engine.app"),
        ("from ..app import create_app\n", "ongoingai.engine.api", "ongoingai.engine.app"),
    ],
    ids=[
        "absolute",
        "from-parent",
        "relative-sibling-package",
        "relative-module",
        "relative-from",
        "two-levels",
    ],
)
def test_the_checker_sees_every_spelling_of_an_import(
    tmp_path: Path, source: str, package: str, expected: str
) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source)

    modules = {i.module for i in _imports(path, package)}

    assert any(_is_within(m, expected) for m in modules), modules


def test_the_checker_tells_module_level_from_function_level(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text(
        "import a\nif True:\n    import b\ndef f():\n    import c\n"
        "class K:\n    import d\n    def m(self):\n        import e\n"
    )

    levels = {i.module: i.module_level for i in _imports(path, "ongoingai.engine")}

    assert levels == {"a": True, "b": True, "c": False, "d": True, "e": False}


# --- the rules --------------------------------------------------------------------------------


def test_there_is_source_to_check() -> None:
    assert len(_sources("engine")) > 10
    assert _sources("stages")


@pytest.mark.parametrize("path", _sources("engine"), ids=_rel)
def test_engine_never_imports_stages_at_module_level(path: Path) -> None:
    bad = [
        f"{i.line}: {i.module}"
        for i in _imports(path)
        if i.module_level and _imports_stages(i.module)
    ]

    assert bad == []


@pytest.mark.parametrize("path", _sources("engine"), ids=_rel)
def test_engine_never_imports_stages_inside_functions_either(path: Path) -> None:
    bad = [f"{i.line}: {i.module}" for i in _imports(path) if _imports_stages(i.module)]

    assert bad == [], "engine reaches stages only through BUILTIN_STAGES import strings"


@pytest.mark.parametrize(
    "path", [p for p in _sources("engine", "stages") if _rel(p) not in APP_IMPORTERS], ids=_rel
)
def test_only_the_entry_points_import_the_app_module(path: Path) -> None:
    bad = [f"{i.line}: {i.module}" for i in _imports(path) if _imports_app(i.module)]

    assert bad == []


@pytest.mark.parametrize("path", _sources("engine", "stages"), ids=_rel)
def test_no_module_uses_global_statements(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    bad = [
        f"{n.lineno}: global {', '.join(n.names)}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Global)
    ]

    assert bad == []
