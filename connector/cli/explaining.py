"""`connector explain`: why each open obligation of a child or a worker is due."""

from __future__ import annotations

import json

import click

from connector.cli.main import config_option, fail, load_config, main


@main.command()
@config_option
@click.option("--tenant", required=True, help="The tenant id.")
@click.option("--person", default=None, help="A child's id on the platform (Mosaic person_id).")
@click.option("--worker", default=None, help="A worker's id: what they must do and what is owed to them.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, as the read API answers.")
def explain(config_path: str, tenant: str, person: str | None, worker: str | None, as_json: bool) -> None:
    """Print each open obligation of a child or a worker, with the rules and the fact its date counts from."""
    from datetime import date

    from connector.pipeline.ladder import Chain, ladder_plan
    from connector.service import Service
    from connector.store.queries import ObligationFilter, list_obligations

    if (person is None) == (worker is None):
        fail("give exactly one of --person or --worker")
    config = load_config(config_path)
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
        chain = Chain(service.inbox)
        for item in items:
            item["reminders"] = ladder_plan(
                config,
                chain,
                tenant,
                item["platform"],
                item["kind"],
                item["assignee_id"],
                date.fromisoformat(item["due_date"]),
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
        source = item["counted_from"]["source"]
        origin = f" (from {source})" if source else ""
        click.echo(f"    counted from: {item['counted_from']['fact']} on {item['counted_from']['date']}{origin}")
        click.echo(f"    {item['explanation']}")
        for rung in item["reminders"]:
            who = rung["skipped"] or f"worker {rung['worker_id']}"
            what = "escalation" if rung["escalation"] == "yes" else "reminder"
            click.echo(f"    {what} {rung['date']} to the {rung['to'].replace('_', ' ')}: {who}")
        state = f"written as {item['platform_record_id']}" if item["written"] else "waiting to be written"
        click.echo(f"    {item['platform']}: {state} ({item['reference']})")
