"""Rate limits: one student cannot flood the desk, and the desk cannot run up the provider's bill.

Two guards, both counted in the database, so they hold across every worker
process and restart:

* **Per student** (``STUDENT_RATE_LIMIT`` messages a minute, per channel +
  address). :func:`student_gate` runs in the inbound path, in the transaction that
  handles the message, after the conversation is locked. A message over the
  limit is **stored** (status :data:`THROTTLED`, secrets redacted, visible to
  staff in the conversation) but **not run through the bot**; the first one
  in a minute also gets one polite notice. Storing rather than dropping keeps
  the conversation complete for staff and makes the student's provider id a
  duplicate if the provider retries it. Counted are the student's messages
  the bot answered in the last 60 s (a sliding window), so a student who
  keeps flooding is answered again, at the limit's pace, as the window
  slides. Messages to a chat staff hold are never throttled: the bot is
  silent there anyway and staff must see everything.
* **Outgoing, global** (``OUTGOING_RATE_LIMIT`` messages a minute on paid
  channels, WhatsApp and Telegram; the web chat costs nothing and is not
  counted). :func:`outgoing_budget` is read when the outbox claims messages:
  the paid messages claimed for sending in the last 60 s, by any worker (a
  retry counts again), must stay under the limit; messages over it are not
  claimed but wait in the queue until the window has room, without using up
  an attempt. Claims take turns near the limit, oldest messages first. The
  claims are tallied a row a second (:class:`bot.models.OutgoingTally`),
  so the guard adds up sixty rows rather than counting the thousands of
  messages a busy minute sends.

A flood from one number costs the others nothing but the time to store
it: the inbound processor already takes one event per conversation at a
time, and throttled events are settled without running the flow.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from bot.models import Author, Conversation, Direction, Holder, Message, MessageStatus, OutgoingTally, utcnow
from bot.storage import on_conflict_statements
from flows.entities import redact_secrets

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.desk import ConversationRow, Gate
    from flows.messages import Incoming

log = logging.getLogger(__name__)

WINDOW = timedelta(seconds=60)
#: Status of a stored inbound message the bot did not answer because of the rate limit.
THROTTLED = "throttled"

#: Channels whose messages cost money or provider quota.
FREE_CHANNELS = frozenset({"webchat", "console"})

_M = Message.__table__  # type: ignore[attr-defined]
#: :func:`answered_recently`'s count, built once (it runs for every message).
_ANSWERED = (
    select(func.count())
    .select_from(_M)
    .where(_M.c.conversation_id == bindparam("b_id"), _M.c.direction == Direction.IN)
    .where(_M.c.created_at > bindparam("b_since"), _M.c.status != THROTTLED)
)
_T = OutgoingTally.__table__  # type: ignore[attr-defined]
#: :func:`_outgoing_used`'s sum, built once (it runs at every claim of the outbox).
_OUTGOING_USED = select(func.coalesce(func.sum(_T.c.count), 0)).where(_T.c.second > bindparam("b_since"))
_OUTGOING_OLDEST = select(func.min(_T.c.second)).where(_T.c.second > bindparam("b_since"), _T.c.count > 0)


def _adding(stmt: Any) -> Any:
    """An ``INSERT`` into the tally that adds to the second's row when it exists already."""
    return stmt.on_conflict_do_update(index_elements=[_T.c.second], set_={"count": _T.c.count + stmt.excluded.count})


def _tally_statement(insert: Any) -> Any:
    return _adding(insert(_T).values(second=bindparam("b_second"), count=bindparam("b_count")))


#: Add to this second's tally, by "is the database PostgreSQL".
_TALLY = on_conflict_statements(_tally_statement)


