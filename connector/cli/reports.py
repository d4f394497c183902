"""`connector report` (compliance figures, or the inspection evidence pack) and `connector calendar-url`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from connector.cli.main import config_option, fail, load_config, main, parse_date_option
from connector.config import Config, TenantConfig

FORMATS = ("table", "csv", "json")


def _tenant(config: Config, tenant: str) -> TenantConfig:
    if tenant not in config.tenants:
        fail(
            f"--tenant: no tenant {tenant!r} in the config (configured: {', '.join(sorted(config.tenants))})"
        )
    return config.tenants[tenant]


@main.command()
@config_option
@click.option("--tenant", required=True, help="The tenant id.")
@click.option("--team", default=None, help="One team's id.")
@click.option("--from", "start_text", default=None, help="First due date counted (YYYY-MM-DD).")
@click.option("--to", "end_text", default=None, help="Last due date counted (YYYY-MM-DD).")
@click.option("--format", "output", default="table", help="table (the default), csv or json.")
@click.option("--evidence", is_flag=True, help="Write the inspection evidence pack (a zip of CSV files).")
@click.option("--sample", default=10, type=int, help="With --evidence: children whose history is included.")
@click.option("--output", "output_path", default=None, help="With --evidence: the zip file to write.")
def report(
    config_path: str,
    tenant: str,
    team: str | None,
    start_text: str | None,
    end_text: str | None,
    output: str,
    evidence: bool,
    sample: int,
    output_path: str | None,
) -> None:
    """Compliance figures for cycles due in a range (by default the twelve months to today)."""
    from connector.reports.evidence import write_evidence
    from connector.reports.report import build_report
    from connector.service import Service

    if output not in FORMATS:
        fail(f"--format: {output!r} is not one of {', '.join(FORMATS)}")
    start = parse_date_option(start_text, "--from")
    end = parse_date_option(end_text, "--to")
    if start is not None and end is not None and start > end:
        fail(f"--from: {start} is after --to {end}")
    if evidence and (start is None or end is None):
        fail("--evidence needs both --from and --to: the period the inspection looks at")
    if sample < 0:
        fail(f"--sample: must be 0 or more, not {sample}")
    config = load_config(config_path)
    tenant_config = _tenant(config, tenant)
    service = Service(config)
    try:
        service.processor.run_until_idle()
        result = build_report(service.db, tenant_config, service.today(), start, end, team)
        if evidence:
            assert start is not None and end is not None
            path = Path(output_path or f"evidence-{tenant}-{start}-{end}{'-' + team if team else ''}.zip")
            names = write_evidence(service.db, result, sample, path)
            click.echo(f"Wrote {path} ({', '.join(names)}).")
            return
    finally:
        service.close()
    body = result.as_json()
    if output == "json":
        click.echo(json.dumps(body, indent=2))
    elif output == "csv":
        click.echo(_csv(body), nl=False)
    else:
        click.echo(_table(body))


COLUMNS = ("due", "on_time", "late", "missed", "pending", "days_late_mean", "open_now", "overdue_now")


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"group": "tenant", **body["total"]}]
    rows += [{"group": "team", **t} for t in body["teams"]]
    rows += [{"group": "worker", **w} for w in body["workers"]]
    rows += [{"group": "kind", **k} for k in body["kinds"]]
    rows += [{"group": "month", **m} for m in body["months"]]
    return rows


def _csv(body: dict[str, Any]) -> str:
    columns = ["group", "team_id", "worker_id", "kind", "month", *COLUMNS, "days_late_total", "days_late_max",
               "on_time_percent", "rag"]  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in _rows(body):
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
    return out.getvalue()


def _table(body: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}%"

    head = f"{'team':<10}{'due':>6}{'on time':>9}{'late':>6}{'missed':>8}{'open':>6}{'overdue':>9}  on time"
    lines = [
        f"{body['tenant']}: cycles due {body['from']} to {body['to']}, as of {body['as_of']}"
        f" (green at {body['thresholds']['target']:g}%, red below {body['thresholds']['floor']:g}%)",
        "",
        head,
    ]
    for t in [*body["teams"], {"team_id": "all", **body["total"]}]:
        lines.append(
            f"{t['team_id']:<10}{t['due']:>6}{t['on_time']:>9}{t['late']:>6}{t['missed']:>8}{t['open_now']:>6}"
            f"{t['overdue_now']:>9}  {pct(t['on_time_percent'])} {t['rag']}"
        )
    records = body["records"]
    lines += [
        "",
        f"Records within their deadline: {records['within_deadline']} of {records['with_deadline']}"
        f" ({pct(records['within_percent'])}); held to recorded: mean {records['gap_days_mean']} day(s),"
        f" longest {records['gap_days_max']}.",
        f"Actions past due with no later case supervision: {len(body['actions_not_reviewed'])}.",
    ]
    return "\n".join(lines)


@main.command("calendar-url")
@config_option
@click.option("--tenant", required=True, help="The tenant id.")
@click.option("--team", required=True, help="The team's id.")
@click.option(
    "--base-url", default=None, help="Where people reach the connector (default: service.public_url)."
)
def calendar_url(config_path: str, tenant: str, team: str, base_url: str | None) -> None:
    """Print a team's calendar feed address (https and webcal) to subscribe to in Outlook or another program."""
    from connector.reports.calendar_feed import feed_path

    config = load_config(config_path)
    path = feed_path(_tenant(config, tenant), team)
    if path is None:
        fail(f"tenants.{tenant}.calendar_secret: not set, so no calendar feed is served")
    base = (base_url or config.service.public_url or "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        fail("--base-url: give the connector's address (http:// or https://), or set service.public_url")
    click.echo(f"{base}{path}")
    click.echo("webcal://" + base.split("://", 1)[1] + path)
