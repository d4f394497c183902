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
