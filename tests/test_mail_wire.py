"""The outbox's quick way to an email's bytes (classroom.mail_wire) writes what compose() and smtplib's
send_message write, byte for byte but for the boundary, Date and Message-ID: headers in every form
(Chinese subjects as RFC 2047 words, long ones folded, addresses, the set-whole List-Unsubscribe), both
parts in either encoding, the envelope; and what it does not cover is left to compose(). The bytes read
back strictly with the email parser."""

from __future__ import annotations

import email
import email.policy
import re
import smtplib
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.mail import compose
from classroom.mail_wire import Wire, wire

LONG_TITLE = "安全生产基础知识与职业健康防护实务暨班组长安全管理能力提升专题培训班（第三期·夜校）"
UNSUBSCRIBE = "https://classroom.example.cn/unsubscribe/WzEyMzQ1LCJjb3Vyc2UuYW5ub3VuY2VtZW50Il0.Qx3Ju_2kYV9sJq8"
CHINESE_TEXT = "李四，您好：\n\n" + "课程通知正文，" * 40 + "\n\n-- \n职工学堂 · https://classroom.example.cn\n"
CHINESE_HTML = '<!DOCTYPE html>\n<html lang="zh-CN">\n<body style="margin:0;padding:0;">' + "<p>你好</p>" * 30 + "</body>\n</html>"
SUBJECTS = ["通知", LONG_TITLE, LONG_TITLE * 3, "Hello", "A seat is yours in Forklift safety", "x" * 100,
            "word " * 30, "=?utf-8?q?not_a_word?=", "a  b", " lead and trail ", "tab\there", "line\nbreak",
            "😀 emoji", "Ünïcödé", "x: y; (z) <b> \"q\"", "", "Re: 电工 (夜校) – 第3期", "x" * 72, "y" * 73]
ADDRESSES = ["inbox@example.cn", "first.last+tag@sub.example.cn", "o'brien@example.cn", "a@b.c",
             "very.long.local.part.of.an.address.that.goes.on.and.on@a-very-long-domain.example.cn"]
SENDERS = ["职工学堂 <noreply@classroom.invalid>", "noreply@example.cn", "Worker Classroom <x@y.cn>",
           '"Classroom, the" <x@y.cn>']


class Capture(smtplib.SMTP):
    """smtplib's own send_message, stopped where it would hand the envelope and bytes to the server."""

    def __init__(self) -> None:
        super().__init__()  # no connection

    def ehlo_or_helo_if_needed(self) -> None:
        pass

    def has_extn(self, opt: str) -> bool:
        return opt.lower() == "smtputf8"

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        self.sent = (from_addr, tuple(to_addrs), msg, tuple(mail_options))
        return {}


def by_smtplib(message: EmailMessage) -> tuple[str, tuple[str, ...], bytes]:
    capture = Capture()
    capture.send_message(message)
    sender, recipients, data, options = capture.sent
    assert options == ()
    return sender, recipients, data


def normal(data: bytes) -> bytes:
    """The bytes with what differs by design (the random boundary, Date, Message-ID) made the same."""
    boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
    data = data.replace(boundary, b"BOUNDARY")
    data = re.sub(rb"^Date: [^\r\n]+\r\n", b"Date: D\r\n", data, flags=re.M)
    return re.sub(rb"^Message-ID: <[^\r\n]+>\r\n", b"Message-ID: <M>\r\n", data, flags=re.M)


def both(**email_) -> tuple[Wire, tuple[str, tuple[str, ...], bytes]]:
    arguments = {"to": "inbox@example.cn", "subject": "通知", "text": CHINESE_TEXT, "html": CHINESE_HTML,
                 "unsubscribe": UNSUBSCRIBE, "headers": {"X-Classroom-Dedup-Key": "course.announcement:7:email"},
                 **email_}
    quick = wire(**arguments)
    assert isinstance(quick, Wire), arguments
    return quick, by_smtplib(compose(**arguments))


def assert_same(**email_) -> Wire:
    quick, (sender, recipients, data) = both(**email_)
    assert (quick.sender, quick.recipients) == (sender, recipients)
    assert normal(quick.data) == normal(data), (quick.data.decode(), data.decode())
    return quick


@pytest.mark.parametrize("subject", SUBJECTS)
def test_every_subject_is_written_as_the_email_package_writes_it(app, subject):
    assert_same(subject=subject)


@pytest.mark.parametrize("to", ADDRESSES)
@pytest.mark.parametrize("sender", SENDERS)
def test_addresses_and_the_envelope_are_the_email_packages(app, to, sender):
    app.config["MAIL_DEFAULT_SENDER"] = sender
    assert_same(to=to)


