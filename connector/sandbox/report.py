"""What the sandbox shows at the end: what each simulated platform now holds, read back from it, with why."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import requests

from connector.service import Service

Echo = Callable[[str], None]


def _open_rows(service: Service, platform: str) -> list[dict[str, str]]:
    rows = service.db.query(
        "SELECT platform_id, kind, holder, counted_from_fact, counted_from_date, rules FROM obligations"
        " WHERE status = 'open' AND platform_id IS NOT NULL AND platform = ? ORDER BY due_date, case_id",
        (platform,),
    )
    return [dict(row) for row in rows]


def _rules(row: dict[str, str]) -> str:
    return ", ".join(r[0] for r in json.loads(row["rules"]))


def report_mosaic(service: Service, base_url: str, token: str, team: str, as_of: date, echo: Echo) -> int:
    rows = _open_rows(service, "mosaic")
    echo(f"\nDue supervisions Mosaic now holds for team {team}, as of {as_of.isoformat()}:\n")
    header = f"{'STEP':>6}  {'KIND':<22} {'PERSON':<7} {'FOR':<5} {'TO':<5} {'DUE':<10}  {'RULES':<28} COUNTED FROM"
    echo(header)
    echo("-" * len(header))
    notes: list[str] = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        for row in rows:
            step = http.get(f"{base_url}/workflow-steps/{row['platform_id']}", timeout=10).json()
            due = step["due_date"]
            late = " (overdue)" if date.fromisoformat(due) < as_of else ""
            echo(
                f"{step['workflow_step_id']:>6}  {row['kind']:<22} {step.get('subject_person_id') or '-'!s:<7}"
                f" {row['holder']:<5} {step['assignee_id']!s:<5} {due:<10}  {_rules(row):<28}"
                f" {row['counted_from_fact']} on {row['counted_from_date']}{late}"
            )
            notes.append(f"  {step['workflow_step_id']}: {step['notes']}")
    echo("\nWhy, as each step's notes say in Mosaic:")
    for line in notes:
        echo(line)
    return len(rows)


def report_childview(service: Service, base_url: str, key: str, team: str, as_of: date, echo: Echo) -> int:
    rows = _open_rows(service, "childview")
    echo(
        f"\nPrompts the Youth Offending Service's staff now see in Childview ({team}), as of {as_of.isoformat()}:\n"
    )
    header = f"{'PROMPT':<9} {'TYPE':<24} {'YOUNG PERSON':<13} {'STAFF':<8} {'DUE':<10}  {'RULES':<28} COUNTED FROM"
    echo(header)
    echo("-" * len(header))
    texts: list[str] = []
    with requests.Session() as http:
        http.headers["X-Api-Key"] = key
        for row in rows:
            prompt = http.get(f"{base_url}/prompts/{row['platform_id']}", timeout=10).json()
            due = prompt["due_date"]
            late = " (overdue)" if date.fromisoformat(due) < as_of else ""
            echo(
                f"{prompt['prompt_id']:<9} {prompt['prompt_type']:<24} {prompt.get('yp_id') or '-':<13}"
                f" {prompt['staff_id']:<8} {due:<10}  {_rules(row):<28}"
                f" {row['counted_from_fact']} on {row['counted_from_date']}{late}"
            )
            texts.append(f"  {prompt['prompt_id']}: {prompt['text']}")
        records = http.get(f"{base_url}/oversight-records", timeout=10).json().get("oversight_records", [])
    echo("\nWhy, as each prompt's text says in Childview:")
    for line in texts:
        echo(line)
    echo(
        f"\n{len(records)} oversight record stub(s) pre-filled for the managers (GET {base_url}/oversight-records)."
    )
    return len(rows)
