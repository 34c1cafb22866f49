"""Labour and skills competitions: notices, sign-up, approvals, results."""

from flask import Blueprint

bp = Blueprint("competitions", __name__)
