"""Makes an obligation's desired state true in Mosaic: workflow steps, form stubs and notifications.

Mosaic has no idempotency keys, so every create carries a deterministic `external_reference`; a create answered
409, or one that failed in a way that may still have been applied (a timeout, a dropped connection, a 5xx), is
resolved by looking the reference up and adopting the step. A retried write never makes a second record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.base import FatalError, RetryableError
from adapters.mosaic.client import MosaicClient
from adapters.mosaic.settings import MosaicSettings
from connector.domain import ObligationWrite, ReminderWrite, WriteResult

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


class MosaicWriter:
    def __init__(self, client: MosaicClient, settings: MosaicSettings, reference_prefix: str) -> None:
        self.client = client
        self.settings = settings
        self.prefix = reference_prefix

    # --- steps ----------------------------------------------------------------------------------------------

    def sync_obligation(self, write: ObligationWrite) -> WriteResult:
        if not write.open:
            return self._withdraw(write)
        step_id = write.platform_id
        if step_id is None:
            step_id, fresh = self._create_or_adopt_step(write)
            if not fresh:
                closed = self._patch_step(step_id, self._changes(write))
                if closed:
                    return WriteResult(step_id, write.form_id, closed_on_platform=True)
        else:
            if self._patch_step(step_id, self._changes(write)):
                return WriteResult(step_id, write.form_id, closed_on_platform=True)
        form_id = self._sync_form(write, step_id)
        return WriteResult(step_id, form_id)

    def _changes(self, write: ObligationWrite) -> dict[str, Any]:
        return {
            "due_date": write.due_date.isoformat(),
            "assignee_id": int(write.assignee_id),
            "responsible_team_id": _int(write.team_id),
            "title": write.title,
            "notes": write.notes,
        }

    def _create_or_adopt_step(self, write: ObligationWrite) -> tuple[str, bool]:
        """(step id, True if this call created it)."""
        step_type = self.settings.step_types.get(write.kind)
        if step_type is None:
            raise FatalError(
                f"no Mosaic step type is configured for {write.kind} (tenants.mosaic.step_types)"
            )
        body = {
            "workflow_step_type_id": step_type,
            "subject_person_id": _int(write.case_id),
            "step_status": "INCOMING",
            "incoming_on": write.incoming_on.isoformat(),
            "external_reference": write.reference,
            **self._changes(write),
        }
        uncertain = False
        for attempt in self.client.retrying():
            with attempt:
                if uncertain:
                    existing = self._find("/workflow-steps", write.reference, "workflow_step_id")
                    if existing is not None:
                        return existing, False
                try:
                    answer = self.client.once("POST", "/workflow-steps", json=body)
                except RetryableError:
                    uncertain = True  # it may have been applied: look before posting again
                    raise
                if answer.status == 409:
                    return self._id_from(answer.body, "workflow_step_id", write.reference), False
                return self._id_from(answer.body, "workflow_step_id", write.reference), True
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _patch_step(self, step_id: str, changes: Mapping[str, Any]) -> bool:
        """PATCH a step; True when Mosaic says it is already completed or cancelled."""
        answer = self.client.call("PATCH", f"/workflow-steps/{step_id}", json=changes)
        return answer.status == 409

    def _withdraw(self, write: ObligationWrite) -> WriteResult:
        step_id = write.platform_id or self._find("/workflow-steps", write.reference, "workflow_step_id")
        if step_id is None:
            return WriteResult(None)  # never reached Mosaic: nothing to withdraw
        answer = self.client.call("PATCH", f"/workflow-steps/{step_id}", json={"step_status": "CANCELLED"})
        return WriteResult(step_id, write.form_id, closed_on_platform=answer.status == 409)

    # --- forms ----------------------------------------------------------------------------------------------

    def form_reference(self, step_reference: str) -> str:
        rest = (
            step_reference[len(self.prefix) + 1 :]
            if step_reference.startswith(f"{self.prefix}:")
            else step_reference
        )
        return f"{self.prefix}:form:{rest}"

    def _answers(self, form: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
        answers = []
        for name, value in form:
            code = self.settings.question_codes.get(name, name.upper())
            if "date" in name and ISO_DATE.match(value):
                kind = "date"
            elif len(value) <= 255:
                kind = "short_text"
            else:
                kind = "text"
            answers.append({"question_user_code": code, "answer_type": kind, "value": value})
        return answers

    def _sync_form(self, write: ObligationWrite, step_id: str) -> str | None:
        form_type = self.settings.form_types.get(write.kind)
        if form_type is None or not write.form:
            return write.form_id
        answers = self._answers(write.form)
        if write.form_id is not None:
            self.client.call("PATCH", f"/forms/{write.form_id}", json={"answers": answers})
            return write.form_id
        reference = self.form_reference(write.reference)
        body = {
            "workflow_step_id": int(step_id),
            "form_type_id": form_type,
            "external_reference": reference,
            "answers": answers,
        }
        uncertain = False
        for attempt in self.client.retrying():
            with attempt:
                if uncertain:
                    existing = self._find("/forms", reference, "form_id")
                    if existing is not None:
                        self.client.call("PATCH", f"/forms/{existing}", json={"answers": answers})
                        return existing
                try:
                    answer = self.client.once("POST", "/forms", json=body)
                except RetryableError:
                    uncertain = True
                    raise
                form_id = self._id_from(answer.body, "form_id", reference)
                if answer.status == 409:
                    self.client.call("PATCH", f"/forms/{form_id}", json={"answers": answers})
                return form_id
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    # --- reminders ------------------------------------------------------------------------------------------

    def send_reminder(self, write: ReminderWrite) -> str:
        answer = self.client.call(
            "POST",
            "/current-work/notifications",
            json={
                "worker_id": int(write.worker_id),
                "workflow_step_id": int(write.platform_id),
                "notification_date": write.show_on.isoformat(),
                "message": write.message,
                "external_reference": write.reference,
            },
        )
        body = answer.body if isinstance(answer.body, dict) else {}
        value = body.get("notification_id")
        return "" if value is None else str(value)

    # --- lookups --------------------------------------------------------------------------------------------

    def _find(self, path: str, reference: str, id_name: str) -> str | None:
        answer = self.client.call("GET", path, params={"external_reference": reference})
        items = answer.body.get("items", []) if isinstance(answer.body, dict) else []
        if not items:
            return None
        return str(items[0][id_name])

    def _id_from(self, body: Any, id_name: str, reference: str) -> str:
        if not isinstance(body, dict) or body.get(id_name) is None:
            raise FatalError(f"Mosaic's answer for {reference} has no {id_name}")
        return str(body[id_name])
