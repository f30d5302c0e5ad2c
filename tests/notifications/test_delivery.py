"""Delivery: exactly once under concurrent ticks, crash recovery, SMTP to a real local server."""

import json
import socket
import threading
import time
from datetime import timedelta

import pytest
import transaction
from ZODB.POSException import ConflictError

from duban_archive.content_types.site_access import ROOT_KEY, open_site
from duban_archive.notifications.channels import Channels
from duban_archive.notifications.delivery import claim, run_tick
from duban_archive.notifications.outbox import Message, get_outbox, new_id

from .conftest import at

MOMENT = at(2026, 5, 6, 10, 0)


def _queue(app, n, channel="sms", address="13800000000", moment=MOMENT):
    ids = []
    with open_site(app.registry) as site:
        box = get_outbox(site)
        for i in range(n):
            msg = Message(new_id(), kind="reminder", channel=channel, recipient="handler", address=address,
                          subject=f"提醒 {i}", body=f"第 {i} 条提醒", created=moment)
            box.add(msg)
            ids.append(msg.msg_id)
        transaction.commit()
    return ids


def _statuses(app, ids):
    with open_site(app.registry) as site:
        box = get_outbox(site)
        return [box.messages[i].status for i in ids]


def _sms_log(app):
    path = app.registry.settings["duban.var_dir"] + "/log/sms.log"
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["id"] for line in f]


def test_two_concurrent_ticks_send_each_message_exactly_once(app):
    ids = _queue(app, 300)
    results, errors = [], []

    def tick():
        try:
            results.append(run_tick(app.registry, MOMENT))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    sent = _sms_log(app)
    assert sorted(sent) == sorted(ids)  # every message once, none twice
    assert sum(r.sent for r in results) == 300
    assert set(_statuses(app, ids)) == {"sent"}


def test_a_claim_conflicts_with_a_concurrent_claim(app):
    ids = _queue(app, 5)
    db = app.registry._zodb_databases[""]
    tm1, tm2 = transaction.TransactionManager(), transaction.TransactionManager()
    c1, c2 = db.open(transaction_manager=tm1), db.open(transaction_manager=tm2)
    try:
        tm1.begin()
        tm2.begin()
        first = claim(c1.root()[ROOT_KEY], MOMENT, "w1")
        second = claim(c2.root()[ROOT_KEY], MOMENT, "w2")
        assert len(first) == len(second) == 5  # both saw them pending ...
        tm1.commit()
        with pytest.raises(ConflictError):  # ... but only one claim can commit
            tm2.commit()
        tm2.abort()
        tm2.begin()
        assert claim(c2.root()[ROOT_KEY], MOMENT, "w2") == []  # the retry finds nothing left
        tm2.commit()
    finally:
        c1.close()
        c2.close()
    assert set(_statuses(app, ids)) == {"sending"}


def test_a_tick_that_dies_after_claiming_loses_nothing(app):
    ids = _queue(app, 3)
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    tm.begin()
    claim(conn.root()[ROOT_KEY], MOMENT, "crashed-worker")  # claimed, then the process "dies"
    tm.commit()
    conn.close()
    assert run_tick(app.registry, MOMENT + timedelta(minutes=5)).claimed == 0  # lease still held
    res = run_tick(app.registry, MOMENT + timedelta(minutes=11))
    assert res.sent == 3
    assert sorted(_sms_log(app)) == sorted(ids)
    assert set(_statuses(app, ids)) == {"sent"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    handler = Handler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def test_email_is_delivered_to_a_real_smtp_server(app, smtp_server):
    from email import message_from_bytes
    from email.header import decode_header, make_header

    port, handler = smtp_server
    ids = _queue(app, 2, channel="email", address="handler@example.gov.cn")
    channels = Channels({"duban.smtp_host": "127.0.0.1", "duban.smtp_port": str(port),
                         "duban.smtp_sender": "duban@example.gov.cn", "duban.var_dir": "/nonexistent"})
    res = run_tick(app.registry, MOMENT, channels=channels)
    assert res.sent == 2
    assert len(handler.messages) == 2
    envelope = handler.messages[0]
    assert envelope.rcpt_tos == ["handler@example.gov.cn"]
    mail = message_from_bytes(envelope.content)
    assert str(make_header(decode_header(mail["Subject"]))) == "提醒 0"
    assert mail["Message-ID"] == f"<{ids[0]}@duban-archive>"  # receivers can drop a duplicate
    assert "第 0 条提醒" in mail.get_payload(decode=True).decode("utf-8")
    assert set(_statuses(app, ids)) == {"sent"}


def test_unreachable_smtp_is_retried_with_backoff_then_failed(app):
    ids = _queue(app, 1, channel="email", address="handler@example.gov.cn")
    channels = Channels({"duban.smtp_host": "127.0.0.1", "duban.smtp_port": str(_free_port())})
    moment = MOMENT
    res = run_tick(app.registry, moment, channels=channels)
    assert res.failed == 1
    with open_site(app.registry) as site:
        msg = get_outbox(site).messages[ids[0]]
        assert (msg.status, msg.attempts) == ("pending", 1)
        assert "无法连接邮件服务器" in msg.last_error
    assert run_tick(app.registry, moment + timedelta(minutes=1), channels=channels).claimed == 0
    for minutes in (3, 10, 30, 90):  # back-off 2, 4, 8, 16 minutes
        moment = moment + timedelta(minutes=minutes)
        run_tick(app.registry, moment, channels=channels)
    with open_site(app.registry) as site:
        msg = get_outbox(site).messages[ids[0]]
        assert (msg.status, msg.attempts) == ("failed", 5)


def test_inbox_messages_count_on_the_bell_at_once(app):
    _queue(app, 2, channel="inbox", address="handler")
    with open_site(app.registry) as site:
        assert get_outbox(site).unread_count("handler") == 2
        assert get_outbox(site).unread_count("handler2") == 0


def test_tick_is_fast_with_nothing_due(app):
    start = time.perf_counter()
    res = run_tick(app.registry, MOMENT)
    assert res.claimed == 0 and res.produced == 0
    assert time.perf_counter() - start < 1.0


def test_in_process_ticker_delivers_without_cron(app):
    from duban_archive.notifications.delivery import Ticker
    from duban_archive.timeutil import now

    ids = _queue(app, 2, moment=now())
    ticker = Ticker(app.registry, interval=0.2)
    ticker.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and set(_statuses(app, ids)) != {"sent"}:
            time.sleep(0.2)
    finally:
        ticker.stop()
        ticker.join(5)
    assert set(_statuses(app, ids)) == {"sent"}


def test_a_big_backlog_is_sent_in_bounded_transactions(app, monkeypatch):
    from duban_archive.notifications import delivery

    monkeypatch.setattr(delivery, "BATCH", 2)
    ids = _queue(app, 5)
    res = run_tick(app.registry, MOMENT)
    assert (res.claimed, res.sent) == (5, 5)
    assert sorted(_sms_log(app)) == sorted(ids)
