"""The one list of the codes the connector knows, in the contract's order (contract/webhooks.md).

The rule packs are checked against these, and the platforms' schemas accept these, so a code a schema takes is
one a pack may name and the other way round. Tuples keep the contract's order for messages; the frozensets are
for membership.
"""

from __future__ import annotations

OBLIGATION_KINDS = (
    "case_supervision",
    "personal_supervision",
    "group_supervision",
    "supervision_agreement",
    "practice_observation",
    "team_brief",
    "fsm_group_supervision",
    "supervision_record",
    "dip_sample",
    "agenda",
    "supervision_booking",
)

# Mosaic's case statuses, then Childview's youth justice disposals (a Youth Offending Service case).
MOSAIC_STATUSES = ("CIN", "CP", "LAC", "CFP", "TAC", "CARE_EXPERIENCED", "EARLY_HELP")
YOUTH_JUSTICE_DISPOSALS = (
    "PREVENTION",
    "OUT_OF_COURT",
    "REFERRAL_ORDER",
    "YRO",
    "DTO_CUSTODY",
    "DTO_COMMUNITY",
    "BAIL_REMAND",
)
CASE_STATUSES = frozenset(MOSAIC_STATUSES + YOUTH_JUSTICE_DISPOSALS)

# Why a worker is away (`worker.leave`, `staff.leave`): the leave-gap note names only this code.
LEAVE_REASONS = ("annual", "sickness", "other")

# How a worker is attached to a case: allocated worker, lead professional, involved worker. The first two are
# keyworkers, whose clock is the child's (rule 8).
RELATIONSHIPS = ("ALLWKR", "LEADPROF", "INVWKR")
KEYWORKER_RELATIONSHIPS = frozenset({"ALLWKR", "LEADPROF"})

JOB_ROLES = (
    "SOCIAL_WORKER",
    "SENIOR_PRACTITIONER",
    "PRACTICE_SUPERVISOR",
    "TEAM_MANAGER",
    "HEAD_OF_SERVICE",
    "FAMILY_SUPPORT_WORKER",
    "RESIDENTIAL_CARE_WORKER",
    "OCCUPATIONAL_THERAPIST",
    "BUSINESS_SUPPORT",
    "ADMINISTRATOR",
)
EMPLOYMENT_TYPES = ("permanent", "temporary", "agency", "relief")

# The kinds of session a platform records as held.
SESSION_KINDS = (
    "case",
    "personal",
    "group",
    "fsm_group",
    "team_brief",
    "ad_hoc",
    "allocation_discussion",
    "ten_twenty_day_discussion",
    "practice_observation",
    "agreement",
    "dip_sample",
)

# The yes/no facts about a worker that a rule may ask for.
WORKER_FLAGS = ("case_holding", "supervises_case_holders", "frontline", "asye")
