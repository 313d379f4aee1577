"""bot.intake: webhooks that arrive together are stored in one transaction, each answered for itself."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy.exc import OperationalError

from bot.inbound import Arrival, enqueue_many
from bot.intake import BURST, Intake
from bot.models import InboundEvent, utcnow
from bot.storage import init_db, make_engine, session_scope
from tests.conftest import rows
from tests.service_support import settings_for


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(settings_for(tmp_path).database_url)
    init_db(engine)
    yield engine
    engine.dispose()


class Recording:
    """The real write (one transaction per call), with the groups it was given kept."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.groups: list[list[str]] = []

    def __call__(self, arrivals: Sequence[Arrival]) -> list[bool]:
        self.groups.append([a.provider_id for a in arrivals])
        with session_scope(self.engine) as session:
            return enqueue_many(session, arrivals)


def arrival(sid: str, address: str, text: str = "hola", **payload: object) -> Arrival:
    return Arrival(channel="whatsapp", provider_id=sid, address=address, desk_address="+5216444207351",
                   payload={"Body": text, **payload}, received_at=utcnow())


def student(n: int) -> str:
    return f"whatsapp:+52164400000{n:02d}"


def test_webhooks_arriving_together_share_one_transaction_and_each_gets_its_own_answer(engine):
    with session_scope(engine) as session:
        enqueue_many(session, [arrival("SMold", student(1), "ayer")])
    burst = [arrival(f"SM{s}-{i}", student(s), f"mensaje {i}") for i in range(4) for s in range(10)]
    burst.insert(7, arrival("SMold", student(1), "Twilio lo reintenta"))  # stored before: a retry
    burst.append(arrival("SM3-1", student(3), "el mismo SID otra vez"))  # twice in this burst
    write = Recording(engine)
    intake = Intake(write)

    async def all_at_once() -> list[bool]:
        return await asyncio.gather(*(intake.store(a) for a in burst))

    answers = asyncio.run(all_at_once())

    assert len(write.groups) == 1 and len(write.groups[0]) == len(burst)
    assert answers[7] is False and answers[-1] is False
    assert answers.count(True) == 40
    events = sorted(rows(engine, InboundEvent), key=lambda e: e.id)
    assert len(events) == 41
    # each student's messages numbered in the order they arrived, the first copy of a repeated SID kept
    for s in range(10):
        mine = [e.payload["Body"] for e in events if e.address == student(s) and e.provider_id != "SMold"]
        assert mine == [f"mensaje {i}" for i in range(4)]
    assert next(e for e in events if e.provider_id == "SMold").payload["Body"] == "ayer"


def test_webhooks_arriving_while_a_group_is_written_form_the_next_group(engine):
    write = Recording(engine)
    intake = Intake(write, max_group=8)

    async def arrivals_in_waves() -> list[bool]:
        first = asyncio.gather(*(intake.store(arrival(f"SMa{i}", student(i))) for i in range(3)))
        await asyncio.sleep(0)  # the writer has the first wave
        second = asyncio.gather(*(intake.store(arrival(f"SMb{i}", student(i))) for i in range(20)))
        return [*await first, *await second]

    answers = asyncio.run(arrivals_in_waves())

    assert answers == [True] * 23
    assert [len(g) for g in write.groups] == [3, 8, 8, 4]
    assert len(rows(engine, InboundEvent)) == 23


def test_one_payload_that_cannot_be_stored_fails_only_its_own_webhook(engine, caplog):
    write = Recording(engine)
    intake = Intake(write)
    good = [arrival(f"SM{i}", student(i)) for i in range(5)]
    bad = arrival("SMbad", student(9), weird={"not", "json"})  # a set: the JSON column refuses it

    async def together() -> list[object]:
        return await asyncio.gather(*(intake.store(a) for a in [*good[:2], bad, *good[2:]]), return_exceptions=True)

    answers = asyncio.run(together())

    assert answers[:2] + answers[3:] == [True] * 5
    assert isinstance(answers[2], Exception)
    assert sorted(e.provider_id for e in rows(engine, InboundEvent)) == [f"SM{i}" for i in range(5)]
    assert "one at a time" in caplog.text


def test_an_unreachable_database_fails_every_webhook_of_the_group_at_once(tmp_path):
    dead = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'bot.db'}")
    calls = []

    def write(arrivals: Sequence[Arrival]) -> list[bool]:
        calls.append(len(arrivals))
        with session_scope(dead) as session:
            return enqueue_many(session, arrivals)

    intake = Intake(write)

    async def together() -> list[object]:
        return await asyncio.gather(*(intake.store(arrival(f"SM{i}", student(i))) for i in range(6)),
                                    return_exceptions=True)

    answers = asyncio.run(together())

    assert all(isinstance(a, OperationalError) for a in answers)
    assert calls == [6]  # not tried again one by one: every webhook answers 5xx and Twilio retries


