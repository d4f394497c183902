"""What a simulated Mosaic holds, and how two of them differ, for `bench/chaos.py`.

Records are compared by their external reference (the platform's own ids differ between runs), less the `.rN` the
ledger adds when a withdrawn cycle is wanted again (which cycles were withdrawn on the way depends on the order
events came in; what is open at the end does not): open steps with
their type, child, assignee, team, due date, title and notes; the forms of open steps with their answers; and
every reminder still in a tray, with its worker, date, message and the step it is about. A closed step only in
one run is not a difference (a step made and cancelled on the way, as events arrived out of order), but counted.
Doubled records: two records with one reference, or more open steps of one type for one child and assignee
than the reference holds.
"""

from __future__ import annotations

import http.client
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CLOSED = ("COMPLETED", "CANCELLED")
REOPENED = re.compile(r"\.r\d+$")
STEP_FIELDS = (
    "workflow_step_type_id",
    "subject_person_id",
    "assignee_id",
    "responsible_team_id",
    "due_date",
    "step_status",
    "title",
    "notes",
)


def _list(port: int, token: str, path: str) -> list[dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "X-Chaos-Exempt": "1"})
    items = json.loads(conn.getresponse().read())["items"]
    assert isinstance(items, list)
    return items


def platform_state(port: int, token: str) -> dict[str, Any]:
    return {
        "steps": _list(port, token, "/api/workflow-steps"),
        "forms": _list(port, token, "/api/forms"),
        "notifications": _list(port, token, "/api/current-work/notifications"),
    }


@dataclass
class Comparison:
    differences: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    open_steps: int = 0
    closed_only_in_chaos: int = 0
    closed_only_in_reference: int = 0
    # Childview oversight records that name another manager than the reference's (see _childview_views).
    managers_fixed_at_creation: int = 0

    def total(self) -> int:
        return len(self.differences) + len(self.doubled)

    def print(self, show: int = 10) -> None:
        print(
            f"  differences {len(self.differences)} (over {self.open_steps} open steps, their forms and"
            f" reminders), doubled records {len(self.doubled)}; closed steps only in the chaos run"
            f" {self.closed_only_in_chaos}, only in the reference {self.closed_only_in_reference};"
            f" Childview oversight records naming another manager (fixed at creation)"
            f" {self.managers_fixed_at_creation}"
        )
        for line in self.lines()[:show]:
            print(f"    {line}")

    def lines(self) -> list[str]:
        return self.differences + self.doubled


def _views(
    state: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str], set[str]]:
    doubled: list[str] = []
    steps: dict[str, dict[str, Any]] = {}
    by_id: dict[Any, str] = {}
    for step in state["steps"]:
        ref = step["external_reference"]
        if ref in steps:
            doubled.append(f"two steps hold {ref}")
        steps[ref] = step
        by_id[step["workflow_step_id"]] = identity(ref)
    opened: dict[str, Any] = {}
    for ref, step in steps.items():
        if step["step_status"] not in CLOSED:
            if identity(ref) in opened:
                doubled.append(f"two open steps of one cycle: {identity(ref)}")
            opened[identity(ref)] = tuple(step.get(f) for f in STEP_FIELDS)
    closed = {identity(r) for r, s in steps.items() if s["step_status"] in CLOSED}
    forms: dict[str, Any] = {}
    for form in state["forms"]:
        step_ref = by_id.get(form["workflow_step_id"])
        if step_ref not in opened:
            continue
        key = identity(form["external_reference"])
        if key in forms:
            doubled.append(f"two forms hold {key}")
        answers = sorted((a["question_user_code"], a["value"]) for a in form.get("answers", []))
        forms[key] = (step_ref, form["form_type_id"], answers)
    notes: dict[str, Any] = {}
    for note in state["notifications"]:
        # A reminder's reference names the platform's id of its step, which differs between runs: it is keyed
        # by its step's reference and its rung instead.
        step_ref = by_id.get(note["workflow_step_id"])
        # A reminder corrected after its obligation's rules changed is sent again as `….rN` (pipeline/reminder_texts.py):
        # the same rung, compared by what it says now.
        rung = re.sub(r"\.r[0-9]+$", "", note["external_reference"].split(":", 3)[-1])
        key = f"{step_ref} {rung}"
        if key in notes:
            doubled.append(f"two reminders hold {note['external_reference']}")
        notes[key] = (note["worker_id"], note["notification_date"], note["message"])
    return opened, forms, notes, doubled, closed


