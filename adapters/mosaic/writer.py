"""Makes an obligation's desired state true in Mosaic: workflow steps, form stubs and notifications.

Mosaic has no idempotency keys, so every create carries a deterministic `external_reference`. A create
answered 409, or one whose outcome is unknown (a timeout, a dropped connection, a 5xx), is resolved by looking
the reference up and adopting the record. A repeated write never makes a second record.
"""

from __future__ import annotations

import re
from typing import Any

from adapters.base import (
    ID_NOT_GIVEN,
    FatalError,
    ObligationWrite,
    ReminderWrite,
    RetryableError,
    WriteResult,
)
from adapters.mosaic.client import MosaicClient
from adapters.mosaic.settings import MosaicSettings

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SHORT_TEXT_MAX = 255


def mosaic_id(value: str, what: str) -> int:
    """A domain id (a string) as the integer Mosaic wants; FatalError if it cannot be one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise FatalError(f"{what} {value!r} is not a Mosaic id")
    return number


def _optional_id(value: str | None, what: str) -> int | None:
    return None if value is None else mosaic_id(value, what)


class MosaicWriter:
    def __init__(self, client: MosaicClient, settings: MosaicSettings, reference_prefix: str) -> None:
        self.client = client
        self.settings = settings
        self.prefix = reference_prefix

    # --- steps ----------------------------------------------------------------------------------------------

    def sync_obligation(self, write: ObligationWrite) -> WriteResult:
        if not write.open:
            return self._end(write)
        changes = self._step_changes(write)
        step_id = write.platform_id
        if step_id is None:
            step_id, created = self._create_step(write, changes)
            # An adopted step may carry an older cycle's due date or assignee: make it match.
            if not created and self._patch_step(step_id, changes):
                return WriteResult(step_id, write.form_id, closed_on_platform=True)
        elif self._patch_step(step_id, changes):
            return WriteResult(step_id, write.form_id, closed_on_platform=True)
        return WriteResult(step_id, self._sync_form(write, step_id))

    def _step_changes(self, write: ObligationWrite) -> dict[str, Any]:
        return {
            "due_date": write.due_date.isoformat(),
            "assignee_id": mosaic_id(write.assignee_id, "assignee"),
            "responsible_team_id": _optional_id(write.team_id, "team"),
            "title": write.title,
            "notes": write.notes,
        }

    def _create_step(self, write: ObligationWrite, changes: dict[str, Any]) -> tuple[str, bool]:
        step_type = self.settings.step_types.get(write.kind)
        if step_type is None:
            raise FatalError(
                f"no Mosaic workflow step type is configured for {write.kind} (tenants.mosaic.step_types)"
            )
        body = {
            "workflow_step_type_id": step_type,
            "subject_person_id": _optional_id(write.case_id, "person"),
            "step_status": "INCOMING",
            "incoming_on": write.incoming_on.isoformat(),
            "external_reference": write.reference,
            **changes,
        }
        return self._create_or_adopt(
            "/workflow-steps", body, write.reference, "workflow_step_id", write.unsure
        )

    def _patch_step(self, step_id: str, changes: dict[str, Any]) -> bool:
        """PATCH a step; True when Mosaic answers 409: it is already completed or cancelled."""
        answer = self.client.call("PATCH", f"/workflow-steps/{step_id}", json=changes)
        return answer.status == 409

    def _end(self, write: ObligationWrite) -> WriteResult:
        """A met cycle's step is COMPLETED (so Mosaic's reports show it done); one no longer owed, CANCELLED."""
        step_id = write.platform_id or self._find("/workflow-steps", write.reference, "workflow_step_id")
        if step_id is None:
            return WriteResult(None)  # it never reached Mosaic: nothing to end
        closed = self._patch_step(step_id, {"step_status": "COMPLETED" if write.met else "CANCELLED"})
        # 409: completed or cancelled already, which is as ended as it can get.
        return WriteResult(step_id, write.form_id, closed_on_platform=closed)

    # --- forms ----------------------------------------------------------------------------------------------

    def form_reference(self, step_reference: str) -> str:
        """linc:case_supervision:100234:5521:1 -> linc:form:case_supervision:100234:5521:1"""
        head = f"{self.prefix}:"
        rest = step_reference[len(head) :] if step_reference.startswith(head) else step_reference
        return f"{head}form:{rest}"

    def answers(self, form: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
        """The form's logical fields as Mosaic answers keyed by this council's question user codes.

        A field with no code (configured or default) is left out: a code made up from its name would not be a
        question on the council's form, and Mosaic would refuse the whole form for it.
        """
        answers = []
        for name, value in form:
            code = self.settings.question_codes.get(name)
            if code is None:
                continue
            if "date" in name and ISO_DATE.fullmatch(value):
                answer_type = "date"
            elif len(value) <= SHORT_TEXT_MAX:
                answer_type = "short_text"
            else:
                answer_type = "text"
            answers.append({"question_user_code": code, "answer_type": answer_type, "value": value})
        return answers

    def _sync_form(self, write: ObligationWrite, step_id: str) -> str | None:
        form_type = self.settings.form_types.get(write.kind)
        if form_type is None or not write.form:
            return write.form_id
        answers = {"answers": self.answers(write.form)}
        if write.form_id is not None:
            self.client.call("PATCH", f"/forms/{write.form_id}", json=answers)
            return write.form_id
        reference = self.form_reference(write.reference)
        body = {
            "workflow_step_id": mosaic_id(step_id, "workflow step"),
            "form_type_id": form_type,
            "external_reference": reference,
            **answers,
        }
        form_id, created = self._create_or_adopt("/forms", body, reference, "form_id", write.unsure)
        if not created:
            self.client.call("PATCH", f"/forms/{form_id}", json=answers)
        return form_id

    # --- reminders ------------------------------------------------------------------------------------------

    def send_reminder(self, write: ReminderWrite) -> str:
        # Mosaic offers no lookup of notifications, so a POST whose outcome is unknown is simply sent again:
        # the repeat is answered 409 on the same external_reference.
        answer = self.client.call(
            "POST",
            "/current-work/notifications",
            json={
                "worker_id": mosaic_id(write.worker_id, "worker"),
                "workflow_step_id": mosaic_id(write.platform_id, "workflow step"),
                "notification_date": write.show_on.isoformat(),
                "message": write.message,
                "external_reference": write.reference,
            },
        )
        value = answer.field("notification_id")
        if answer.status == 409:
            # The contract's 409 need not carry the id, and no lookup of notifications is offered: sent already,
            # it is delivered all the same, as one whose id is not known.
            return ID_NOT_GIVEN if value is None else str(value)
        # A 2xx without the id is garbage, not a confirmation: tried again, the repeat is answered 409.
        return self._id_from(value, "notification_id", write.reference)

    def withdraw_reminder(self, platform_id: str) -> None:
        # 404: already gone; 409: the worker has read it, so it stays as the record of what they were told.
        self.client.call(
            "DELETE",
            f"/current-work/notifications/{mosaic_id(platform_id, 'notification')}",
            allow=(404, 409),
        )

    # --- create or adopt ------------------------------------------------------------------------------------

    def _create_or_adopt(
        self, path: str, body: dict[str, Any], reference: str, id_name: str, unsure: bool = False
    ) -> tuple[str, bool]:
        """(id, True if this call created it). Bounded by the client's attempts; a create that may have been
        applied, in this call or (`unsure`) in an earlier one, is looked up before it is sent again."""
        for attempt in self.client.retrying():
            with attempt:
                if unsure:
                    existing = self._find(path, reference, id_name, retry=False)
                    if existing is not None:
                        return existing, False
                try:
                    answer = self.client.once("POST", path, json=body)
                    # An answer without the id says nothing of whether the create was applied.
                    return self._id_from(answer.field(id_name), id_name, reference), answer.status != 409
                except RetryableError:
                    unsure = True
                    raise
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _find(self, path: str, reference: str, id_name: str, retry: bool = True) -> str | None:
        """The id of the record holding `reference`, or None. retry=False inside a loop that already retries,
        so that attempts do not multiply."""
        params = {"external_reference": reference}
        answer = (self.client.call if retry else self.client.once)("GET", path, params=params)
        items = answer.field("items")
        if not isinstance(items, list):
            # A working Mosaic always sends the list: this is a fault in between (a proxy), worth a retry.
            raise RetryableError(f"Mosaic's answer to GET {path} has no items list")
        if not items:
            return None
        first = items[0]
        return self._id_from(first.get(id_name) if isinstance(first, dict) else None, id_name, reference)

    @staticmethod
    def _id_from(value: Any, id_name: str, reference: str) -> str:
        if value is None or isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            # Garbage where an answer should be is retried like a 5xx, never parked: the next try (or the
            # lookup an unsure create makes first) finds out what Mosaic holds.
            raise RetryableError(f"Mosaic's answer for {reference} has no {id_name}")
        return str(value)
