"""`connector check-config`, `serve`, `work`, `tick`, `compact` and `status`: running the service."""

from __future__ import annotations

import json
import logging
import signal
import sys
from types import FrameType

import click

from connector.cli.main import config_option, fail, load_config, main, parse_date_option
from connector.config import ConfigError, load_config_file


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
    from connector.store.worker_lock import WorkerLockError
    from connector.web.serve import run_server

    config = load_config(config_path)
    try:
        run_server(config, host, port, config_path)
    except WorkerLockError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


@main.command()
@config_option
@click.option(
    "--follow-parent",
    is_flag=True,
    hidden=True,
    help="Woken by each byte on stdin, stopped at its end: how `connector serve` runs its child.",
)
@click.option(
    "--report-fd",
    type=int,
    default=None,
    hidden=True,
    help="Write what /metrics counts to this file descriptor, for `connector serve` to show.",
)
@click.option(
    "--deliver-only",
    is_flag=True,
    hidden=True,
    help="Deliver only: the delivery process `connector work` starts (service.delivery_process).",
)
def work(config_path: str, follow_parent: bool, report_fd: int | None, deliver_only: bool) -> None:
    """Run only the background work (processing, delivery, reminders), for `service.background = false`."""
    from connector.service import Service
    from connector.store.worker_lock import WorkerLockError
    from connector.worker_process import ReportsToParent, WorkerProcess, die_with_parent, work_command
    from connector.worker_process import follow_parent as follow

    if follow_parent:
        die_with_parent(sys.stdin.fileno())
    service = Service(load_config(config_path))
    reports = None if report_fd is None else ReportsToParent(report_fd)
    if reports is not None:
        service.dispatcher.observe, service.observe_tick = reports.write, reports.tick
    delivery: WorkerProcess | None = None
    try:
        if deliver_only:
            service.start_delivery()
        else:
            apart = service.config.service.delivery_process
            service.start_background(delivery=not apart)
            if apart:
                # Its own process, so a backlog is processed on one core while its writes go out on the other.
                level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
                delivery = WorkerProcess(
                    [*work_command(config_path, level), "--deliver-only"],
                    on_report=None if reports is None else reports.relay,
                )
                delivery.start()
                service.delivery_waker = delivery
    except WorkerLockError as exc:
        service.close()
        fail(str(exc))
    if follow_parent:
        follow(sys.stdin.fileno(), service.deliver_wake if deliver_only else service.wake, service.stopping)

    def stop(signum: int, frame: FrameType | None) -> None:
        service.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    service.stopping.wait()
    if delivery is not None:
        delivery.stop()
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

    as_of = parse_date_option(now_text, "--now") or london_today()
    service = Service(load_config(config_path), today=lambda: as_of)
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
@click.option(
    "--now", "now_text", default=None, help="Run as of this date (YYYY-MM-DD); default today in London."
)
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def compact(config_path: str, now_text: str | None, dry_run: bool) -> None:
    """Delete closed cases' raw events past retention_days, and fold open subjects' past compact_after_days."""
    from connector.service import Service, london_today

    as_of = parse_date_option(now_text, "--now") or london_today()
    service = Service(load_config(config_path), today=lambda: as_of)
    try:
        # Events still pending are folded first: a case is compacted only once its kept fold holds them all.
        service.processor.run_until_idle()
        counts = service.compact(as_of, dry_run=dry_run)
        folded = service.compact_open(as_of, dry_run=dry_run)
    finally:
        service.close()
    said = "would delete" if dry_run else "deleted"
    click.echo(
        f"{'dry run ' if dry_run else ''}compact {as_of.isoformat()}: {counts.cases} closed case(s) past"
        f" retention; {said} {counts.events_deleted} event(s), {counts.events_kept} kept for a worker or team"
        + ("; nothing was written" if dry_run else "")
    )
    click.echo(
        f"{'dry run ' if dry_run else ''}compact {as_of.isoformat()}: {folded.subjects} open subject(s) with"
        f" events older than compact_after_days; {folded.events_folded} event(s) folded into their bases,"
        f" {said} {folded.events_deleted} that no other subject still needs"
        + ("; nothing was written" if dry_run else "")
    )


@main.command()
@config_option
def status(config_path: str) -> None:
    """Print the backlog counts that GET /status answers."""
    from connector.service import Service

    service = Service(load_config(config_path))
    try:
        click.echo(json.dumps(service.status(), indent=2))
    finally:
        service.close()
