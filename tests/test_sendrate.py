"""The deployment-wide send-rate limits (bot/sendrate.py) on the test database.

Several threads, each with an engine of its own (as separate worker
processes would have), reserve sends on the same limits; the reserved
moments must respect the rate whatever the interleaving.
"""
from __future__ import annotations

import threading

from bot import sendrate
from bot.channels.base import Outgoing
from bot.config import Settings
from bot.storage import make_engine, session_scope
from bot.sendrate import Limit


def _reserve_many(db_url: str, limits: list[Limit], workers: int, each: int) -> list[float]:
    """Moments (wall clock) at which the sends were allowed, from ``workers`` engines in parallel."""
    moments: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        engine = make_engine(db_url)
        try:
            for _ in range(each):
                with session_scope(engine) as session:
                    slot = sendrate.reserve(session, limits)
                assert slot.reserved
                with lock:
                    moments.append(slot.at)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(moments)


def test_reservations_from_several_workers_never_exceed_the_rate(engine, db_url):
    rate = 100.0
    moments = _reserve_many(db_url, [Limit("twilio:+5216440000000", rate)], workers=3, each=20)
    assert len(moments) == 60
    gaps = [b - a for a, b in zip(moments, moments[1:])]
    # Reservations are 1/rate apart (floating-point slack only).
    assert min(gaps) >= (1 / rate) * 0.999
    assert moments[-1] - moments[0] >= 59 / rate * 0.9


def test_a_burst_is_allowed_then_the_rate_applies(engine, db_url):
    limit = Limit("telegram:chat:42", 2.0, burst=3)
    with session_scope(engine) as session:
        delays = [sendrate.reserve(session, [limit]).wait for _ in range(5)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert 0.3 < delays[3] <= 0.5 + 0.05
    assert 0.8 < delays[4] <= 1.0 + 0.05


def test_every_limit_of_a_message_is_respected(engine):
    bot_wide = Limit("telegram:bot", 10.0)
    chat, other = Limit("telegram:chat:7", 1.0, shared=False), Limit("telegram:chat:8", 1.0, shared=False)
    with session_scope(engine) as session:
        first = sendrate.reserve(session, [bot_wide, chat])
        second = sendrate.reserve(session, [bot_wide, chat])
        other_chat = sendrate.reserve(session, [bot_wide, other])
    assert first.wait == 0.0 and first.reserved
    # The chat's limit decides: wait, reserve nothing meanwhile, ask again.
    assert 0.9 < second.wait <= 1.05 and not second.reserved
    # So another chat only waits for the bot-wide slot after the first message.
    assert other_chat.reserved and 0.05 < other_chat.wait <= 0.1 + 0.01


def test_limits_per_channel_from_the_settings():
    settings = Settings(_env_file=None, twilio_whatsapp_numbers="+5216444207351,+5216441617836")  # type: ignore[call-arg]
    wa = Outgoing(message_id=1, conversation_id=1, channel="whatsapp", address="+5216440000001", text="x",
                  desk_address="+5216441617836")
    assert sendrate.limits_for(wa, settings) == [Limit("twilio:+526441617836", 80.0)]
    # the same sender written as Twilio may write it (no old mobile "1"), or not named at all: one limit
    same = Outgoing(message_id=4, conversation_id=4, channel="whatsapp", address="+5216440000001", text="x",
                    desk_address="whatsapp:+526444207351")
    unnamed = Outgoing(message_id=5, conversation_id=5, channel="whatsapp", address="+5216440000001", text="x")
    assert sendrate.limits_for(same, settings) == sendrate.limits_for(unnamed, settings) == [
        Limit("twilio:+526444207351", 80.0)]
    tg = Outgoing(message_id=2, conversation_id=2, channel="telegram", address="555", text="x")
    assert [(lim.key, lim.per_second, lim.shared) for lim in sendrate.limits_for(tg, settings)] == [
        ("telegram:bot", 30.0, True), ("telegram:chat:555", 1.0, False)]
    web = Outgoing(message_id=3, conversation_id=3, channel="webchat", address="s", text="x")
    assert sendrate.limits_for(web, settings) == []


def test_idle_limits_are_pruned(engine):
    with session_scope(engine) as session:
        sendrate.reserve(session, [Limit("telegram:chat:old", 1.0)])
    from bot.models import SendRate

    with session_scope(engine) as session:
        session.get(SendRate, "telegram:chat:old").tat = 1.0  # type: ignore[union-attr]
    with session_scope(engine) as session:
        assert sendrate.prune(session) == 1