class HeldWrite(Recording):
    """The real write, held until ``release`` is set: webhooks waiting to be stored, as in a burst."""

    def __init__(self, engine) -> None:
        super().__init__(engine)
        self.release = threading.Event()

    def __call__(self, arrivals: Sequence[Arrival]) -> list[bool]:
        assert self.release.wait(10), "never released"
        return super().__call__(arrivals)


def test_in_a_burst_a_wait_for_it_to_end_lasts_until_the_webhooks_are_stored_and_never_longer_than_asked(engine):
    write = HeldWrite(engine)
    intake = Intake(write)

    async def scenario() -> None:
        few = [asyncio.create_task(intake.store(arrival(f"SMf{i}", student(i)))) for i in range(BURST - 1)]
        await asyncio.sleep(0.05)
        assert intake.waiting == BURST - 1
        assert await intake.after_burst(5.0) == 0.0  # fewer than a burst: no wait at all
        burst = [asyncio.create_task(intake.store(arrival(f"SMb{i}", student(20 + i)))) for i in range(BURST)]
        await asyncio.sleep(0.05)
        started = time.monotonic()
        waited = await intake.after_burst(0.3)  # the webhooks cannot be stored: the longest wait, no more
        assert 0.28 <= waited <= time.monotonic() - started < 1.0
        asyncio.get_running_loop().call_later(0.1, write.release.set)
        waited = await intake.after_burst(5.0)  # ends with the burst, when they are stored
        assert 0.05 <= waited < 2.0
        assert all(await asyncio.gather(*few, *burst))
        assert intake.waiting == 0
        assert await intake.after_burst(5.0) == 0.0

    asyncio.run(scenario())
    assert len(rows(engine, InboundEvent)) == 2 * BURST - 1


def test_intake_first_seconds_zero_never_waits(engine):
    write = HeldWrite(engine)
    intake = Intake(write)

    async def scenario() -> None:
        burst = [asyncio.create_task(intake.store(arrival(f"SMb{i}", student(i)))) for i in range(BURST * 2)]
        await asyncio.sleep(0.05)
        assert intake.in_burst()  # a burst is on: with 1 s the processor would wait here
        assert await intake.after_burst(0) == 0.0 and await asyncio.wait_for(intake.after_burst(0.03), 1) >= 0.03
        write.release.set()
        await asyncio.gather(*burst)

    asyncio.run(scenario())


def test_a_payload_stored_by_the_intake_is_stored_as_the_orm_stores_it(engine):
    """The intake sends its insert as the driver's own SQL (bot.inbound._enqueue_sql): every value must
    still reach the database as SQLAlchemy's column types would write it (JSON, the date's time zone,
    the status), byte for byte, and a typed password must not be stored."""
    from datetime import datetime, timedelta, timezone

    from bot.models import EventStatus

    desk_time = datetime(2026, 3, 2, 23, 30, 5, 123456, tzinfo=timezone(timedelta(hours=-7)))
    payload = {"Body": "¿mañana? 😅 mi contraseña es Gato1234!", "MediaUrl": ["https://a/1", "https://a/2"],
               "NumMedia": "2"}
    with session_scope(engine) as session:
        assert enqueue_many(session, [Arrival(channel="whatsapp", provider_id="SMintake", address=student(1),
                                              desk_address="+5216444207351", payload=payload,
                                              received_at=desk_time)]) == [True]
    stored = rows(engine, InboundEvent)
    with session_scope(engine) as session:
        session.add(InboundEvent(channel="whatsapp", provider_id="SMorm", address=student(1),
                                 desk_address="+5216444207351", payload=stored[0].payload,
                                 received_at=desk_time, status=EventStatus.PENDING, attempts=0))
    with engine.connect() as conn:
        raw = {sid: rest for sid, *rest in conn.exec_driver_sql(
            "SELECT provider_id, CAST(payload AS TEXT), CAST(received_at AS TEXT), status, attempts "
            "FROM inbound_event").all()}
    assert raw["SMintake"] == raw["SMorm"]
    event = next(e for e in rows(engine, InboundEvent) if e.provider_id == "SMintake")
    assert "Gato1234" not in str(event.payload) and "contraseña oculta" in event.payload["Body"]
    assert event.payload["MediaUrl"] == ["https://a/1", "https://a/2"] and "😅" in event.payload["Body"]
    assert event.received_at.replace(tzinfo=timezone.utc) == desk_time
    assert event.status == EventStatus.PENDING and event.attempts == 0