def counting_paid(taken: Any) -> Any:
    """PostgreSQL: the rows of ``taken`` (a data-modifying CTE returning ``id`` and ``channel``), adding
    its paid ones to this second's tally in the same statement (a round trip fewer a claim).

    Parameter ``b_second``: the second, as :func:`count_outgoing` would write it.
    PostgreSQL runs every data-modifying ``WITH`` once, whether or not the
    main query reads it.
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    paid = (select(bindparam("b_second", type_=_T.c.second.type), func.count())
            .select_from(taken).where(taken.c.channel.not_in(FREE_CHANNELS)).having(func.count() > 0))
    return select(taken.c.id).add_cte(_adding(pg_insert(_T).from_select(["second", "count"], paid)).cte("tally"))


def tally_params(now: datetime) -> dict[str, Any]:
    """The tally's second for ``now`` (the parameter of :func:`counting_paid` and :data:`_TALLY`)."""
    return {"b_second": int(now.timestamp())}

_C = Conversation.__table__  # type: ignore[attr-defined]
_TOUCH_CONVERSATION = (
    update(_C).where(_C.c.id == bindparam("b_id")).values(last_inbound_at=bindparam("b_at"), updated_at=bindparam("b_now"))
)

NOTICE = ("Estás enviando muchos mensajes muy rápido; espera un momento y vuelve a escribir. "
          "Lo que mandes mientras tanto queda guardado, pero no lo responderé de inmediato.")


def answered_recently(session: Session, conversation_id: int, now: datetime) -> int:
    """The student's messages of the last minute that the bot took (not throttled ones)."""
    return int(session.connection().execute(_ANSWERED, {"b_id": conversation_id, "b_since": now - WINDOW}).scalar_one())


def notified_recently(session: Session, conversation_id: int, now: datetime) -> bool:
    """Whether a message was already throttled (and so the notice sent) in the last minute."""
    stmt = (
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.direction == Direction.IN)
        .where(Message.status == THROTTLED, col(Message.created_at) > now - WINDOW)
        .limit(1)
    )
    return session.exec(stmt).first() is not None


def student_gate(settings: Settings, now: datetime) -> Gate | None:
    """The per-student limit as a :data:`bot.desk.Gate` for ``handle_message`` (None when switched off).

    It runs after the conversation is locked and the provider id was found
    new, so it costs one count (none for a conversation's first message):
    a chat staff hold is never throttled; under the limit the bot answers;
    over it the message is stored as throttled (and the first one in a
    minute gets the notice) and the bot stays quiet.
    """
    limit = settings.student_rate_limit
    if limit <= 0:
        return None

    def gate(session: Session, conversation: ConversationRow, message: Incoming, provider_id: str | None) -> bool:
        if conversation.id is None or conversation.holder == Holder.STAFF or conversation.new:
            return True  # (a conversation created by this transaction has no earlier messages to count)
        if answered_recently(session, conversation.id, now) < limit:
            return True
        _store_throttled(session, conversation, channel=conversation.channel, provider_id=provider_id,
                         message=message, now=now)
        return False

    return gate


def _store_throttled(session: Session, conversation: ConversationRow, *, channel: str, provider_id: str | None,
                     message: Incoming, now: datetime) -> None:
    from bot.desk import storable

    first = not notified_recently(session, conversation.id, now)  # type: ignore[arg-type]
    session.connection().execute(_TOUCH_CONVERSATION, {"b_id": conversation.id, "b_at": message.at, "b_now": now})
    session.add(Message(
        conversation_id=conversation.id,  # type: ignore[arg-type]
        channel=channel,
        direction=Direction.IN,
        author=Author.STUDENT,
        text=storable(redact_secrets(message.text)[0]),
        provider_id=provider_id,
        attachments=[asdict(a) for a in message.attachments],
        status=THROTTLED,
        created_at=now,
    ))
    if first:
        session.add(Message(
            conversation_id=conversation.id,  # type: ignore[arg-type]
            channel=channel,
            direction=Direction.OUT,
            author=Author.BOT,
            text=NOTICE,
            status=MessageStatus.PENDING,
            created_at=now,
        ))
    session.flush()
    log.warning("conversation %s over the rate limit: message stored, not answered%s",
                conversation.id, " (notice sent)" if first else "")


