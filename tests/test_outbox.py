"""bot.outbox: stored, sent, retried with backoff, delivered once, in order — over real HTTP.

The channel is :class:`tests.service_support.HttpChannel`, a real Channel
whose ``send`` POSTs to a fake provider on loopback that fails on command.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from bot.models import Message, MessageStatus
from bot.outbox import needs_template, record_status
from bot.storage import init_db, make_engine, session_scope
from bot.workers import backoff
from tests.conftest import rows
from tests.service_support import (
    FakeProvider,
    HttpChannel,
    make_conversation,
    provider_server,
    queue,
    running_app,
    settings_for,
    wait_until,
)


@pytest.fixture
def provider():
    with provider_server(FakeProvider()) as fake:
        yield fake


@pytest.fixture
def settings(tmp_path):
    return settings_for(tmp_path)


@pytest.fixture
def db(settings):
    engine = make_engine(settings.database_url)
    init_db(engine)
    yield engine
    engine.dispose()


def _app(settings, provider, name="fakechan", **kwargs):
    return running_app(settings, channels={name: HttpChannel(name, provider)}, **kwargs)


def _out(engine) -> list[Message]:
    return rows(engine, Message, direction="out")


def _claimed(engine, message_id: int, *, lease: timedelta = timedelta(seconds=-1)) -> None:
    """As a worker leaves a message it claimed: "sending", one attempt, a lease ``lease`` from now
    (over already by default: the worker died)."""
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        message.status = MessageStatus.SENDING
        message.attempts = 1
        message.next_attempt_at = datetime.now(timezone.utc) + lease


def test_a_failing_send_is_retried_with_backoff_and_delivered_once(settings, provider, db):
    provider.script = ["503", "503", "503"]
    with _app(settings, provider) as (server, _):
        hook = httpx.post(server.url + "/webhooks/fakechan", json={"id": "in-1", "from": "+5216440000001", "text": "hola"})
        assert hook.json() == {"new": True}
        wait_until(lambda: provider.accepted)
        time.sleep(0.5)  # nothing more goes out afterwards
    (reply,) = _out(db)
    assert provider.accepted_ids() == [reply.id]
    assert len(provider.requests) == 4 and {r["message_id"] for r in provider.requests} == {reply.id}
    assert reply.status == MessageStatus.SENT and reply.attempts == 4
    assert reply.provider_id == provider.accepted[0]["sid"] and reply.sent_at is not None
    assert reply.last_error is None


def test_a_webhook_delivered_twice_produces_one_set_of_replies(settings, provider, db):
    with _app(settings, provider) as (server, _):
        payload = {"id": "in-dup", "from": "+5216440000001", "text": "hola"}
        assert httpx.post(server.url + "/webhooks/fakechan", json=payload).json() == {"new": True}
        assert httpx.post(server.url + "/webhooks/fakechan", json=payload).json() == {"new": False}
        wait_until(lambda: provider.accepted)
        time.sleep(0.5)
    assert len(provider.accepted) == len(_out(db)) == 1
    assert len(rows(db, Message, direction="in")) == 1


def test_pending_messages_survive_a_restart_and_are_delivered_exactly_once(settings, provider, db):
    provider.default = "503"  # the provider is down
    with _app(settings, provider) as (server, _):
        httpx.post(server.url + "/webhooks/fakechan", json={"id": "in-1", "from": "+5216440000001", "text": "hola"})
        wait_until(lambda: len(provider.requests) >= 2)
    (reply,) = _out(db)
    assert reply.status == MessageStatus.PENDING and provider.accepted == []

    provider.default = "ok"  # it recovers while we are down; a new process starts on the same database
    with _app(settings, provider) as (server, services):
        wait_until(lambda: provider.accepted)
        time.sleep(0.5)
        assert services.outbox is not None
    assert provider.accepted_ids() == [reply.id]
    (reply,) = _out(db)
    assert reply.status == MessageStatus.SENT


def test_a_send_interrupted_by_a_crash_is_retried_after_its_lease(settings, provider, db):
    conversation = make_conversation(db, channel="fakechan", address="+5216440000009")
    (message_id,) = queue(db, conversation, "¿Sigues ahí?")
    _claimed(db, message_id)  # a worker claimed it, then the process died
    with _app(settings, provider):
        wait_until(lambda: provider.accepted)
    (message,) = _out(db)
    assert message.status == MessageStatus.SENT and message.attempts == 2


def test_a_crashed_send_goes_out_again_before_the_replies_queued_behind_it(settings, provider, db):
    # The outbox claims pending and crashed ("sending", lease over) messages in
    # separate queries: the crashed one must still go first in its conversation.
    a = make_conversation(db, channel="fakechan", address="+5216440000011")
    b = make_conversation(db, channel="fakechan", address="+5216440000012")
    (first,) = queue(db, a, "A1")
    _claimed(db, first)  # a worker claimed A1, then the process died
    queue(db, a, "A2", "A3")
    queue(db, b, "B1")
    with _app(settings, provider):
        wait_until(lambda: len(provider.accepted) == 4)
    assert [t for t in provider.requested_texts() if t.startswith("A")] == ["A1", "A2", "A3"]
    assert "B1" in provider.accepted_texts()
    assert {m.text: m.attempts for m in _out(db)} == {"A1": 2, "A2": 1, "A3": 1, "B1": 1}


def test_a_one_shot_run_sends_every_crashed_message_even_more_than_one_claim_takes(settings, provider, db):
    # The running worker looks for expired leases once every poll interval, not at every claim;
    # run_once ("everything due now", used by telegram poll) must still find them all.
    import asyncio

    from bot.outbox import OutboxWorker
    from bot.web.services import build_services

    for i in range(12):
        conversation = make_conversation(db, channel="fakechan", address=f"+52164400003{i:02d}")
        (message_id,) = queue(db, conversation, f"C{i}")
        _claimed(db, message_id)  # claimed by a worker that then died
    channel = HttpChannel("fakechan", provider)
    services = build_services(settings, channels={"fakechan": channel})
    worker = OutboxWorker(services)
    assert worker.concurrency < 12

    async def run() -> int:
        await channel.start()
        try:
            return await worker.run_once()
        finally:
            await channel.stop()

    sent = asyncio.run(run())
    services.engine.dispose()
    assert sent == 12
    assert sorted(provider.accepted_texts()) == sorted(f"C{i}" for i in range(12))


def test_a_provider_id_used_twice_is_kept_once_and_every_message_is_recorded_sent(settings, provider, db):
    # Outcomes are written in groups; the clash fails the group, which is then written one by one.
    provider.fixed_sid = "SMsame"
    for i in range(4):
        conversation = make_conversation(db, channel="fakechan", address=f"+52164400004{i:02d}")
        queue(db, conversation, f"D{i}")
    with _app(settings, provider):
        wait_until(lambda: len(provider.accepted) == 4 and all(m.status == MessageStatus.SENT for m in _out(db)))
    assert len(provider.requests) == 4  # none sent twice
    assert sorted(m.provider_id or "" for m in _out(db)) == ["", "", "", "SMsame"]


def test_an_outcome_whose_lease_was_lost_is_not_written_and_the_rest_of_its_group_is(settings, provider, db, caplog):
    # Outcomes are written together (one executemany); one of them finds its message claimed
    # again by another worker (its lease ran out during the send): that row is left to the other
    # worker, the others are recorded sent, and the log names only the lost one.
    import asyncio

    from bot.outbox import OutboxWorker
    from bot.web.services import build_services

    channel = HttpChannel("fakechan", provider)
    services = build_services(settings, channels={"fakechan": channel})
    ids = []
    for i in range(4):
        conversation = make_conversation(db, channel="fakechan", address=f"+52164400005{i:02d}")
        ids += queue(db, conversation, f"E{i}")
    worker = OutboxWorker(services)
    jobs = worker.claim_sync(8)
    assert sorted(job.id for job in jobs) == sorted(ids)
    lost = ids[2]
    with session_scope(db) as session:  # what another worker's claim after the lease leaves
        session.get(Message, lost).attempts += 1

    async def run() -> None:
        await channel.start()
        try:
            await asyncio.gather(*(worker.run_job(job) for job in jobs))
        finally:
            await channel.stop()

    with caplog.at_level("WARNING", logger="bot.outbox"):
        asyncio.run(run())
    services.engine.dispose()
    state = {m.id: (m.status, m.attempts) for m in _out(db)}
    assert state[lost] == (MessageStatus.SENDING, 2)
    assert all(state[i] == (MessageStatus.SENT, 1) for i in ids if i != lost)
    lease_lines = [r.getMessage() for r in caplog.records if "lease lost" in r.getMessage()]
    assert lease_lines == [f"message {lost}: lease lost before its outcome was recorded (sent)"]


def test_a_message_still_under_lease_is_not_sent_by_another_worker(settings, provider, db):
    conversation = make_conversation(db, channel="fakechan", address="+5216440000010")
    (message_id,) = queue(db, conversation, "en vuelo")
    _claimed(db, message_id, lease=timedelta(minutes=5))
    with _app(settings, provider):
        time.sleep(1.2)
    assert provider.requests == []


def test_messages_of_a_conversation_go_out_in_order_and_others_are_not_held_up(settings, provider, db):
    a = make_conversation(db, channel="fakechan", address="+5216440000001")
    b = make_conversation(db, channel="fakechan", address="+5216440000002")
    queue(db, a, "A1", "A2", "A3")
    queue(db, b, "B1", "B2")
    provider.per_text = {"A1": ["429", "503"]}  # A1 waits ≥ 0.2 s (retry_after), then fails again
    with _app(settings, provider):
        wait_until(lambda: len(provider.accepted) == 5)
    requested = provider.requested_texts()
    assert [t for t in requested if t.startswith("A")] == ["A1", "A1", "A1", "A2", "A3"]
    assert [t for t in requested if t.startswith("B")] == ["B1", "B2"]
    # B was not held up by A's retries
    assert requested.index("B2") < requested.index("A2")
    assert [t for t in provider.accepted_texts() if t.startswith("A")] == ["A1", "A2", "A3"]


def test_a_conversations_queued_messages_go_out_one_after_another_without_waiting_for_the_poll(
        settings, provider, db):
    """One message of a conversation is in flight at a time: the next is claimed soon after the previous one
    is sent (the look a finished job schedules), not at the next poll of the database."""
    c = make_conversation(db, channel="fakechan", address="+5216440000003")
    with _app(settings, provider) as (_server, services):
        services.outbox.poll_interval = 60  # the poll would come far too late
        time.sleep(0.7)  # the wait begun with the old interval ends; the next one lasts a minute
        queue(db, c, "M1", "M2", "M3", "M4")
        services.notify_outbox()  # as the core does after queueing a reply
        wait_until(lambda: len(provider.accepted) == 4, timeout=5)
    assert provider.accepted_texts() == ["M1", "M2", "M3", "M4"]


def test_two_workers_on_one_database_send_each_message_once_and_in_order(settings, provider, db):
    conversations = [make_conversation(db, channel="fakechan", address=f"+52164400001{i:02d}") for i in range(5)]
    expected = {}
    for c in conversations:
        texts = [f"c{c}-m{n}" for n in range(6)]
        queue(db, c, *texts)
        expected[c] = texts
    provider.script = ["503", "ok"] * 6  # some failures sprinkled in
    with _app(settings, provider), _app(settings, provider):
        wait_until(lambda: len(provider.accepted) == 30, timeout=20)
        time.sleep(0.5)
    texts = provider.accepted_texts()
    assert sorted(texts) == sorted(t for ts in expected.values() for t in ts), "each message exactly once"
    for c, ts in expected.items():
        assert [t for t in texts if t.startswith(f"c{c}-")] == ts
    assert all(m.status == MessageStatus.SENT for m in _out(db))


def test_a_permanent_failure_is_recorded_and_does_not_block_the_conversation(settings, provider, db):
    conversation = make_conversation(db, channel="fakechan", address="+5216440000003")
    queue(db, conversation, "no llega", "sí llega")
    provider.per_text = {"no llega": ["400"]}
    with _app(settings, provider):
        wait_until(lambda: provider.accepted)
    failed, sent = _out(db)
    assert (failed.status, failed.error_code, failed.attempts) == (MessageStatus.FAILED, "21211", 1)
    assert sent.status == MessageStatus.SENT


def test_retries_end_after_outbox_max_attempts(tmp_path, provider):
    settings = settings_for(tmp_path, outbox_max_attempts=3)
    engine = make_engine(settings.database_url)
    init_db(engine)
    conversation = make_conversation(engine, channel="fakechan", address="+5216440000004")
    queue(engine, conversation, "nunca")
    provider.default = "503"
    with _app(settings, provider):
        wait_until(lambda: _out(engine)[0].status == MessageStatus.FAILED)
        time.sleep(0.3)
    (message,) = _out(engine)
    assert message.attempts == 3 and message.error_code == "retries_exhausted"
    assert len(provider.requests) == 3
    engine.dispose()


# --- WhatsApp's 24-hour window -------------------------------------------------------


def test_outside_the_24_hour_window_a_whatsapp_message_goes_as_a_template(settings, provider, db):
    now = datetime.now(timezone.utc)
    late = make_conversation(db, channel="whatsapp", address="whatsapp:+5216440000005",
                             last_inbound_at=now - timedelta(hours=25), desk_address="whatsapp:+5216444207351")
    recent = make_conversation(db, channel="whatsapp", address="whatsapp:+5216440000006",
                               last_inbound_at=now - timedelta(hours=23))
    queue(db, late, "Respuesta del equipo tras dos días")
    queue(db, recent, "Respuesta del mismo día")
    with _app(settings, provider, name="whatsapp"):
        wait_until(lambda: len(provider.accepted) == 2)
    by_text = {a["text"]: a for a in provider.accepted}
    late_sent = by_text["Respuesta del equipo tras dos días"]
    assert late_sent["template"] is True
    assert late_sent["variables"] == {"1": "Respuesta del equipo tras dos días"}
    assert late_sent["from"] == "whatsapp:+5216444207351", "replies go from the number the student wrote to"
    assert by_text["Respuesta del mismo día"]["template"] is False
    assert [m.template for m in _out(db)] == [True, False]


def test_a_63016_refusal_resends_as_a_template_once(settings, provider, db):
    conversation = make_conversation(db, channel="whatsapp", address="whatsapp:+5216440000007")
    queue(db, conversation, "hola de nuevo", "segundo")
    provider.per_text = {"hola de nuevo": ["63016"], "segundo": ["63016", "63016"]}
    with _app(settings, provider, name="whatsapp"):
        wait_until(lambda: _out(db)[1].status == MessageStatus.FAILED)
    first, second = _out(db)
    assert [(r["text"], r["template"]) for r in provider.requests] == [
        ("hola de nuevo", False), ("hola de nuevo", True), ("segundo", False), ("segundo", True)
    ]
    assert first.status == MessageStatus.SENT and first.template
    assert second.error_code == "63016"


def test_needs_template_only_for_whatsapp_after_24_hours():
    now = datetime(2026, 2, 10, 17, tzinfo=timezone.utc)
    assert needs_template("whatsapp", now - timedelta(hours=24, seconds=1), now)
    assert not needs_template("whatsapp", now - timedelta(hours=23, minutes=59), now)
    assert needs_template("whatsapp", None, now)
    assert not needs_template("telegram", now - timedelta(days=30), now)
    assert not needs_template("webchat", None, now)


def test_backoff_grows_is_capped_has_jitter_and_obeys_retry_after():
    delays = [backoff(n, base=2, cap=300, rng=lambda: 1.0) for n in range(1, 12)]
    assert delays[:4] == [2, 4, 8, 16] and max(delays) == 300
    assert backoff(3, base=2, cap=300, rng=lambda: 0.0) == 4  # half of 8: the jitter
    assert backoff(1, base=2, cap=300, retry_after=30, rng=lambda: 1.0) == 30
    assert backoff(1, base=2, cap=300, retry_after=900) == 900  # the provider's word beats our cap
    assert backoff(10_000, base=2, cap=300, rng=lambda: 1.0) == 300


# --- status callbacks ----------------------------------------------------------------------


def test_record_status_only_moves_forward(db):
    conversation = make_conversation(db, channel="whatsapp", address="whatsapp:+5216440000008")
    (message_id,) = queue(db, conversation, "hola")
    with session_scope(db) as session:
        message = session.get(Message, message_id)
        message.status, message.provider_id = MessageStatus.SENT, "SM123"

    def apply(status, code=None):
        with session_scope(db) as session:
            return record_status(session=session, channel="whatsapp", provider_id="SM123", status=status,
                                 error_code=code)

    def status():
        return rows(db, Message, id=message_id)[0].status

    assert apply("queued") is False and status() == "sent"
    assert apply("delivered") is True and status() == "delivered"
    assert apply("sent") is False and status() == "delivered", "delivered never goes back to sent"
    assert apply("failed", "30008") is False and status() == "delivered"
    assert apply("read") is True and status() == "read"
    assert apply("delivered") is False and status() == "read"
    assert apply("bogus") is False
    with session_scope(db) as session:
        assert record_status(session=session, channel="whatsapp", provider_id="SM-unknown", status="read") is False
        assert record_status(session=session, channel="telegram", provider_id="SM123", status="read") is False


def test_record_status_failures_are_final(db):
    conversation = make_conversation(db, channel="whatsapp", address="whatsapp:+5216440000011")
    (message_id,) = queue(db, conversation, "hola")
    with session_scope(db) as session:
        message = session.get(Message, message_id)
        message.status, message.provider_id = MessageStatus.SENT, "SM456"
    with session_scope(db) as session:
        assert record_status(session=session, channel="whatsapp", provider_id="SM456",
                             status="undelivered", error_code="63003") is True
    with session_scope(db) as session:
        assert record_status(session=session, channel="whatsapp", provider_id="SM456", status="delivered") is False
    (message,) = rows(db, Message, id=message_id)
    assert (message.status, message.error_code) == ("undelivered", "63003")
