"""每日一练 (issue 21): a person's daily set, fixed for them and the day and different from a neighbour's,
answered in the practice flow; the streak across days in the person's local date (time injected), a
missed day resetting it; the reminder, off by default, at most once a day, not sent once the day's set is
done."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from classroom.extensions import db
from classroom.notifications import preferences
from classroom.notifications.models import Notification, OutboundMessage
from courses.drills import daily, jobs
from courses.drills.banks import apply
from courses.drills.models import DailySet, QuestionBank, QuestionVersion
from tests.factories import login_client

VERSION = re.compile(r'name="version" value="(\d+)"')
MORNING = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
EVENING = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # Monday 20:00 in Shanghai


def question(n: int) -> dict:
    return {"code": f"D{n:02d}", "kind": "true_false", "text": f"判断{n}", "options": [], "answer": [0],
            "explanation": f"解析{n}", "difficulty": 2, "tags": []}


@pytest.fixture
def bank(tree):
    bank = QuestionBank(union_id=tree.district_a.id, title="电工题库", daily_size=3)
    db.session.add(bank)
    db.session.flush()
    apply(bank, [(question(n), None) for n in range(30)], now=MORNING)
    db.session.commit()
    return bank


@pytest.fixture
def worker(make_user, tree):
    return make_user("李工", union=tree.a1, email="li@example.com")


def do_the_day(user, bank, when: datetime) -> DailySet:
    """Start the day's set and answer every question of it."""
    found = daily.start(user, bank, now=when)
    for question_id in list(found.questions):
        daily.note_answer(user, bank, question_id, now=when)
    db.session.commit()
    return found


def test_the_days_set_is_fixed_for_a_person_and_differs_between_people(app, tree, bank, worker, make_user):
    neighbour = make_user("王工", union=tree.a1)
    mine = daily.start(worker, bank, now=MORNING).questions
    db.session.commit()
    assert len(mine) == 3 == len(set(mine))
    assert daily.start(worker, bank, now=MORNING + timedelta(hours=10)).questions == mine  # 19:00 the same day
    assert daily.draw(worker.id, bank.id, daily.today_of(worker, MORNING), 3, list(range(1000))) == \
        daily.draw(worker.id, bank.id, daily.today_of(worker, MORNING), 3, list(reversed(range(1000))))
    assert daily.start(neighbour, bank, now=MORNING).questions != mine
    assert daily.start(worker, bank, now=MORNING + timedelta(days=1)).questions != mine  # the next day's
    db.session.commit()
    assert db.session.scalar(select(func.count(DailySet.id))) == 3


def test_the_days_set_through_the_practice_flow(app, bank, worker):
    client = login_client(app, worker)
    page = client.get(f"/drills/banks/{bank.id}").get_data(as_text=True)
    assert 'data-daily="off"' in page and "3 questions a day" in page
    client.post(f"/drills/banks/{bank.id}/daily/on")
    assert 'data-daily="on"' in client.get(f"/drills/banks/{bank.id}").get_data(as_text=True)
    assert client.post(f"/drills/banks/{bank.id}/daily").headers["Location"].endswith("mode=daily")
    the_set = db.session.scalar(select(DailySet))
    shown = []
    for _n in range(3):
        page = client.get(f"/drills/banks/{bank.id}/practice?mode=daily").get_data(as_text=True)
        version = db.session.get(QuestionVersion, int(VERSION.search(page).group(1)))
        shown.append(version.question_id)
        result = client.post(f"/drills/banks/{bank.id}/practice?mode=daily",
                             data={"version": version.id, "choice": "1"}).headers["Location"]
        assert "data-explanation" in client.get(result).get_data(as_text=True)  # wrong, with its explanation
    assert shown == the_set.questions
    assert "data-daily-done" in client.get(f"/drills/banks/{bank.id}/practice?mode=daily").get_data(as_text=True)
    page = client.get(f"/drills/banks/{bank.id}").get_data(as_text=True)
    assert 'data-streak="1"' in page and "data-daily-done" in page
    assert 'data-streak="1"' in client.get("/drills").get_data(as_text=True)
    client.post(f"/drills/banks/{bank.id}/daily/off")
    assert 'data-daily="off"' in client.get(f"/drills/banks/{bank.id}").get_data(as_text=True)


def test_the_streak_counts_days_in_a_row_and_a_missed_day_resets_it(app, bank, worker):
    daily.turn_on(worker, bank, now=MORNING)
    db.session.commit()

    def streak(when: datetime) -> tuple[int, bool]:
        found = daily.streaks(worker, now=when)[bank.id]
        return found.days, found.done_today

    assert streak(MORNING) == (0, False)
    do_the_day(worker, bank, MORNING)
    assert streak(MORNING) == (1, True)
    late = MORNING + timedelta(days=1, hours=15, minutes=30)  # Tuesday 16:30 UTC: Wednesday 00:30 in Shanghai
    assert daily.today_of(worker, late).isoformat() == "2026-03-04"
    tuesday = MORNING + timedelta(days=1)
    assert streak(tuesday) == (1, False)  # still alive while Tuesday's set is open
    started = daily.start(worker, bank, now=tuesday)
    daily.note_answer(worker, bank, started.questions[0], now=tuesday)
    db.session.commit()
    assert streak(tuesday) == (1, False)  # one answer of three is not the day
    do_the_day(worker, bank, tuesday + timedelta(hours=14, minutes=59))  # 23:59 in Shanghai: still Tuesday
    assert streak(tuesday + timedelta(hours=15)) == (2, False)  # Wednesday 00:00 in Shanghai
    assert streak(MORNING + timedelta(days=3)) == (0, False)  # Wednesday missed: Thursday starts from nothing
    do_the_day(worker, bank, MORNING + timedelta(days=3))
    assert streak(MORNING + timedelta(days=3)) == (1, True)
    assert daily.streak_of([], MORNING.date()).days == 0


def test_the_reminder_is_off_by_default_on_when_chosen_once_a_day_and_not_after_the_set(app, bank, worker,
                                                                                        make_user, tree):
    daily.turn_on(worker, bank, now=MORNING)
    other = make_user("王工", union=tree.a1, email="wang@example.com")
    daily.turn_on(other, bank, now=MORNING)
    db.session.commit()
    assert "drills.daily_reminders" in app.extensions["classroom"].jobs
    assert jobs.daily_reminders(now=EVENING) == 0  # nobody chose the kind: nothing, not even in the app
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    row = {row["kind"]: row for row in preferences.table(worker)}[daily.KIND]
    assert (row["email"], row["sms"]) == (False, False)

    for person in (worker, other):
        preferences.save(person, {daily.KIND: {"email": True, "sms": False}}, "")
    db.session.commit()
    assert jobs.daily_reminders(now=MORNING) == 0  # 09:00: not yet
    do_the_day(other, bank, MORNING)  # the other one has done today's set already
    assert jobs.daily_reminders(now=EVENING) == 1
    assert jobs.daily_reminders(now=EVENING + timedelta(hours=2)) == 0  # at most once a day
    sent = db.session.scalars(select(Notification)).all()
    assert [(note.user_id, note.kind, note.link) for note in sent] == [(worker.id, daily.KIND, "/drills")]
    assert db.session.scalar(select(func.count(OutboundMessage.id)).filter_by(channel="email")) == 1
    assert db.session.scalar(select(func.count(OutboundMessage.id)).filter_by(channel="sms")) == 0
    assert jobs.daily_reminders(now=EVENING + timedelta(days=1)) == 2  # the next evening: both sets open
    do_the_day(worker, bank, EVENING + timedelta(days=2))
    assert jobs.daily_reminders(now=EVENING + timedelta(days=2, hours=1)) == 1  # only the other one
    daily.turn_off(other, bank)
    db.session.commit()
    assert jobs.daily_reminders(now=EVENING + timedelta(days=3)) == 1
