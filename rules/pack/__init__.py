"""Rule packs: one TOML file per council, each rule with its id, policy paragraph, scope, schedule and words.

`reader` holds the checks a pack is read with, `applies_to` who a rule applies to, `model` the loaded pack and
its rules, `load` finding and reading a pack file; each schedule type is a module of `rules.schedules`. The
names are gathered here so `from rules.pack import ...` is the one import callers need.
"""

from rules.kinds import ASSIGNEES, COUNTING_SESSIONS, DEFAULT_ASSIGNEE, FORM_FIELDS, LEVELS
from rules.pack.applies_to import AppliesTo
from rules.pack.load import PACKS_DIR, PRECEDENCE, load_pack, pack_path, shipped_pack_names, with_assignees
from rules.pack.model import Rule, RulePack
from rules.pack.reader import PackError
from rules.schedules.after_session import AfterSession
from rules.schedules.assignment import Assignment
from rules.schedules.base import Schedule
from rules.schedules.before_booking import BeforeBooking
from rules.schedules.booked_ahead import BookedAhead
from rules.schedules.calendar_month import CalendarMonth
from rules.schedules.form_content import FormContent
from rules.schedules.interval import Interval
from rules.schedules.once_after import OnceAfter
from rules.schedules.phased import Phase, Phased
from rules.schedules.registry import SCHEDULES
from rules.schedules.shifts import Shifts
from rules.schedules.with_personal_supervision import WithPersonalSupervision
from rules.schedules.yearly_count import YearlyCount

__all__ = [
    "ASSIGNEES",
    "COUNTING_SESSIONS",
    "DEFAULT_ASSIGNEE",
    "FORM_FIELDS",
    "LEVELS",
    "PACKS_DIR",
    "PRECEDENCE",
    "SCHEDULES",
    "AfterSession",
    "AppliesTo",
    "Assignment",
    "BeforeBooking",
    "BookedAhead",
    "CalendarMonth",
    "FormContent",
    "Interval",
    "OnceAfter",
    "PackError",
    "Phase",
    "Phased",
    "Rule",
    "RulePack",
    "Schedule",
    "Shifts",
    "WithPersonalSupervision",
    "YearlyCount",
    "load_pack",
    "pack_path",
    "shipped_pack_names",
    "with_assignees",
]
