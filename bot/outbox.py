"""The durable outbox: every reply is a stored row first, then sent, retried, tracked.

:class:`OutboxWorker` claims due outbound :class:`~bot.models.Message` rows
(``pending`` and ``next_attempt_at`` reached), marks them ``sending`` under a
lease in one atomic UPDATE, calls the channel's ``send`` outside any
transaction, and records the outcome in a commit of its own right after the
provider answers. The messages of one conversation go out in id order: a
message is not claimed while an earlier one of its conversation is pending
or sending (including while that one waits for a retry).

Delivery guarantee: a message is never sent twice by two workers (the claim
is atomic: ``UPDATE ... WHERE status = ...`` checked by rowcount, and
``FOR UPDATE SKIP LOCKED`` on PostgreSQL). The one unavoidable window is a
crash after the provider accepted a message and before "sent" was
committed: its lease expires and it is sent again (at least once there).

The worker also sends the reminders the flow scheduled (``Reminder`` rows),
in office hours only, as one transaction per reminder, and gives back to
the bot the chats staff hold but stopped working on
(:meth:`OutboxWorker.release_expired_holds`), one transaction per chat. Before each send it
waits for the message's slot under the providers' rate limits, which are
kept in the database so they hold across workers (:mod:`bot.sendrate`).
"""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import json
import logging
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, exists, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from bot import limits
from bot import sendrate
from bot.channels.base import NeedsTemplate, Outgoing, PermanentFailure, RetryLater
from bot.desk import lock_conversation, perform_actions, reply_options, storable
from bot.errors import NotFound
from bot.models import (
    Author,
    Contact,
    Conversation,
    Direction,
    Holder,
    Message,
    MessageStatus,
    Reminder,
    ReminderStatus,
    utcnow,
)
from bot.storage import unindexed
from bot.groups import GroupWriter
from bot.workers import Worker, backoff, database_unreachable, until_done
from flows.context import office_hours_for
from flows.machine import remind

if TYPE_CHECKING:
    from bot.web.services import Services

log = logging.getLogger(__name__)

