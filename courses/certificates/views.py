"""Certificates: the holder's and admins' pages, public verification."""

from flask import Blueprint

bp = Blueprint("certificates", __name__)
