"""The `connector` command line: thin click wrappers over plain functions.

Every failure an operator can cause prints one line, `connector: error: ...`, and exits 2.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click

from connector.config import Config, ConfigError, load_config_file


def fail(message: str) -> NoReturn:
    click.echo(f"connector: error: {message}", err=True)
    sys.exit(2)


def _load(path: str) -> Config:
    """The config, with its database opened and migrated once, so a bad path is one line, not a traceback."""
    from connector.store.database import Database, StorageError

    try:
        config = load_config_file(path)
    except ConfigError as exc:
        fail(exc.one_line())
    db = Database(config.database)
    try:
        db.check()
    except StorageError as exc:
        fail(str(exc))
    finally:
        db.close()
    return config


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date in the form YYYY-MM-DD")


config_option = click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The TOML config file."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR.")
def main(log_level: str) -> None:
    """Supervision connector: councils' supervision rules applied to Mosaic events."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.command("check-config")
@config_option
def check_config(config_path: str) -> None:
    """Validate a config file and say what is wrong, field by field."""
    try:
        config = load_config_file(config_path)
    except ConfigError as exc:
        click.echo(f"{config_path}: {len(exc.errors)} problem(s)", err=True)
        for line in exc.lines():
            click.echo(f"  {line}", err=True)
        sys.exit(2)
    for warning in config.warnings:
        click.echo(f"connector: warning: {warning}", err=True)
    for tenant in config.tenants.values():
        platforms = ", ".join(sorted(tenant.platforms))
        click.echo(f"tenant {tenant.id}: rule pack {tenant.rule_pack.label}, platforms {platforms}")
    click.echo(f"{config_path}: OK")


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
def serve(config_path: str, host: str, port: int) -> None:
    """Run the HTTP service (and, unless the config says otherwise, the background work)."""
    from connector.web.serve import run_server

    config = _load(config_path)
    try:
        run_server(config, host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@main.command()
@config_option
def work(config_path: str) -> None:
    """Run only the background work (processing, delivery, reminders), for `service.background = false`."""
    from connector.service import Service

    service = Service(_load(config_path))
    service.start_background()

    def stop(signum: int, frame: FrameType | None) -> None:
        service.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service.stopping.wait()
    service.close()


@main.command()
@config_option
@click.option(
    "--now", "now_text", default=None, help="Run as of this date (YYYY-MM-DD); default today in London."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what would be written; write nothing to the platform or the database.",
)
def tick(config_path: str, now_text: str | None, dry_run: bool) -> None:
    """Run the time-driven work once (reminders, overdue marks, escalations), deliver, and exit."""
    from connector.pipeline.dry_run import preview_tick
    from connector.service import Service, london_today

    as_of = _parse_date(now_text, "--now") or london_today()
    service = Service(_load(config_path), today=lambda: as_of)
    try:
        if dry_run:
            counts, planned = preview_tick(service, as_of)
        else:
            service.reevaluate_if_rules_changed()
            service.reevaluate_everything()
            counts = service.tick(as_of)
            service.drain()
        status = service.status()
    finally:
        service.close()
    summary = (
        f"{counts.reminders} reminder(s), {counts.overdue} newly overdue, {counts.escalations} escalation(s)"
    )
    if dry_run:
        click.echo(f"dry run as of {as_of.isoformat()}: {summary}; nothing was written")
        for p in planned:
            click.echo(
                f"  {p.what:<14} {p.kind or '-':<22} {p.reference}  worker {p.worker_id or '-'}"
                f"  show {p.show_on or '-'}  due {p.due_date or '-'}"
            )
        return
    click.echo(
        f"tick {as_of.isoformat()}: {summary}; outbox pending {status['outbox_pending']}, "
        f"dead letters {status['dead_letters']}"
    )


@main.command()
@config_option
def status(config_path: str) -> None:
    """Print the backlog counts that GET /status answers."""
    from connector.service import Service

    service = Service(_load(config_path))
    try:
        click.echo(json.dumps(service.status(), indent=2))
    finally:
        service.close()


@main.command("dead-letters")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def dead_letters(config_path: str, as_json: bool) -> None:
    """List writes the platform would not take, with the reason."""
    from connector.service import Service

    service = Service(_load(config_path))
    try:
        rows = service.outbox.dead_letters()
    finally:
        service.close()
    if as_json:
        click.echo(json.dumps([_dead_letter_json(r) for r in rows], indent=2))
        return
    if not rows:
        click.echo("No dead letters.")
        return
    click.echo(f"{'ID':>5}  {'TENANT':<14} {'ACTION':<9} {'ATTEMPTS':>8}  {'REFERENCE':<44} REASON")
    for r in rows:
        click.echo(
            f"{r.id:>5}  {r.tenant:<14} {r.action:<9} {r.attempts:>8}  {r.reference:<44} {r.last_error}"
        )


def _dead_letter_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant": row.tenant,
        "platform": row.platform,
        "reference": row.reference,
        "action": row.action,
        "attempts": row.attempts,
        "reason": row.last_error,
        "parked_at": row.updated_at,
    }


