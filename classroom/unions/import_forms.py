"""Member-import forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField

from classroom.forms import Form


class UploadForm(Form):
    file = FileField(_l("Member file (CSV or XLSX)"),
                     validators=[FileRequired(_l("Choose a file.")),
                                 FileAllowed(["csv", "xlsx"], _l("Upload a CSV or XLSX file."))],
                     description=_l("Columns: name, mobile, employer, trade, skill level, worker group, grassroots "
                                    "union (name or code). A first row with these headings (in Chinese or English) "
                                    "may come in any order."),
                     render_kw={"accept": ".csv,.xlsx"})
    send_sms = BooleanField(_l("Text each new person their invitation link"), default=True)


class ConfirmForm(Form):
    """A bare form: the CSRF token of the commit, retry and forget buttons."""
