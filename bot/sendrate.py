"""Provider send-rate limits that hold for the whole deployment, kept in the database.

Twilio queues (and eventually fails) messages above 80 per second per
sender number; Telegram answers 429 above ~30 messages per second per bot
and ~1 per second per chat. With several workers, a limit kept in process
memory would be multiplied by the number of processes, so each limit is a
row of ``send_rate`` (:class:`bot.models.SendRate`) updated under a row
lock: the generic cell-rate algorithm (GCRA) with reservation. Before each
send the outbox reserves the earliest moment every limit that applies
allows, moves those limits forward, commits, and sleeps until that moment.
Reserving instead of refusing means no busy retries and a fair order.

The clock is the database server's on PostgreSQL (workers on several
machines agree on it) and the local one on SQLite (one machine anyway).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, literal_column, text, update
from sqlmodel import Session, col, select

from bot.models import SendRate
from bot.phones import number_key
from bot.storage import insert_ignoring

if TYPE_CHECKING:
    from bot.channels.base import Outgoing
    from bot.config import Settings

#: Rows of limits not used for this long are deleted (one row per Telegram chat otherwise piles up).
IDLE_ROW_SECONDS = 3600.0


@dataclass(frozen=True)
class Limit:
    """At most ``per_second`` messages per second under ``key``, allowing bursts of ``burst``.

    ``shared`` is False for a limit only one sender uses at a time (a
    Telegram chat: the outbox sends one message of a conversation at a
    time). When such a limit is what makes a message wait, nothing is
    reserved yet, so the shared limits (the bot's 30/s) are not held for a
    message that cannot go anyway; the caller asks again when told.
    """

    key: str
    per_second: float
    burst: int = 1
    shared: bool = True

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        return (max(1, self.burst) - 1) * self.interval


def limits_for(message: Outgoing, settings: Settings) -> list[Limit]:
    """The provider limits one outgoing message counts against (none for the web chat)."""
    if message.channel == "whatsapp" and settings.twilio_send_rate > 0:
        # One limit per sender number however it is written (+521… and +52… are one sender).
        written = message.desk_address or ",".join(settings.twilio_whatsapp_numbers[:1])
        sender = number_key(written) or written or "default"
        return [Limit(f"twilio:{sender}", settings.twilio_send_rate)]
    if message.channel == "telegram":
        limits = []
        if settings.telegram_send_rate > 0:
            limits.append(Limit("telegram:bot", settings.telegram_send_rate))
        if settings.telegram_chat_send_rate > 0:
            limits.append(Limit(f"telegram:chat:{message.address}", settings.telegram_chat_send_rate,
                                settings.telegram_chat_burst, shared=False))
        return limits
    return []


@dataclass(frozen=True)
class Reservation:
    """When a message may go: ``wait`` seconds from now (``at`` on the limiter's clock).

    ``reserved`` False means "wait, then call :func:`reserve` again" (see :class:`Limit`).
    """

    wait: float
    at: float
    reserved: bool = True


def reserve(session: Session, limits: Sequence[Limit]) -> Reservation:
    """Reserve the next send under every limit at once (see :func:`reserve_many`)."""
    return reserve_many(session, [limits])[0]


def reserve_many(session: Session, requests: Sequence[Sequence[Limit]]) -> list[Reservation]:
    """Reserve, in order, the next send of each message under every limit that applies to it.

    One round of statements for a whole batch (the outbox reserves in the
    transaction that claims the messages): the rows are read under a row
    lock (with PostgreSQL's clock) and created first if missing, advanced
    in memory message by message, and written back. Runs in the caller's
    transaction, which must commit right away: the rows stay locked until
    then. Keys are locked in sorted order, so two workers reserving
    overlapping sets of limits cannot deadlock.
    """
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    by_key = {limit.key: limit for limits in requests for limit in limits}
    if not by_key:
        now = _now(session, postgres)
        return [Reservation(0.0, now) for _ in requests]
    keys = sorted(by_key)
    rows = conn.execute(_READ[postgres], {"b_keys": keys}).all()
    if len(rows) < len(keys):
        # A limit used for the first time (or pruned): create its row, then read them all again,
        # locked in key order. Nearly always every row exists and this costs nothing.
        found = {row.key for row in rows}
        conn.execute(_ENSURE[postgres], [{"key": k, "tat": 0.0} for k in keys if k not in found])
        rows = conn.execute(_READ[postgres], {"b_keys": keys}).all()
    tats: dict[str, float] = {row.key: row.tat for row in rows}
    # PostgreSQL's clock came with the rows (one statement fewer); SQLite's is this machine's.
    now = max(float(row.now) for row in rows) if postgres and rows else _now(session, postgres)
    changed: set[str] = set()
    out: list[Reservation] = []
    for limits in requests:
        if not limits:
            out.append(Reservation(0.0, now))
            continue
        earliest = {limit.key: tats[limit.key] - limit.tolerance for limit in limits}
        start = max([now, *earliest.values()])
        shared_start = max([now, *(earliest[limit.key] for limit in limits if limit.shared)])
        if start > shared_start:
            out.append(Reservation(start - now, start, reserved=False))
            continue
        for limit in limits:
            tats[limit.key] = max(tats[limit.key], start) + limit.interval
            changed.add(limit.key)
        out.append(Reservation(max(0.0, start - now), start))
    if changed:
        conn.execute(_WRITE, [{"b_key": key, "b_tat": tats[key]} for key in sorted(changed)])
    return out


# Built once (they run at every claim of the outbox): constructing a statement
# costs SQLAlchemy more than executing it.
_T = SendRate.__table__  # type: ignore[attr-defined]
#: Create missing rows without failing on a concurrent creator (INSERT ... ON CONFLICT DO NOTHING).
_ENSURE = insert_ignoring(_T)
#: The rows, locked in key order on PostgreSQL (SQLite's write lock is already held), with the server's clock.
_READ = {
    False: select(_T.c.key, _T.c.tat).where(_T.c.key.in_(bindparam("b_keys", expanding=True))).order_by(_T.c.key),
    True: select(_T.c.key, _T.c.tat, literal_column("extract(epoch FROM clock_timestamp())").label("now"))
    .where(_T.c.key.in_(bindparam("b_keys", expanding=True))).order_by(_T.c.key).with_for_update(of=_T),
}
_WRITE = update(_T).where(_T.c.key == bindparam("b_key")).values(tat=bindparam("b_tat"))


def prune(session: Session) -> int:
    """Delete limits idle for an hour; returns how many (their next use starts afresh, as if new)."""
    cutoff = _now(session, session.get_bind().dialect.name == "postgresql") - IDLE_ROW_SECONDS
    result = session.execute(delete(SendRate).where(col(SendRate.tat) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _now(session: Session, postgres: bool) -> float:
    if postgres:
        return float(session.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
    return time.time()
