"""flask seed-scale: a realistic union tree and N workers for load and scale tests.

Rows are generated per chunk and bulk-inserted with SQLAlchemy Core (COPY on PostgreSQL) in one
transaction; every seeded person shares one precomputed password hash (``seed.DEMO_PASSWORD``).
Later features add their own data (courses, enrollments, hours …) to the registry's
``scale_extensions`` as ``(extension, click_options)``: ``extension(context, **options)`` runs after the
people exist, in the same transaction, and the command takes the options.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table

from classroom.accounts.models import Consent, User
from classroom.accounts.services import PRIVACY_NOTICE
from classroom.database import begin_write, is_postgresql, utcnow
from classroom.extensions import Model, db
from classroom.registry import registry
from classroom.security import hash_password
from classroom.seed import DEMO_PASSWORD, GIVEN_PARTS, SURNAMES
from classroom.unions import counters, history
from classroom.unions.models import Membership, MembershipStatus, TradeUnion, UnionKind
from classroom.unions.tree import create_union

CHUNK = 50_000
AREAS = ["东城", "西城", "滨江", "高新", "临港", "南湖", "北塘", "江北", "经开", "城南"]
INDUSTRIES = ["市机械冶金产业工会", "市交通运输产业工会", "市建设建材产业工会", "市商贸服务产业工会",
              "市卫生健康产业工会", "市能源化工产业工会"]
BRANDS = ["华东", "恒通", "宏达", "金桥", "新城", "永安", "联创", "博远", "瑞丰", "长江", "东方", "中兴", "鑫源",
          "安泰"]
# (what the employer does, its trades, its worker group)
SECTORS = [
    ("机电集团有限公司", ["电工", "钳工", "数控车工"], None),
    ("社区卫生服务中心", ["护理员", "药剂员"], "caregiver"),
    ("快递有限公司", ["快递员", "分拣员"], "courier"),
    ("家政服务中心", ["家政服务员", "育婴员"], "domestic"),
    ("购物中心", ["商场信息员", "收银员"], "mall_info"),
    ("物业管理有限公司", ["保安员", "电梯安装维修工"], "security_guard"),
    ("港口物流有限公司", ["叉车司机", "起重装卸机械操作工"], None),
    ("新能源汽车制造有限公司", ["汽车装调工", "焊工"], None),
    ("建筑安装工程公司", ["砌筑工", "钢筋工", "架子工"], "migrant"),
    ("精密数控有限公司", ["数控铣工", "工具钳工"], None),
    ("电子科技股份有限公司", ["电子装接工", "半导体分立器件制造工"], None),
    ("重型机械厂", ["焊工", "铸造工", "车工"], None),
    ("钢铁集团", ["炼钢工", "轧钢工", "电工"], None),
    ("公交集团", ["公交驾驶员", "汽车维修工"], None),
    ("道路货运有限公司", ["货车司机"], "truck_driver"),
    ("网约车服务有限公司", ["网约车司机"], "ride_hailing"),
    ("外卖配送站", ["网约送餐员"], "food_delivery"),
    ("房产经纪有限公司", ["房地产经纪人"], "realty_agent"),
]
LEVELS = [5, 5, 4, 4, 4, 3, 3, 2, 1]
YEARS, BIRTHS = range(0, 31), range(1965, 2006)
USER_COLUMNS = ("id", "real_name", "mobile", "password_hash", "employer", "trade", "skill_level", "years_in_trade",
                "birth_year", "worker_group", "locale", "timezone", "notification_prefs", "is_active", "created_at")
MEMBERSHIP_COLUMNS = ("user_id", "union_id", "status", "member_no", "applied_at", "decided_at", "started_at")
CONSENT_COLUMNS = ("user_id", "what", "version", "given_at")


@dataclass
class ScaleContext:
    """What the scale extensions build on: the new people (ids from ``first_user_id``) and unions."""

    workers: int
    now: datetime
    rng: random.Random
    unions: list[TradeUnion] = field(default_factory=list)  # the new grassroots unions
    first_user_id: int = 0


@dataclass
class Grassroots:
    """A new grassroots union, as the people's rows need it."""

    id: int
    code: str
    employer: str
    trades: list[str]
    group: str | None


