"""bot.inbound: webhook payloads stored once, processed in order per student, never lost."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlmodel import select

from bot.inbound import enqueue, process_pending
from bot.models import Contact, EventStatus, InboundEvent, Message
from bot.outbox import OutboxWorker
from bot.storage import init_db, make_engine, session_scope
from bot.web.services import build_services
from tests.conftest import rows
from tests.service_support import FakeProvider, HttpChannel, provider_server, running_app, settings_for, wait_until

ADDRESS = "+5216440000001"


@pytest.fixture
def settings(tmp_path):
    return settings_for(tmp_path, inbound_max_attempts=4)


@pytest.fixture
def db(settings):
    engine = make_engine(settings.database_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def provider():
    with provider_server(FakeProvider()) as fake:
        yield fake


def _store(engine, provider_id, text, *, address=ADDRESS, channel="fakechan", **payload):
    with session_scope(engine) as session:
        return enqueue(session=session, channel=channel, provider_id=provider_id, address=address,
                       desk_address=None, payload={"id": provider_id, "from": address, "text": text, **payload})


def _inbound_ids(engine) -> list[str]:
    return [m.provider_id for m in rows(engine, Message, direction="in")]


def test_enqueue_stores_once_and_a_duplicate_leaves_the_transaction_usable(db):
    with session_scope(db) as session:
        assert enqueue(session=session, channel="fakechan", provider_id="SM1", address=ADDRESS,
                       desk_address="+5216444207351", payload={"Body": "hola"}) is True
        assert enqueue(session=session, channel="fakechan", provider_id="SM1", address=ADDRESS,
                       desk_address=None, payload={"Body": "otra vez"}) is False
        # the caller's transaction goes on after the duplicate
        session.add(Contact(channel="fakechan", address=ADDRESS))
    (event,) = rows(db, InboundEvent)
    assert (event.status, event.payload, event.desk_address) == ("pending", {"Body": "hola"}, "+5216444207351")
    assert len(rows(db, Contact)) == 1
    # the same id on another channel is another event
    with session_scope(db) as session:
        assert enqueue(session=session, channel="other", provider_id="SM1", address=ADDRESS,
                       desk_address=None, payload={}) is True
    with pytest.raises(ValueError), session_scope(db) as session:
        enqueue(session=session, channel="x", provider_id="y", address="z", desk_address=None, payload={},
                received_at=datetime(2026, 1, 1))


def test_the_webhook_stores_before_answering_and_processing_waits_for_the_worker(settings, provider, db):
    with running_app(settings, channels={"fakechan": HttpChannel("fakechan", provider)}, workers=False) as (server, _):
        response = httpx.post(server.url + "/webhooks/fakechan", json={"id": "u1", "from": ADDRESS, "text": "hola"})
        assert response.status_code == 200
        (event,) = rows(db, InboundEvent)
        assert event.status == EventStatus.PENDING
        assert rows(db, Message) == []


def test_a_students_messages_are_processed_in_arrival_order_even_when_one_is_retried(settings, provider, db):
    channel = HttpChannel("fakechan", provider)
    _store(db, "e1", "hola", prepare="retry")  # its media server is busy twice
    _store(db, "e2", "2")
    _store(db, "e3", "menu")
    _store(db, "other-1", "hola", address="+5216440000002")
    with running_app(settings, channels={"fakechan": channel}):
        wait_until(lambda: all(e.status == EventStatus.DONE for e in rows(db, InboundEvent)))
    ours = [p for p in _inbound_ids(db) if p.startswith("e")]
    assert ours == ["e1", "e2", "e3"]
    # the other student was not held up behind e1's retries
    assert _inbound_ids(db).index("other-1") < _inbound_ids(db).index("e1")
    assert [p["id"] for p in channel.prepared].count("e1") == 3
    (first,) = [e for e in rows(db, InboundEvent) if e.provider_id == "e1"]
    assert first.attempts == 3 and first.processed_at is not None


def test_a_payload_that_keeps_failing_is_marked_failed_and_the_next_one_goes_on(settings, provider, db, caplog):
    _store(db, "bad", "??", prepare="crash")
    _store(db, "good", "hola")
    with running_app(settings, channels={"fakechan": HttpChannel("fakechan", provider)}):
        wait_until(lambda: {e.provider_id: e.status for e in rows(db, InboundEvent)}
                   == {"bad": EventStatus.FAILED, "good": EventStatus.DONE})
    bad = next(e for e in rows(db, InboundEvent) if e.provider_id == "bad")
    assert bad.attempts == settings.inbound_max_attempts
    assert "RuntimeError: cannot parse this payload" in (bad.last_error or "")
    assert "failed after 4 attempts" in caplog.text
    assert _inbound_ids(db) == ["good"]


def test_an_event_left_processing_by_a_crash_is_claimed_again_after_its_lease(settings, provider, db):
    _store(db, "orphan", "hola")
    with session_scope(db) as session:
        event = session.exec(select(InboundEvent)).one()
        event.status = EventStatus.PROCESSING
        event.attempts = 1
        event.lease_until = datetime.now(timezone.utc) - timedelta(seconds=1)
    with running_app(settings, channels={"fakechan": HttpChannel("fakechan", provider)}):
        wait_until(lambda: rows(db, InboundEvent)[0].status == EventStatus.DONE)
    assert _inbound_ids(db) == ["orphan"]
    assert rows(db, InboundEvent)[0].attempts == 2


def test_an_event_left_by_a_crash_is_handled_before_the_students_later_messages(settings, provider, db):
    # Pending events and expired ones are claimed by separate queries (the expired ones only
    # once every poll interval): the crashed event must still be answered first.
    _store(db, "c1", "hola")
    with session_scope(db) as session:  # a worker claimed c1, then the process died
        event = session.exec(select(InboundEvent)).one()
        event.status = EventStatus.PROCESSING
        event.attempts = 1
        event.lease_until = datetime.now(timezone.utc) - timedelta(seconds=1)
    _store(db, "c2", "2")
    _store(db, "c3", "menu")
    _store(db, "x1", "hola", address="+5216440000009")
    with running_app(settings, channels={"fakechan": HttpChannel("fakechan", provider)}):
        wait_until(lambda: all(e.status == EventStatus.DONE for e in rows(db, InboundEvent)))
    assert [p for p in _inbound_ids(db) if p.startswith("c")] == ["c1", "c2", "c3"]
    assert {e.provider_id: e.attempts for e in rows(db, InboundEvent)} == {"c1": 2, "c2": 1, "c3": 1, "x1": 1}


def test_an_event_under_a_live_lease_is_left_to_its_worker(settings, provider, db):
    _store(db, "busy", "hola")
    with session_scope(db) as session:
        event = session.exec(select(InboundEvent)).one()
        event.status = EventStatus.PROCESSING
        event.lease_until = datetime.now(timezone.utc) + timedelta(minutes=5)
    with running_app(settings, channels={"fakechan": HttpChannel("fakechan", provider)}):
        time.sleep(1.0)
    assert rows(db, InboundEvent)[0].status == EventStatus.PROCESSING
    assert _inbound_ids(db) == []


def test_events_of_a_channel_that_is_off_wait(settings, provider, db):
    _store(db, "t1", "hola", channel="telegram")
    with running_app(settings, channels={"fakechan": HttpChannel("fakechan", provider)}):
        time.sleep(0.8)
    assert rows(db, InboundEvent)[0].status == EventStatus.PENDING


def test_process_pending_and_run_once_without_running_workers(settings, provider, db):
    """The one-shot path ``telegram poll`` and tests use: no app, no background task."""
    channel = HttpChannel("fakechan", provider)
    services = build_services(settings, channels={"fakechan": channel})
    _store(db, "p1", "hola")
    _store(db, "p2", "2")

    async def run() -> tuple[int, int, int]:
        await channel.start()
        try:
            processed = await process_pending(services)
            again = await process_pending(services)
            sent = await OutboxWorker(services).run_once()
            return processed, again, sent
        finally:
            await channel.stop()

    processed, again, sent = asyncio.run(run())
    services.engine.dispose()
    assert (processed, again) == (2, 0)
    assert _inbound_ids(db) == ["p1", "p2"]
    assert sent == len(rows(db, Message, direction="out")) == len(provider.accepted) > 0


def _claim_all(services, count):
    from bot.inbound import InboundProcessor

    processor = InboundProcessor(services)
    return processor, processor.claim_sync(count)


def test_messages_of_several_students_prepared_together_are_handled_in_one_transaction(settings, provider, db):
    from sqlalchemy import event

    channel = HttpChannel("fakechan", provider)
    services = build_services(settings, channels={"fakechan": channel})
    students = [f"+52164400001{i:02d}" for i in range(5)]
    for i, address in enumerate(students):
        _store(db, f"g{i}", "hola", address=address)
    commits: list[int] = []
    event.listen(services.engine, "commit", lambda conn: commits.append(1))
    processor, jobs = _claim_all(services, 8)
    assert len(jobs) == 5
    commits.clear()

    async def run() -> None:
        await asyncio.gather(*(processor.run_job(job) for job in jobs))

    asyncio.run(run())
    services.engine.dispose()
    assert len(commits) == 1
    assert all(e.status == EventStatus.DONE for e in rows(db, InboundEvent))
    answered = {m.conversation_id for m in rows(db, Message, direction="out")}
    assert len(answered) == 5


def test_a_lost_lease_in_a_group_costs_only_its_own_message(settings, provider, db, caplog):
    channel = HttpChannel("fakechan", provider)
    services = build_services(settings, channels={"fakechan": channel})
    students = [f"+52164400002{i:02d}" for i in range(5)]
    for i, address in enumerate(students):
        _store(db, f"l{i}", "hola", address=address)
    processor, jobs = _claim_all(services, 8)
    # l2's lease ran out and another worker claimed it again meanwhile
    with session_scope(db) as session:
        taken = session.exec(select(InboundEvent).where(InboundEvent.provider_id == "l2")).one()
        taken.attempts += 1

    async def run() -> None:
        await asyncio.gather(*(processor.run_job(job) for job in jobs))

    asyncio.run(run())
    services.engine.dispose()
    status = {e.provider_id: (e.status, e.attempts) for e in rows(db, InboundEvent)}
    assert status["l2"] == (EventStatus.PROCESSING, 2)  # left to the worker that holds it
    assert all(status[f"l{i}"] == (EventStatus.DONE, 1) for i in (0, 1, 3, 4))
    assert sorted(_inbound_ids(db)) == ["l0", "l1", "l3", "l4"]
    assert "lease lost" in caplog.text
