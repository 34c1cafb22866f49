"""The failover drill's own parts (`make drill` runs the whole of it by hand, never in the suite): its verdicts
on small fixtures, the check-in code its load types, the member file it imports, and the nginx site it
puts in front of the app hosts (the shipped upstream settings and proxy snippet, accepted by `nginx -t`)."""

from __future__ import annotations

import csv
import io
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.drill import checks
from deploy.drill.checks import Fault
from deploy.drill.load import Record, checkin_code, multipart
from deploy.drill.run import IMPORT_PREFIX, import_file
from deploy.drill.topology import nginx_conf, upstream_settings
from tests.test_deploy import nginx_or_skip

T0 = 1_800_000_000.0


def rec(at: float, op: str = "home", status: int = 200, ms: float = 10.0, user: int | None = None,
        target: int | None = None) -> Record:
    return Record(T0 + at, ms, op, status, user, target)


def test_phases_and_latency_split_the_run_at_the_faults():
    faults = [Fault("web1", T0 + 30), Fault("replica", T0 + 60, T0 + 80)]
    spans = checks.phases(faults, T0, T0 + 120, settle=10)
    assert [(name, low - T0, high - T0) for name, low, high in spans] == [
        ("before", 0, 30), ("during", 30, 90), ("after", 90, 120)]
    records = [rec(1, ms=10), rec(2, ms=20), rec(3, ms=1000), rec(40, ms=50), rec(41, status=0, ms=30000),
               rec(100, ms=5)]
    table = checks.latency_by_phase(records, spans)
    assert table["before"] == (3, 20, 1000)  # nearest rank: p50 of three is the second, p95 the third
    assert table["during"] == (1, 50, 50)  # a request without an answer has no latency
    assert table["after"] == (1, 5, 5)
    assert checks.percentile([], 0.5) == 0


def test_errors_count_only_when_no_fault_came_just_before():
    faults = [Fault("web1", T0 + 30), Fault("replica", T0 + 60, T0 + 80)]
    records = [rec(n) for n in range(200)] + [rec(30.2, status=502), rec(31, status=0), rec(82, status=503),
                                              rec(50, status=500), rec(10, status=404)]
    errors = checks.failover_errors(records, faults, window=15)
    assert len(errors.failed) == 4 and errors.total == 205
    assert [record.at - T0 for record in errors.outside] == [50]  # 20 s after web1, before the replica
    assert errors.by_fault(faults, 15) == {"web1": 2, "replica": 1}
    assert errors.share == pytest.approx(4 / 205)
    # two faults' windows overlap: a failure is put down to the one it followed most closely
    overlapping = [Fault("worker", T0 + 20), Fault("web1", T0 + 30)]
    assert checks.explained_by(rec(30.1, status=502), overlapping, 15).name == "web1"
    assert checks.explained_by(rec(27, status=502, ms=3500), overlapping, 15).name == "web1"  # on its way
    assert checks.explained_by(rec(18, status=502, ms=100), [Fault("web1", T0 + 30)], 15) is None  # ended before
    assert checks.explained_by(rec(25, status=502), overlapping, 15).name == "worker"


def test_exactly_once_finds_lost_doubled_and_unasked_rows():
    records = [rec(1, "enroll", 302, user=1, target=7), rec(2, "enroll", 302, user=2, target=7),
               rec(3, "enroll", 502, user=3, target=7), rec(4, "enroll", 200, user=4, target=7)]
    acked, unknown = checks.acknowledged(records, "enroll"), checks.unanswered(records, "enroll")
    assert acked == {(1, 7), (2, 7)} and unknown == {(3, 7)}
    clean = checks.exactly_once(acked, Counter({(1, 7): 1, (2, 7): 1, (3, 7): 1}), unknown)
    assert clean.ok and clean.extra == []  # a 502'd request may or may not have been applied
    broken = checks.exactly_once(acked, Counter({(1, 7): 2, (4, 7): 1}), unknown)
    assert not broken.ok
    assert (broken.missing, broken.doubled, broken.extra) == ([(2, 7)], [(1, 7)], [(4, 7)])


def test_the_dead_host_leaves_the_rotation_at_its_max_fails_th_failure():
    dead, live = "127.0.0.1:8001", "127.0.0.1:8002"
    lines = [f'{T0 - 1:.3f} 200 "{dead}" "200" GET "/" 0.010',  # before the kill: not counted
             f'{T0 + 0.1:.3f} 502 "{dead}" "502" POST "/checkin" 0.001',  # in flight, not retried
             f'{T0 + 0.2:.3f} 200 "{dead}, {live}" "502, 200" GET "/" 0.020',
             f'{T0 + 0.5:.3f} 200 "{live}" "200" GET "/" 0.020',
             f'{T0 + 0.9:.3f} 200 "{dead}, {live}" "502, 200" GET "/courses/" 0.030',
             f'{T0 + 11:.3f} 200 "{dead}, {live}" "502, 200" GET "/" 0.030',  # fail_timeout's probe
             "garbage"]
    rotation = checks.out_of_rotation(lines, dead, T0, max_fails=3)
    assert rotation.out_after == pytest.approx(0.9, abs=0.01)
    assert (rotation.failed_attempts, rotation.client_errors) == (4, 1)
    assert checks.out_of_rotation(lines[:3], dead, T0, max_fails=3).out_after is None


def test_one_email_each():
    expected = {"a@x.cn", "b@x.cn", "c@x.cn"}
    assert checks.one_email_each(expected, Counter({"a@x.cn": 1, "b@x.cn": 1, "c@x.cn": 1})).ok
    mail = checks.one_email_each(expected, Counter({"a@x.cn": 2, "b@x.cn": 1, "z@x.cn": 1}))
    assert not mail.ok and (mail.missing, mail.duplicated, mail.unexpected) == (["c@x.cn"], {"a@x.cn": 2}, ["z@x.cn"])


def test_the_load_types_the_code_the_class_shows(app):
    from courses.attendance.checkin import code_at
    from courses.attendance.models import SessionCheckin

    secret = "00112233445566778899aabbccddeeff00112233"
    moment = datetime(2026, 12, 7, 8, 0, 15, tzinfo=UTC)
    with app.app_context():
        shown = code_at(SessionCheckin(session_id=1, secret=secret), moment)
    assert checkin_code(secret, moment.timestamp()) == shown and len(shown) == 6


def test_the_member_file_and_its_upload():
    rows = list(csv.reader(io.StringIO(import_file(5).decode("utf-8-sig"))))
    assert rows[0][:2] == ["姓名", "手机号"] and len(rows) == 6
    mobiles = [row[1] for row in rows[1:]]
    assert len(set(mobiles)) == 5 and all(m.startswith(IMPORT_PREFIX) and len(m) == 11 for m in mobiles)
    body, kind = multipart({"csrf_token": "t"}, "file", "m.csv", b"a,b\r\n")
    boundary = kind.split("boundary=")[1]
    assert body.endswith(f"--{boundary}--\r\n".encode()) and b'filename="m.csv"' in body and b"\r\n\r\nt\r\n" in body


def test_the_drills_nginx_site_uses_the_shipped_upstream_settings_and_passes_nginx_t(tmp_path):
    max_fails, fail_timeout = upstream_settings()
    conf = nginx_conf(tmp_path, 18081, [18001, 18002])
    text = conf.read_text()
    assert text.count(f"max_fails={max_fails} fail_timeout={fail_timeout}s;") == 2
    assert f"include {Path(__file__).resolve().parents[1] / 'deploy' / 'nginx-classroom-proxy.conf'};" in text
    nginx = nginx_or_skip()
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr
