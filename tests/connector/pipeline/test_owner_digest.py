"""The digest of an owner's desired obligations: the same for the same obligations in any order, different when
anything their ledger rows or texts are written from differs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from connector.pipeline.owner_digest import desired_digest
from rules.explain import Later, PackWording
from rules.model import Basis, Obligation, Reason, Wording, Written
from rules.pack import load_pack

PACK = load_pack("lincolnshire")


@dataclass(frozen=True)
class Carried(Later):
    text: str

    def write(self) -> str:
        return self.text


class Spoken(Wording):
    """A wording of a kind the digest does not know: digested by its texts."""

    def __init__(self, text: str) -> None:
        self.text = text

    def explanation(self, obligation: Obligation) -> str:
        return self.text

    def form(self, obligation: Obligation) -> tuple[tuple[str, str], ...]:
        return ()


def obligation(cycle: int = 1, wording: Wording | None = None, **changes: object) -> Obligation:
    made = Obligation(
        kind="case_supervision",
        scope="100234",
        holder="5521",
        cycle=cycle,
        assignee_id="5521",
        case_id="100234",
        team_id="310",
        due_date=date(2026, 12, 1),
        reasons=(Reason("LINC-CS-CP", "5.1.2", "every four weeks"),),
        counted_from=Basis("allocation", date(2026, 11, 3)),
        wording=wording
        or PackWording(PACK, "Case supervision", (), (("previous_actions", Carried("none")),)),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def test_the_same_obligations_in_any_order_have_the_same_digest() -> None:
    first, second = obligation(1), obligation(2)
    assert desired_digest([first, second]) == desired_digest([second, first])
    assert desired_digest([]) == desired_digest([])
    assert desired_digest([first]) != desired_digest([first, second])


def test_every_field_a_row_or_its_texts_are_written_from_changes_the_digest() -> None:
    base = desired_digest([obligation()])
    changed = [
        obligation(due_date=date(2026, 12, 2)),
        obligation(assignee_id="5522"),
        obligation(team_id=None),
        obligation(supervisor_id="6001"),
        obligation(counted_from=Basis("allocation", date(2026, 11, 4))),
        obligation(reasons=(Reason("LINC-CS-CP", "5.1.2", "every 28 days"),)),
        obligation(
            wording=PackWording(PACK, "Case supervision", ("more",), (("previous_actions", Carried("none")),))
        ),
        obligation(
            wording=PackWording(PACK, "Case supervision", (), (("previous_actions", Carried("1 action")),))
        ),
        obligation(
            wording=PackWording(
                replace(PACK, vocabulary={"case": "casework"}),
                "Case supervision",
                (),
                (("previous_actions", Carried("none")),),
            )
        ),
        obligation(wording=Written("Case supervision is due")),
    ]
    digests = [desired_digest([o]) for o in changed]
    assert base not in digests
    assert len(set(digests)) == len(digests)


def test_a_wording_of_another_kind_is_digested_by_its_texts() -> None:
    assert desired_digest([obligation(wording=Spoken("a"))]) == desired_digest(
        [obligation(wording=Spoken("a"))]
    )
    assert desired_digest([obligation(wording=Spoken("a"))]) != desired_digest(
        [obligation(wording=Spoken("b"))]
    )
