"""What an install carries besides the code: every data file the connector or an administrator needs."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_data_file_of_a_package_is_declared_package_data() -> None:
    declared = PYPROJECT["tool"]["setuptools"]["package-data"]
    for package, folder in (("rules", "packs"), ("connector.sandbox", "data")):
        root = ROOT.joinpath(*package.split("."))
        for path in (root / folder).rglob("*"):
            if path.is_file() and path.suffix != ".py":
                relative = path.relative_to(root).as_posix()
                assert any(fnmatch(relative, glob) for glob in declared[package]), (
                    f"{relative} is not installed"
                )


def test_the_pack_format_guide_is_there_for_the_installed_packs() -> None:
    guide = resources.files("rules").joinpath("packs/FORMAT.md")
    assert guide.is_file()
    assert "[pack]" in guide.read_text(encoding="utf-8")


def test_the_description_says_only_what_is_built() -> None:
    description = PYPROJECT["project"]["description"]
    assert "Mosaic" in description and "Childview" in description and "to come" not in description


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_versions_with_published_advisories_are_excluded() -> None:
    dependencies = PYPROJECT["project"]["dependencies"]
    assert "waitress>=3.0.1" in dependencies
    assert "requests>=2.32.4" in dependencies


def test_the_constraints_pin_every_runtime_and_test_dependency() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version
    project = PYPROJECT["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    assert {_name(r) for r in wanted} <= set(pins)
    assert all(pins.values()), "every line pins an exact version"
    assert "supervision-connector" not in pins
    for script in ("scripts/test", "scripts/sandbox"):
        assert "-c constraints.txt" in (ROOT / script).read_text(encoding="utf-8")



def test_the_wheel_holds_every_pack_the_format_guide_and_the_sandbox_data(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "--wheel-dir", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rules" / "packs").rglob("*") if p.is_file()}
    assert shipped, "no packs found beside the rules package"
    assert shipped <= names, f"missing from the wheel: {sorted(shipped - names)}"
    assert "rules/packs/FORMAT.md" in names
    sandbox = {p.relative_to(ROOT).as_posix() for p in (ROOT / "connector").rglob("*.json")}
    assert sandbox and sandbox <= names, f"missing from the wheel: {sorted(sandbox - names)}"
    assert any(n.endswith("entry_points.txt") for n in names)
    entry_points = next(zipfile.ZipFile(wheel).read(n) for n in names if n.endswith("entry_points.txt"))
    assert b"connector = connector.cli:main" in entry_points
