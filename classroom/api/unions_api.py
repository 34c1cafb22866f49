"""/api/v1/unions: a node of the union tree, for a key of its subtree or an administrator of it."""

from __future__ import annotations

from marshmallow import Schema, fields

from classroom.api.door import reachable_union
from classroom.api.spec import ApiBlueprint
from classroom.unions.models import UnionKind

bp = ApiBlueprint("api_unions", __name__, url_prefix="/api/v1/unions", description="Nodes of the union tree.")


class UnionSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    code = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True, metadata={"enum": [kind.value for kind in UnionKind]})
    parent_id = fields.Integer(required=True, allow_none=True)
    employer = fields.String(required=True, allow_none=True)


@bp.route("/<int:union_id>")
@bp.auth()
@bp.etag
@bp.response(200, UnionSchema)
def show(union_id: int):
    """A union in the caller's reach (a key's subtree, or a union the person administers); else 404."""
    return reachable_union(union_id)
