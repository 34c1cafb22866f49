"""/api/v1/ping: the API's bare answer (no credentials, no database), for load balancers and for measuring
what the API's own machinery costs (benchmarks/api.py compares /api/v1/courses with it)."""

from __future__ import annotations

from marshmallow import Schema, fields

from classroom.api.spec import ApiBlueprint

bp = ApiBlueprint("api_ping", __name__, url_prefix="/api/v1/ping", description="Is the API up?")


class PingSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})


@bp.route("")
@bp.response(200, PingSchema)
def ping():
    """Answers {"status": "ok"} without touching the database (no credentials needed)."""
    return {"status": "ok"}
