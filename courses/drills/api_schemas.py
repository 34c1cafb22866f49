"""The drills' JSON shapes: banks, practice questions and their results, the mistake book, mock exams,
papers and the rankings. Options are shown by position from 1 (A = 1); a blank's answer is one text per
blank. A paper never carries the right answers while it is open."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from classroom.api.schemas import CursorArgs, instant, one_of, query_number
from classroom.forms import MAX_INT
from courses.drills.content import MAX_OPTIONS
from courses.drills.models import KINDS
from courses.drills.practice import MODES
from courses.drills.rankings import PERIODS

KIND = {"enum": list(KINDS)}
MAX_BLANKS = 10
PRACTICE_MODES = tuple(mode for mode in MODES if mode != "daily")  # today's set has its own resource: /daily


class DrillBankSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    trade = fields.String(required=True, allow_none=True)
    skill_level = fields.Integer(required=True, allow_none=True, metadata={"description": "5 初级工 … 1 高级技师."})
    union_id = fields.Integer(required=True, metadata={"description": "The union that owns the bank."})
    suggested = fields.Boolean(required=True, metadata={"description": "The bank is of the worker's trade."})


class DrillOptionSchema(Schema):
    position = fields.Integer(required=True, metadata={"description": "From 1 (A)."})
    text = fields.String(required=True)


class DrillImageSchema(Schema):
    url = fields.String(required=True, metadata={
        "description": "The picture (a path under the API): GET it with the same token; 404 for anyone else."})
    alt = fields.String(required=True, metadata={"description": "Its text alternative, for screen readers."})


IMAGE = {"description": "The stem's picture, if it has one."}


class DrillQuestionSchema(Schema):
    id = fields.Integer(required=True, attribute="question_id")
    version_id = fields.Integer(required=True, metadata={"description": "Send it back with the answer."})
    code = fields.String(required=True)
    kind = fields.String(required=True, metadata=KIND)
    text = fields.String(required=True)
    options = fields.List(fields.Nested(DrillOptionSchema), required=True, metadata={
        "description": "Empty for fill-in-the-blank questions."})
    blanks = fields.Integer(required=True, metadata={"description": "How many blanks to fill (0 for choices)."})
    difficulty = fields.Integer(required=True, metadata={"description": "1 easy, 2 medium, 3 hard."})
    tags = fields.List(fields.String(), required=True, metadata={"description": "Knowledge points."})
    favourite = fields.Boolean(required=True)
    image = fields.Nested(DrillImageSchema, required=True, allow_none=True, metadata=IMAGE)


class DrillNextArgs(Schema):
    mode = one_of(PRACTICE_MODES, load_default="sequential", metadata={
        "description": "Which questions come next (today's daily set: GET /api/v1/drill-banks/{bank_id}/daily)."})
    after = query_number(1, MAX_INT, metadata={"description": "The question just answered (to move on from it)."})


class DrillNextQuestionSchema(Schema):
    mode = fields.String(required=True, metadata={"enum": list(PRACTICE_MODES)})
    question = fields.Nested(DrillQuestionSchema, required=True, allow_none=True, metadata={
        "description": "Null when the mode has nothing to show (an empty mistake book …)."})


class DrillGivenSchema(Schema):
    """An answer: the positions chosen, or one text per blank."""

    choices = fields.List(fields.Integer(strict=True, validate=validate.Range(
        min=1, max=MAX_OPTIONS, error=_l("Choose an option from 1 to {max}."))), load_default=list,
        validate=validate.Length(max=MAX_OPTIONS, error=_l("At most {max} options.")))
    blanks = fields.List(fields.String(validate=validate.Length(max=200, error=_l("Use at most {max} characters."))),
                         load_default=list, validate=validate.Length(max=MAX_BLANKS, error=_l("At most {max} blanks.")))


class DrillPracticeAnswerSchema(DrillGivenSchema):
    version_id = fields.Integer(required=True, strict=True, validate=validate.Range(
        min=1, max=MAX_INT, error=_l("Enter a number from {min} to {max}.")), metadata={
        "description": "The version_id of the question shown."})


class DrillCorrectSchema(Schema):
    choices = fields.List(fields.Integer(), required=True, metadata={"description": "The right positions."})
    blanks = fields.List(fields.List(fields.String()), required=True, metadata={
        "description": "Per blank, the texts accepted."})


class DrillPracticeResultSchema(Schema):
    id = fields.Integer(required=True)
    question_id = fields.Integer(required=True)
    version_id = fields.Integer(required=True)
    right = fields.Boolean(required=True)
    correct = fields.Nested(DrillCorrectSchema, required=True)
    explanation = fields.String(required=True)
    in_mistake_book = fields.Boolean(required=True)
    answered_at = instant(required=True)


class DrillMistakeSchema(Schema):
    question_id = fields.Integer(required=True)
    version_id = fields.Integer(required=True)
    code = fields.String(required=True)
    kind = fields.String(required=True, metadata=KIND)
    text = fields.String(required=True)
    wrong_count = fields.Integer(required=True)
    added_at = instant(required=True)
    right_on = fields.Date(required=True, allow_none=True, metadata={
        "description": "The day of the first right answer since; a right answer on another day lets it go."})


class DrillFavouriteSchema(Schema):
    question_id = fields.Integer(required=True)
    favourite = fields.Boolean(required=True)


class DrillRankingArgs(CursorArgs):
    days = fields.Integer(load_default=30, validate=validate.OneOf(
        list(PERIODS), error=_l("Choose one of: {choices}.")), metadata={"description": "The period, in days."})


class DrillUnionRankSchema(Schema):
    rank = fields.Integer(required=True)
    union_id = fields.Integer(required=True)
    union_name = fields.String(required=True)
    members = fields.Integer(required=True)
    practised = fields.Integer(required=True, metadata={"description": "Members who practised in the period."})
    rate = fields.Integer(required=True, metadata={"description": "practised ÷ members, per cent."})
    average_score = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The members' average mock-exam score in the period, per cent."})


class DrillStreakSchema(Schema):
    days = fields.Integer(required=True, metadata={
        "description": "Days in a row with the day's set done, up to today (or yesterday while today's is open)."})
    done_today = fields.Boolean(required=True)


class DrillDailyQuestionSchema(DrillQuestionSchema):
    answered = fields.Boolean(required=True, metadata={"description": "Answered today (right or wrong)."})


class DrillDailySchema(Schema):
    """每日一练: the worker's questions of today in a bank, drawn for them alone and kept for the day."""

    bank_id = fields.Integer(required=True)
    day = fields.Date(required=True, metadata={"description": "Today, in the worker's timezone."})
    plan = fields.Boolean(required=True, metadata={
        "description": "Daily practice is on for this bank (PUT or DELETE daily/plan). Its evening reminder is "
                       "the notification kind drills.daily: /api/v1/me/notification-preferences."})
    size = fields.Integer(required=True, metadata={"description": "The bank's questions a day."})
    streak = fields.Nested(DrillStreakSchema, required=True, allow_none=True, metadata={
        "description": "Null while daily practice is off."})
    started = fields.Boolean(required=True, metadata={"description": "Today's set is drawn (POST daily draws it)."})
    questions = fields.List(fields.Nested(DrillDailyQuestionSchema), required=True, metadata={
        "description": "Today's set in its order; empty until it is drawn."})
    answered = fields.Integer(required=True, metadata={"description": "Questions of today's set answered."})
    done = fields.Boolean(required=True, metadata={"description": "Every question of today's set is answered."})


