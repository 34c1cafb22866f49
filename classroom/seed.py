"""Demo data: a city's union tree, its workers, instructors and admins (flask seed-demo)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from classroom.accounts.models import Consent, Role, RoleGrant, User
from classroom.accounts.services import PRIVACY_NOTICE
from classroom.database import utcnow
from classroom.extensions import db
from classroom.registry import registry
from classroom.security import hash_password
from classroom.unions.models import Membership, MembershipStatus, TradeUnion, UnionKind
from classroom.unions.tree import create_union

DEMO_PASSWORD = "Gonghui#2026"

# (district or industry union, code, [(grassroots union, code, employer, trades, worker group)])
TREE: list[tuple[str, str, UnionKind, list[tuple[str, str, str, list[str], str | None]]]] = [
    ("东城区总工会", "DC", UnionKind.DISTRICT, [
        ("华东机电集团有限公司工会", "DC01", "华东机电集团有限公司", ["电工", "钳工", "数控车工"], None),
        ("东城区社区卫生服务中心工会", "DC02", "东城区社区卫生服务中心", ["护理员", "药剂员"], "caregiver"),
        ("顺达快递东城分公司工会", "DC03", "顺达快递东城分公司", ["快递员", "分拣员"], "courier"),
    ]),
    ("西城区总工会", "XC", UnionKind.DISTRICT, [
        ("西城家政服务中心工会", "XC01", "西城家政服务中心", ["家政服务员", "育婴员"], "domestic"),
        ("银泰购物中心工会", "XC02", "银泰购物中心", ["商场信息员", "收银员"], "mall_info"),
        ("安信物业管理有限公司工会", "XC03", "安信物业管理有限公司", ["保安员", "电梯安装维修工"], "security_guard"),
    ]),
    ("滨江区总工会", "BJ", UnionKind.DISTRICT, [
        ("滨江港口物流有限公司工会", "BJ01", "滨江港口物流有限公司", ["叉车司机", "起重装卸机械操作工"], None),
        ("滨江新能源汽车制造有限公司工会", "BJ02", "滨江新能源汽车制造有限公司", ["汽车装调工", "焊工"], None),
        ("滨江建筑安装工程公司工会", "BJ03", "滨江建筑安装工程公司", ["砌筑工", "钢筋工", "架子工"], "migrant"),
    ]),
    ("高新区总工会", "GX", UnionKind.DISTRICT, [
        ("高新精密数控有限公司工会", "GX01", "高新精密数控有限公司", ["数控铣工", "工具钳工"], None),
        ("高新电子科技股份有限公司工会", "GX02", "高新电子科技股份有限公司", ["电子装接工", "半导体分立器件制造工"], None),
    ]),
    ("市机械冶金产业工会", "JY", UnionKind.INDUSTRY, [
        ("市重型机械厂工会", "JY01", "市重型机械厂", ["焊工", "铸造工", "车工"], None),
        ("市钢铁集团工会", "JY02", "市钢铁集团", ["炼钢工", "轧钢工", "电工"], None),
    ]),
    ("市交通运输产业工会", "JT", UnionKind.INDUSTRY, [
        ("市公交集团工会", "JT01", "市公交集团", ["公交驾驶员", "汽车维修工"], None),
        ("市货运司机联合工会", "JT02", "市道路货运协会", ["货车司机"], "truck_driver"),
        ("网约车司机工会联合会", "JT03", "多家网约车平台", ["网约车司机"], "ride_hailing"),
        ("外卖骑手工会联合会", "JT04", "多家外卖平台", ["网约送餐员"], "food_delivery"),
    ]),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍韦申尤毕聂柴焦向柳邢骆岳齐沿梅莫庄辛管祝左涂谷祁时舒耿牟卜路詹关苗凌费纪靳盛童欧甄项曲成游阳裴席卫查屈鲍位覃霍翁隋植甘景薄单包司柏宁柯阮桂闵欧阳解强柴华车冉房"
GIVEN_PARTS = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
               "超", "兰", "霞", "平", "刚", "华", "建国", "建华", "志强", "海燕", "春梅", "红梅", "玉兰",
               "宏伟", "晓东", "卫东", "永刚", "德明", "国庆", "小红", "丽华", "振华", "立新", "鹏飞", "思远",
               "嘉怡", "子轩", "雨涵", "浩然", "欣怡", "俊杰", "文博", "志明", "秀珍", "桂芳", "长青", "金凤"]


@dataclass
class DemoLogin:
    """A demo log-in to print: its role, the person's name, the mobile number that logs in."""

    role: str
    name: str
    mobile: str


Grassroots = tuple[TradeUnion, list[str], str | None]  # a grassroots union, its trades, its worker group


def seed_demo(*, workers: int = 320, rng_seed: int = 2026) -> list[DemoLogin]:
    """Build the demo city; returns the log-ins to print."""
    rng = random.Random(rng_seed)
    now = utcnow()
    city, district, grassroots = _demo_tree()
    people = _People(rng, now, hash_password(DEMO_PASSWORD))
    logins = _staff(people, city, district, grassroots)
    used = {login.mobile for login in logins}
    for index in range(workers):
        union, trades, group = grassroots[index % len(grassroots)]
        mobile = _mobile(rng, used)
        status = MembershipStatus.APPLIED if index % 17 == 0 else MembershipStatus.ACTIVE
        people.add(_name(rng), mobile, union, trades, group, status=status)
    db.session.flush()
    for extension in registry().demo_extensions:  # the features' own demo data (courses, hours …)
        extension(now=now, rng=rng)
    return logins


