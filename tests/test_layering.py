"""The folders are the architecture, and dependencies point one way: `connector` may import `adapters`,
`webhooks` and `rules`; `adapters` may import `rules`; `webhooks` and `rules` import none of the others; one
platform's adapter never imports another's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"connector", "adapters", "webhooks", "rules"}
ALLOWED = {
    "connector": OURS,
    "adapters": {"adapters", "rules"},
    "webhooks": {"webhooks"},
    "rules": {"rules"},
}


def imported(path: Path) -> set[str]:
    """Every dotted module name a file imports (absolute imports: the project uses no relative ones)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: use an absolute import"
            names.add(node.module or "")
    return names


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_sits_below_it(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules_of(package)
        for name in imported(path)
        if name.split(".")[0] in OURS and name.split(".")[0] not in ALLOWED[package]
    }
    assert not wrong, sorted(wrong)


def test_one_platform_never_imports_another() -> None:
    platforms = {p.name for p in (ROOT / "adapters").iterdir() if (p / "__init__.py").exists()}
    assert {"mosaic", "childview"} <= platforms
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for platform in platforms
        for path in modules_of(f"adapters/{platform}")
        for name in imported(path)
        if name.startswith("adapters.") and name.split(".")[1] in platforms - {platform}
    }
    assert not wrong, sorted(wrong)


def test_no_module_outside_tests_and_benchmarks_grows_past_about_400_lines() -> None:
    long = {
        f"{path.relative_to(ROOT)} ({n} lines)"
        for package in OURS
        for path in modules_of(package)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 420
    }
    assert not long, sorted(long)
