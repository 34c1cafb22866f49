"""Factory fixtures: a test reads like its scenario (make_user, make_union, tree, auth …)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pytest

from classroom.accounts.models import Role, RoleGrant, User
from classroom.database import utcnow
from classroom.extensions import db
from classroom.security import hash_password
from classroom.unions.models import Membership, MembershipStatus, TradeUnion, UnionKind
from classroom.unions.tree import create_union

PASSWORD = "Correct-Horse-42"
_mobiles = itertools.count(13900000000)


@pytest.fixture
def password_hash(app) -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def make_union(app):
    def make(name: str, kind: str = UnionKind.GRASSROOTS, parent: TradeUnion | None = None, **fields):
        union = create_union(parent, name, kind, **fields)
        db.session.commit()
        return union

    return make


@dataclass
class Tree:
    city: TradeUnion
    district_a: TradeUnion
    a1: TradeUnion
    a2: TradeUnion
    district_b: TradeUnion
    b1: TradeUnion
    industry: TradeUnion
    i1: TradeUnion


@pytest.fixture
def tree(make_union) -> Tree:
    """市总工会 → 东城区 (A1, A2), 西城区 (B1), 交通产业工会 (I1)."""
    city = make_union("市总工会", UnionKind.CITY, code="CITY")
    district_a = make_union("东城区总工会", UnionKind.DISTRICT, city, code="DA")
    district_b = make_union("西城区总工会", UnionKind.DISTRICT, city, code="DB")
    industry = make_union("交通运输产业工会", UnionKind.INDUSTRY, city, code="IN")
    return Tree(
        city=city, district_a=district_a, district_b=district_b, industry=industry,
        a1=make_union("华东机电工会", parent=district_a, code="A1", employer="华东机电"),
        a2=make_union("东城卫生中心工会", parent=district_a, code="A2", employer="东城卫生中心"),
        b1=make_union("银泰商场工会", parent=district_b, code="B1", employer="银泰商场"),
        i1=make_union("公交集团工会", parent=industry, code="I1", employer="公交集团"),
    )


@pytest.fixture
def make_user(password_hash):
    """make_user(union=a1) → an active member of a1; status="applied" for an applicant;
    role=("union_admin", node) grants a role."""

    def make(name: str = "张三", *, union: TradeUnion | None = None, status: str = MembershipStatus.ACTIVE,
             role: tuple[str, TradeUnion] | None = None, mobile: str | None = None, **fields) -> User:
        fields.setdefault("locale", "en")  # tests read English unless they ask for Chinese
        user = User(real_name=name, mobile=mobile or str(next(_mobiles)), password_hash=password_hash,
                    created_at=utcnow(), **fields)
        db.session.add(user)
        db.session.flush()
        if union is not None:
            membership = Membership(user_id=user.id, union_id=union.id, status=status, applied_at=utcnow())
            if status == MembershipStatus.ACTIVE:
                union.member_seq += 1
                membership.member_no = f"{union.code}-{union.member_seq:06d}"
                membership.started_at = utcnow()
            db.session.add(membership)
        if role is not None:
            db.session.add(RoleGrant(user_id=user.id, role=role[0], union_id=role[1].id))
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_admin(make_user):
    def make(node: TradeUnion, name: str = "管理员", **fields) -> User:
        return make_user(name, role=(Role.UNION_ADMIN, node), **fields)

    return make


@pytest.fixture
def site_admin(make_user, tree) -> User:
    return make_user("平台管理员", role=(Role.SITE_ADMIN, tree.city))


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user_or_mobile, password: str = PASSWORD, **extra):
        mobile = getattr(user_or_mobile, "mobile", user_or_mobile)
        return self.client.post("/auth/login", data={"identifier": mobile, "password": password, **extra})

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


# ---- courses ----------------------------------------------------------------------------------

@pytest.fixture
def instructor(make_user, tree) -> User:
    return make_user("王建国", union=tree.a1, role=(Role.INSTRUCTOR, tree.a1))


@pytest.fixture
def make_course(instructor, tree):
    """make_course(scope=tree.district_a, capacity=10, lessons=2, sessions=1) → a published course
    (status="draft" for a draft) taught by ``instructor``."""
    from datetime import timedelta

    from courses.catalog.models import ClassSession, Course, CourseInstructor, Lesson

    counter = itertools.count(1)

    def make(title: str | None = None, *, scope: TradeUnion | None = None, status: str = "published",
             lessons: int = 2, sessions: int = 0, teacher: User | None = None, **fields) -> Course:
        now = utcnow()
        fields.setdefault("credit_minutes", 90)
        fields.setdefault("category", "电工")
        fields.setdefault("summary", "安全生产与技能提升")
        course = Course(title=title or f"课程{next(counter)}", status=status,
                        host_union_id=(scope or tree.city).id, scope_union_id=(scope or tree.city).id,
                        published_at=now if status == "published" else None, created_at=now, updated_at=now,
                        **fields)
        db.session.add(course)
        db.session.flush()
        db.session.add(CourseInstructor(course_id=course.id, user_id=(teacher or instructor).id))
        for position in range(1, lessons + 1):
            db.session.add(Lesson(course_id=course.id, position=position, title=f"第{position}课",
                                  body=f"# 第{position}课\n\n内容", credit_minutes=10))
        for index in range(sessions):
            starts = now + timedelta(days=7 * (index + 1))
            db.session.add(ClassSession(course_id=course.id, starts_at=starts, ends_at=starts + timedelta(hours=2),
                                        venue_name="东城区职工服务站", credit_minutes=90))
        db.session.commit()
        return course

    return make


def login_client(app, user, password: str = PASSWORD):
    """A new test client logged in as ``user``."""
    client = app.test_client()
    response = client.post("/auth/login", data={"identifier": user.mobile, "password": password})
    assert response.status_code == 302, "log-in failed"
    return client