def _demo_tree() -> tuple[TradeUnion, TradeUnion, list[Grassroots]]:
    """The city, its first district (for the district admin) and the grassroots unions of TREE."""
    city = create_union(None, "市总工会", UnionKind.CITY, code="SZGH")
    middles, grassroots = [], []
    for name, code, kind, children in TREE:
        middle = create_union(city, name, kind, code=code)
        middles.append(middle)
        for child_name, child_code, employer, trades, group in children:
            union = create_union(middle, child_name, UnionKind.GRASSROOTS, code=child_code, employer=employer)
            union.annual_target_minutes = 24 * 45 if kind == UnionKind.INDUSTRY else None
            grassroots.append((union, trades, group))
    city.annual_target_minutes = 16 * 45
    return city, middles[0], grassroots


class _People:
    """Adds demo people: each with a consent and a membership (an active one numbered in its union)."""

    def __init__(self, rng: random.Random, now: datetime, password_hash: str) -> None:
        self.rng, self.now, self.password_hash = rng, now, password_hash

    def add(self, name: str, mobile: str, union: TradeUnion, trades: list[str], group: str | None, *,
            status: MembershipStatus = MembershipStatus.ACTIVE, level: int | None = None) -> User:
        """One person of ``union`` (their trade one of ``trades``)."""
        rng = self.rng
        user = User(real_name=name, mobile=mobile, password_hash=self.password_hash, employer=union.employer,
                    trade=rng.choice(trades), skill_level=level or rng.choice([5, 5, 4, 4, 4, 3, 3, 2, 1]),
                    years_in_trade=rng.randint(0, 30), birth_year=rng.randint(1968, 2005),
                    worker_group=group, created_at=self.now - timedelta(days=rng.randint(30, 400)))
        db.session.add(user)
        db.session.flush()
        db.session.add(Consent(user_id=user.id, what=PRIVACY_NOTICE, version="2026-11", given_at=user.created_at))
        membership = Membership(user_id=user.id, union_id=union.id, status=status, applied_at=user.created_at)
        if status == MembershipStatus.ACTIVE:
            union.member_seq += 1
            membership.member_no = f"{union.code}-{union.member_seq:06d}"
            membership.started_at = membership.decided_at = user.created_at + timedelta(days=2)
        db.session.add(membership)
        return user


def _staff(people: _People, city: TradeUnion, district: TradeUnion, grassroots: list[Grassroots]) -> list[DemoLogin]:
    """The admins, the instructors and the demo worker, with their roles."""
    machinery, trades, _ = grassroots[0]
    staff = [
        ("site_admin", "平台管理员", "13800000001", city, Role.SITE_ADMIN),
        ("city_admin", "赵卫东", "13800000002", city, Role.UNION_ADMIN),
        ("district_admin", "钱丽华", "13800000003", district, Role.UNION_ADMIN),
        ("grassroots_admin", "孙建华", "13800000004", machinery, Role.UNION_ADMIN),
        ("instructor", "王建国", "13800000005", machinery, Role.INSTRUCTOR),
        ("instructor", "李秀珍", "13800000007", grassroots[1][0], Role.INSTRUCTOR),
    ]
    logins = []
    for role, name, mobile, union, grant in staff:
        home = union if union.kind == UnionKind.GRASSROOTS else machinery
        user = people.add(name, mobile, home, trades, None, level=2 if role == "instructor" else None)
        db.session.add(RoleGrant(user_id=user.id, role=grant, union_id=union.id))
        logins.append(DemoLogin(role, name, mobile))
    people.add("张小明", "13800000006", machinery, ["电工"], None, level=4)
    logins.append(DemoLogin("worker", "张小明", "13800000006"))
    return logins


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_PARTS)


def _mobile(rng: random.Random, used: set[str]) -> str:
    while True:
        mobile = rng.choice(["139", "137", "158", "186", "150", "177"]) + f"{rng.randint(0, 99_999_999):08d}"
        if mobile not in used:
            used.add(mobile)
            return mobile


def database_is_empty() -> bool:
    """Whether no one has an account yet (seed-demo fills only an empty database)."""
    return not db.session.scalar(select(func.count()).select_from(User))


def staff_logins() -> list[DemoLogin]:
    """The demo log-ins as they stand in the database (for a second `make run`)."""
    mobiles = ["13800000001", "13800000002", "13800000003", "13800000004", "13800000005", "13800000007",
               "13800000006"]
    users = {user.mobile: user for user in db.session.scalars(select(User).where(User.mobile.in_(mobiles)))}
    logins = []
    for mobile in mobiles:
        user = users.get(mobile)
        if user is not None:
            roles = sorted({grant.role for grant in user.grants}) or ["worker"]
            logins.append(DemoLogin("/".join(roles), user.real_name, mobile))
    return logins
