"""The worker's memberships and 网上申请入会 (applying to a grassroots union online), as /me and
/me/membership/apply serve them: the same rules, the ID card number only with its consent."""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields
from sqlalchemy import select

from classroom.api.door import idempotent, owned, run
from classroom.api.pagination import cursor_page
from classroom.api.principal import current_person
from classroom.api.schemas import CursorArgs, instant, page_of, text, whole_number
from classroom.api.spec import ApiBlueprint
from classroom.database import begin_write, utcnow
from classroom.extensions import db
from classroom.forms import MAX_INT
from classroom.unions.memberships import apply_for_membership
from classroom.unions.models import Membership, MembershipStatus, TradeUnion
from classroom.unions.union_search import union_label

bp = ApiBlueprint("api_memberships", __name__, url_prefix="/api/v1/me",
                  description="The worker's union memberships and applications to join a union (网上申请入会).")


class MembershipUnionSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    label = fields.Function(union_label, required=True, metadata={"description": "The name and the union above."})


class MembershipSchema(Schema):
    id = fields.Integer(required=True)
    union = fields.Nested(MembershipUnionSchema, required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in MembershipStatus]})
    member_no = fields.String(required=True, allow_none=True)
    applied_at = instant(required=True)
    decided_at = instant(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True, metadata={"description": "Why it was not approved, or "
                                                                                    "why it lapsed."})
    started_at = instant(required=True, allow_none=True)
    ended_at = instant(required=True, allow_none=True)
    id_card_masked = fields.String(required=True, allow_none=True)


class ApplicationSchema(Schema):
    union_id = whole_number(1, MAX_INT, required=True, metadata={"description": "A grassroots union (see "
                                                                             "GET /api/v1/auth/unions)."})
    id_card = text(30, load_default=None, allow_none=True, metadata={"description": "Optional; stored encrypted."})
    id_card_consent = fields.Boolean(load_default=False, metadata={
        "description": "Needed with an ID card number: the union may store it for member records."})


@bp.route("/memberships")
@bp.auth(person=True)
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, page_of(MembershipSchema, "MembershipPage"))
def memberships(args: dict):
    """The worker's memberships and applications, the newest application first."""
    statement = select(Membership).where(Membership.user_id == current_person().id)
    page = cursor_page(statement, (Membership.applied_at, Membership.id), lambda row: (row.applied_at, row.id),
                       limit=args["limit"], cursor=args.get("cursor"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/memberships/<int:membership_id>")
@bp.auth(person=True)
@bp.etag
@bp.response(200, MembershipSchema)
def membership(membership_id: int):
    """One of the worker's memberships (another person's is a 404)."""
    return owned(Membership, membership_id, user_id=current_person().id)


@bp.route("/membership-application", methods=["POST"])
@bp.auth(person=True)
@idempotent
@bp.arguments(ApplicationSchema)
@bp.response(201, MembershipSchema)
def apply(data: dict):
    """Apply to join a grassroots union (a transfer when already a member elsewhere); one application waits at a
    time. Idempotency-Key: a repeat gets the first answer."""
    person = current_person()
    consent = current_app.config["PRIVACY_NOTICE_VERSION"] if data["id_card_consent"] else None

    def application() -> Membership:
        begin_write(db.session)
        return apply_for_membership(person, db.session.get(TradeUnion, data["union_id"]),
                                    id_card=data["id_card"] or None, consent_version=consent, now=utcnow())

    return run(application)
