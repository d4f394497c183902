"""Makes an obligation's desired state true in Childview: prompts, oversight-record stubs and reminders.

Childview keeps idempotency keys, so every create carries one derived from the write's reference: a create
whose answer was lost (a timeout, a dropped connection, a 5xx) is simply sent again, and Childview answers with
the prompt it already made. A repeated write never makes a second record. The same key with another body is
answered 422, which no retry can fix: it is a FatalError, and the dispatcher parks it as a dead letter.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from adapters.base import FatalError, ObligationWrite, ReminderWrite, RetryableError, WriteResult
from adapters.childview.client import ChildviewClient
from adapters.childview.settings import ChildviewSettings

KEY_MAX = 100
# A readable head plus ":" and a sha256 hex digest of the whole key fills exactly KEY_MAX.
_HEAD = KEY_MAX - 1 - 64
# Kinds whose prompt gets an oversight-record stub beside it (Childview's form for management oversight).
KINDS_WITH_RECORD = frozenset({"case_supervision"})
OPEN = "OPEN"
WITHDRAWN = "WITHDRAWN"


def idempotency_key(*parts: str) -> str:
    """The parts joined by ":"; if longer than Childview's 100, a readable prefix and a digest of it all."""
    key = ":".join(parts)
    if len(key) <= KEY_MAX:
        return key
    return f"{key[:_HEAD]}:{hashlib.sha256(key.encode()).hexdigest()}"


