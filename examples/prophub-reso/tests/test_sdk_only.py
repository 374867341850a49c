"""The package depends on the hub through its SDK alone (and the conformance kit in tests)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = ("hub.sdk", "hub.conformance")


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_only_the_sdk_and_the_kit_are_imported_from_the_hub() -> None:
    """No ``hub.*`` module but ``hub.sdk`` (and ``hub.conformance`` in tests) is imported,
    and nothing of the built-in connectors or mappings."""
    files = sorted(ROOT.glob("src/**/*.py")) + sorted(ROOT.glob("tests/*.py"))
    assert files
    for path in files:
        allowed = ALLOWED if path.is_relative_to(ROOT / "tests") else ALLOWED[:1]
        for module in imported(path):
            top = module.split(".")[0]
            if top == "hub":
                assert module in allowed, f"{path.name} imports {module}"
            assert top not in ("connectors", "mappings"), f"{path.name} imports {module}"