@dataclass
class Budget:
    """How many paid messages one claim may still take (None: no limit), and for how long the rest wait."""

    remaining: int | None
    wait: float = 0.0

    def take(self) -> bool:
        """Consume one message of the budget; False when it is used up."""
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


#: Room kept free before claims stop being counted without a lock: more than
#: the messages other workers could be claiming at the same moment (eight
#: workers' batches of eight), so counting without the lock cannot overshoot.
UNLOCKED_MARGIN = 64


def outgoing_used_column() -> Any:
    """:func:`outgoing_budget`'s count as a column of the claim's own query (one statement fewer a claim).

    Uncorrelated, so the database computes it once for the query; its
    parameter comes from :func:`outgoing_used_params`.
    """
    return _OUTGOING_USED.scalar_subquery().label("guard_used")


def outgoing_used_params(now: datetime) -> dict[str, Any]:
    return {"b_since": _since(now)}


def outgoing_budget(session: Session, settings: Settings, wanted: int, now: datetime | None = None, *,
                    used: int | None = None) -> Budget:
    """The global guard on paid messages, read in the outbox's claim transaction.

    Counted: paid messages claimed for sending in the last minute by any
    worker, sent or not yet (a retry counts again). Far from the limit the
    count needs no lock (concurrent claims together stay within
    :data:`UNLOCKED_MARGIN`); near it, claims take turns (a PostgreSQL
    advisory lock; SQLite's write lock) and count again, so two workers
    cannot both spend the same room. When the minute is full, ``wait`` is
    the time until the oldest second of the window leaves it. ``used`` is
    the count already read at ``now`` (:func:`outgoing_used_column`).
    """
    limit = settings.outgoing_rate_limit
    if limit <= 0:
        return Budget(None)
    now = now or utcnow()  # the tally is wall-clock time, whatever clock the service runs on
    if used is None:
        used = _outgoing_used(session, now)
    if used + wanted > limit - UNLOCKED_MARGIN:
        from bot.storage import lock_key

        lock_key(session, "outgoing-guard")
        used = _outgoing_used(session, now)
    if used < limit:
        return Budget(limit - used)
    oldest = session.connection().execute(_OUTGOING_OLDEST, {"b_since": _since(now)}).scalar()
    # The oldest second leaves the window when the window's start passes its end.
    wait = oldest + 1 + WINDOW.total_seconds() - now.timestamp() if oldest is not None else WINDOW.total_seconds()
    log.warning("outgoing rate limit (%d a minute) reached: paid messages held %.1f s", limit, wait)
    return Budget(0, max(1.0, wait))


def _outgoing_used(session: Session, now: datetime) -> int:
    """Paid messages claimed for sending in the last minute (each try counts), from the tally."""
    return int(session.connection().execute(_OUTGOING_USED, {"b_since": _since(now)}).scalar_one())


def _since(now: datetime) -> int:
    """The tally's seconds after this one are in the window (a second partly in it counts: the guard errs low)."""
    return int(now.timestamp()) - int(WINDOW.total_seconds()) - 1


def count_outgoing(session: Session, claimed: int, now: datetime | None = None) -> None:
    """Add ``claimed`` paid messages to the guard's tally, in the claim's transaction (SQLite's
    claims; on PostgreSQL the claim's take adds them itself, :func:`counting_paid`).

    One row a second; it is only locked while a claim of this second
    commits, and claims already take turns on the send-rate rows.
    """
    if claimed <= 0:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    session.connection().execute(_TALLY[postgres], {**tally_params(now or utcnow()), "b_count": claimed})


def prune_outgoing(session: Session, now: datetime | None = None) -> int:
    """Delete tally rows long out of the window; returns how many."""
    from sqlalchemy import delete

    now = now or utcnow()
    result = session.execute(delete(OutgoingTally).where(col(OutgoingTally.second) < _since(now) - 60))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _paid() -> Any:
    return ~col(Message.channel).in_(FREE_CHANNELS)


def is_paid(channel: str) -> bool:
    """Whether messages on ``channel`` count against the outgoing guard."""
    return channel not in FREE_CHANNELS
