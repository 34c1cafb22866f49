"""Rankings (issue 21): unions by participation rate (members who practised in the period / members), the
average mock score, and people by right answers with names masked unless the viewer administers them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from classroom.database import utcnow
from classroom.extensions import db
from courses.drills import practice, rankings
from courses.drills.banks import apply, current_versions
from courses.drills.models import QuestionBank
from tests.factories import login_client


def test_participation_rate_per_union_and_masked_names(app, tree, make_user, make_admin):
    bank = QuestionBank(union_id=tree.district_a.id, title="电工题库")
    db.session.add(bank)
    db.session.flush()
    apply(bank, [({"code": "Q1", "kind": "true_false", "text": "对吗？", "options": [], "answer": [0],
                   "explanation": "", "difficulty": 1, "tags": []}, None)], now=utcnow())
    a1 = [make_user(f"王小{n}", union=tree.a1) for n in range(4)]
    a2 = [make_user(f"赵大{n}", union=tree.a2) for n in range(2)]
    make_user("西城人", union=tree.b1)
    version = current_versions(bank.id)["Q1"][1]
    now = utcnow()
    for person in (a1[0], a2[0], a2[1]):
        practice.answer(person, bank, version, [0], now=now)
    practice.answer(a1[1], bank, version, [0], now=now - timedelta(days=40))  # outside the last 30 days
    db.session.commit()
    rows = rankings.union_rows(bank, now=now, days=30)
    assert [(row.union.code, row.practised, row.members, row.rate) for row in rows] == [("A2", 2, 2, 100),
                                                                                       ("A1", 1, 4, 25)]
    yearly = rankings.union_rows(bank, now=now, days=365)
    assert [(row.union.code, row.practised) for row in yearly] == [("A2", 2), ("A1", 2)]
    page = login_client(app, a1[2]).get(f"/drills/banks/{bank.id}/rankings").get_data(as_text=True)
    assert re.search(r'data-union="A2">.*?data-rate>100%', page) and "赵*0" in page and "赵大0" not in page
    admin_page = login_client(app, make_admin(tree.district_a)).get(f"/drills/banks/{bank.id}/rankings?days=365")
    assert "赵大0" in admin_page.get_data(as_text=True) and "王小0" in admin_page.get_data(as_text=True)
    a2_admin = make_user("二厂主席", union=tree.a1, role=("union_admin", tree.a2))  # a member of A1, admin of A2
    page = login_client(app, a2_admin).get(f"/drills/banks/{bank.id}/rankings").get_data(as_text=True)
    assert "赵大0" in page and "王小0" not in page and "王*0" in page
    assert login_client(app, make_admin(tree.b1)).get(f"/drills/banks/{bank.id}/rankings").status_code == 404
    assert rankings.people_rows(a1[0], bank, now=datetime(2020, 1, 1, tzinfo=UTC), days=7) == []
