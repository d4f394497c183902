"""The chaos harness at a small size: duplicates, reordering, a failing platform and a SIGKILL end in the same
platform state as the events delivered once, in order (bench/chaos.py runs it at full size)."""

from __future__ import annotations

from pathlib import Path

from bench.chaos import parse, run


def test_a_small_chaos_run_ends_as_the_orderly_one(tmp_path: Path) -> None:
    args = parse(
        [
            "--children",
            "16",
            "--workers",
            "6",
            "--kills",
            "1",
            "--kill-every",
            "1.5",
            "--workdir",
            str(tmp_path),
        ]
    )

    figures = run(args)

    assert figures.comparison is not None
    assert figures.comparison.lines() == []
    assert figures.comparison.open_steps > 10
    assert (figures.dead_letters, figures.failed_events, figures.refused) == (0, 0, 0)
    assert figures.kills >= 1 and figures.duplicates > 0
    assert sum(n for k, n in figures.platform_faults.items() if k != "calls") > 0