#: WhatsApp accepts free-form messages only this long after the student's last message.
WHATSAPP_WINDOW = timedelta(hours=24)
#: How long a claimed message is ours. Channels must time out their HTTP calls well before.
DEFAULT_LEASE_SECONDS = 120.0
IN_FLIGHT = (MessageStatus.PENDING, MessageStatus.SENDING)
#: Most outcomes written in one transaction.
RECORD_BATCH = 64
#: How often a worker looks for holds past HOLD_TIMEOUT_MINUTES: a minute's precision is plenty.
HOLD_CHECK_SECONDS = 30.0
#: Delivery statuses in order; a status callback may only move a message forward.
_RANK = {
    MessageStatus.PENDING: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.READ: 4,
}
_FAILURES = (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
#: Provider statuses (Twilio's, mostly) in our vocabulary.
_PROVIDER_STATUS = {
    "accepted": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "scheduled": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
    "undelivered": MessageStatus.UNDELIVERED,
    "canceled": MessageStatus.FAILED,
}


def needs_template(channel: str, last_inbound_at: datetime | None, now: datetime) -> bool:
    """True when a WhatsApp message would fall outside the 24-hour window (error 63016)."""
    if channel != "whatsapp":
        return False
    return last_inbound_at is None or now - last_inbound_at > WHATSAPP_WINDOW


def queue_message(
    *,
    session: Session,
    conversation_id: int,
    text: str,
    author: str = Author.STAFF,
    options: Sequence[tuple[str, str]] = (),
    template: bool = False,
) -> Message:
    """Store an outbound message for the outbox to send (a staff reply, a notice).

    Whether it needs the WhatsApp template is decided when it is sent, from
    the time of the student's last message; ``template=True`` forces it.
    The caller commits, then calls ``services.notify_outbox()``.
    """
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    message = Message(
        conversation_id=conversation_id,
        channel=conversation.channel,
        direction=Direction.OUT,
        author=author,
        text=storable(text),
        options=[[storable(k), storable(v)] for k, v in options],
        template=template,
        status=MessageStatus.PENDING,
    )
    session.add(message)
    session.flush()
    return message


#: Twilio's error for a free-form WhatsApp message outside the 24-hour window.
WINDOW_CLOSED = "63016"


def record_status(
    *, session: Session, channel: str, provider_id: str, status: str, error_code: str | None = None
) -> bool:
    """Apply a delivery status callback; True if the message changed.

    Statuses only move forward (sent → delivered → read; a late "sent"
    after "delivered" is ignored), and failed / undelivered are final and
    only replace a status that is not yet delivered or read.
    """
    new = _PROVIDER_STATUS.get((status or "").strip().lower())
    if new is None:
        return False
    stmt = (
        select(Message)
        .where(Message.channel == channel, Message.provider_id == provider_id, Message.direction == Direction.OUT)
        .with_for_update()
    )
    message = session.exec(stmt).first()
    if message is None:
        return False
    current = message.status
    if current in _FAILURES:
        return False
    if new in _FAILURES:
        if current in (MessageStatus.DELIVERED, MessageStatus.READ):
            return False
        if str(error_code or "") == WINDOW_CLOSED and not message.template:
            # Twilio accepted it, then WhatsApp refused a free-form message outside
            # the 24-hour window: send it again as the approved template.
            message.status = MessageStatus.PENDING
            message.template = True
            message.provider_id = None
            message.next_attempt_at = utcnow()
            message.error_code = WINDOW_CLOSED
            session.add(message)
            session.flush()
            return True
        message.status = new
        message.error_code = (error_code or None) and str(error_code)[:32]
    else:
        if _RANK.get(new, -1) <= _RANK.get(current, -1):
            return False
        message.status = new
    session.add(message)
    session.flush()
    return True


@dataclass(frozen=True)
class ClaimedMessage:
    """A message this worker holds under a lease; ``attempts`` proves the lease is still ours."""

    id: int
    attempts: int
    outgoing: Outgoing
    #: Seconds to wait for the slot reserved under the provider's send rates at the claim.
    wait: float = 0.0
    #: False when a per-chat limit made it wait before the shared limits could be reserved.
    reserved: bool = True


# The claim's statements, built once: constructing a statement and its cache
# key costs SQLAlchemy more than executing it, and these run for every reply.
_M = Message.__table__  # type: ignore[attr-defined]
_C = Conversation.__table__  # type: ignore[attr-defined]


def _claimable(postgres: bool, status: str) -> Any:
    """Due outbound messages of one status, oldest first, none behind an earlier one of its conversation in flight.

    One status a query, so that the index on ``(status, id)`` yields them in
    order and the scan stops at the limit (with ``status IN (...)`` every
    row in flight is read and sorted first). Pending ones are due when their
    retry time has come; sending ones when their lease has run out.
    """
    earlier = _M.alias("earlier")
    blocked = (
        exists()
        .where(earlier.c.conversation_id == _M.c.conversation_id, earlier.c.direction == Direction.OUT)
        # Only the conversation's index may serve this (a conversation has few
        # messages): without statistics, PostgreSQL would also AND in the
        # status or id index, a range as long as the backlog, for every row.
        .where(earlier.c.id + 0 < _M.c.id, unindexed(earlier.c.status).in_(IN_FLIGHT))
    )
    stmt = (
        # The conversation's columns come along (not locked; as the claim read them before).
        select(_M, _C.c.address.label("conv_address"), _C.c.desk_address.label("conv_desk_address"),
               _C.c.last_inbound_at.label("conv_last_inbound_at"), limits.outgoing_used_column())
        .join(_C, _C.c.id == _M.c.conversation_id)
        .where(_M.c.status == status)
        .where(or_(_M.c.next_attempt_at.is_(None), _M.c.next_attempt_at <= bindparam("b_now")))
        .where(_M.c.direction == Direction.OUT, ~blocked,
               (_M.c.channel if postgres else unindexed(_M.c.channel)).in_(bindparam("b_active", expanding=True)))
        .order_by(_M.c.id)
        .limit(bindparam("b_limit"))
    )
    return stmt.with_for_update(skip_locked=True, of=_M) if postgres else stmt


#: By "is the database PostgreSQL", one statement per status in flight.
_CLAIMABLE = {pg: [_claimable(pg, status) for status in IN_FLIGHT] for pg in (False, True)}
#: The messages a claim sends take one statement (per template flag; the
#: flag is nearly always the same for all), not one each; the ids taken come back.
_TAKE = (
    update(_M)
    .where(_M.c.id.in_(bindparam("b_ids", expanding=True)), _M.c.status.in_(IN_FLIGHT))
    .where(or_(_M.c.next_attempt_at.is_(None), _M.c.next_attempt_at <= bindparam("b_now")))
    .values(status=MessageStatus.SENDING, attempts=_M.c.attempts + 1, next_attempt_at=bindparam("b_next"),
            template=bindparam("b_template"))
    .returning(_M.c.id)
)
#: By "is the database PostgreSQL": on PostgreSQL the same statement also adds the paid
#: messages taken to the outgoing guard's tally (:func:`bot.limits.counting_paid`).
_TAKE_COUNTING = {False: _TAKE, True: limits.counting_paid(_TAKE.returning(_M.c.channel).cte("taken"))}


@functools.lru_cache(maxsize=64)
def _finish_statement(columns: tuple[str, ...]) -> Any:
    """The outcome's ``UPDATE``, if the lease is still ours; one per set of columns written."""
    return (
        update(_M)
        .where(_M.c.id == bindparam("b_id"), _M.c.status == bindparam("b_status"),
               _M.c.attempts == bindparam("b_attempts"))
        .values({name: bindparam(f"v_{name}") for name in columns})
    )


def _finish_params(message_id: int, attempts: int, status: str, values: dict[str, Any]) -> dict[str, Any]:
    """:func:`_finish_statement`'s parameters: the values written, and the lease that must still be ours."""
    return {**{f"v_{k}": v for k, v in values.items()}, "b_id": message_id, "b_status": status, "b_attempts": attempts}


class OutboxWorker(Worker):
    """The asyncio task that sends outbound messages and due reminders."""

    name = "outbox"

    def __init__(
        self,
        services: Services,
        *,
        poll_interval: float = 0.5,
        concurrency: int = 8,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        super().__init__(poll_interval=poll_interval, concurrency=concurrency)
        self.services = services
        self.lease = timedelta(seconds=lease_seconds)
        self._next_prune = 0.0
        self._next_reminders = 0.0
        self._next_holds = 0.0
        #: Outcomes that arrive together are written in one transaction (see _record).
        self._records: GroupWriter[tuple[ClaimedMessage, dict[str, Any]], None] = GroupWriter(
            self._record_group, name="outbox:record", max_group=RECORD_BATCH)

    # --- claiming -----------------------------------------------------------

    async def claim(self, limit: int, busy: frozenset[Hashable]) -> Sequence[ClaimedMessage]:
        return await asyncio.to_thread(self.claim_sync, limit, busy)

    def claim_sync(self, limit: int, busy: frozenset[Hashable] = frozenset()) -> list[ClaimedMessage]:
        """Atomically take up to ``limit`` due messages, oldest first, one per conversation.

        One transaction does all the bookkeeping before the sends: the claim,
        the global guard on paid messages (:func:`bot.limits.outgoing_budget`;
        messages over it are held, unclaimed) and each message's slot under
        the providers' send rates (:func:`bot.sendrate.reserve_many`).
        """
        services = self.services
        settings = services.settings
        active = list(services.channels)
        if not active:
            return []
        now = services.now()
        M = Message
        claimed: list[ClaimedMessage] = []
        max_attempts = settings.outbox_max_attempts
        wall = utcnow()  # the outgoing guard's tally counts wall-clock seconds, whatever clock the service runs on
        with services.session() as session:
            conn = session.connection()
            postgres = conn.dialect.name == "postgresql"
            params = {"b_now": now, "b_active": active, "b_limit": limit + len(busy), **limits.outgoing_used_params(wall)}
            statements = self.claim_statements(_CLAIMABLE[postgres])
            rows = sorted((row for stmt in statements for row in conn.execute(stmt, params)), key=lambda row: row.id)
            candidates = [m for m in rows if m.id not in busy][:limit]
            if not candidates:
                return []
            paid = sum(limits.is_paid(m.channel) for m in candidates)
            budget = (limits.outgoing_budget(session, settings, paid, wall, used=max(m.guard_used for m in rows))
                      if paid else limits.Budget(None))
            taking: list[tuple[Any, bool]] = []  # (the row, whether it goes as a template)
            for message in candidates:
                if message.attempts >= max_attempts:
                    # Only a message left "sending" by crashes gets here.
                    self._finish(session, message.id, message.attempts, message.status, _failed("too many attempts"))  # type: ignore[arg-type]
                    continue
                if limits.is_paid(message.channel) and not budget.take():
                    # Over the global guard: it waits, unclaimed and with its attempts intact.
                    session.execute(
                        update(M).where(col(M.id) == message.id, col(M.status) == MessageStatus.PENDING)
                        .values(next_attempt_at=now + timedelta(seconds=budget.wait))
                        .execution_options(synchronize_session=False)
                    )
                    continue
                taking.append((message, bool(message.template or needs_template(
                    message.channel, message.conv_last_inbound_at, now))))
            # Locked by the claim (PostgreSQL) or under the writer lock (SQLite): nobody else
            # can have taken them since; the statement's conditions say so once more.
            taken: set[int] = set()
            for template in {template for _, template in taking}:
                ids = [m.id for m, t in taking if t == template]
                taken.update(conn.execute(_TAKE_COUNTING[postgres], {
                    "b_ids": ids, "b_now": now, "b_next": now + self.lease, "b_template": template,
                    **limits.tally_params(wall)}).scalars())
            for message, template in taking:
                if message.id not in taken:
                    continue
                outgoing = Outgoing(
                    message_id=message.id,  # type: ignore[arg-type]
                    conversation_id=message.conversation_id,
                    channel=message.channel,
                    address=message.conv_address,
                    text=message.text,
                    desk_address=message.conv_desk_address,
                    options=tuple((str(k), str(v)) for k, v in (message.options or [])),
                    template=template,
                    template_variables={"1": message.text} if template else {},
                    last_inbound_at=message.conv_last_inbound_at,
                )
                claimed.append(ClaimedMessage(id=message.id, attempts=message.attempts + 1, outgoing=outgoing))  # type: ignore[arg-type]
            if claimed:
                if not postgres:  # there the take counted them
                    limits.count_outgoing(session, sum(limits.is_paid(c.outgoing.channel) for c in claimed), wall)
                slots = sendrate.reserve_many(session, [sendrate.limits_for(c.outgoing, settings) for c in claimed])
                claimed = [dataclasses.replace(c, wait=slot.wait, reserved=slot.reserved)
                           for c, slot in zip(claimed, slots)]
        return claimed

    # --- sending ------------------------------------------------------------

    async def work(self, job: ClaimedMessage) -> None:
        channel = self.services.channels.get(job.outgoing.channel)
        if channel is None:  # switched off since the claim: put it back untouched
            await self._record(job, {"status": MessageStatus.PENDING, "attempts": job.attempts - 1,
                                     "next_attempt_at": self.services.now() + timedelta(seconds=60)})
            return
        if job.wait > 0:
            await asyncio.sleep(job.wait)  # the slot reserved at the claim under the provider's send rates
        if not job.reserved:
            try:
                await self._pace(job)
            except Exception as exc:
                if not database_unreachable(exc):
                    raise
                # Nothing was sent: put it back now rather than leave it claimed until the lease expires.
                log.warning("message %s: database unreachable before sending (%s); back to the queue",
                            job.id, type(exc).__name__)
                await self._record(job, {"status": MessageStatus.PENDING, "attempts": job.attempts - 1,
                                         "next_attempt_at": self.services.now() + timedelta(seconds=1)})
                return
        try:
            provider_id = await channel.send(job.outgoing)
        except NeedsTemplate as exc:
            if job.outgoing.template:
                log.error("message %s: refused even as a template: %s", job.id, exc)
                await self._record(job, _failed(str(exc), code="63016"))
            else:
                log.info("message %s: outside the 24-hour window, resending as a template", job.id)
                await self._record(job, {"status": MessageStatus.PENDING, "template": True,
                                         "next_attempt_at": self.services.now(), "last_error": str(exc)[:500]})
            return
        except PermanentFailure as exc:
            log.error("message %s failed for good (%s): %s", job.id, exc.code, exc)
            await self._record(job, _failed(str(exc), code=exc.code))
            return
        except RetryLater as exc:
            await self._record(job, self._retry_values(job, str(exc), exc.retry_after))
            return
        except Exception as exc:  # an unknown failure is treated as transient
            log.exception("message %s: send raised", job.id)
            await self._record(job, self._retry_values(job, f"{type(exc).__name__}: {exc}", None))
            return
        await self._record(job, {"status": MessageStatus.SENT, "provider_id": provider_id, "sent_at": utcnow(),
                                 "next_attempt_at": None, "last_error": None, "error_code": None})

    async def _pace(self, job: ClaimedMessage) -> None:
        """Wait for this message's slot under the provider's deployment-wide rate limits (bot/sendrate.py)."""
        limits = sendrate.limits_for(job.outgoing, self.services.settings)
        if not limits:
            return

        def reserve() -> sendrate.Reservation:
            with self.services.session() as session:
                return sendrate.reserve(session, limits)

        while True:
            slot = await asyncio.to_thread(reserve)
            if slot.wait > 0:
                await asyncio.sleep(slot.wait)
            if slot.reserved:
                return

    def _retry_values(self, job: ClaimedMessage, error: str, retry_after: float | None) -> dict[str, Any]:
        settings = self.services.settings
        if job.attempts >= settings.outbox_max_attempts:
            log.error("message %s failed after %d attempts: %s", job.id, job.attempts, error)
            return _failed(error, code="retries_exhausted")
        delay = backoff(job.attempts, base=settings.outbox_retry_base_seconds,
                        cap=settings.outbox_retry_max_seconds, retry_after=retry_after)
        log.warning("message %s: attempt %d failed (%s); retrying in %.1f s", job.id, job.attempts, error, delay)
        return {"status": MessageStatus.PENDING, "next_attempt_at": self.services.now() + timedelta(seconds=delay),
                "last_error": error[:500]}

    async def _record(self, job: ClaimedMessage, values: dict[str, Any]) -> None:
        """Record the outcome; returns once it is committed.

        Outcomes that arrive while others are being written are written
        together, in one transaction (:class:`bot.groups.GroupWriter`): under
        load one commit serves many sends. Writes are retried while the
        database is unreachable: after a send the provider may already have
        accepted the message, and if this commit were given up the lease would
        lapse and the message go out a second time (tests/test_faults.py, the outage).
        """
        await until_done(lambda: self._records.submit((job, values)), what=f"outcome of message {job.id}")

    def _record_group(self, group: Sequence[tuple[ClaimedMessage, dict[str, Any]]]) -> list[None]:
        """Write outcomes in one commit, each only if the lease is still ours.

        A provider id already on another row (a channel returning ids that
        are not unique) fails the group, which the group writer then writes
        one outcome at a time; alone, that outcome keeps its status and
        drops the id.
        """
        try:
            with self.services.session() as session:
                changed = self._finish_many(session, group)
        except IntegrityError:
            if len(group) > 1:
                raise
            ((job, values),) = group
            log.error("message %s: provider id %r already used; stored without it", job.id, values.get("provider_id"))
            with self.services.session() as session:
                changed = [self._finish(session, job.id, job.attempts, MessageStatus.SENDING,
                                        {**values, "provider_id": None})]
        for (job, values), done in zip(group, changed):
            self._after_record(job, values, done)
        return [None] * len(group)

    def _after_record(self, job: ClaimedMessage, values: dict[str, Any], changed: bool) -> None:
        if not changed:
            log.warning("message %s: lease lost before its outcome was recorded (%s)", job.id, values.get("status"))
        if values.get("status") == MessageStatus.PENDING:
            self.notify()

    @classmethod
    def _finish_many(cls, session: Session, group: Sequence[tuple[ClaimedMessage, dict[str, Any]]]) -> list[bool]:
        """:meth:`_finish` for each sent message of ``group``; whether each outcome was written.

        The outcomes that write the same columns go in one ``executemany``
        (on PostgreSQL psycopg pipelines it: one round trip, not one a
        message). Its row count is the sum; when it falls short (a lease
        lost to another worker, rare), the rows say which: those written
        have our attempt count and the outcome's status.
        """
        by_columns: dict[tuple[str, ...], list[int]] = {}
        for i, (_, values) in enumerate(group):
            by_columns.setdefault(tuple(sorted(values)), []).append(i)
        changed = [True] * len(group)
        conn = session.connection()
        for columns, indexes in by_columns.items():
            rows = [_finish_params(group[i][0].id, group[i][0].attempts, MessageStatus.SENDING, group[i][1])
                    for i in indexes]
            if conn.execute(_finish_statement(columns), rows).rowcount == len(rows):
                continue
            ids = [group[i][0].id for i in indexes]
            now_at = {row.id: row for row in conn.execute(
                select(_M.c.id, _M.c.attempts, _M.c.status).where(_M.c.id.in_(ids)))}
            for i in indexes:
                job, values = group[i]
                row = now_at.get(job.id)
                changed[i] = row is not None and row.attempts == job.attempts and row.status == values.get("status")
        return changed

    @staticmethod
    def _finish(session: Session, message_id: int, attempts: int, status: str, values: dict[str, Any]) -> bool:
        params = _finish_params(message_id, attempts, status, values)
        result = session.connection().execute(_finish_statement(tuple(sorted(values))), params)
        return bool(result.rowcount == 1)

    # --- reminders ----------------------------------------------------------

    async def tick(self) -> None:
        # Once every poll interval, not at every turn of the loop (several a second under load, each a
        # transaction): a reminder is due at a day and hour, half a second late changes nothing.
        if time.monotonic() >= self._next_reminders:
            self._next_reminders = time.monotonic() + self.poll_interval
            await asyncio.to_thread(self.send_due_reminders)
        if time.monotonic() >= self._next_holds:
            self._next_holds = time.monotonic() + HOLD_CHECK_SECONDS
            await asyncio.to_thread(self.release_expired_holds)
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + sendrate.IDLE_ROW_SECONDS / 6
            await asyncio.to_thread(self._prune_rates)

    def _prune_rates(self) -> None:
        """Forget send-rate rows of chats idle for an hour (one per Telegram chat would pile up),
        and the outgoing guard's tally of seconds long past."""
        try:
            with self.services.session() as session:
                sendrate.prune(session)
                limits.prune_outgoing(session)
        except Exception:
            log.exception("pruning send-rate rows failed; trying again later")

    def send_due_reminders(self, limit: int = 50) -> int:
        """Queue the replies of every reminder due now, if the desk is open; returns how many."""
        services = self.services
        now = services.now()
        if not office_hours_for(services.kb).is_open(now):
            return 0  # they wait for the next opening
        with services.session() as session:
            stmt = (
                select(Reminder.id)
                .where(Reminder.status == ReminderStatus.PENDING, col(Reminder.due_at) <= now)
                .order_by(col(Reminder.due_at), col(Reminder.id))
                .limit(limit)
            )
            due = list(session.exec(stmt).all())
        sent = 0
        for reminder_id in due:
            try:
                with services.session() as session:
                    sent += self._send_reminder(session, reminder_id, now)  # type: ignore[arg-type]
            except Exception:
                log.exception("reminder %s could not be sent; it stays pending", reminder_id)
        if sent:
            self.notify()
        return sent

    def release_expired_holds(self, limit: int = 50) -> int:
        """Give back to the bot every chat held with no staff activity for ``HOLD_TIMEOUT_MINUTES``; returns how many.

        Several workers may look at once: each chat is handed back by exactly
        one of them (:func:`bot.staffdesk.expire_hold`), in its own transaction.
        """
        from bot import staffdesk  # the console's service layer builds on the outbox, not the reverse

        services = self.services
        minutes = services.settings.hold_timeout_minutes
        if minutes <= 0:
            return 0
        now = services.now()
        cutoff = now - timedelta(minutes=minutes)
        try:
            with services.session() as session:
                expired = staffdesk.expired_holds(session, cutoff=cutoff, limit=limit)
        except Exception:
            log.exception("looking for expired holds failed; trying again later")
            return 0
        released = 0
        for conversation_id in expired:
            try:
                with services.session() as session:
                    released += staffdesk.expire_hold(session=session, kb=services.kb,
                                                      conversation_id=conversation_id, cutoff=cutoff, now=now)
            except Exception:
                log.exception("the hold on conversation %s could not be released; trying again later", conversation_id)
        if released:
            log.info("%d chat(s) held without staff activity for %d min went back to the bot", released, minutes)
            self.notify()
        return released

    def _send_reminder(self, session: Session, reminder_id: int, now: datetime) -> int:
        """One reminder: claim it, step the flow, store the replies — all or nothing."""
        if session.get_bind().dialect.name == "postgresql":
            # Another worker sending it right now holds its row: skip it rather than wait.
            mine = select(Reminder.id).where(col(Reminder.id) == reminder_id).with_for_update(skip_locked=True)
            if session.exec(mine).first() is None:
                return 0
        claimed = session.execute(
            update(Reminder)
            .where(col(Reminder.id) == reminder_id, Reminder.status == ReminderStatus.PENDING)
            .values(status=ReminderStatus.SENT)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return 0  # another worker took it
        reminder = session.get(Reminder, reminder_id)
        assert reminder is not None
        conversation = lock_conversation(session=session, conversation_id=reminder.conversation_id)
        if conversation.holder == Holder.STAFF:
            # A person is handling the case; the bot stays silent in the chat.
            reminder.status = ReminderStatus.CANCELLED
            log.info("reminder %s cancelled: conversation %s is held by staff", reminder_id, conversation.id)
            return 0
        outcome = remind(copy.deepcopy(conversation.state), self.services.kb, now)
        conversation.state = json.loads(json.dumps(outcome.state))
        conversation.updated_at = utcnow()
        flag_modified(conversation, "state")
        contact = session.get(Contact, conversation.contact_id)
        if contact is not None and outcome.actions:
            perform_actions(session=session, conversation=conversation, contact=contact,
                            actions=outcome.actions, now=now)
        for reply in outcome.replies:
            session.add(
                Message(
                    conversation_id=conversation.id,  # type: ignore[arg-type]
                    channel=conversation.channel,
                    direction=Direction.OUT,
                    author=Author.BOT,
                    text=storable(reply.plain()),
                    options=reply_options(reply),
                    template=conversation.channel == "whatsapp",
                    status=MessageStatus.PENDING,
                )
            )
        session.flush()
        log.info("reminder %s (%s) queued on conversation %s", reminder_id, reminder.kind, conversation.id)
        return 1

    # --- one-shot -----------------------------------------------------------

    async def run_once(self) -> int:
        """Send due reminders and every message due now, in order; returns how many were claimed.

        For tests and ``seguro-bot telegram poll`` when no worker task runs.
        """
        self._next_reminders = self._next_holds = 0.0  # everything due now, reminders and expired holds included
        await self.tick()
        count = 0
        while True:
            self.look_for_expired()
            jobs = await self.claim(self.concurrency, frozenset(self._busy))
            if not jobs:
                return count
            await asyncio.gather(*(self.run_job(job) for job in jobs))
            count += len(jobs)


def _failed(error: str, *, code: str | None = None) -> dict[str, Any]:
    return {"status": MessageStatus.FAILED, "next_attempt_at": None, "last_error": error[:500],
            "error_code": (code or None) and str(code)[:32]}


__all__ = [
    "ClaimedMessage",
    "OutboxWorker",
    "WHATSAPP_WINDOW",
    "needs_template",
    "queue_message",
    "record_status",
]
