"""What each obligation kind is: its level, the sessions that meet it, who may be assigned it, its form fields.

Beside `codes` rather than inside `rules.pack` because the schedules need it too, and a schedule module must
import without loading the pack package (which loads every schedule through the registry).
"""

from __future__ import annotations

# Which subject an obligation kind belongs to: the engine evaluates it with that subject's facts.
LEVELS: dict[str, str] = {
    "case_supervision": "case",
    "fsm_group_supervision": "case",
    "supervision_record": "case",
    "personal_supervision": "worker",
    "supervision_agreement": "worker",
    "practice_observation": "worker",
    "agenda": "worker",
    "dip_sample": "worker",
    "supervision_booking": "worker",
    "group_supervision": "team",
    "team_brief": "team",
}
# The recorded session kinds that meet an obligation of each kind (case supervision: the pack says, rule 6).
COUNTING_SESSIONS: dict[str, frozenset[str]] = {
    "personal_supervision": frozenset({"personal"}),
    "group_supervision": frozenset({"group"}),
    "team_brief": frozenset({"team_brief"}),
    "fsm_group_supervision": frozenset({"fsm_group"}),
    "supervision_agreement": frozenset({"agreement"}),
    "practice_observation": frozenset({"practice_observation"}),
    "dip_sample": frozenset({"dip_sample"}),
}
ASSIGNEES: dict[str, tuple[str, ...]] = {
    "case": ("worker", "supervisor"),
    "worker": ("worker", "supervisor"),
    "team": ("team_manager",),
}
DEFAULT_ASSIGNEE = {
    "supervision_record": "supervisor",
    "dip_sample": "supervisor",
    "practice_observation": "supervisor",
    "group_supervision": "team_manager",
    "team_brief": "team_manager",
}
# Form fields a form_content rule may fill, and the obligation kinds whose form has them. A personal supervision
# form never carries a case's actions (Lincolnshire §4.5: no child is named in personal supervision notes).
FORM_FIELDS: dict[str, frozenset[str]] = {
    "previous_actions": frozenset({"case_supervision"}),
    "wellbeing": frozenset({"personal_supervision"}),
    "leave_gap": frozenset({"personal_supervision"}),
    # Bracknell 5 Std (t): the children the worker holds, each needing its case management record. A pack that
    # forbids naming a child in personal supervision (Lincolnshire 4.5) simply has no rule for it.
    "children_to_cover": frozenset({"personal_supervision"}),
}
# The kinds a plain clock (interval, calendar month) can time.
CLOCKED = frozenset(
    {"case_supervision", "fsm_group_supervision", "personal_supervision", "group_supervision", "team_brief"}
)