class DrillDailyResultSchema(DrillPracticeResultSchema):
    daily = fields.Nested(DrillDailySchema, required=True, metadata={"description": "Today's set after the answer."})


class DrillPaperRankSchema(Schema):
    rank = fields.Integer(required=True)
    name = fields.String(required=True, metadata={
        "description": "Masked (张*明) unless it is the caller's own or of a union the caller administers."})
    score = fields.Integer(required=True, metadata={"description": "The person's best paper, per cent."})
    seconds = fields.Integer(required=True, metadata={"description": "The time that paper took."})


class DrillExamUnionRankSchema(Schema):
    rank = fields.Integer(required=True)
    union_id = fields.Integer(required=True)
    union_name = fields.String(required=True)
    members = fields.Integer(required=True, metadata={
        "description": "A round: the confirmed entries the union nominated; a mock exam: its active members."})
    sat = fields.Integer(required=True, metadata={"description": "Of those, who sat (a scored paper)."})
    rate = fields.Integer(required=True, metadata={"description": "sat ÷ members, per cent."})
    average_score = fields.Integer(required=True, allow_none=True, metadata={
        "description": "Their average score, per cent."})


class DrillExamRankingsSchema(Schema):
    exam_id = fields.Integer(required=True)
    counted = fields.String(required=True, metadata={"enum": ["entries", "members"], "description": (
        "What a union's members and sat count: a round's entries, or a mock exam's members.")})
    people = fields.List(fields.Nested(DrillPaperRankSchema), required=True, metadata={
        "description": "The best 50 people: by best score, then the shorter time."})
    unions = fields.List(fields.Nested(DrillExamUnionRankSchema), required=True, metadata={
        "description": "By participation (rate), then average score."})


