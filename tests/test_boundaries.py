"""The three distributions' boundaries, read from the source: every import of another of our
distributions is declared in the importer's pyproject.toml, and no module-level import cycle exists
within a package (imports inside functions or under TYPE_CHECKING are deliberate and exempt)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from astronomer_runtime.paths import REPO_ROOT

# import name -> (distribution, its pyproject.toml, the package folder)
DISTRIBUTIONS = {
    "astronomer_plugins": ("astronomer-plugins", REPO_ROOT / "pyproject.toml", REPO_ROOT / "astronomer_plugins"),
    "astronomer_runtime": ("astronomer-runtime-tools", REPO_ROOT / "runtime" / "pyproject.toml",
                           REPO_ROOT / "runtime" / "astronomer_runtime"),
    "astronomer_control_plane": ("astronomer-control-plane", REPO_ROOT / "control_plane" / "pyproject.toml",
                                 REPO_ROOT / "control_plane" / "astronomer_control_plane"),
}


def _module_name(package: str, folder: Path, path: Path) -> str:
    parts = [package, *path.relative_to(folder).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, *, top_level_only: bool, modules: frozenset[str] = frozenset()) -> set[str]:
    """Absolute module names imported; with `top_level_only`, statements run at import time only.
    `from package import submodule` (a name in `modules`) depends on the submodule, not the package."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if top_level_only and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            found.update(submodules if len(submodules) == len(node.names) else {node.module, *submodules})
    return found


def _sources(package: str) -> dict[str, ast.Module]:
    _, _, folder = DISTRIBUTIONS[package]
    return {_module_name(package, folder, path): ast.parse(path.read_text(), str(path)) for path in folder.rglob("*.py")}


@pytest.mark.parametrize("package", sorted(DISTRIBUTIONS))
def test_imports_of_our_other_distributions_are_declared(package: str) -> None:
    distribution, pyproject, _ = DISTRIBUTIONS[package]
    declared = {dep.split()[0].split(">")[0].split("=")[0].split("[")[0]
                for dep in tomllib.loads(pyproject.read_text())["project"]["dependencies"]}
    used = {name.split(".")[0] for tree in _sources(package).values() for name in _imports(tree, top_level_only=False)}
    undeclared = sorted(DISTRIBUTIONS[other][0] for other in used & DISTRIBUTIONS.keys()
                        if other != package and DISTRIBUTIONS[other][0] not in declared)
    assert undeclared == [], f"{distribution} imports {undeclared} without declaring them in {pyproject}"


@pytest.mark.parametrize("package", sorted(DISTRIBUTIONS))
def test_no_module_level_import_cycles(package: str) -> None:
    sources = _sources(package)
    modules = frozenset(sources)
    graph = {module: {name for name in _imports(tree, top_level_only=True, modules=modules) if name in sources and name != module}
             for module, tree in sources.items()}
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
