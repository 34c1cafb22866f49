"""The gauges /metrics reads at scrape time from the database and the queue: the same answer from any
worker or host. Each family is one short query (indexed: ix_outbound_due, the lease's primary key)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from classroom.database import utcnow
from classroom.extensions import db
from classroom.notifications.models import OutboundMessage, OutboundStatus, SchedulerLease


def outbox(connection: Connection) -> Iterator[Metric]:
    """Messages waiting to be sent and the age of the oldest (0 when none waits)."""
    count, oldest = connection.execute(select(func.count(), func.min(OutboundMessage.created_at))
                                       .where(OutboundMessage.status == OutboundStatus.QUEUED)).one()
    depth = GaugeMetricFamily("classroom_outbox_queued", "Emails and text messages waiting in the outbox")
    depth.add_metric([], count)
    age = GaugeMetricFamily("classroom_outbox_oldest_age_seconds", "Age of the oldest message still queued")
    age.add_metric([], max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0.0)
    yield depth
    yield age


def scheduler(connection: Connection) -> Iterator[Metric]:
    """Whether a scheduler holds an unexpired lease, and for how long still."""
    expires = connection.scalar(select(SchedulerLease.expires_at).where(SchedulerLease.name == "scheduler"))
    left = (expires - utcnow()).total_seconds() if expires else -1.0
    leader = GaugeMetricFamily("classroom_scheduler_has_leader", "1 while some scheduler holds the lease")
    leader.add_metric([], 1.0 if left > 0 else 0.0)
    lease = GaugeMetricFamily("classroom_scheduler_lease_seconds_left", "Seconds until the leader's lease lapses")
    lease.add_metric([], max(left, 0.0))
    yield leader
    yield lease


def queue(_connection: Connection) -> Iterator[Metric]:
    """The job queue's jobs by state (queued, started, failed …) per queue; empty lists in eager mode."""
    from classroom import queue as job_queue  # the queue module reads the metrics' counters

    jobs = GaugeMetricFamily("classroom_queue_jobs", "Jobs in the queue by state", labels=["queue", "state"])
    for (name, state), count in job_queue.depths().items():
        jobs.add_metric([name, state], count)
    yield jobs


def replica(_connection: Connection) -> Iterator[Metric]:
    """The read replica's lag and whether it answers (only when one is configured)."""
    from classroom import replica as read_replica

    status = read_replica.status()
    if status is None:
        return
    up = GaugeMetricFamily("classroom_replica_up", "1 when the read replica answers")
    up.add_metric([], 1.0 if status.up else 0.0)
    yield up
    if status.lag_seconds is not None:
        lag = GaugeMetricFamily("classroom_replica_lag_seconds", "How far the read replica is behind the primary")
        lag.add_metric([], status.lag_seconds)
        yield lag


SOURCES = (outbox, scheduler, queue, replica)


class DatabaseCollector(Collector):
    """Reads each source at scrape time, each on a connection of its own (not the request's session); a
    source that fails (the database or Redis away) is left out and counted."""

    def collect(self) -> Iterator[Metric]:
        failed = GaugeMetricFamily("classroom_metrics_source_errors", "Sources that could not be read in this scrape")
        errors = 0
        for source in SOURCES:
            try:
                with db.engine.connect() as connection:
                    found = list(source(connection))
            except (SQLAlchemyError, RedisError, OSError):
                errors += 1
                continue
            yield from found
        failed.add_metric([], errors)
        yield failed
