# ruff: noqa: F811 - the shared fixtures are imported from tests.test_competitions and tests.test_certificates
"""Certificates by kind: an award certificate (获奖证书) reads as an award on its PDF, in the holder's and
the admins' lists and on the public verification page (HTML and JSON), never as a course completion;
a course certificate reads as before; an award certificate signed before the kinds had their own wording
still verifies and renders as an award, the facts its record lacks taken from the rows it references."""

from __future__ import annotations

import json
import secrets
from datetime import date
from decimal import Decimal

import pytest
from flask import current_app
from sqlalchemy import select

from classroom.database import utcnow
from classroom.extensions import db
from classroom.personal_data import mask_name
from courses.certificates import documents, signing, verification
from courses.certificates.models import Certificate
from courses.certificates.serials import allocate_seq, format_serial
from courses.competitions import publication, results
from courses.competitions.models import EntryMember
from tests.factories import login_client
from tests.markup import texts
from tests.pdfs import pdf_text, qr_codes
from tests.test_certificates import certificate_of, certified, complete, course_for_certificates  # noqa: F401
from tests.test_competitions import (  # noqa: F401
    confirmed_field,
    electrician,
    entry_of,
    make_competition,
    make_event,
    the_competition_is_over,
)

COURSE_WORDS = ("结业证书", "Certificate of completion", "课程", "学时", "Training hours", "training hours")
ZH = {"Accept-Language": "zh-CN"}


def flat(text: str) -> str:
    """Text with every space and line break gone (a wrapped PDF line splits a title anywhere)."""
    return "".join(text.split())


def main_of(page: str) -> str:
    """The page's <main>: the navigation around it names the course catalogue on every page."""
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def no_course_wording(text: str) -> bool:
    return not any(word in text for word in COURSE_WORDS)


@pytest.fixture
def awarded(app, confirmed_field):
    """The results of confirmed_field published: 张三明 wins first prize and the title 技术能手."""
    competition, event, (theory, practice), organizer, people = confirmed_field
    first, second = (entry_of(person, event) for person in people[:2])
    results.record_scores(event, {first.id: {theory.id: Decimal(99), practice.id: Decimal(99)},
                                  second.id: {theory.id: Decimal(80), practice.id: Decimal(80)}},
                          actor=organizer, now=utcnow())
    db.session.commit()
    the_competition_is_over(competition)
    publication.publish_results(competition, actor=organizer, now=utcnow())
    db.session.commit()
    member = db.session.scalar(select(EntryMember).filter_by(entry_id=first.id, user_id=people[0].id))
    return competition, event, organizer, people[0], db.session.get(Certificate, member.certificate_id)


# ---- an award certificate, issued by publishing the results ----------------------------------------------

def test_the_award_pdf_says_won_the_award_in_the_event_of_the_competition(app, awarded):
    competition, event, _organizer, winner, certificate = awarded
    body = login_client(app, winner).get(f"/certificates/{certificate.id}/pdf").data
    text = flat(pdf_text(body))
    assert "获奖证书" in text and "张三明：" in text
    assert f"在{competition.title}“{event.name}”赛项中荣获一等奖，并被授予“技术能手”称号，特发此证。" in text
    issued = date.fromisoformat(certificate.document["issued_on"])
    assert "市总工会" in text and f"{issued.year}年{issued.month}月{issued.day}日" in text and certificate.serial in text
    assert no_course_wording(text) and "有效期" not in text and "持证人" not in text
    assert qr_codes(body) == [f"http://localhost/verify/{certificate.token}"]  # the signature block leaves it clear


