"""An obligation from its settled due date: its reasons, and what its explanation sentence and form are made of."""

from __future__ import annotations

from collections.abc import Sequence

from rules.engine.settle import Due
from rules.explain import Later, PackWording, reasons_of
from rules.model import Obligation
from rules.pack import RulePack


def obligation(
    pack: RulePack,
    kind: str,
    *,
    scope: str,
    holder: str,
    cycle: int,
    assignee: str,
    team_id: str | None,
    settled: Due,
    what: str,
    case_id: str | None = None,
    form: Sequence[tuple[str, str | Later]] = (),
    more: Sequence[str] = (),
    supervisor_id: str | None = None,
) -> Obligation:
    reasons = reasons_of(pack, settled.rules)
    return Obligation(
        kind=kind,
        scope=scope,
        holder=holder,
        cycle=cycle,
        assignee_id=assignee,
        case_id=case_id,
        team_id=team_id,
        due_date=settled.due,
        reasons=reasons,
        counted_from=settled.basis,
        wording=PackWording(pack, what, tuple(more), tuple(form)),
        supervisor_id=supervisor_id,
    )
