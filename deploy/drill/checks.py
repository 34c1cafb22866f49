"""The drill's verdicts, from what the clients saw, what nginx logged and what the primary holds. Pure
functions (no processes, no database): the smoke test runs them on small fixtures."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from deploy.drill.load import Record

ACKNOWLEDGED = (302, 303)  # the forms answer a done write with a redirect
NGINX_LINE = re.compile(r'^(?P<at>[\d.]+) (?P<status>\d{3}) "(?P<addrs>[^"]*)" "(?P<statuses>[^"]*)"')


@dataclass(frozen=True)
class Fault:
    """Something the drill broke: at ``at`` (epoch seconds), repaired at ``until`` when it is repaired."""

    name: str
    at: float
    until: float | None = None

    @property
    def end(self) -> float:
        return self.until if self.until is not None else self.at


def is_failure(record: Record) -> bool:
    """What a client counts as an error: no answer at all, or a server error (5xx)."""
    return record.status == 0 or record.status >= 500


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def phases(faults: Sequence[Fault], start: float, end: float, settle: float = 10.0) -> list[tuple[str, float, float]]:
    """before: until the first fault; during: until ``settle`` seconds after the last repair; after: the rest."""
    if not faults:
        return [("before", start, end), ("during", end, end), ("after", end, end)]
    first = min(fault.at for fault in faults)
    calm = min(end, max(fault.end for fault in faults) + settle)
    return [("before", start, first), ("during", first, calm), ("after", calm, end)]


def latency_by_phase(records: Iterable[Record], spans: Sequence[tuple[str, float, float]],
                     ) -> dict[str, tuple[int, float, float]]:
    """{phase: (answered requests, p50 ms, p95 ms)}, of the requests that got an answer."""
    answered = [record for record in records if record.status]
    table = {}
    for name, low, high in spans:
        took = [record.ms for record in answered if low <= record.at < high]
        table[name] = (len(took), percentile(took, 0.5), percentile(took, 0.95))
    return table


def latency_by_op(records: Iterable[Record]) -> dict[str, tuple[int, float, float]]:
    """{request kind: (answered, p50 ms, p95 ms)} over the whole run."""
    took: dict[str, list[float]] = {}
    for record in records:
        if record.status:
            took.setdefault(record.op, []).append(record.ms)
    return {op: (len(values), percentile(values, 0.5), percentile(values, 0.95)) for op, values in took.items()}


@dataclass
class Errors:
    total: int
    failed: list[Record]
    outside: list[Record]  # failures that no fault explains

    @property
    def share(self) -> float:
        return len(self.failed) / self.total if self.total else 0.0

    def by_fault(self, faults: Sequence[Fault], window: float) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for record in self.failed:
            if fault := explained_by(record, faults, window):
                counts[fault.name] += 1
        return dict(counts)


def explained_by(record: Record, faults: Sequence[Fault], window: float) -> Fault | None:
    """The fault a failed request followed most closely: sent within ``window`` seconds after it broke or
    was repaired, or on its way then (sent before, ended after)."""
    ended = record.at + record.ms / 1000
    near = [(record.at - moment, fault) for fault in faults for moment in {fault.at, fault.end}
            if ended >= moment - 0.5 and record.at <= moment + window]
    return min(near, key=lambda pair: abs(pair[0]))[1] if near else None


def failover_errors(records: Sequence[Record], faults: Sequence[Fault], window: float) -> Errors:
    failed = [record for record in records if is_failure(record)]
    outside = [record for record in failed if explained_by(record, faults, window) is None]
    return Errors(len(records), failed, outside)


def acknowledged(records: Iterable[Record], op: str) -> set[tuple[int | None, int | None]]:
    """(person, target) of every ``op`` request the app acknowledged."""
    return {(record.user_id, record.target) for record in records if record.op == op and record.status in ACKNOWLEDGED}


def unanswered(records: Iterable[Record], op: str) -> set[tuple[int | None, int | None]]:
    """(person, target) of ``op`` requests whose outcome the client never learnt (no answer, or 5xx)."""
    return {(record.user_id, record.target) for record in records if record.op == op and is_failure(record)}


@dataclass
class Once:
    """Acknowledged writes against the rows the primary holds."""

    acknowledged: int
    missing: list  # acknowledged, not stored
    doubled: list  # stored more than once
    extra: list  # stored, never acknowledged (only allowed for requests without an answer)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.doubled


def exactly_once(acked: set, stored: Counter, unknown: set = frozenset()) -> Once:  # type: ignore[assignment]
    missing = sorted(acked - set(stored), key=str)
    doubled = sorted((key for key, count in stored.items() if count > 1), key=str)
    extra = sorted((key for key in stored if key not in acked and key not in unknown), key=str)
    return Once(len(acked), missing, doubled, extra)


@dataclass
class Rotation:
    out_after: float | None  # seconds from the kill until nginx stopped sending to the dead host
    failed_attempts: int  # tries nginx made on the dead host after the kill (each retried or answered 502)
    client_errors: int  # of them, answers the client saw as errors


def out_of_rotation(lines: Iterable[str], dead: str, killed_at: float, max_fails: int) -> Rotation:
    """From nginx's log (``$msec $status "$upstream_addr" "$upstream_status" …``): when the dead host had
    failed ``max_fails`` times after the kill, nginx stopped choosing it (until each fail_timeout's probe)."""
    failures: list[float] = []
    visible = 0
    for line in lines:
        match = NGINX_LINE.match(line)
        if not match or float(match["at"]) < killed_at:
            continue
        tried = [addr.strip() for addr in re.split(r"[,:] (?=\d)", match["addrs"]) if addr.strip()]
        statuses = [status.strip() for status in re.split(r"[,:] ", match["statuses"])]
        for addr, status in zip(tried, statuses, strict=False):
            if addr == dead and not (status.isdigit() and int(status) < 500):
                failures.append(float(match["at"]))
                visible += int(match["status"]) >= 500 and tried[-1] == dead
    failures.sort()
    out = failures[max_fails - 1] - killed_at if len(failures) >= max_fails else None
    return Rotation(out, len(failures), visible)


@dataclass
class Mail:
    expected: int
    received: int
    missing: list[str]
    duplicated: dict[str, int]
    unexpected: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.duplicated and not self.unexpected


def one_email_each(expected: set[str], received: Counter) -> Mail:
    return Mail(len(expected), sum(received.values()), sorted(expected - set(received)),
                {address: count for address, count in received.items() if count > 1},
                sorted(set(received) - expected))
