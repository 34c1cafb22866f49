"""Personal-data rights: consents, data download, closing the account."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)