def _same_holder(opened: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    """Open steps by (type, child, assignee): a manager holds several workers' observations, so only more than
    the reference holds is doubled."""
    return Counter((s[0], s[1], s[2]) for s in opened.values())


def compare(reference: dict[str, Any], chaos: dict[str, Any]) -> Comparison:
    ref_open, ref_forms, ref_notes, _, ref_closed = _views(reference)
    open_, forms, notes, doubled, closed = _views(chaos)
    want = _same_holder(ref_open)
    for (kind, person, worker), n in _same_holder(open_).items():
        if n > want[(kind, person, worker)]:
            doubled.append(f"{n} open steps of type {kind} for person {person}, worker {worker}")
    result = Comparison(doubled=doubled, open_steps=len(ref_open))
    for what, want, got in (
        ("open step", ref_open, open_),
        ("form", ref_forms, forms),
        ("reminder", ref_notes, notes),
    ):
        for ref in sorted(set(want) | set(got)):
            if ref not in got:
                result.differences.append(f"{what} {ref} missing: {_short(want[ref])}")
            elif ref not in want:
                result.differences.append(f"{what} {ref} extra: {_short(got[ref])}")
            elif want[ref] != got[ref]:
                result.differences.append(
                    f"{what} {ref}: reference {_short(want[ref])}, chaos {_short(got[ref])}"
                )
    result.closed_only_in_chaos = len(closed - ref_closed - set(ref_open))
    result.closed_only_in_reference = len(ref_closed - closed - set(open_))
    return result


def identity(reference: str) -> str:
    """A step's or form's reference without the ledger's `.rN` for a cycle wanted again after a withdrawal."""
    return REOPENED.sub("", reference)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


# --- Childview: prompts and oversight records have no reference of ours, so they are compared as multisets ---

PROMPT_FIELDS = ("yp_id", "staff_id", "prompt_type", "due_date", "show_from", "text", "severity")


def childview_state(port: int, key: str) -> dict[str, Any]:
    def get(path: str, name: str) -> list[dict[str, Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers={"X-Api-Key": key, "X-Chaos-Exempt": "1"})
        items = json.loads(conn.getresponse().read())[name]
        assert isinstance(items, list)
        return items

    return {
        "prompts": get("/api/prompts", "prompts"),
        "records": get("/api/oversight-records", "oversight_records"),
    }


def _childview_views(state: dict[str, Any]) -> tuple[Counter[Any], Counter[Any]]:
    """Open prompts (reminders included: they are prompts too), and the oversight records of open prompts. A
    record's own `due_date` and `manager_id` are left out of the comparison: Childview's contract lets no PATCH
    change them, so they are what was known whenever the record was made (its `fields` carry the current due
    date, and are compared); records naming another manager than the reference's are counted apart."""
    opened = {
        p["prompt_id"]: tuple(p.get(f) for f in PROMPT_FIELDS)
        for p in state["prompts"]
        if p["status"] == "OPEN"
    }
    records = Counter(
        (
            *opened[r["prompt_id"]][:4],
            r["staff_id"],
            tuple(sorted(r["fields"].items())),
        )
        for r in state["records"]
        if r["prompt_id"] in opened
    )
    return Counter(opened.values()), records


def _managers(state: dict[str, Any]) -> Counter[Any]:
    opened = {p["prompt_id"]: p for p in state["prompts"] if p["status"] == "OPEN"}
    return Counter(
        (opened[r["prompt_id"]]["yp_id"], r["staff_id"], r["manager_id"])
        for r in state["records"]
        if r["prompt_id"] in opened
    )


def compare_childview(reference: dict[str, Any], chaos: dict[str, Any], into: Comparison) -> None:
    ref_prompts, ref_records = _childview_views(reference)
    prompts, records = _childview_views(chaos)
    into.managers_fixed_at_creation = sum((_managers(chaos) - _managers(reference)).values())
    into.open_steps += sum(ref_prompts.values())
    for what, want, got in (
        ("Childview open prompt", ref_prompts, prompts),
        ("oversight record", ref_records, records),
    ):
        for item in sorted(set(want) | set(got), key=repr):
            if want[item] == got[item]:
                continue
            if want[item] and got[item] > want[item]:
                into.doubled.append(
                    f"{what} {got[item]} times, in the reference {want[item]}: {_short(item)}"
                )
            else:
                into.differences.append(
                    f"{what} {'missing' if got[item] < want[item] else 'extra'} "
                    f"({got[item]} for {want[item]}): {_short(item)}"
                )
