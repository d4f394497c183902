"""`connector rules test`: the scenario tests beside a rule pack."""

from __future__ import annotations

import sys

import click

from connector.cli.main import fail, main


@main.group()
def rules() -> None:
    """Rule packs: run their scenario tests."""


@rules.command("test")
@click.argument("pack", required=False)
@click.option("--verbose", "-v", is_flag=True, help="List every scenario, not only failures.")
def rules_test(pack: str | None, verbose: bool) -> None:
    """Run the YAML scenario tests beside a rule pack (a shipped pack's name or a pack file); all shipped packs by default."""
    from connector.scenarios.runner import run_pack_tests
    from rules.pack import PackError, shipped_pack_names

    names = [pack] if pack else shipped_pack_names()
    failed = total = 0
    for name in names:
        try:
            results = run_pack_tests(name)
        except PackError as exc:
            fail(str(exc))
        except (OSError, ValueError) as exc:
            fail(f"{name}: {exc}")
        for result in results:
            total += 1
            if not result.passed:
                failed += 1
                click.echo(f"FAIL {name}: {result.name}\n{result.message}")
            elif verbose:
                click.echo(f"ok   {name}: {result.name}")
        click.echo(
            f"{name}: {sum(r.passed for r in results)} passed, {sum(not r.passed for r in results)} failed"
        )
    if total == 0:
        fail("no scenarios found")
    if failed:
        sys.exit(1)
