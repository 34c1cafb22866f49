"""/api/v1/unions/<id>/members and /applications: a union administrator's token or a partner's key reads the
members of a subtree (the member list's filters, a cursor page at a time) and decides membership applications,
with the same services, scope and audit as the union pages."""

from __future__ import annotations

from marshmallow import Schema, fields

from classroom.accounts.models import SKILL_LEVELS, WORKER_GROUPS
from classroom.api.door import run
from classroom.api.pagination import cursor_page
from classroom.api.reach import acting_person, admin_union, membership_in
from classroom.api.schemas import CursorArgs, instant, one_of, page_of, text
from classroom.api.spec import ApiBlueprint
from classroom.database import utcnow
from classroom.unions import memberships, queries
from classroom.unions.models import MembershipStatus

bp = ApiBlueprint("api_members", __name__, url_prefix="/api/v1/unions",
                  description="Union administration: the members of a subtree and membership applications.")
LISTED_STATUSES = [MembershipStatus.APPLIED.value, MembershipStatus.ACTIVE.value, MembershipStatus.LAPSED.value]


class MemberArgs(CursorArgs):
    q = text(50, metadata={"description": "Words of the name, mobile number or employer."})
    status = one_of(LISTED_STATUSES)
    trade = text(50)
    level = one_of([str(level) for level in SKILL_LEVELS], metadata={"description": "Skill level 5 … 1."})
    group = one_of(list(WORKER_GROUPS), metadata={"description": "Worker group (八大群体 …)."})


class MemberPersonSchema(Schema):
    id = fields.Integer(required=True)
    real_name = fields.String(required=True)
    mobile = fields.String(required=True, allow_none=True)
    employer = fields.String(required=True, allow_none=True)
    trade = fields.String(required=True, allow_none=True)
    skill_level = fields.Integer(required=True, allow_none=True)
    worker_group = fields.String(required=True, allow_none=True)


class MemberUnionSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class UnionMemberSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [status.value for status in MembershipStatus]})
    member_no = fields.String(required=True, allow_none=True)
    union = fields.Nested(MemberUnionSchema, required=True)
    person = fields.Nested(MemberPersonSchema, required=True, attribute="user")
    id_card = fields.String(required=True, allow_none=True, attribute="id_card_masked",
                            metadata={"description": "Masked (110************01X), when given at application."})
    applied_at = instant(required=True)
    started_at = instant(required=True, allow_none=True)
    decided_at = instant(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class RejectApplicationSchema(Schema):
    reason = text(500, required=True, metadata={"description": "Shown to the applicant."})


UnionMemberPageSchema = page_of(UnionMemberSchema, "UnionMemberPage")


@bp.route("/<int:union_id>/members")
@bp.auth(scope="members:read")
@bp.etag
@bp.arguments(MemberArgs, location="query")
@bp.response(200, UnionMemberPageSchema)
def members(args: dict, union_id: int):
    """The current memberships of the union's subtree, newest first, filtered as on the member list."""
    union = admin_union(union_id)
    filters = {name: args.get(name, "") for name in queries.FILTERS}
    page = cursor_page(queries.member_listing(union, **filters), queries.MEMBER_ORDER, _key,
                       limit=args["limit"], cursor=args.get("cursor"))
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/<int:union_id>/applications")
@bp.auth(scope="applications:write")
@bp.etag
@bp.arguments(CursorArgs, location="query")
@bp.response(200, UnionMemberPageSchema)
def applications(args: dict, union_id: int):
    """The applications waiting in the union's subtree, the longest waiting first."""
    union = admin_union(union_id)
    page = cursor_page(queries.pending_applications(union), queries.MEMBER_ORDER, _key, limit=args["limit"],
                       cursor=args.get("cursor"), descending=False)
    return {"items": page.items, "next_cursor": page.next_cursor}


@bp.route("/<int:union_id>/applications/<int:membership_id>/approve", methods=["POST"])
@bp.auth(scope="applications:write")
@bp.problems(409)
@bp.response(200, UnionMemberSchema)
def approve(union_id: int, membership_id: int):
    """Approve an application: the next member number of its union (409 when already decided)."""
    membership = membership_in(admin_union(union_id), membership_id)
    return run(lambda: memberships.approve_membership(membership, actor=acting_person(), now=utcnow()))


@bp.route("/<int:union_id>/applications/<int:membership_id>/reject", methods=["POST"])
@bp.auth(scope="applications:write")
@bp.problems(409, 422)
@bp.arguments(RejectApplicationSchema)
@bp.response(200, UnionMemberSchema)
def reject(data: dict, union_id: int, membership_id: int):
    """Turn an application down with a reason the applicant reads (409 when already decided)."""
    membership = membership_in(admin_union(union_id), membership_id)
    return run(lambda: memberships.reject_membership(membership, data["reason"], actor=acting_person(),
                                                     now=utcnow()))


def _key(membership) -> tuple:
    return membership.applied_at, membership.id
