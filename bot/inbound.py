"""Stored webhook payloads → the core, in order, once.

A webhook stores the raw payload (:func:`enqueue`) and answers 2xx at once,
so Twilio's 15-second limit and Telegram's retries never depend on how long
the bot takes. :class:`InboundProcessor` then claims stored events in id
order, at most one in flight per (channel, address) so that a student's
messages are handled in the order they arrived, lets the channel
``prepare`` the payload (media is downloaded here, outside any transaction)
and hands it to :func:`bot.desk.handle_message`, marking the event done in
the same transaction. An event whose worker died stays ``processing``
until its lease expires and is then claimed again; ``handle_message``'s
dedupe by provider id makes that safe.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, exists, func, or_, update
from sqlalchemy.engine import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.channels.base import Prepared, RetryLater
from bot import limits
from bot.desk import handle_message
from bot.groups import MAX_GROUP, GroupWriter
from bot.models import EventStatus, InboundEvent, utcnow
from bot.storage import dialect_name, lock_keys, unindexed
from bot.workers import Worker, backoff, until_written
from flows.entities import redact_secrets
from flows.messages import Incoming

if TYPE_CHECKING:
    from bot.web.services import Services

log = logging.getLogger(__name__)

#: How long a claimed event is ours; after that another worker may take it.
#: Longer than the slowest media download a channel allows.
DEFAULT_LEASE_SECONDS = 300.0
#: Tries at downloading a message's files before it is answered without them.
MEDIA_ATTEMPTS = 4
#: A channel that is off (no credentials, failed to start) is asked again this late.
CHANNEL_OFF_RETRY_SECONDS = 60.0
IN_FLIGHT = (EventStatus.PENDING, EventStatus.PROCESSING)


@dataclass(frozen=True)
class Arrival:
    """One webhook payload to store: what :func:`enqueue_many` inserts as an inbound event."""

    channel: str
    provider_id: str
    address: str
    desk_address: str | None
    payload: dict[str, Any]
    received_at: datetime


def enqueue(
    *,
    session: Session,
    channel: str,
    provider_id: str,
    address: str,
    desk_address: str | None,
    payload: dict[str, Any],
    received_at: datetime | None = None,
) -> bool:
    """Store one webhook payload; True if new, False if this provider id was already stored.

    The caller commits, then calls ``services.notify_inbound()``. See
    :func:`enqueue_many`, which this is the one-payload case of.
    """
    return enqueue_many(session, [Arrival(channel, provider_id, address, desk_address, payload,
                                          received_at or utcnow())])[0]


def enqueue_many(session: Session | Connection, arrivals: Sequence[Arrival]) -> list[bool]:
    """Store webhook payloads in arrival order; for each, True if new, False if already stored.

    One ``INSERT ... ON CONFLICT DO NOTHING`` for all of them: a duplicate (a
    provider's retry, possibly racing the first delivery, or the same id
    twice in ``arrivals``) inserts nothing and never spoils the caller's
    transaction. Passwords a student typed are redacted from the payload
    before it is stored (:func:`redact_payload`). The caller commits, then
    calls ``services.notify_inbound()``.
    """
    if not arrivals:
        return []
    for arrival in arrivals:
        if arrival.received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware")
    # Ids come from a sequence when the row is inserted, not when it commits:
    # two webhooks of one student on two workers could commit in the other
    # order and be claimed out of order. One writer per address at a time
    # (the locks taken in one sorted order, so two writers never deadlock).
    lock_keys(session, sorted({"\x1f".join(("inbound", a.channel, a.address)) for a in arrivals}))
    conn = session if isinstance(session, Connection) else session.connection()
    statement, columns = _enqueue_sql(conn.dialect, len(arrivals))
    params: list[Any] = []
    for a in arrivals:
        params += (a.channel, a.provider_id, a.address, a.desk_address, redact_payload(a.payload),
                   a.received_at, EventStatus.PENDING, 0)
    rows = conn.exec_driver_sql(statement, tuple(
        value if process is None else process(value)
        for value, process in zip(params, columns * len(arrivals))
    )).all()
    inserted = {(row.channel, row.provider_id) for row in rows}
    new: list[bool] = []
    for arrival in arrivals:
        key = (arrival.channel, arrival.provider_id)
        new.append(key in inserted)
        inserted.discard(key)  # the same id twice in one batch: only the first is new
    return new


#: The columns a webhook's insert fills, in the order of its parameters.
_ENQUEUE_COLUMNS = ("channel", "provider_id", "address", "desk_address", "payload", "received_at", "status",
                    "attempts")


@lru_cache(maxsize=2 * MAX_GROUP + 8)
def _enqueue_sql(dialect: Any, rows: int) -> tuple[str, tuple[Any, ...]]:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING channel, provider_id`` for ``rows`` payloads, as
    the driver's own SQL, with each column's bind processor (what SQLAlchemy would apply to it).

    Why the driver's SQL: for a group of webhooks, SQLAlchemy's compiled
    multi-row insert ("insertmanyvalues") cost several times what the
    statement costs the database (measured on SQLite: 320 µs a group of
    seven retries, 173 µs as the same SQL sent with ``exec_driver_sql``).
    The values still pass through the columns' own bind processors (JSON,
    dates, the status enum), so a row is stored exactly as before, and the
    connection's error handling (a lost connection invalidates the pool
    and is raised as SQLAlchemy's ``OperationalError``) is unchanged.
    One string per dialect and group size (a group is at most
    :data:`bot.groups.MAX_GROUP`), built once.
    """
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([mark] * len(_ENQUEUE_COLUMNS)) + ")"
    statement = (f"INSERT INTO {table.name} ({', '.join(_ENQUEUE_COLUMNS)}) VALUES "
                 + ", ".join([one] * rows)
                 + " ON CONFLICT (channel, provider_id) DO NOTHING RETURNING channel, provider_id")
    processors = tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                       for name in _ENQUEUE_COLUMNS)
    return statement, processors


