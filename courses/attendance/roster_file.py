"""Paper rosters in (CSV/XLSX of mobile and status) and rosters out (CSV/XLSX)."""

from __future__ import annotations

from flask_babel import gettext as _

from classroom import uploads
from classroom.accounts.models import User
from classroom.personal_data import mask_mobile, normalize_mobile
from classroom.spreadsheets import read_sheet
from classroom.timefmt import platform_zone
from classroom.unions.scope import shown_mobiles
from courses.attendance.models import ATTENDANCE_LABELS, AttendanceStatus
from courses.attendance.services import roster_rows
from courses.catalog.models import ClassSession

# What people write on paper, in both languages.
STATUS_WORDS = {
    "present": AttendanceStatus.PRESENT, "出勤": AttendanceStatus.PRESENT, "到": AttendanceStatus.PRESENT,
    "已到": AttendanceStatus.PRESENT, "late": AttendanceStatus.LATE, "迟到": AttendanceStatus.LATE,
    "absent": AttendanceStatus.ABSENT, "缺勤": AttendanceStatus.ABSENT, "未到": AttendanceStatus.ABSENT,
    "excused": AttendanceStatus.EXCUSED, "请假": AttendanceStatus.EXCUSED,
}
MAX_ROWS = 5000
ROW_SLACK = 20  # blank or header rows, a few names written twice


def _rows(filename: str, data: bytes) -> list[list[str]]:
    """The file's rows as text, read within the upload limits (at most MAX_ROWS rows)."""
    fmt = "xlsx" if filename.lower().endswith(".xlsx") else "csv"
    return [["" if cell is None else str(cell) for cell in row]
            for row in read_sheet(data, fmt, uploads.limits(rows=MAX_ROWS), active=True)]


def parse_roster_file(session: ClassSession, filename: str, data: bytes, *,
                      viewer) -> tuple[dict[int, str], list[str]]:
    """({user id: status}, row errors). Nothing is recorded unless every row is right. A viewer who
    sees the roster's mobiles masked reads them masked in the errors too, and a file may hold at
    most ROW_SLACK rows more than the roster has people: an upload is no way to try out numbers."""
    try:
        rows = _rows(filename or "", data)
    except uploads.LimitExceeded as error:
        return {}, [str(error)]
    except Exception:  # noqa: BLE001 - any unreadable file is one clear error
        return {}, [_("The file could not be read: use CSV (UTF-8 or GB18030) or XLSX.")]
    if rows and rows[0] and not any(ch.isdigit() for ch in rows[0][0]):
        rows = rows[1:]  # a header row
    roster = [user for user, _row in roster_rows(session)]
    if len(rows) > min(MAX_ROWS, len(roster) + ROW_SLACK):
        return {}, [_("This file has %(rows)d rows, more than the %(people)d people on the roster.", rows=len(rows),
                      people=len(roster))]
    return _Reader(roster, viewer).read(rows)


class _Reader:
    """Rows of (mobile, status word) matched to the roster's people, with an error per wrong row."""

    def __init__(self, roster: list[User], viewer) -> None:
        self.people = {user.mobile: user.id for user in roster if user.mobile}
        shown = shown_mobiles(viewer, roster)
        self.in_full = all(shown[user.id] == (user.mobile or "") for user in roster)
        # An instructor's roster shows mobiles masked (138****1234): a masked one naming one person counts.
        self.masked: dict[str, list[str]] = {}
        for full in self.people:
            self.masked.setdefault(mask_mobile(full), []).append(full)

    def said(self, mobile: str) -> str:
        """A number as the errors may repeat it to this viewer."""
        return mobile if self.in_full or "*" in mobile else mask_mobile(mobile)

    def read(self, rows: list[list[str]]) -> tuple[dict[int, str], list[str]]:
        statuses: dict[int, str] = {}
        errors: list[str] = []
        seen: set[str] = set()
        for number, row in enumerate(rows, start=1):
            mobile = normalize_mobile(row[0] if row else "")
            word = (row[1] if len(row) > 1 else "").strip().lower()
            if not mobile and not word:
                continue
            if "*" in mobile and len(self.masked.get(mobile, ())) > 1:
                errors.append(_("Row %(row)d: %(mobile)s fits more than one person here: write the whole number.",
                                row=number, mobile=self.said(mobile)))
                continue
            mobile = self.masked[mobile][0] if "*" in mobile and mobile in self.masked else mobile
            error = self.row_error(number, mobile, word, seen)
            if error:
                errors.append(error)
            else:
                statuses[self.people[mobile]] = STATUS_WORDS[word]
            seen.add(mobile)
        return statuses, errors

    def row_error(self, number: int, mobile: str, word: str, seen: set[str]) -> str | None:
        if mobile not in self.people:
            return _("Row %(row)d: %(mobile)s is not enrolled in this course.", row=number, mobile=self.said(mobile))
        if word not in STATUS_WORDS:
            return _("Row %(row)d: unknown status “%(status)s”.", row=number, status=word)
        if mobile in seen:
            return _("Row %(row)d: %(mobile)s appears twice.", row=number, mobile=self.said(mobile))
        return None


def roster_export(session: ClassSession, *, viewer) -> tuple[list[str], list[list]]:
    """The roster with the session's title, date, start and end, venue and instructor on every row;
    mobiles as the viewer may see them (masked for an instructor: the upload accepts them so)."""
    tz = platform_zone()
    start, end = session.starts_at.astimezone(tz), session.ends_at.astimezone(tz)
    teachers = "、".join(person.real_name for person in session.course.instructors)
    header = [_("Course"), _("Session"), _("Date"), _("Starts"), _("Ends"), _("Venue"), _("Instructor"), _("Name"),
              _("Mobile"), _("Status")]
    rows = []
    people = roster_rows(session)
    mobiles = shown_mobiles(viewer, [person for person, _record in people])
    for person, record in people:
        status = str(ATTENDANCE_LABELS[AttendanceStatus(record.status)]) if record else _("Not recorded")
        rows.append([session.course.title, session.title or "", start.date().isoformat(), start.strftime("%H:%M"),
                     end.strftime("%H:%M"), session.venue_name, teachers, person.real_name, mobiles[person.id],
                     status])
    return header, rows