class DrillRoundSchema(Schema):
    stage_id = fields.Integer(required=True)
    starts_at = instant(required=True)
    ends_at = instant(required=True)


class DrillExamSchema(Schema):
    id = fields.Integer(required=True)
    bank_id = fields.Integer(required=True)
    title = fields.String(required=True)
    minutes = fields.Integer(required=True)
    pass_score = fields.Integer(required=True, metadata={"description": "Per cent."})
    questions = fields.Integer(required=True)
    round = fields.Nested(DrillRoundSchema, required=True, allow_none=True, metadata={
        "description": "A competition's online theory round: its window."})
    current_attempt_id = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The worker's open paper, if any (one at a time)."})
    best_score = fields.Integer(required=True, allow_none=True)


class DrillSavedSchema(Schema):
    choices = fields.List(fields.Integer(), required=True)
    blanks = fields.List(fields.String(), required=True)


class DrillPaperQuestionSchema(Schema):
    number = fields.Integer(required=True, metadata={"description": "From 1: save its answer at answers/{number}."})
    kind = fields.String(required=True, metadata=KIND)
    text = fields.String(required=True)
    options = fields.List(fields.Nested(DrillOptionSchema), required=True)
    blanks = fields.Integer(required=True)
    image = fields.Nested(DrillImageSchema, required=True, allow_none=True, metadata=IMAGE)
    points = fields.Integer(required=True)
    saved = fields.Nested(DrillSavedSchema, required=True)
    right = fields.Boolean(required=True, allow_none=True, metadata={"description": "Once submitted."})
    correct = fields.Nested(DrillCorrectSchema, required=True, allow_none=True,
                            metadata={"description": "Once submitted."})
    explanation = fields.String(required=True, allow_none=True, metadata={"description": "Once submitted."})


class DrillAttemptSchema(Schema):
    id = fields.Integer(required=True)
    exam_id = fields.Integer(required=True)
    started_at = instant(required=True)
    deadline_at = instant(required=True)
    seconds_left = fields.Integer(required=True, metadata={"description": "On the server's clock; 0 when over."})
    submitted_at = instant(required=True, allow_none=True)
    auto_submitted = fields.Boolean(required=True, metadata={"description": "Submitted at the deadline."})
    score = fields.Integer(required=True, allow_none=True, metadata={"description": "Per cent, once submitted."})
    passed = fields.Boolean(required=True, allow_none=True)
    questions = fields.List(fields.Nested(DrillPaperQuestionSchema), required=True)


class DrillSavedAnswerSchema(DrillSavedSchema):
    number = fields.Integer(required=True)
    saved_at = instant(required=True)