#: ``last_error`` of a WhatsApp message to a desk number that is not configured (see :func:`record_unrouted`).
UNROUTED = "desk number not in TWILIO_WHATSAPP_NUMBERS"
#: How far back ``/healthz`` counts such messages.
UNROUTED_WINDOW = timedelta(hours=24)


def record_unrouted(session: Session, arrival: Arrival) -> bool:
    """Store a message sent to a desk number we do not answer, already settled as failed; True if new.

    Why store it: Twilio does not retry a message we acknowledged, so
    without a row nothing but a log line would say that students write to
    a number missing from ``TWILIO_WHATSAPP_NUMBERS`` and get no reply.
    Stored like any payload (passwords redacted, deleted by retention), it
    is counted by :func:`unrouted_counts` for ``/healthz`` and never
    claimed by the processor (it is not pending).
    """
    postgres = dialect_name(session) == "postgresql"
    now = utcnow()
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    insert = pg_insert if postgres else sqlite_insert
    result = session.connection().execute(
        insert(table).values(channel=arrival.channel, provider_id=arrival.provider_id, address=arrival.address,
                             desk_address=arrival.desk_address, payload=redact_payload(arrival.payload),
                             received_at=arrival.received_at, status=EventStatus.FAILED, attempts=0,
                             last_error=UNROUTED, processed_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
    )
    return bool(result.rowcount)


def unrouted_counts(session: Session, now: datetime) -> dict[str, int]:
    """Messages of the last :data:`UNROUTED_WINDOW` to desk numbers not configured, by that number (as Twilio wrote it)."""
    E = InboundEvent
    stmt = (
        select(E.desk_address, func.count())
        .where(E.status == EventStatus.FAILED, E.last_error == UNROUTED,
               col(E.received_at) >= now - UNROUTED_WINDOW)
        .group_by(col(E.desk_address))
    )
    return {str(desk or "?"): int(count) for desk, count in session.exec(stmt).all()}  # type: ignore[call-overload]


#: The payload fields that carry what a student typed or tapped: WhatsApp's ``Body``
#: and quick-reply ``ButtonText`` / ``ButtonPayload``, Telegram's ``text`` / ``caption``
#: and a button's callback ``data``, the web chat's ``text``.
TYPED_FIELDS = frozenset({"Body", "ButtonText", "ButtonPayload", "text", "caption", "data"})


def redact_payload(payload: Any, *, typed: bool = False) -> Any:
    """``payload`` with every password the student typed replaced by "[contraseña oculta]".

    Why here: the raw payload is kept (for staff, for a retry) and a
    password must never be stored, not even for the seconds before the bot
    reads it. Only typed text is looked at (:data:`TYPED_FIELDS`): ids and
    URLs stay as the provider sent them. The bot still warns the student:
    the placeholder counts as a password it was sent
    (``flows.entities.redact_secrets``).
    """
    if isinstance(payload, str):
        return redact_secrets(payload)[0] if typed else payload
    if isinstance(payload, dict):
        # A webhook's form is a flat dict of strings: only its typed fields are looked at.
        return {k: (v if type(v) is str and k not in TYPED_FIELDS else redact_payload(v, typed=k in TYPED_FIELDS))
                for k, v in payload.items()}
    if isinstance(payload, list):
        return [redact_payload(v, typed=typed) for v in payload]
    return payload


def with_typed_text(payload: Any, text: str) -> Any:
    """``payload`` with every typed field (:data:`TYPED_FIELDS`) holding ``text`` instead."""
    if isinstance(payload, dict):
        return {k: (text if k in TYPED_FIELDS and isinstance(v, str) else with_typed_text(v, text))
                for k, v in payload.items()}
    if isinstance(payload, list):
        return [with_typed_text(v, text) for v in payload]
    return payload


def find_event(*, session: Session, channel: str, provider_id: str) -> InboundEvent | None:
    stmt = select(InboundEvent).where(InboundEvent.channel == channel, InboundEvent.provider_id == provider_id)
    return session.exec(stmt).first()


@dataclass(frozen=True, kw_only=True)
class ClaimedEvent(Arrival):
    """A stored arrival this worker holds under a lease; ``attempts`` proves the lease is still ours."""

    id: int
    attempts: int


class _LeaseLost(Exception):
    """Another worker re-claimed the event (our lease expired): roll back, leave it to them."""


def _claimable(postgres: bool, status: str, *, channel: str | None = None, address: str | None = None) -> Any:
    """Due events of one status, oldest first, none behind an earlier in-flight event of its conversation.

    One status a query, so that the index on ``(status, id)`` yields them in
    order and the scan stops at the limit (with ``status IN (...)`` every
    event in flight, the whole backlog, is read and sorted first).
    Parameters: ``now``, ``active`` (the channels that are on), ``limit``,
    and ``channel`` / ``address`` when those filters are asked for.
    """
    E = InboundEvent.__table__  # type: ignore[attr-defined]
    earlier = E.alias("earlier")
    blocked = (
        exists()
        .where(earlier.c.channel == E.c.channel, earlier.c.address == E.c.address)
        # Only the conversation's index may serve this (see bot.outbox._claimable).
        .where(earlier.c.id + 0 < E.c.id, unindexed(earlier.c.status).in_(IN_FLIGHT))
    )
    stmt = (
        select(E)
        .where(E.c.status == status)
        .where(or_(E.c.lease_until.is_(None), E.c.lease_until <= bindparam("now")))
        .where(~blocked, (E.c.channel if postgres else unindexed(E.c.channel)).in_(bindparam("active", expanding=True)))
        .order_by(E.c.id)
        .limit(bindparam("limit"))
    )
    if channel is not None:
        stmt = stmt.where(E.c.channel == bindparam("channel"))
    if address is not None:
        stmt = stmt.where(E.c.address == bindparam("address"))
    return stmt.with_for_update(skip_locked=True, of=E) if postgres else stmt


#: The claim's statements, built once (see :func:`_enqueue_statement`): by "is
#: the database PostgreSQL", one per status in flight.
_CLAIMABLE = {pg: [_claimable(pg, status) for status in IN_FLIGHT] for pg in (False, True)}
_E = InboundEvent.__table__  # type: ignore[attr-defined]
#: The claim takes every event it picked with one statement (a round trip on
#: PostgreSQL, SQLAlchemy's overhead on both, per event before); the events
#: taken, with their new attempt count, come back.
_TAKE = (
    update(_E)
    .where(_E.c.id.in_(bindparam("b_ids", expanding=True)), _E.c.status.in_(IN_FLIGHT))
    .where(or_(_E.c.lease_until.is_(None), _E.c.lease_until <= bindparam("b_now")))
    .values(status=EventStatus.PROCESSING, attempts=_E.c.attempts + 1, lease_until=bindparam("b_lease"))
    .returning(_E.c.id, _E.c.attempts)
)

#: "Done", if the lease is still ours; the second also replaces the stored payload.
_DONE = (
    update(_E)
    .where(_E.c.id == bindparam("b_id"), _E.c.status == EventStatus.PROCESSING,
           _E.c.attempts == bindparam("b_attempts"))
    .values(status=EventStatus.DONE, processed_at=bindparam("b_processed_at"), lease_until=None, last_error=None)
)
_DONE_WITH_PAYLOAD = _DONE.values(payload=bindparam("b_payload"))


class InboundProcessor(Worker):
    """The asyncio task that feeds stored events to the core (one per process is enough)."""

    name = "inbound"

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
        #: Messages prepared together are handled in one transaction (bot/groups.py). Each
        #: group holds distinct conversations: the claim keeps one message a conversation in flight.
        self._handling: GroupWriter[tuple[ClaimedEvent, Prepared], None] = GroupWriter(
            self._handle_group, name="inbound handling", max_group=self.concurrency)

    # --- claiming -----------------------------------------------------------

    async def before_claim(self) -> None:
        """In a burst of webhooks, let this process acknowledge them first (bot/intake.py)."""
        intake = self.services.intake
        if intake is not None:
            waited = await intake.after_burst(self.services.settings.intake_first_seconds)
            if waited:
                log.debug("inbound: waited %.0f ms for a burst of webhooks to be stored", waited * 1000)

    async def claim(self, limit: int, busy: frozenset[Hashable]) -> Sequence[ClaimedEvent]:
        return await asyncio.to_thread(self.claim_sync, limit, busy)

    def claim_sync(
        self,
        limit: int,
        busy: frozenset[Hashable] = frozenset(),
        *,
        channel: str | None = None,
        address: str | None = None,
    ) -> list[ClaimedEvent]:
        """Atomically take up to ``limit`` due events, the oldest first, one per conversation."""
        services = self.services
        active = list(services.channels)
        if not active:
            return []
        now = services.now()
        with services.session() as session:
            conn = session.connection()
            postgres = conn.dialect.name == "postgresql"
            if channel is None and address is None:
                statements = self.claim_statements(_CLAIMABLE[postgres])
            else:
                statements = [_claimable(postgres, status, channel=channel, address=address) for status in IN_FLIGHT]
            params = {"now": now, "active": active, "limit": limit + len(busy), "channel": channel, "address": address}
            rows = sorted((row for stmt in statements for row in conn.execute(stmt, params)), key=lambda row: row.id)
            picked = [event for event in rows if event.id not in busy][:limit]
            if not picked:
                return []
            # Locked by the claim (PostgreSQL) or under the writer lock (SQLite): nobody else
            # can have taken them since; the statement's conditions say so once more.
            taken = dict(conn.execute(_TAKE, {"b_ids": [event.id for event in picked], "b_now": now,
                                              "b_lease": now + self.lease}).tuples().all())
            return [
                ClaimedEvent(
                    id=event.id,
                    channel=event.channel,
                    provider_id=event.provider_id,
                    address=event.address,
                    desk_address=event.desk_address,
                    payload=dict(event.payload or {}),
                    received_at=event.received_at,
                    attempts=taken[event.id],
                )
                for event in picked if event.id in taken
            ]

    # --- working ------------------------------------------------------------

    async def work(self, job: ClaimedEvent) -> None:
        channel = self.services.channels.get(job.channel)
        if channel is None:
            await self._retry_later(job, "channel is off", CHANNEL_OFF_RETRY_SECONDS, False)
            return
        try:
            # After a few tries a file that cannot be fetched is left out: the student is answered.
            prepared = await channel.prepare(job.payload, last_try=job.attempts >= MEDIA_ATTEMPTS)
        except RetryLater as exc:
            log.warning("inbound event %s: %s; retrying later", job.id, exc)
            await self._retry_later(job, f"retry: {exc}", exc.retry_after, True)
            return
        except Exception as exc:
            log.exception("inbound event %s: prepare failed", job.id)
            await self._retry_later(job, _describe(exc), None, True)
            return
        try:
            await self._handling.submit((job, prepared))
        except _LeaseLost:
            log.warning("inbound event %s: lease lost to another worker; left to it", job.id)
            return
        except Exception as exc:
            log.exception("inbound event %s: handling failed", job.id)
            await self._retry_later(job, _describe(exc), None, True)
            return
        self.services.notify_outbox()

    def _handle_group(self, group: Sequence[tuple[ClaimedEvent, Prepared]]) -> list[None]:
        """Handle each message of ``group`` and mark it done, all in one transaction: all happen, or none.

        The events are marked done together at the end, one ``executemany``
        per statement (on PostgreSQL psycopg pipelines it: one round trip for
        the group). Each is marked only if its lease is still ours; if any is
        not, :class:`_LeaseLost` rolls the group back and the group writer
        handles its messages again one at a time, the lost one alone failing.
        """
        with self.services.session() as session:
            done: dict[Any, list[dict[str, Any]]] = {}
            for job, prepared in group:
                stmt, params = self._handle(session, job, prepared)
                done.setdefault(stmt, []).append(params)
            conn = session.connection()
            for stmt, rows in done.items():
                if conn.execute(stmt, rows).rowcount != len(rows):
                    raise _LeaseLost()
        return [None] * len(group)

    def _handle(self, session: Session, job: ClaimedEvent, prepared: Prepared) -> tuple[Any, dict[str, Any]]:
        """The core's step in the caller's transaction; returns the statement that marks the event done."""
        services = self.services
        message = Incoming(
            text=prepared.text,
            at=job.received_at,
            channel=job.channel,
            attachments=tuple(prepared.attachments),
            button_label=prepared.button_label,
        )
        handled = handle_message(
            session=session,
            kb=services.kb,
            channel=job.channel,
            address=job.address,
            provider_id=job.provider_id,
            message=message,
            display_name=prepared.display_name,
            desk_address=job.desk_address,
            # The per-student rate limit: over it the message is stored, not answered (bot/limits.py).
            gate=limits.student_gate(services.settings, utcnow()),
        )
        done: dict[str, Any] = {"b_id": job.id, "b_attempts": job.attempts, "b_processed_at": utcnow()}
        stmt = _DONE
        if handled.stored_text is not None:
            # The raw payload keeps no more of what the student typed than the conversation does
            # (data sent before the privacy notice was accepted is masked there).
            done["b_payload"] = with_typed_text(job.payload, handled.stored_text)
            stmt = _DONE_WITH_PAYLOAD
        return stmt, done

    async def _retry_later(self, job: ClaimedEvent, error: str, retry_after: float | None, counts: bool) -> None:
        """:meth:`_retry`, retrying while the database is unreachable.

        A failure to handle the event is often the database going away; if
        putting the event back failed too, it would stay claimed for the
        whole lease (5 minutes of silence for that student).
        """
        await until_written(lambda: self._retry(job, error, retry_after, counts), what=f"inbound event {job.id}")

    def _retry(self, job: ClaimedEvent, error: str, retry_after: float | None, counts: bool) -> None:
        """Back off, or give up after ``inbound_max_attempts`` (status failed, logged)."""
        services = self.services
        settings = services.settings
        now = services.now()
        give_up = counts and job.attempts >= settings.inbound_max_attempts
        if give_up:
            values: dict[str, Any] = {"status": EventStatus.FAILED, "lease_until": None, "processed_at": utcnow()}
            log.error("inbound event %s (%s) failed after %d attempts: %s", job.id, job.channel, job.attempts, error)
        else:
            delay = retry_after if not counts and retry_after else backoff(
                job.attempts,
                base=settings.outbox_retry_base_seconds,
                cap=settings.outbox_retry_max_seconds,
                retry_after=retry_after,
            )
            values = {"status": EventStatus.PENDING, "lease_until": now + timedelta(seconds=delay)}
            if not counts:  # not the event's fault: do not use up its attempts
                values["attempts"] = job.attempts - 1
        values["last_error"] = error[:500]
        with services.session() as session:
            session.execute(
                update(InboundEvent)
                .where(col(InboundEvent.id) == job.id)
                .where(InboundEvent.status == EventStatus.PROCESSING, InboundEvent.attempts == job.attempts)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    # --- one-shot -----------------------------------------------------------

    async def process_address(
        self, *, channel: str, address: str, until_event_id: int, timeout: float = 10.0
    ) -> str | None:
        """Process this conversation's due events now, in order, until ``until_event_id`` is settled.

        Used by the web chat so the reply comes back in the same request.
        Returns the event's final status, or None if it is still pending
        after ``timeout`` (being retried, or another worker holds it).
        """
        deadline = time.monotonic() + timeout
        while True:
            status = await asyncio.to_thread(self._status, until_event_id)
            if status in (EventStatus.DONE, EventStatus.FAILED):
                return status
            jobs = await asyncio.to_thread(
                self.claim_sync, 1, frozenset(self._busy), channel=channel, address=address
            )
            for job in jobs:
                await self.run_job(job)
            if jobs:
                continue
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)

    def _status(self, event_id: int) -> str | None:
        with self.services.session() as session:
            event = session.get(InboundEvent, event_id)
            return event.status if event else None


async def process_pending(
    services: Services, *, channel: str | None = None, address: str | None = None, limit: int = 1000
) -> int:
    """Process every event due now, one at a time in id order; returns how many were claimed.

    For tests and for ``seguro-bot telegram poll``, which have no running
    processor (the app's processor is reused when there is one).
    """
    processor = services.inbound or InboundProcessor(services)
    count = 0
    while count < limit:
        processor.look_for_expired()
        jobs = await asyncio.to_thread(
            processor.claim_sync, 1, frozenset(processor._busy), channel=channel, address=address
        )
        if not jobs:
            break
        for job in jobs:
            await processor.run_job(job)
            count += 1
    return count


def _describe(exc: BaseException) -> str:
    """A short, personal-data-free description of a failure, for ``last_error``."""
    from flows.entities import mask_personal

    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__name__}: {mask_personal(first)}".rstrip(": ")
