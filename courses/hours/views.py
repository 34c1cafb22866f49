"""Training hours: transcripts and union reports."""

from flask import Blueprint

bp = Blueprint("hours", __name__)
