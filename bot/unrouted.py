"""Answering the WhatsApp messages that went to a desk number the service did not answer.

A sender added in Twilio but missing from ``TWILIO_WHATSAPP_NUMBERS`` gets
its messages acknowledged (Twilio would only retry them) and stored as
failed (:func:`bot.inbound.record_unrouted`); ``/healthz`` counts them. Once
the engineer adds the number and restarts, ``seguro-bot whatsapp
requeue-unrouted`` puts those of the last 24 hours back in the queue, and
the running service answers them as if they had just been stored, each at
the time the student wrote it (so "hoy" still means that day).

Not every one is put back: a student who, after writing to that number,
wrote to one the service answers has been attended there since; answering
the older message now would be answering out of order, against a state
that has moved on. Those are left failed and reported. Older than the
window (24 hours, WhatsApp's free-form reply window), they are left too.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, not_, update
from sqlmodel import Session, col, select

from bot.inbound import UNROUTED, UNROUTED_WINDOW
from bot.models import EventStatus, InboundEvent


@dataclass
class Requeued:
    """What :func:`requeue_unrouted` did, by desk number as Twilio wrote it."""

    requeued: Counter[str] = field(default_factory=Counter)
    #: The student wrote later to a number that is answered: left as it was.
    answered_since: Counter[str] = field(default_factory=Counter)
    #: The number is still not configured.
    still_unrouted: Counter[str] = field(default_factory=Counter)


def requeue_unrouted(session: Session, *, is_desk_number: Callable[[str | None], bool], now: datetime,
                     dry_run: bool = False) -> Requeued:
    """Put back in the inbound queue the unrouted messages of the window whose number is now a desk number."""
    E = InboundEvent
    report = Requeued()
    failed = session.exec(
        select(E).where(E.status == EventStatus.FAILED, E.last_error == UNROUTED,
                        col(E.received_at) >= now - UNROUTED_WINDOW).order_by(col(E.id))
    ).all()
    # Each student's latest message that did reach the service (to a number it answers).
    later_routed: dict[tuple[str, str], int] = {}
    if failed:
        rows = session.exec(
            select(E.channel, E.address, func.max(E.id))
            .where(col(E.address).in_(sorted({e.address for e in failed})),
                   not_(and_(E.status == EventStatus.FAILED, E.last_error == UNROUTED)))
            .group_by(col(E.channel), col(E.address))
        ).all()
        later_routed = {(channel, address): int(last_id) for channel, address, last_id in rows}
    ids: list[int] = []
    for event in failed:
        desk = str(event.desk_address or "?")
        if not is_desk_number(event.desk_address):
            report.still_unrouted[desk] += 1
        elif later_routed.get((event.channel, event.address), 0) > int(event.id or 0):
            report.answered_since[desk] += 1
        else:
            report.requeued[desk] += 1
            ids.append(int(event.id))  # type: ignore[arg-type]
    if ids and not dry_run:
        session.execute(
            update(E).where(col(E.id).in_(ids), E.status == EventStatus.FAILED, E.last_error == UNROUTED)
            .values(status=EventStatus.PENDING, attempts=0, lease_until=None, last_error=None, processed_at=None)
            .execution_options(synchronize_session=False)
        )
    return report