@main.command()
@config_option
@click.argument("dead_letter_id", type=int)
def retry(config_path: str, dead_letter_id: int) -> None:
    """Send one dead letter again now."""
    from connector.service import Service

    service = Service(_load(config_path))
    try:
        row = service.outbox.get(dead_letter_id) if service.outbox.retry(dead_letter_id) else None
        # Only this one write is sent: the command reports on it alone.
        delivery = None if row is None else service.dispatcher.deliver(row)
    finally:
        service.close()
    if delivery is None:
        fail(f"ID: there is no dead letter with id {dead_letter_id} (see `connector dead-letters`)")
    if delivery.outcome == "parked":
        fail(f"dead letter {dead_letter_id} failed again and is parked: {delivery.detail}")
    if delivery.outcome == "retrying":
        at = delivery.next_attempt_at.isoformat(timespec="seconds") if delivery.next_attempt_at else "later"
        click.echo(
            f"dead letter {dead_letter_id} failed retryably ({delivery.detail}); queued for another attempt at {at}"
        )
        return
    record = f" (platform record {delivery.detail})" if delivery.detail else ""
    click.echo(f"dead letter {dead_letter_id} delivered{record}")


@main.command("failed-events")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def failed_events(config_path: str, as_json: bool) -> None:
    """List events that could not be processed, with the reason (they are left out of every fold)."""
    from connector.service import Service

    service = Service(_load(config_path))
    try:
        rows = service.inbox.failed()
    finally:
        service.close()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=2))
        return
    if not rows:
        click.echo("No failed events.")
        return
    click.echo(
        f"{'SEQ':>6}  {'TENANT':<14} {'PLATFORM':<9} {'WEBHOOK ID':<24} {'TYPE':<22} {'OCCURRED AT':<26}"
        f" {'FAILED AT':<30} REASON"
    )
    for r in rows:
        click.echo(
            f"{r.seq:>6}  {r.tenant:<14} {r.platform:<9} {r.webhook_id:<24} {r.event_type:<22}"
            f" {r.occurred_at:<26} {r.failed_at:<30} {r.reason}"
        )


@main.command("retry-event")
@config_option
@click.argument("seq", type=int)
def retry_event(config_path: str, seq: int) -> None:
    """Process one failed event again now, and say whether it was processed or failed again."""
    from connector.service import Service

    service = Service(_load(config_path))
    try:
        outcome = service.processor.retry_event(seq)
        if outcome is not None and outcome[0] == "processed":
            service.drain()
    finally:
        service.close()
    if outcome is None:
        fail(f"SEQ: there is no failed event with seq {seq} (see `connector failed-events`)")
    state, reason = outcome
    if state != "processed":
        fail(f"event {seq} failed again: {reason}")
    click.echo(f"event {seq} processed")


@main.command("discard-event")
@config_option
@click.argument("seq", type=int)
def discard_event(config_path: str, seq: int) -> None:
    """Set one failed event aside for good: kept as `discarded` for the audit trail, never folded."""
    from connector.service import Service

    service = Service(_load(config_path))
    try:
        discarded = service.inbox.discard(seq)
    finally:
        service.close()
    if not discarded:
        fail(f"SEQ: there is no failed event with seq {seq} (see `connector failed-events`)")
    click.echo(f"event {seq} discarded (kept for the audit trail, never processed)")