def test_the_lists_name_the_award_and_the_competition(app, awarded):
    competition, event, organizer, winner, certificate = awarded
    holder = login_client(app, winner)
    for language, title in (("en", "Award certificate"), ("zh_CN", "获奖证书")):
        page = main_of(holder.get(f"/me/certificates?lang={language}").get_data(as_text=True))
        entry = page.split(f'data-certificate="{certificate.serial}"', 1)[1].split("<h2", 1)[0]
        assert title in entry and competition.title in entry and event.name in entry
        assert "一等奖 · 技术能手" in entry and "市总工会" in entry and no_course_wording(entry)
    admin = login_client(app, organizer)
    listing = main_of(admin.get("/certificates/").get_data(as_text=True))
    row = listing.split(f'data-admin-certificate="{certificate.serial}"', 1)[1].split("</a>", 1)[0]
    assert 'data-certificate-kind="award"' in row and "Award certificate" in row and competition.title in row
    assert "一等奖" in row and no_course_wording(row)
    detail = main_of(admin.get(f"/certificates/{certificate.id}").get_data(as_text=True))
    assert "data-competition" in detail and "data-event" in detail and "一等奖 · 技术能手" in detail
    assert no_course_wording(detail) and "data-reissue" not in detail  # an award keeps its record
    refused = admin.post(f"/certificates/{certificate.id}/reissue", follow_redirects=True).get_data(as_text=True)
    assert "Only a course certificate can be reissued" in refused
    assert db.session.get(Certificate, certificate.id).status == "valid"


def test_the_public_page_and_json_name_the_award_and_the_competition(client, awarded):
    competition, event, _organizer, _winner, certificate = awarded
    for headers, title in (({}, "Award certificate"), (ZH, "获奖证书")):
        page = main_of(client.get(f"/verify/{certificate.token}", headers=headers).get_data(as_text=True))
        assert texts(page, "data-certificate-kind") == [("award", title)]
        assert 'data-certificate-status="valid"' in page and "张*明" in page and "张三明" not in page
        assert texts(page, "data-competition") == [("", competition.title)]
        assert texts(page, "data-event") == [("", event.name)]
        assert texts(page, "data-award")[0][1].startswith("一等奖 · 技术能手") and no_course_wording(page)
    record = client.get(f"/verify/{certificate.token}?format=json").get_json()
    assert (record["kind"], record["title"], record["status"]) == ("award", "获奖证书", "valid")
    assert (record["competition"], record["event"], record["award"], record["honor_title"], record["rank"]) == (
        competition.title, event.name, "一等奖", "技术能手", 1)
    assert record["issuer"] == "市总工会" and record["certificate"] == certificate.document
    assert not any(word in json.dumps(record, ensure_ascii=False) for word in ("结业证书", "课程", "Certificate of"))


def test_a_course_certificate_reads_as_it_always_did(app, client, certified):
    worker, _course, certificate = certified
    text = flat(pdf_text(login_client(app, worker).get(f"/certificates/{certificate.id}/pdf").data))
    assert "结业证书" in text and "完成下列课程学习" in text and "课程：低压电工作业安全规程" in text
    assert "学时：2" in text and "获奖证书" not in text and "荣获" not in text
    mine = main_of(login_client(app, worker).get("/me/certificates").get_data(as_text=True))
    assert "Certificate of completion" in mine and "2 training hours" in mine and "Award certificate" not in mine
    page = main_of(client.get(f"/verify/{certificate.token}").get_data(as_text=True))
    assert texts(page, "data-certificate-kind") == [("course", "Certificate of completion")]
    assert texts(page, "data-hours") == [("", "2")]
    record = client.get(f"/verify/{certificate.token}?format=json").get_json()
    assert (record["kind"], record["title"], record["course"], record["hours"]) == (
        "course", "结业证书", "低压电工作业安全规程", "2")
    assert "competition" not in record and "award" not in record


# ---- award certificates signed before the kinds had their own wording ------------------------------------