def seed_scale(workers: int, unions: int | None = None, *, rng_seed: int = 2026,
               progress: Callable[[int], object] | None = None, options: dict | None = None) -> ScaleContext:
    """Add a union tree and ``workers`` people to the database (the caller commits)."""
    rng, now = random.Random(rng_seed), utcnow()
    begin_write(db.session)
    grassroots = _build_tree(unions or max(10, workers // 300), rng)
    context = ScaleContext(workers, now, rng, first_user_id=_reserve_user_ids(workers))
    password_hash = hash_password(DEMO_PASSWORD)
    first_mobile = _first_mobile()
    weights = [rng.paretovariate(1.5) for _ in grassroots]
    seq: Counter = Counter()
    for start in range(0, workers, CHUNK):
        count = min(CHUNK, workers - start)
        users, memberships, consents = _people(context, grassroots, weights, seq, start, count, first_mobile,
                                               password_hash)
        _write(table_of(User), USER_COLUMNS, users)
        _write(table_of(Membership), MEMBERSHIP_COLUMNS, memberships)
        _write(table_of(Consent), CONSENT_COLUMNS, consents)
        if progress:
            progress(count)
    _finish(grassroots, seq, context)
    context.unions = list(db.session.scalars(select(TradeUnion).where(TradeUnion.id.in_([g.id for g in grassroots]))))
    for extension, _options in registry().scale_extensions:
        extension(context, **(options or {}))
    return context


def _build_tree(count: int, rng: random.Random) -> list[Grassroots]:
    """The city (made if missing), district and industry unions, ``count`` grassroots unions below."""
    city = db.session.scalar(select(TradeUnion).where(TradeUnion.parent_id.is_(None)))
    city = city or create_union(None, "市总工会", UnionKind.CITY)
    middle_count = max(4, min(len(AREAS) + len(INDUSTRIES), count // 25))
    names = [f"{area}区总工会" for area in AREAS] + INDUSTRIES
    existing = {union.name: union for union in db.session.scalars(
        select(TradeUnion).where(TradeUnion.parent_id == city.id, TradeUnion.name.in_(names[:middle_count])))}
    middles = [existing.get(names[n]) or create_union(city, names[n], UnionKind.DISTRICT if n < len(AREAS)
                                                      else UnionKind.INDUSTRY) for n in range(middle_count)]
    planned, used = [], set()
    for n in range(count):
        parent = middles[n % len(middles)]
        area = AREAS[n % len(AREAS)] if parent.kind == UnionKind.INDUSTRY else parent.name[:2]
        sector, trades, group = rng.choice(SECTORS)
        employer = f"{area}{rng.choice(BRANDS)}{sector}"
        employer = employer if employer not in used else f"{employer}第{n}分公司"
        used.add(employer)
        planned.append((parent, employer, trades, group))
    rows = [{"name": f"{employer}工会", "kind": UnionKind.GRASSROOTS, "parent_id": parent.id, "path": "",
             "depth": parent.depth + 1, "employer": employer, "member_seq": 0, "created_at": utcnow()}
            for parent, employer, _t, _g in planned]
    table = table_of(TradeUnion)
    ids = db.session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    db.session.execute(update(table).where(table.c.id == bindparam("uid")), [
        {"uid": union_id, "path": f"{parent.path}{union_id}/", "code": f"U{union_id:06d}"}
        for union_id, (parent, *_rest) in zip(ids, planned, strict=True)])
    return [Grassroots(union_id, f"U{union_id:06d}", employer, trades, group)
            for union_id, (_p, employer, trades, group) in zip(ids, planned, strict=True)]


def _reserve_user_ids(count: int) -> int:
    """A block of user ids (rows are copied with explicit ids, so memberships can name them)."""
    if is_postgresql(db.session):
        db.session.execute(text('LOCK TABLE "user" IN SHARE ROW EXCLUSIVE MODE'))
        first = int(db.session.execute(text("SELECT nextval(pg_get_serial_sequence('\"user\"', 'id'))")).scalar_one())
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('\"user\"', 'id'), :last)"),
                           {"last": first + count - 1})
        return first
    return (db.session.scalar(select(func.max(User.id))) or 0) + 1


def _first_mobile() -> int:
    """Seeded mobiles run on from the highest 19x number in use (the demo data never uses 19x)."""
    highest = db.session.scalar(select(func.max(User.mobile)).where(User.mobile.like("19%")))
    return int(highest) + 1 if highest else 19_100_000_000


def _people(context: ScaleContext, grassroots: list[Grassroots], weights: list[float], seq: Counter, start: int,
            count: int, first_mobile: int, password_hash: str) -> tuple[list, list, list]:
    """One chunk of people, their memberships (every 17th still an application) and consents."""
    rng, now = context.rng, context.now
    version = current_app.config["PRIVACY_NOTICE_VERSION"]
    active, applied = MembershipStatus.ACTIVE.value, MembershipStatus.APPLIED.value
    homes = rng.choices(grassroots, weights=weights, k=count)
    names = [s + g for s, g in zip(rng.choices(SURNAMES, k=count), rng.choices(GIVEN_PARTS, k=count), strict=True)]
    levels, years, births = rng.choices(LEVELS, k=count), rng.choices(YEARS, k=count), rng.choices(BIRTHS, k=count)
    picks, ages = rng.choices(range(6), k=count), rng.choices(range(400), k=count)
    created_at = [now - timedelta(days=30 + age) for age in range(400)]
    decided_at = [moment + timedelta(days=2) for moment in created_at]
    users: list[tuple] = []
    memberships: list[tuple] = []
    consents: list[tuple] = []
    for n in range(count):
        home, user_id, created = homes[n], context.first_user_id + start + n, created_at[ages[n]]
        users.append((user_id, names[n], str(first_mobile + start + n), password_hash, home.employer,
                      home.trades[picks[n] % len(home.trades)], levels[n], years[n], births[n], home.group, "zh_CN",
                      "Asia/Shanghai", "{}", True, created))
        if (start + n) % 17 == 0:
            memberships.append((user_id, home.id, applied, None, created, None, None))
        else:
            seq[home.id] += 1
            decided = decided_at[ages[n]]
            memberships.append((user_id, home.id, active, f"{home.code}-{seq[home.id]:06d}", created, decided, decided))
        consents.append((user_id, PRIVACY_NOTICE, version, created))
    return users, memberships, consents


def _write(table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY on PostgreSQL; elsewhere a Core executemany of values already in the column's storage
    form (an untyped table clause: no per-value type processing)."""
    if is_postgresql(db.session):
        copy_rows(db.session.connection().connection.dbapi_connection, table.name, columns, rows)
        return
    plain = sa_table(table.name, *[sa_column(name) for name in columns])
    stamps: dict[datetime, str] = {}  # a few hundred distinct timestamps: format each once

    def stored(value: object) -> object:
        """A value as the column stores it (a timestamp as SQLite's text)."""
        if isinstance(value, datetime):  # as SQLAlchemy stores UTC timestamps in SQLite
            if value not in stamps:
                stamps[value] = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            return stamps[value]
        return value

    db.session.execute(insert(plain), [dict(zip(columns, map(stored, row), strict=True)) for row in rows])


def copy_rows(dbapi_connection: Any, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY … FROM STDIN through psycopg (its C row formatter)."""
    names = ", ".join(f'"{column}"' for column in columns)
    with dbapi_connection.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _finish(grassroots: list[Grassroots], seq: Counter, context: ScaleContext) -> None:
    """The member counters and the members per month folded (the copies' changes, as the scheduler would within
    a minute), the sequence past the copied ids, fresh planner statistics."""
    table = table_of(TradeUnion)
    if seq:
        db.session.execute(update(table).where(table.c.id == bindparam("uid")),
                           [{"uid": union_id, "member_seq": count} for union_id, count in seq.items()])
    counters.fold()
    history.fold()
    if is_postgresql(db.session):
        for name in ("user", "membership", "consent", "trade_union", "union_member_change", "union_member_month",
                     "union_member_total", "union_member_delta", "union_member_count", "union_subtree_count"):
            db.session.execute(text(f'ANALYZE "{name}"'))


def table_of(model: type[Model]) -> Table:
    """A model's table (SQLAlchemy types ``__table__`` as any FROM clause; a mapped class's is a Table)."""
    return cast(Table, model.__table__)
