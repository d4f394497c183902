"""The rules package stays pure: the standard library, `holidays` and its own modules, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import rules

ALLOWED = {"holidays", "rules"}


def test_rules_imports_only_the_standard_library_holidays_and_itself() -> None:
    found: dict[str, set[str]] = {}
    for path in Path(rules.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in ALLOWED and top not in sys.stdlib_module_names:
                    found.setdefault(str(path.relative_to(Path(rules.__file__).parent)), set()).add(name)
    assert found == {}