@pytest.mark.parametrize(("text", "html"), [
    (CHINESE_TEXT, CHINESE_HTML),
    ("Hello Anna,\n\nshort ASCII lines\n", "<p>short</p>\n<p>ASCII</p>"),
    ("", ""), ("\n", "\r\n"), ("a\r\nb\rc\nd", "no newline at the end"),
    ("--===============0000000000000000000==\n", "-- \n--\n"),
    ("x" * 78, "中" * 26), ("中\u2028文\x0b\x0c", "trailing spaces   \n\n\n"),
])
def test_both_parts_are_encoded_as_compose_encodes_them(app, text, html):
    assert_same(text=text, html=html)


@pytest.mark.parametrize("headers", [{}, {"X-Classroom-Dedup-Key": "k"}, {"X-Classroom-Dedup-Key": "k:" * 60},
                                     {"X-Classroom-Dedup-Key": "announcement:union:12 \n 34", "X-Other": "中文"}])
@pytest.mark.parametrize("unsubscribe", [None, UNSUBSCRIBE, UNSUBSCRIBE + "x" * 200])
def test_the_other_headers_are_the_email_packages(app, headers, unsubscribe):
    assert_same(headers=headers, unsubscribe=unsubscribe)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=st.text(max_size=120), key=st.text(st.characters(codec="ascii"), min_size=1, max_size=100),
       text=st.text(max_size=300), html=st.text(st.characters(codec="utf-8"), max_size=300))
def test_any_text_is_written_as_the_email_package_writes_it(app, subject, key, text, html):
    arguments = {"to": "inbox@example.cn", "subject": subject, "text": text, "html": html,
                 "unsubscribe": UNSUBSCRIBE, "headers": {"X-Classroom-Dedup-Key": key}}
    try:
        expected = by_smtplib(compose(**arguments))
    except (ValueError, UnicodeError) as error:  # the package refuses it: so does the quick way
        with pytest.raises(type(error)):
            wire(**arguments)
        return
    quick = wire(**arguments)
    if isinstance(quick, EmailMessage):  # left to compose(): an ASCII part with a long line
        assert any(part.isascii() and max(map(len, part.encode().splitlines()), default=0) > 78 for part in (text, html))
        return
    assert (quick.sender, quick.recipients) == expected[:2]
    assert normal(quick.data) == normal(expected[2])


def test_the_bytes_read_back_strictly_with_chinese_subjects_as_encoded_words(app):
    quick = assert_same(subject=LONG_TITLE)
    data = quick.data
    assert data.isascii() and b"\n" not in data.replace(b"\r\n", b"")  # 7-bit, CRLF lines only
    head = data.split(b"\r\n\r\n", 1)[0]
    assert re.search(rb"^Subject: =\?utf-8\?b\?[A-Za-z0-9+/=]+\?=\r\n =\?utf-8\?b\?", head, re.M)
    assert all(len(line) <= 78 for line in data.split(b"\r\n") if not line.startswith(b"List-Unsubscribe: "))
    for policy in (email.policy.default, email.policy.strict):
        message = email.message_from_bytes(data, policy=policy)
        assert message["Subject"] == LONG_TITLE and message["To"] == "inbox@example.cn"
        assert message["From"].addresses[0].display_name == "职工学堂"
        assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>" and not message.defects
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
        assert message.get_body(("plain",)).get_content() == CHINESE_TEXT
        assert message.get_body(("html",)).get_content() == CHINESE_HTML + "\n"
    assert quick.message()["X-Classroom-Dedup-Key"] == "course.announcement:7:email"


def test_what_the_quick_way_does_not_cover_is_left_to_compose(app):
    for arguments in ({"to": "张三@example.cn"}, {"to": "李四 <li@example.cn>"}, {"text": "x" * 79},
                      {"html": "<p>" + "ascii " * 20 + "</p>"}, {"unsubscribe": "https://例子.cn/u/1"}):
        made = wire(**{"to": "inbox@example.cn", "subject": "通知", "text": CHINESE_TEXT, "html": CHINESE_HTML,
                       "unsubscribe": UNSUBSCRIBE, **arguments})
        assert isinstance(made, EmailMessage), arguments
    app.config["MAIL_DEFAULT_SENDER"] = "职工学堂 <学堂@example.cn>"
    assert isinstance(wire("inbox@example.cn", "通知", CHINESE_TEXT, CHINESE_HTML), EmailMessage)
