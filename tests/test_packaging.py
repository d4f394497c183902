"""`pip install .` ships everything the connector reads at run time: every rule pack with its scenario tests, the
pack format guide, and the sandbox's sample data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


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
