"""Member import (CSV/XLSX) for union admins."""

from flask import Blueprint

bp = Blueprint("member_import", __name__)