class ChildviewWriter:
    # An idempotency key answers only the body it first saw: the dispatcher keeps that body (first_sent).
    keys_first_body = True

    def __init__(self, client: ChildviewClient, settings: ChildviewSettings, reference_prefix: str) -> None:
        self.client = client
        self.settings = settings
        self.prefix = reference_prefix

    # --- prompts --------------------------------------------------------------------------------------------

    def sync_obligation(self, write: ObligationWrite) -> WriteResult:
        if write.platform_id is None and write.first_sent is not None:
            # A create went unanswered and the write has changed since: Childview answers its key only with the
            # body it first saw, so that body learns the prompt (and record) it made, then they are brought up
            # to date below. (Childview cannot look a prompt up by reference.)
            first = write.first_sent
            made = self._create_prompt(first, idempotency_key(write.reference))
            write = replace(write, platform_id=made, form_id=self._sync_record(first, made))
        if not write.open:
            if write.platform_id is not None:
                self._withdraw(write.platform_id)
            # No platform id: no create was ever tried, or it was never answered with the same body since.
            return WriteResult(write.platform_id, write.form_id)
        prompt_id = write.platform_id
        if prompt_id is None:
            prompt_id = self._create_prompt(write, idempotency_key(write.reference))
        else:
            current = self.client.call("GET", f"/prompts/{_seg(prompt_id)}")
            if not isinstance(current.field("staff_id"), str) or not isinstance(current.field("status"), str):
                # Read as another assignee's, a garbled answer would withdraw the prompt and make a second one.
                raise RetryableError(f"Childview's answer to GET /prompts/{_seg(prompt_id)} is not a prompt")
            if current.field("staff_id") != write.assignee_id:
                # A prompt cannot change hands in Childview: the old one is withdrawn, the new assignee gets
                # their own, under a key of their own (and of this due date, so a later move back is new too).
                # Checked before the status: a withdrawn old prompt is this same step repeated, not a closure.
                self._withdraw(prompt_id)
                key = idempotency_key(write.reference, write.assignee_id, write.due_date.isoformat())
                prompt_id = self._create_prompt(write, key)
            elif current.field("status") != OPEN:
                # Done or withdrawn on Childview: it can no longer be changed; the connector stops tracking it.
                return WriteResult(prompt_id, write.form_id, closed_on_platform=True)
            else:
                self.client.call("PATCH", f"/prompts/{_seg(prompt_id)}", json=self._prompt_changes(write))
        return WriteResult(prompt_id, self._sync_record(write, prompt_id))

    def _prompt_changes(self, write: ObligationWrite) -> dict[str, Any]:
        return {
            "due_date": write.due_date.isoformat(),
            "show_from": write.incoming_on.isoformat(),
            # The notes say why: rule ids, policy paragraphs and the fact the date counted from.
            "text": write.notes,
        }

    def _create_prompt(self, write: ObligationWrite, key: str) -> str:
        body = {
            "staff_id": write.assignee_id,
            "prompt_type": self.settings.prompt_type(write.kind),
            **self._prompt_changes(write),
            "severity": "normal",
        }
        return self._create(_prompts_path(write.case_id, write.assignee_id), body, key, "prompt_id")

    def _withdraw(self, prompt_id: str) -> None:
        # 404: already gone, which is as withdrawn as it gets.
        self.client.call("PATCH", f"/prompts/{_seg(prompt_id)}", json={"status": WITHDRAWN}, allow=(404,))

    # --- oversight records ----------------------------------------------------------------------------------

    def fields(self, form: tuple[tuple[str, str], ...]) -> dict[str, str]:
        """The form's logical fields under this council's Childview field keys."""
        return {self.settings.field_key(name): value for name, value in form}

    def _sync_record(self, write: ObligationWrite, prompt_id: str) -> str | None:
        if write.kind not in KINDS_WITH_RECORD or not write.form or write.case_id is None:
            return write.form_id
        fields = {"fields": self.fields(write.form)}
        if write.form_id is not None:
            self.client.call("PATCH", f"/oversight-records/{_seg(write.form_id)}", json=fields)
            return write.form_id
        body: dict[str, Any] = {"staff_id": write.assignee_id}
        if write.supervisor_id is not None:
            body["manager_id"] = write.supervisor_id
        body.update(prompt_id=prompt_id, due_date=write.due_date.isoformat(), **fields)
        key = idempotency_key(write.reference, "oversight-record", prompt_id)
        return self._create(f"/young-people/{_seg(write.case_id)}/oversight-records", body, key, "record_id")

    # --- reminders ------------------------------------------------------------------------------------------

    def send_reminder(self, write: ReminderWrite) -> str:
        body = {
            "staff_id": write.worker_id,
            "prompt_type": (
                "OVERDUE_ESCALATION"
                if write.escalation
                else self.settings.prompt_type(write.kind)
                if write.kind
                else "SUPERVISION_DUE"
            ),
            "due_date": write.due_date.isoformat(),
            "show_from": write.show_on.isoformat(),
            "text": write.message,
            "severity": "high" if write.escalation else "normal",
        }
        path = _prompts_path(write.case_id, write.worker_id)
        return self._create(path, body, idempotency_key(write.reference), "prompt_id")

    def withdraw_reminder(self, platform_id: str) -> None:
        self._withdraw(platform_id)

    def edit_reminder(self, platform_id: str, message: str) -> None:
        """Correct what a prompt says (its obligation now cites other rules); a PATCH is safe to repeat. 404: the
        prompt is gone, and there is nothing left to correct."""
        self.client.call("PATCH", f"/prompts/{_seg(platform_id)}", json={"text": message}, allow=(404,))

    # --- create ---------------------------------------------------------------------------------------------

    def _create(self, path: str, body: dict[str, Any], key: str, id_name: str) -> str:
        """POST under an idempotency key, retried as any safe call: a repeat returns the original record."""
        answer = self.client.call("POST", path, json=body, headers={"Idempotency-Key": key}, allow=(422,))
        if answer.status == 422:
            raise FatalError(
                f"Childview answered 422 to POST {path}: idempotency key {key!r} was used before with another"
                " body (the write changed while its first create went unanswered)",
                422,
            )
        value = answer.field(id_name)
        if not isinstance(value, str) or not value:
            # Sent again under the same key, the create is answered with the record it made, if it made one.
            raise RetryableError(f"Childview's answer to POST {path} (key {key!r}) has no {id_name}")
        return value


def _seg(value: str) -> str:
    """An id as one path segment: ids were checked on arrival, but a path must never be steered by data."""
    return quote(value, safe="")


def _prompts_path(case_id: str | None, staff_id: str) -> str:
    return (
        f"/young-people/{_seg(case_id)}/prompts"
        if case_id is not None
        else f"/staff/{_seg(staff_id)}/prompts"
    )
