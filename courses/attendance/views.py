"""Attendance: rosters, self check-in, badges, paper rosters."""

from flask import Blueprint

bp = Blueprint("attendance", __name__)
