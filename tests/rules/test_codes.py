"""The one list of codes: no code twice, and the domain's relationship enum spells the same codes."""

from __future__ import annotations

from rules import codes, model
from rules.events import Relationship


def test_each_list_names_each_code_once() -> None:
    for name in ("OBLIGATION_KINDS", "MOSAIC_STATUSES", "YOUTH_JUSTICE_DISPOSALS", "RELATIONSHIPS"):
        values: tuple[str, ...] = getattr(codes, name)
        assert len(set(values)) == len(values), name
    for values in (codes.JOB_ROLES, codes.EMPLOYMENT_TYPES, codes.SESSION_KINDS, codes.WORKER_FLAGS):
        assert len(set(values)) == len(values)
    assert set(codes.MOSAIC_STATUSES) | set(codes.YOUTH_JUSTICE_DISPOSALS) == codes.CASE_STATUSES


def test_relationships_are_the_domains_and_the_models_names_still_work() -> None:
    assert tuple(r.value for r in Relationship) == codes.RELATIONSHIPS
    assert set(codes.RELATIONSHIPS) > codes.KEYWORKER_RELATIONSHIPS
    assert model.OBLIGATION_KINDS is codes.OBLIGATION_KINDS


def test_both_platforms_schemas_take_their_choices_from_the_one_list() -> None:
    from marshmallow import validate

    from adapters.childview import events as childview
    from adapters.mosaic import events as mosaic
    from rules import codes

    def choices(schema: type, name: str) -> tuple[str, ...]:
        [one_of] = [v for v in schema().fields[name].validators if isinstance(v, validate.OneOf)]
        return tuple(one_of.choices)

    assert choices(mosaic.CaseStatusChangedSchema, "status") == codes.MOSAIC_STATUSES
    assert choices(childview.CaseStatusChangedSchema, "disposal") == codes.YOUTH_JUSTICE_DISPOSALS
    assert choices(mosaic.WorkerLeaveSchema, "reason") == codes.LEAVE_REASONS
    assert choices(childview.StaffLeaveSchema, "reason") == codes.LEAVE_REASONS
    assert choices(mosaic.WorkerUpdatedSchema, "job_role") == codes.JOB_ROLES
    assert choices(childview.OversightRecordedSchema, "kind") == codes.SESSION_KINDS
