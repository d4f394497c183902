"""What could not be done: dead letters and failed events, listed, retried or discarded."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from connector.cli.main import config_option, fail, load_config, main


@main.command("dead-letters")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def dead_letters(config_path: str, as_json: bool) -> None:
    """List writes the platform would not take, with the reason."""
    from connector.service import Service

    service = Service(load_config(config_path))
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

    service = Service(load_config(config_path))
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

    service = Service(load_config(config_path))
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

    service = Service(load_config(config_path))
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

    service = Service(load_config(config_path))
    try:
        discarded = service.inbox.discard(seq)
    finally:
        service.close()
    if not discarded:
        fail(f"SEQ: there is no failed event with seq {seq} (see `connector failed-events`)")
    click.echo(f"event {seq} discarded (kept for the audit trail, never processed)")
