"""The layer rules of ARCHITECTURE.md, checked on every module's imports (top-level, local
and TYPE_CHECKING ones alike), so that an arrow pointing the wrong way fails the suite."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# layer: the project's layers it may import (its own is always allowed).
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "models": {"core"},
    "solvers": set(),
    "services": {"core", "models", "solvers"},
    "dataloaders": {"core", "models"},
    "schema": {"core", "models", "dataloaders"},
    "resolvers": {"schema", "services", "dataloaders"},
    "rest": {"core", "services", "models"},
    "tasks": {"core", "services", "solvers"},
    "migrations": {"models"},
}
PROJECT = set(MAY_IMPORT) | {"app"}
# Migrations make the database's roles and keys from the settings (role names, the
# personal-data key): modules, not layers, named one by one.
ALSO_ALLOWED: dict[str, set[str]] = {"migrations": {"core.settings", "core.crypto"}}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for layer, allowed in MAY_IMPORT.items():
        for path in sorted((root / layer).rglob("*.py")):
            for line, module in _imports(path):
                top = module.split(".")[0]
                if top not in PROJECT or top == layer or top in allowed:
                    continue
                if module in ALSO_ALLOWED.get(layer, set()):
                    continue
                out.append(f"{path.relative_to(root)}:{line} imports {module}")
    return out


def test_every_import_follows_the_layer_table() -> None:
    assert violations() == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """A resolver that reaches into `models` directly is caught, local imports included."""
    (tmp_path / "resolvers").mkdir()
    module = tmp_path / "resolvers" / "fleet.py"
    module.write_text("import schema\n\ndef f():\n    from models.permissions import is_allowed\n")
    assert violations(tmp_path) == ["resolvers/fleet.py:4 imports models.permissions"]
