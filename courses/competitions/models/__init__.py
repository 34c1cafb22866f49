"""Labour and skills competitions (劳动和技能竞赛): the competition and its notice, stages and events
(赛项), entries with their team members, quota rows per nominating union, scores, followers and the
skill-level promotions that awards earn. One module per aggregate; import them from here."""

from courses.competitions.models.competition import (
    COMPETITION_STATUS_LABELS,
    LEVEL_LABELS,
    STAGE_KIND_LABELS,
    Competition,
    CompetitionAttachment,
    CompetitionFollow,
    CompetitionLevel,
    CompetitionStatus,
    Stage,
    StageKind,
)
from courses.competitions.models.entry import (
    ENTRY_STATUS_LABELS,
    LIVE_STATUSES,
    WAITING_STATUSES,
    Entry,
    EntryMember,
    EntryStatus,
    MemberStatus,
)
from courses.competitions.models.event import AWARD_LABELS, AWARDS, CompetitionEvent, Quota
from courses.competitions.models.score import (
    PROMOTION_STATUS_LABELS,
    PromotionRecord,
    PromotionStatus,
    Score,
)

__all__ = [
    "AWARDS", "AWARD_LABELS", "COMPETITION_STATUS_LABELS", "ENTRY_STATUS_LABELS", "LEVEL_LABELS", "LIVE_STATUSES",
    "PROMOTION_STATUS_LABELS", "STAGE_KIND_LABELS", "WAITING_STATUSES", "Competition", "CompetitionAttachment",
    "CompetitionEvent", "CompetitionFollow", "CompetitionLevel", "CompetitionStatus", "Entry", "EntryMember",
    "EntryStatus", "MemberStatus", "PromotionRecord", "PromotionStatus", "Quota", "Score", "Stage", "StageKind",
]
