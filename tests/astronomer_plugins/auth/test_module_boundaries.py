"""Login and routes get a LoginService, never the manager: no auth module imports the manager (not
even under TYPE_CHECKING or inside a function), so login, manager and routes form no circle."""

from __future__ import annotations

import ast
from pathlib import Path

import astronomer_plugins.auth

AUTH_DIR = Path(astronomer_plugins.auth.__file__).parent
MANAGER = "astronomer_plugins.auth.manager"


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_auth_module_imports_the_manager() -> None:
    assert (AUTH_DIR / "manager.py").is_file()  # the module `[core] auth_manager` names is where we look
    importers = sorted(
        path.name for path in AUTH_DIR.glob("*.py") if path.name != "manager.py" and MANAGER in _imported_modules(path)
    )
    assert importers == []

