"""Assertions shared by the tests."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import event, select

from classroom.database import statement_engines
from classroom.extensions import db

TESTDATA = Path(__file__).resolve().parent / "data"  # the corpora live in the repository (tests/data/README.md)


def xss_payloads() -> list[str]:
    """tests/data/xss-payloads.txt: one payload a line, blank lines skipped."""
    lines = (TESTDATA / "xss-payloads.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()]


def formula_payloads() -> list[str]:
    """tests/data/formula-payloads.json: values a spreadsheet could run as formulas (and a few it must not touch)."""
    return json.loads((TESTDATA / "formula-payloads.json").read_text(encoding="utf-8"))


class _ActiveContent(HTMLParser):
    """Collects what a browser would run: scripts, event handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = (value or "").strip().lower().replace("\t", "").replace("\n", "")
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction", "data", "xlink:href") and (
                value.startswith("javascript:") or value.startswith("data:text/html")
            ):
                self.found.append(f"<{tag} {name}={value[:30]}>")
        if tag == "script" and not dict(attrs).get("src", "").startswith("/static/"):
            self.found.append("<script> without a /static/ source")
        if tag in ("iframe", "object", "embed", "base", "meta") and tag != "meta":
            self.found.append(f"<{tag}>")
        if tag == "meta" and dict(attrs).get("http-equiv"):
            self.found.append("<meta http-equiv>")


def assert_inert(html: str) -> None:
    """The page carries no script, handler or javascript: URL beyond the app's own."""
    parser = _ActiveContent()
    parser.feed(html)
    assert not parser.found, f"active content in the page: {parser.found}"
    assert "{{" not in html or "49" not in html.split("{{", 1)[1][:10]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def assert_inert_cell(cell, original: str) -> None:
    """A spreadsheet cell holding ``original`` as text no spreadsheet evaluates. CSV (``cell`` a str):
    text that starts like a formula has an apostrophe in front. XLSX (``cell`` an openpyxl cell): the text
    as written, in a string cell that has the quote-prefix style when it starts like a formula."""
    if isinstance(cell, str):
        assert not cell.startswith(FORMULA_STARTS), cell
        assert cell == ("'" + original if original.startswith(FORMULA_STARTS) else original), (cell, original)
        return
    assert cell.data_type == "s", (cell.data_type, cell.value)
    assert cell.value == original.replace("\r\n", "\n").replace("\r", "\n"), (cell.value, original)  # XML's line ends
    assert cell.quotePrefix is original.startswith(FORMULA_STARTS), (cell.quotePrefix, original)


# ---- the database as data ------------------------------------------------------------------------

def database_rows(*, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table (but ``skip``), each table's rows in primary-key order: two
    snapshots are equal only when no row was added, removed or changed in any column."""
    snapshot = {}
    for table in db.metadata.sorted_tables:
        if table.name in skip:
            continue
        statement = select(table).order_by(*table.primary_key.columns)
        snapshot[table.name] = [tuple(row) for row in db.session.execute(statement).all()]
    return snapshot


def changed_rows(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict[str, dict]:
    """What differs between two snapshots, table by table (for a readable failure)."""
    changes = {}
    for name in sorted(set(before) | set(after)):
        old, new = set(map(repr, before.get(name, []))), set(map(repr, after.get(name, [])))
        if old != new:
            changes[name] = {"gone or changed": sorted(old - new), "new or changed": sorted(new - old)}
    return changes


def everything_in_the_database() -> str:
    """Every value of every row of every table, as text (JSON decoded, so escapes cannot hide a name)."""
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            for value in row:
                if isinstance(value, (dict, list)):
                    parts.append(json.dumps(value, ensure_ascii=False))
                elif isinstance(value, bytes):
                    parts.append(value.decode("utf-8", errors="ignore"))
                elif value is not None:
                    parts.append(str(value))
    return "\n".join(parts)


def transfer(person, union, *, approver) -> None:
    """``person`` applies to ``union`` and its admin ``approver`` approves: a transfer, committed."""
    from sqlalchemy import select

    from classroom.database import utcnow
    from classroom.extensions import db
    from classroom.unions.memberships import apply_for_membership, approve_membership
    from classroom.unions.models import Membership

    apply_for_membership(person, union, now=utcnow())
    db.session.commit()
    applied = db.session.scalar(select(Membership).where(Membership.user_id == person.id,
                                                         Membership.status == "applied"))
    approve_membership(applied, actor=approver, now=utcnow())
    db.session.commit()


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def sql_statements(app=None):
    """The SQL statements ``app`` (default: the current one) sends while the block runs,
    transaction control aside."""
    if app is None:
        engine = db.engine
    else:
        with app.app_context():
            engine = db.engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.split()[0].upper() not in TRANSACTION_CONTROL:
            seen.append(statement)

    engines = statement_engines(engine)
    for each in engines:
        event.listen(each, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for each in engines:
            event.remove(each, "before_cursor_execute", record)


@contextmanager
def redis_commands(monkeypatch):
    """The commands (name upper-cased, then the arguments) every redis-py client sends while the block runs."""
    import redis

    sent: list[tuple] = []
    original = redis.client.Redis.execute_command

    def spy(client, *args, **options):
        sent.append((str(args[0]).upper(), *args[1:]))
        return original(client, *args, **options)

    monkeypatch.setattr(redis.client.Redis, "execute_command", spy)
    try:
        yield sent
    finally:
        monkeypatch.setattr(redis.client.Redis, "execute_command", original)


class _DataTexts(HTMLParser):
    """The text inside each element that carries a data attribute (with a given value, when one is given)."""

    def __init__(self, name: str, value: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.name, self.value = name, value
        self.inside: str | None = None  # the tag of the element being read
        self.nested = 0  # elements of the same tag opened inside it
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.inside is not None:
            self.nested += tag == self.inside
            return
        attributes = dict(attrs)
        if self.name in attributes and (self.value is None or attributes[self.name] == self.value):
            self.inside, self.nested = tag, 0
            self.texts.append("")

    def handle_endtag(self, tag):
        if tag == self.inside:
            if self.nested:
                self.nested -= 1
            else:
                self.inside = None

    def handle_data(self, data):
        if self.inside is not None:
            self.texts[-1] += data


def data_texts(html: str, name: str, value: str | None = None) -> list[str]:
    """The stripped text of every element carrying the data attribute ``name`` (``data-seats-left``), or
    ``name="value"`` when a value is given: what a page shows, read whatever its classes and spacing."""
    parser = _DataTexts(name, value)
    parser.feed(html)
    return [text.strip() for text in parser.texts]


class _DataElements(HTMLParser):
    def __init__(self, name: str) -> None:
        super().__init__(convert_charrefs=True)
        self.name = name
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if any(key == self.name for key, _value in attrs):
            self.found.append({key: value or "" for key, value in attrs})


def data_elements(html: str, name: str) -> list[dict[str, str]]:
    """The attributes of every element carrying the data attribute ``name``, e.g. an input's value."""
    parser = _DataElements(name)
    parser.feed(html)
    return parser.found


_CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
_DRAWN_AT = re.compile(r'(data-rendered-at|data-last-updated)="[^"]*"')


def same_page(page: str) -> str:
    """A page without what changes each time it is drawn: its CSRF tokens (signed with the second they were
    made in, and per session) and the offline notice's drawing time; two readings of one page compare equal
    through it."""
    return _DRAWN_AT.sub(r'\1=""', _CSRF_INPUT.sub('<input name="csrf_token">', page))
