"""deploy/alerts.yml (issue 18): Prometheus alerting rules on the series /metrics exposes. Every metric an
expression names must be one /metrics answers with (a renamed series would leave its alert silently
never firing), and the README's "What to alert on" names every rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from classroom import replica
from tests.test_observability import TOKEN

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_OWN = {"up"}  # made by Prometheus for each scrape target, not by the app
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "inf", "nan"}
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
            "summary": ("_count", "_sum", "_created"), "gauge": ("",)}


@pytest.fixture
def app_config(database_url):
    # on PostgreSQL the "replica" is the primary itself (lag 0), so its two series are answered for real
    replica_url = database_url if database_url.startswith("postgresql") else None
    return {"METRICS_TOKEN": TOKEN, "REPLICA_DATABASE_URL": replica_url}


def rules() -> list[dict]:
    document = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The series an expression reads: identifiers outside label matchers, ranges and grouping clauses that
    are neither functions nor keywords."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", bare)
    return {name for name in names if name.lower() not in KEYWORDS}


def exposed(text: str) -> set[str]:
    """Every series name a scrape answers with, each family's sample names included (a counter's _total,
    a histogram's _bucket/_count/_sum), whether or not it has samples yet."""
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


def test_the_name_finder_reads_promql():
    assert metric_names('histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="y"}[5m]))) > 2') == {"a_bucket"}
    assert metric_names('max by (q) (g{s="queued"}) > 0 and on (q) max by (q) (g{s="started"}) == 0') == {"g"}
    assert metric_names("sum(rate(e_total[5m])) / sum(rate(s_count[5m])) > 0.01") == {"e_total", "s_count"}


def test_every_alert_reads_series_that_metrics_exposes(app, client, monkeypatch, is_postgres):
    if not is_postgres:  # SQLite has no replica to ask: its gauges as a replica would report them
        monkeypatch.setattr(replica, "status", lambda: replica.Source("replica", 0.0))
    client.get("/auth/login")  # one request timed, so the latency histogram has samples
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    names = exposed(response.get_data(as_text=True))
    assert {"classroom_replica_up", "classroom_replica_lag_seconds", "classroom_queue_jobs"} <= names
    found = set()
    for rule in rules():
        assert rule["alert"].startswith("Classroom") and rule["labels"]["severity"] in ("page", "warn")
        assert rule["annotations"]["summary"]
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        missing = used - names - PROMETHEUS_OWN
        assert not missing, f"{rule['alert']} reads series /metrics does not expose: {sorted(missing)}"
        found |= used
    # the rules cover the signals issue 18 names
    for series in ("classroom_scheduler_has_leader", "classroom_outbox_oldest_age_seconds", "classroom_queue_jobs",
                   "classroom_queue_job_runs_total", "classroom_request_errors_total", "classroom_request_seconds_bucket",
                   "classroom_replica_up", "classroom_replica_lag_seconds", "classroom_login_failures_total"):
        assert series in found, series


def test_the_readme_says_what_to_alert_on_as_the_file_does():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("#### What to alert on", 1)[1].split("\n#", 1)[0]
    assert "deploy/alerts.yml" in section
    for rule in rules():
        assert f"`{rule['alert']}`" in section, rule["alert"]
