"""Demo courses for `flask seed-demo`: lessons, weekly class sessions, an exam, sign-ups."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from classroom.accounts.models import Role, RoleGrant, User
from classroom.extensions import db
from classroom.timefmt import platform_zone
from classroom.unions.models import Membership, TradeUnion
from courses.catalog.models import ClassSession, Course, CourseInstructor, CourseStatus, Lesson
from courses.enrollment.models import Enrollment, EnrollmentStatus
from courses.study.models import Exam, Question

LESSON_TEXT = """## 学习目标

- 理解本课的**安全要点**
- 能够在岗位上正确操作

## 要点

1. 作业前检查工具与防护用品
2. 严格执行操作规程，杜绝违章作业
3. 发现隐患立即报告

> 安全第一，预防为主，综合治理。
"""

COURSES = [
    # title, category, mode, scope code, host code, level, capacity, lessons, sessions, approval, exam, studio
    ("安全生产与职业健康", "安全生产", "online", "SZGH", "SZGH", None, None,
     ["安全生产法律法规", "职业病危害与防护", "应急处置与自救互救"], 0, False, True, None),
    ("低压电工作业安全规程", "电工", "blended", "DC", "DC01", 4, 30,
     ["电气安全基础", "触电急救", "安全用具的使用"], 4, False, True, "王建国劳模创新工作室"),
    ("数控车床编程入门", "数控车工", "offline", "SZGH", "DC01", 4, 20, [], 6, True, False, "王建国劳模创新工作室"),
    ("快递员交通安全与服务规范", "快递服务", "online", "SZGH", "DC03", 5, None,
     ["电动车安全驾驶", "网点作业安全", "文明服务与投诉处理"], 0, False, False, None),
    ("家政服务员职业技能提升", "家政服务", "blended", "XC", "XC01", 5, 25, ["母婴护理基础", "居家保洁规范"], 3,
     False, False, None),
    ("焊接工艺传承：劳模工匠讲堂", "焊工", "offline", "SZGH", "JY01", 3, 10, [], 4, False, False,
     "市重型机械厂劳模工作室"),
    ("货车司机安全驾驶与权益维护", "道路运输", "online", "SZGH", "JT02", None, None,
     ["疲劳驾驶的危害", "货物装载与固定", "劳动权益与入会"], 0, False, False, None),
]

EXAM_QUESTIONS = [
    ("发现作业现场存在安全隐患时，首先应当：", "single", ["继续作业", "立即报告并采取措施", "等下班后再说"], [1]),
    ("下列属于个人防护用品的有：", "multiple", ["安全帽", "绝缘手套", "手机"], [0, 1]),
    ("安全生产方针是“安全第一、预防为主、综合治理”。", "single", ["正确", "错误"], [0]),
]


def seed_courses(*, now: datetime, rng: random.Random) -> None:
    """Demo courses with lessons, weekly sessions, an exam, a course waiting for review, and sign-ups."""
    unions = {union.code: union for union in db.session.scalars(select(TradeUnion))}
    teachers = db.session.scalars(
        select(User).join(RoleGrant, RoleGrant.user_id == User.id).where(RoleGrant.role == Role.INSTRUCTOR)
        .order_by(User.id)).all()
    created = []
    for index, spec in enumerate(COURSES):
        title, category, mode, scope, host, level, capacity, lessons, sessions, approval, exam, studio = spec
        course = Course(title=title, summary=f"{title}：面向一线职工的实用课程，学完计入年度学时。",
                        description=f"本课程由{unions[host].name}主办。\n\n{LESSON_TEXT}", category=category,
                        mode=mode, credit_minutes=max(45, 45 * len(lessons) + 90 * sessions), target_level=level,
                        host_union_id=unions[host].id, scope_union_id=unions[scope].id, studio=studio,
                        status=CourseStatus.PUBLISHED, capacity=capacity, requires_approval=approval,
                        starts_on=(now + timedelta(days=7 + index)).date(), min_lesson_share=100,
                        min_attendance_share=60 if sessions else 0, min_exam_score=60 if exam else None,
                        certificate_months=36, created_at=now - timedelta(days=30 - index),
                        published_at=now - timedelta(days=20 - index), updated_at=now)
        db.session.add(course)
        db.session.flush()
        db.session.add(CourseInstructor(course_id=course.id, user_id=teachers[index % len(teachers)].id))
        for position, lesson_title in enumerate(lessons, start=1):
            db.session.add(Lesson(course_id=course.id, position=position, title=lesson_title,
                                  body=f"# {lesson_title}\n\n{LESSON_TEXT}", credit_minutes=45))
        _weekly_sessions(course, sessions, now=now, venue=f"{unions[scope].name}职工服务站")
        if exam:
            _exam(course)
        created.append(course)
    pending = Course(title="叉车安全操作与日常保养", summary="待审核的新课程", category="叉车司机", mode="offline",
                     credit_minutes=180, host_union_id=unions["BJ01"].id, scope_union_id=unions["BJ"].id,
                     status=CourseStatus.PENDING, submitted_at=now - timedelta(days=1), capacity=15,
                     created_at=now - timedelta(days=2), updated_at=now)
    db.session.add(pending)
    db.session.flush()
    db.session.add(CourseInstructor(course_id=pending.id, user_id=teachers[0].id))
    _weekly_sessions(pending, 2, now=now, venue="滨江区职工服务站")
    db.session.flush()
    _sign_up_workers(created, now=now, rng=rng)


def _weekly_sessions(course: Course, count: int, *, now: datetime, venue: str) -> None:
    tz = platform_zone()
    first = (now + timedelta(days=7)).astimezone(tz).date()
    for week in range(count):
        local = datetime.combine(first + timedelta(weeks=week), time(19, 0), tzinfo=tz)
        db.session.add(ClassSession(course_id=course.id, starts_at=local.astimezone(UTC),
                                    ends_at=(local + timedelta(minutes=90)).astimezone(UTC), venue_name=venue,
                                    venue_address="工人路1号", credit_minutes=90))


def _exam(course: Course) -> None:
    exam = Exam(course_id=course.id, title=f"{course.title} 结业考试", pass_score=60, attempt_limit=3,
                time_limit_minutes=20, shuffle=True)
    db.session.add(exam)
    db.session.flush()
    for position, (text, kind, options, correct) in enumerate(EXAM_QUESTIONS, start=1):
        db.session.add(Question(exam_id=exam.id, position=position, text=text, kind=kind, points=1,
                                options=options, correct=correct))


def _sign_up_workers(courses: list[Course], *, now: datetime, rng: random.Random) -> None:
    """Fill some seats (the welding course to overflowing, so it has a waitlist)."""
    members = db.session.execute(
        select(User.id, TradeUnion.path).join(Membership, Membership.user_id == User.id)
        .join(TradeUnion, TradeUnion.id == Membership.union_id).where(Membership.status == "active")
    ).all()
    demo_worker = db.session.scalar(select(User.id).where(User.mobile == "13800000006"))
    scopes = {union.id: union.path for union in db.session.scalars(select(TradeUnion))}
    for course in courses:
        eligible = [user_id for user_id, path in members if path.startswith(scopes[course.scope_union_id])]
        wanted = 14 if course.capacity == 10 else rng.randint(5, 25)
        chosen = rng.sample(eligible, min(wanted, len(eligible)))
        if demo_worker in eligible and course.title != "焊接工艺传承：劳模工匠讲堂":
            chosen = [demo_worker] + [user_id for user_id in chosen if user_id != demo_worker]
        for user_id in chosen:
            enrollment = Enrollment(user_id=user_id, course_id=course.id, requested_at=now - timedelta(days=3))
            if course.capacity is None or course.enrolled_count < course.capacity:
                enrollment.status, enrollment.enrolled_at = EnrollmentStatus.ENROLLED, now - timedelta(days=3)
                course.enrolled_count += 1
            else:
                course.waitlist_seq += 1
                enrollment.status, enrollment.waitlist_seq = EnrollmentStatus.WAITLISTED, course.waitlist_seq
                course.waitlist_count += 1
            db.session.add(enrollment)