def signed_record(person, kind: str, document_fields: dict, snapshot: dict, entry=None) -> Certificate:
    """A certificate as an earlier release (or another issuer) made it: its record signed as it stood then."""
    now = utcnow()
    key = signing.active_key(now=now)
    year, token = now.year, secrets.token_urlsafe(24)
    seq = allocate_seq(year)
    serial = format_serial(current_app.config["CERTIFICATE_SERIAL_PREFIX"], year, seq)
    document = {"v": 1, "kind": kind, "serial": serial, "holder": mask_name(person.real_name),
                "holder_digest": documents.holder_digest(token, person.real_name), "minutes": 0, "hours": "",
                "level": None, "instructors": [], "issued_on": now.date().isoformat(), "expires_on": None,
                **document_fields}
    certificate = Certificate(serial=serial, year=year, seq=seq, kind=kind, user_id=person.id,
                              competition_id=entry.competition_id if entry else None,
                              competition_entry_id=entry.id if entry else None,
                              snapshot={"holder_name": person.real_name, **snapshot}, document=document, token=token,
                              key_id=key.kid, signature=signing.sign(key, document), issued_at=now)
    db.session.add(certificate)
    db.session.commit()
    return certificate


def test_an_award_signed_before_keeps_its_signature_and_now_reads_as_an_award(app, client, confirmed_field):
    competition, event, _stages, _organizer, people = confirmed_field
    entries = [entry_of(person, event) for person in people[:2]]
    for entry in entries:
        entry.award, entry.rank = "second", 2
    db.session.commit()
    title = f"{competition.title}（{event.name}）"
    complete_record = signed_record(people[0], "award", {
        "course": title, "issuer": "市总工会", "competition": competition.title, "event": event.name,
        "year": competition.year, "rank": 2, "award": "二等奖", "honor_title": None, "team": None},
        {"course_title": title, "issuer": "市总工会"}, entries[0])
    # An older record still: only the course-style title, the issuer and the award; no competition, no event.
    bare = signed_record(people[1], "award", {"course": title, "issuer": "市总工会", "award": "二等奖"},
                         {"course_title": title, "issuer": "市总工会"}, entries[1])
    for certificate in (complete_record, bare):
        signed = dict(certificate.document)
        record = client.get(f"/verify/{certificate.token}?format=json").get_json()
        assert record["status"] == "valid" and record["certificate"] == signed and verification.signature_holds(certificate)
        assert (record["kind"], record["competition"], record["event"], record["award"]) == (
            "award", competition.title, event.name, "二等奖")
        page = main_of(client.get(f"/verify/{certificate.token}").get_data(as_text=True))
        assert "does not match" not in page and texts(page, "data-event") == [("", event.name)]
        assert no_course_wording(page)
        holder = people[0] if certificate is complete_record else people[1]
        text = flat(pdf_text(login_client(app, holder).get(f"/certificates/{certificate.id}/pdf").data))
        assert f"在{competition.title}“{event.name}”赛项中荣获二等奖，特发此证。" in text and no_course_wording(text)
        db.session.refresh(certificate)
        assert certificate.document == signed  # rendering never re-signs or rewrites the record


def test_a_skill_level_certificate_reads_as_one(app, client, tree, make_user):
    """The platform issues none yet; a record of that kind renders as a skill level, not a course."""
    worker = make_user("王技师", union=tree.a1)
    certificate = signed_record(worker, "skill", {"issuer": "市总工会", "level": 2, "occupation": "电工"},
                                {"issuer": "市总工会", "level": 2})
    text = flat(pdf_text(login_client(app, worker).get(f"/certificates/{certificate.id}/pdf").data))
    assert "技能等级证书" in text and "二级/技师" in text and "电工" in text and no_course_wording(text)
    page = main_of(client.get(f"/verify/{certificate.token}").get_data(as_text=True))
    assert texts(page, "data-certificate-kind") == [("skill", "Skill-level certificate")]
    assert texts(page, "data-level") == [("", "Level 2 · Technician")]
    assert no_course_wording(page)
    record = client.get(f"/verify/{certificate.token}?format=json").get_json()
    assert (record["kind"], record["title"], record["level"], record["occupation"]) == ("skill", "技能等级证书", 2, "电工")
