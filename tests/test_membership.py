"""Membership: apply, approve (race-free member numbers), reject, transfer, lapse, ID cards."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from classroom.audit import AuditEvent
from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.personal_data import decrypt, lookup_hash
from classroom.unions.memberships import apply_for_membership, approve_membership
from classroom.unions.models import Membership
from tests.concurrency import run_at_once
from tests.factories import PASSWORD

VALID_ID = "11010519491231002X"


def login(app, user):
    client = app.test_client()
    assert client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD}).status_code == 302
    return client


def membership_of(user, status=None):
    statement = select(Membership).where(Membership.user_id == user.id)
    if status:
        statement = statement.where(Membership.status == status)
    return db.session.scalar(statement.order_by(Membership.id.desc()))


def test_admin_approves_and_the_worker_sees_the_member_number(app, tree, make_user, make_admin):
    admin = make_admin(tree.a1)
    make_user("老会员", union=tree.a1)  # member number 000001 is taken
    worker = make_user("新人", union=tree.a1, status="applied")
    application = membership_of(worker)
    admin_client = login(app, admin)
    page = admin_client.get(f"/unions/{tree.a1.id}/applications").get_data(as_text=True)
    assert "新人" in page
    response = admin_client.post(f"/unions/{tree.a1.id}/applications/{application.id}/approve")
    assert response.status_code == 302
    db.session.refresh(application)
    assert (application.status, application.member_no, application.decided_by_id) == ("active", "A1-000002", admin.id)
    notice = db.session.scalar(select(Notification).where(Notification.user_id == worker.id))
    assert "A1-000002" in notice.title
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "membership.approve"))
    assert event.actor_id == admin.id and event.object_id == application.id and event.union_id == tree.a1.id
    worker_page = login(app, worker).get("/me").get_data(as_text=True)
    assert 'data-membership-status="active"' in worker_page and "A1-000002" in worker_page


def test_district_admin_decides_below_it(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a2, status="applied")
    client = login(app, make_admin(tree.district_a))
    response = client.post(f"/unions/{tree.district_a.id}/applications/{membership_of(worker).id}/approve")
    assert response.status_code == 302 and membership_of(worker).member_no == "A2-000001"


def test_reject_needs_a_reason_and_notifies(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1, status="applied")
    client = login(app, make_admin(tree.a1))
    url = f"/unions/{tree.a1.id}/applications/{membership_of(worker).id}/reject"
    client.post(url, data={"reason": "  "})
    assert membership_of(worker).status == "applied"
    client.post(url, data={"reason": "请先在单位登记"})
    rejected = membership_of(worker)
    assert (rejected.status, rejected.reason, rejected.member_no) == ("rejected", "请先在单位登记", None)
    notice = db.session.scalar(select(Notification).where(Notification.user_id == worker.id))
    assert "请先在单位登记" in notice.body


def test_a_decided_application_cannot_be_decided_again(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1, status="applied")
    client = login(app, make_admin(tree.a1))
    url = f"/unions/{tree.a1.id}/applications/{membership_of(worker).id}"
    client.post(url + "/approve")
    page = client.post(url + "/reject", data={"reason": "x"}, follow_redirects=True).get_data(as_text=True)
    assert "already been decided" in page
    assert membership_of(worker).status == "active"
    assert len(db.session.scalars(select(Notification)).all()) == 1


def test_transfer_keeps_history(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1)
    old = membership_of(worker, "active")
    client = login(app, worker)
    response = client.post("/me/membership/apply", data={"union_id": tree.b1.id})
    assert response.status_code == 302
    new = membership_of(worker, "applied")
    assert new.union_id == tree.b1.id
    login(app, make_admin(tree.b1)).post(f"/unions/{tree.b1.id}/applications/{new.id}/approve")
    db.session.refresh(old)
    db.session.refresh(new)
    assert (old.status, old.ended_at is not None, old.member_no) == ("transferred", True, "A1-000001")
    assert (new.status, new.member_no) == ("active", "B1-000001")
    history = login(app, worker).get("/me").get_data(as_text=True)
    assert "A1-000001" in history and "B1-000001" in history


def test_joining_elsewhere_after_a_lapse_ends_the_old_unions_scope(app, tree, make_user, make_admin):
    """A lapsed member who joins another union is that union's now: the old union's admins no
    longer see them, their hours or their password."""
    worker = make_user(union=tree.a1)
    a1_admin = login(app, make_admin(tree.a1, "A1管理员"))
    a1_admin.post(f"/unions/{tree.a1.id}/memberships/{membership_of(worker).id}/lapse", data={"reason": "离职"})
    lapsed = membership_of(worker, "lapsed")
    ended = lapsed.ended_at
    assert ended is not None
    assert a1_admin.get(f"/unions/{tree.a1.id}/members/{worker.id}").status_code == 200  # still theirs
    assert login(app, worker).post("/me/membership/apply", data={"union_id": tree.b1.id}).status_code == 302
    new = membership_of(worker, "applied")
    login(app, make_admin(tree.b1)).post(f"/unions/{tree.b1.id}/applications/{new.id}/approve")
    db.session.refresh(lapsed)
    assert (lapsed.status, lapsed.ended_at) == ("transferred", ended)  # when it ended stays as it was
    assert a1_admin.get(f"/unions/{tree.a1.id}/members/{worker.id}").status_code == 404
    assert a1_admin.get(f"/hours/members/{worker.id}?format=csv").status_code == 404
    assert a1_admin.post(f"/unions/{tree.a1.id}/members/{worker.id}/reset-link").status_code == 404
    assert worker.real_name not in a1_admin.get(f"/unions/{tree.a1.id}/members").get_data(as_text=True)


def test_a_lapse_never_reopens_a_membership_closed_meanwhile(tree, make_user, make_admin):
    """An approval elsewhere closed the row (transferred) after the admin's page loaded it: the lapse
    is refused instead of writing "lapsed" back over it."""
    from sqlalchemy import update

    from classroom.domain import Conflict
    from classroom.unions.memberships import lapse_membership

    worker = make_user(union=tree.a1)
    loaded = membership_of(worker, "active")
    db.session.execute(update(Membership).where(Membership.id == loaded.id).values(status="transferred")
                       .execution_options(synchronize_session=False))  # another transaction's approval
    with pytest.raises(Conflict):
        lapse_membership(loaded, "离职", actor=make_admin(tree.a1), now=utcnow())
    db.session.commit()
    assert db.session.scalar(select(Membership.status).where(Membership.id == loaded.id)) == "transferred"


def test_one_open_application_at_a_time(app, tree, make_user):
    worker = make_user(union=tree.a1, status="applied")
    page = login(app, worker).post("/me/membership/apply", data={"union_id": tree.b1.id}).get_data(as_text=True)
    assert "already have an application" in page
    assert len(db.session.scalars(select(Membership).where(Membership.user_id == worker.id)).all()) == 1


def test_id_card_is_validated_encrypted_and_masked(app, tree, make_user, make_admin):
    worker = make_user()
    client = login(app, worker)
    bad = client.post("/me/membership/apply", data={"union_id": tree.a1.id, "id_card": "110105194912310021",
                                                    "id_card_consent": "y"}).get_data(as_text=True)
    assert "not valid" in bad
    no_consent = client.post("/me/membership/apply", data={"union_id": tree.a1.id, "id_card": VALID_ID})
    assert "Agree to the use" in no_consent.get_data(as_text=True)
    assert membership_of(worker) is None
    client.post("/me/membership/apply", data={"union_id": tree.a1.id, "id_card": VALID_ID.lower(),
                                              "id_card_consent": "y"})
    row = membership_of(worker)
    assert VALID_ID.encode() not in row.id_card_encrypted
    assert decrypt(row.id_card_encrypted) == VALID_ID
    assert row.id_card_hash == lookup_hash(VALID_ID) and row.id_card_masked == "110************02X"
    admin_page = login(app, make_admin(tree.a1)).get(f"/unions/{tree.a1.id}/applications").get_data(as_text=True)
    assert "110************02X" in admin_page and VALID_ID not in admin_page


def test_lapse_ends_an_active_membership(app, tree, make_user, make_admin):
    worker = make_user(union=tree.a1)
    client = login(app, make_admin(tree.a1))
    client.post(f"/unions/{tree.a1.id}/memberships/{membership_of(worker).id}/lapse", data={"reason": "离职"})
    lapsed = membership_of(worker)
    assert (lapsed.status, lapsed.reason) == ("lapsed", "离职")


def test_twenty_concurrent_approvals_get_distinct_member_numbers(app, tree, make_user, make_admin):
    admin = make_admin(tree.a1)
    applicants = [make_user(f"工人{i}", union=tree.a1, status="applied") for i in range(20)]
    ids = [membership_of(person).id for person in applicants]
    clients = [login(app, admin) for _ in ids]
    urls = [f"/unions/{tree.a1.id}/applications/{membership_id}/approve" for membership_id in ids]
    results = run_at_once(20, lambda i: clients[i].post(urls[i]))
    assert [getattr(result, "status_code", result) for result in results] == [302] * 20
    numbers = db.session.scalars(select(Membership.member_no).where(Membership.id.in_(ids))).all()
    assert sorted(numbers) == [f"A1-{n:06d}" for n in range(1, 21)]


def test_concurrent_double_approval_of_one_application(app, tree, make_user, make_admin):
    admin = make_admin(tree.a1)
    application = membership_of(make_user(union=tree.a1, status="applied"))
    clients = [login(app, admin) for _ in range(8)]
    url = f"/unions/{tree.a1.id}/applications/{application.id}/approve"
    results = run_at_once(8, lambda i: clients[i].post(url))
    assert [getattr(result, "status_code", result) for result in results] == [302] * 8
    db.session.refresh(tree.a1)
    assert tree.a1.member_seq == 1  # one number was taken, once
    assert len(db.session.scalars(select(Notification)).all()) == 1


def test_service_refuses_an_application_to_a_non_grassroots_union(tree, make_user):
    from classroom.domain import Invalid

    with pytest.raises(Invalid):
        apply_for_membership(make_user(), tree.district_a, now=utcnow())


def test_service_approval_is_idempotent(tree, make_user, make_admin):
    from classroom.domain import Conflict

    admin = make_admin(tree.a1)
    application = membership_of(make_user(union=tree.a1, status="applied"))
    approve_membership(application, actor=admin, now=utcnow())
    db.session.commit()
    with pytest.raises(Conflict):
        approve_membership(application, actor=admin, now=utcnow())