@main.command()
@config_option
@click.option("--tenant", required=True, help="The tenant id.")
@click.option("--person", default=None, help="A child's id on the platform (Mosaic person_id).")
@click.option("--worker", default=None, help="A worker's id: what they must do and what is owed to them.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the read API answers.")
def explain(config_path: str, tenant: str, person: str | None, worker: str | None, as_json: bool) -> None:
    """Print each open obligation of a child or a worker, with the rules and the fact its date counts from."""
    from connector.service import Service
    from connector.store.queries import ObligationFilter, list_obligations

    if (person is None) == (worker is None):
        fail("give exactly one of --person or --worker")
    config = _load(config_path)
    if tenant not in config.tenants:
        fail(
            f"--tenant: no tenant {tenant!r} in the config (configured: {', '.join(sorted(config.tenants))})"
        )
    service = Service(config)
    try:
        service.processor.run_until_idle()
        items = list_obligations(
            service.db, ObligationFilter(tenant, worker=worker, person=person), service.today()
        )
    finally:
        service.close()
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    who = f"person {person}" if person else f"worker {worker}"
    if not items:
        click.echo(f"{tenant}: nothing is open for {who}.")
        return
    click.echo(f"{tenant}: {len(items)} open obligation(s) for {who}, as of {service.today().isoformat()}")
    for item in items:
        late = f", {item['days_overdue']} day(s) overdue" if item["overdue"] else ""
        subject = f" for person {item['person_id']}" if item["person_id"] else ""
        click.echo(
            f"\n- {item['kind']}{subject}: due {item['due_date']}{late}; assigned to worker {item['assignee_id']}"
        )
        for rule in item["rules"]:
            click.echo(f"    rule {rule['id']} (policy {rule['source']}): {rule['words']}")
        click.echo(f"    counted from: {item['counted_from']['fact']} on {item['counted_from']['date']}")
        click.echo(f"    {item['explanation']}")
        state = f"written as {item['platform_record_id']}" if item["written"] else "waiting to be written"
        click.echo(f"    {item['platform']}: {state} ({item['reference']})")


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


@main.command()
@click.option("--workdir", default="var/sandbox", show_default=True, type=click.Path(file_okay=False))
@click.option("--port", default=0, type=int, help="Port for the simulated Mosaic (0: any free port).")
def sandbox(workdir: str, port: int) -> None:
    """Replay a sample team's month against a simulated Mosaic and show the due supervisions it now holds."""
    from connector.sandbox.run import run_sandbox

    run_sandbox(Path(workdir), port, click.echo)


@main.command("events-reference")
def events_reference() -> None:
    """Print, as Markdown, every Mosaic event's fields and allowed values (the source of docs/events.md)."""
    from adapters.mosaic.reference import events_reference as reference

    click.echo(reference(), nl=False)


@main.command("mosaic-simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9001, show_default=True, type=click.IntRange(1, 65535))
@click.option("--token", default="sandbox-token", show_default=True, help="The bearer token it accepts.")
def mosaic_simulator(host: str, port: int, token: str) -> None:
    """Run the simulated Mosaic (in memory) to try `connector serve` against, e.g. with the sandbox's config."""
    from waitress import serve as waitress_serve

    from adapters.mosaic.simulator import create_simulator_app

    click.echo(f"simulated Mosaic on http://{host}:{port}/api (token {token!r}); Ctrl-C to stop")
    try:
        waitress_serve(create_simulator_app(token), host=host, port=port, threads=4, _quiet=True)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@main.command("childview-simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9002, show_default=True, type=click.IntRange(1, 65535))
@click.option("--key", default="sandbox-key", show_default=True, help="The X-Api-Key it accepts.")
def childview_simulator(host: str, port: int, key: str) -> None:
    """Run the simulated Childview (in memory) to try `connector serve` against a [tenants.childview] table."""
    from waitress import serve as waitress_serve

    from adapters.childview.simulator import create_simulator_app

    click.echo(f"simulated Childview on http://{host}:{port}/api (key {key!r}); Ctrl-C to stop")
    try:
        waitress_serve(create_simulator_app(key), host=host, port=port, threads=4, _quiet=True)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


if __name__ == "__main__":  # pragma: no cover
    main()
