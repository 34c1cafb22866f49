"""The outbox dispatcher keeps one SMTP session open across a dispatch run, batch after batch (issue 20):
sessions counted at a real SMTP server (aiosmtpd), every message received exactly once, a refused
recipient failing alone, and a session the server dropped reopened without losing or repeating a message."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, select

from classroom.accounts.models import User
from classroom.extensions import db
from classroom.mail import backend, held_open
from classroom.notifications import jobs
from classroom.notifications.jobs import dispatch, dispatch_job
from classroom.notifications.models import OutboundMessage
from classroom.notifications.services import notify
from tests.test_reminders import free_port


class Sink:
    """Accepts every message; remembers each one's dedup key and the client address (one per session)."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.received: list[tuple[tuple, str]] = []
        self.refuse = refuse or set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        text = envelope.content.decode("utf-8", "replace")
        key = next(line.split(":", 1)[1].strip() for line in text.splitlines()
                   if line.lower().startswith("x-classroom-dedup-key:"))
        with self.lock:
            self.received.append((tuple(session.peer), key))
        return "250 OK"

    def keys(self) -> list[str]:
        return sorted(key for _, key in self.received)

    def sessions(self) -> int:
        return len({peer for peer, _ in self.received})


def serve(app, sink: Sink) -> Controller:
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port, DISPATCH_BATCH=10)
    app.extensions.pop("mail_backend", None)
    return controller


def queue(make_user, count: int, emails: list[str] | None = None, first: int = 0) -> list[str]:
    now = datetime.now(UTC)
    people = [make_user(f"收件人{n + first}", email=address, timezone="UTC", notification_prefs={"quiet_hours": ""})
              for n, address in enumerate(emails or ["inbox@example.cn"])]
    keys = []
    for index in range(first, first + count):
        notify(people[index % len(people)], "course.announcement", f"batch:{index}", f"通知 {index}", "正文", now=now)
        keys.append(f"batch:{index}:email")
    db.session.commit()
    return sorted(keys)


def test_one_session_for_every_batch_of_a_dispatch_run_and_every_message_once(app, make_user, monkeypatch):
    sink = Sink()
    controller = serve(app, sink)
    claims, real_claim = [], jobs.claim_due

    def counted_claim(**arguments):
        claims.append(len(found := real_claim(**arguments)))
        return found

    monkeypatch.setattr(jobs, "claim_due", counted_claim)
    try:
        keys = queue(make_user, 25)
        totals = dispatch_job(now=datetime.now(UTC))
        assert totals["sent"] == 25
        assert claims == [10, 10, 5, 0]  # three batches (and a look that found nothing) in one run
        assert getattr(backend()._local, "smtp", None) is None  # closed when the run ends, not left idle
        assert dispatch_job(now=datetime.now(UTC))["sent"] == 0  # nothing twice
        more = queue(make_user, 12, emails=["later@example.cn"], first=25)
        assert dispatch_job(now=datetime.now(UTC))["sent"] == 12  # a later run: a session of its own
    finally:
        controller.stop()
    assert sink.keys() == sorted(keys + more)  # every message, exactly once
    assert len(sink.received) == 37
    # One session per run, whatever its batches; the empty run opened none. Per batch it would be 3 + 2.
    assert sink.sessions() == 2 == backend().opened
    assert {m.status for m in db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.channel == "email"))} == {"sent"}


def test_a_refused_recipient_fails_alone_and_the_session_carries_on(app, make_user):
    sink = Sink(refuse={"gone@example.cn"})
    controller = serve(app, sink)
    try:
        keys = queue(make_user, 6, emails=["a@example.cn", "gone@example.cn", "b@example.cn"])
        outcome = dispatch(now=datetime.now(UTC))
    finally:
        controller.stop()
    assert outcome["sent"] == 4 and outcome["failed"] == 2
    refused = {key for index, key in enumerate(sorted(keys, key=lambda k: int(k.split(":")[1])))
               if index % 3 == 1}
    assert sink.keys() == sorted(set(keys) - refused)
    assert sink.sessions() == 1 == backend().opened


def test_a_dropped_session_is_reopened_without_losing_or_repeating(app, make_user):
    sink = Sink()
    controller = serve(app, sink)
    try:
        keys = queue(make_user, 3)
        messages = db.session.scalars(select(OutboundMessage).where(OutboundMessage.channel == "email")
                                      .order_by(OutboundMessage.id)).all()
        from classroom.notifications.delivery import send  # the channel step alone, without marking

        with held_open():
            send(messages[0], db.session.get(User, messages[0].user_id), None)
            backend()._local.smtp.sock.shutdown(socket.SHUT_RDWR)  # the line dropped while the session was idle
            send(messages[1], db.session.get(User, messages[1].user_id), None)
            send(messages[2], db.session.get(User, messages[2].user_id), None)
    finally:
        controller.stop()
    assert sink.keys() == keys
    assert backend().opened == 2 == sink.sessions()


def test_outside_a_batch_each_message_has_its_own_session(app, make_user):
    sink = Sink()
    controller = serve(app, sink)
    try:
        queue(make_user, 2)
        messages = db.session.scalars(select(OutboundMessage).where(OutboundMessage.channel == "email")).all()
        from classroom.notifications.delivery import send

        for message in messages:
            send(message, db.session.get(User, message.user_id), None)
        assert getattr(backend()._local, "smtp", None) is None  # nothing left open
    finally:
        controller.stop()
    assert backend().opened == 2 == sink.sessions()


def test_a_batch_cut_short_keeps_the_marks_of_what_it_sent(app, make_user):
    """A batch's marks are committed together when it ends, however it ends: an interrupt in the middle
    leaves what was sent before it marked sent (never sent again), the rest claimed for a later retry.
    No transaction is open while it sends (on SQLite one would hold the write lock all along)."""
    app.config["DISPATCH_BATCH"] = 10
    keys = queue(make_user, 10)

    class Interrupted:
        def __init__(self) -> None:
            self.sent: list[str] = []
            self.in_transaction: list[bool] = []

        def send(self, message) -> None:
            self.in_transaction.append(bool(open_transactions))
            if len(self.sent) == 4:
                raise KeyboardInterrupt
            self.sent.append(message["X-Classroom-Dedup-Key"])

    open_transactions: set[int] = set()  # the database's, as the engine begins and ends them
    listeners = {"begin": lambda connection: open_transactions.add(id(connection)),
                 "commit": lambda connection: open_transactions.discard(id(connection)),
                 "rollback": lambda connection: open_transactions.discard(id(connection))}
    interrupted = Interrupted()
    app.extensions["mail_backend"] = {app.config["MAIL_BACKEND"]: interrupted}
    for name, listener in listeners.items():
        event.listen(db.engine, name, listener)
    try:
        with pytest.raises(KeyboardInterrupt):
            dispatch(now=datetime.now(UTC))
    finally:
        for name, listener in listeners.items():
            event.remove(db.engine, name, listener)
    db.session.rollback()  # what was committed, read afresh
    rows = {m.dedup_key: m.status for m in db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.channel == "email"))}
    assert sorted(key for key, status in rows.items() if status == "sent") == sorted(interrupted.sent)
    assert len(interrupted.sent) == 4 and sorted(rows) == keys and interrupted.in_transaction == [False] * 5
    assert sorted(status for status in rows.values() if status != "sent") == ["sending"] * 6
