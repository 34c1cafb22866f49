"""In-app notifications: notify() once per dedup key, the bell, reading them."""

from __future__ import annotations

from sqlalchemy import func, select

from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import Notification
from classroom.notifications.services import notify, unread_count
from tests.factories import PASSWORD
from tests.helpers import assert_inert, xss_payloads


def test_notify_once_per_dedup_key(make_user):
    user = make_user()
    assert notify(user, "test", "k:1", "你好", now=utcnow()) is True
    assert notify(user, "test", "k:1", "你好 again", now=utcnow()) is False
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1


def test_notify_renders_in_the_recipients_language(make_user):
    from flask_babel import lazy_gettext as _l

    english = make_user("Li", locale="en")
    chinese = make_user("李", locale="zh_CN")
    for person in (english, chinese):
        notify(person, "test", f"lang:{person.id}", _l("Your membership of %(union)s is active: member number %(number)s"),
               params={"union": "U", "number": "N-1"}, now=utcnow())
    db.session.commit()
    titles = dict(db.session.execute(select(Notification.user_id, Notification.title)).all())
    assert titles[english.id].startswith("Your membership of U")
    assert "会员" in titles[chinese.id] and "N-1" in titles[chinese.id]


def test_bell_count_and_marking_read(client, make_user):
    user = make_user()
    for index in range(3):
        notify(user, "test", f"bell:{index}", f"通知{index}", link="/me", now=utcnow())
    db.session.commit()
    client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD})
    assert 'data-unread="3"' in client.get("/").get_data(as_text=True)
    first = db.session.scalars(select(Notification).order_by(Notification.id)).first()
    response = client.post(f"/me/notifications/{first.id}/read")
    assert response.status_code == 302 and response.location == "/me"
    assert unread_count(user.id) == 2
    client.post("/me/notifications/read-all")
    assert unread_count(user.id) == 0
    assert "data-unread" not in client.get("/").get_data(as_text=True)


def test_someone_elses_notification_is_404(app, make_user):
    owner, other = make_user("甲"), make_user("乙")
    notify(owner, "test", "private", "私信", now=utcnow())
    db.session.commit()
    notification_id = db.session.scalar(select(Notification.id))
    client = app.test_client()
    client.post("/auth/login", data={"identifier": other.mobile, "password": PASSWORD})
    assert client.post(f"/me/notifications/{notification_id}/read").status_code == 404
    assert unread_count(owner.id) == 1


def test_notification_text_renders_inert(client, make_user):
    user = make_user()
    for index, payload in enumerate(xss_payloads()):
        notify(user, "test", f"xss:{index}", payload, payload, now=utcnow())
    db.session.commit()
    client.post("/auth/login", data={"identifier": user.mobile, "password": PASSWORD})
    assert_inert(client.get("/me/notifications?page=1").get_data(as_text=True))
    assert_inert(client.get("/me/notifications?page=2").get_data(as_text=True))
