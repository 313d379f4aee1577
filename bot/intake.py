"""Webhook payloads stored in groups: the webhooks that arrive together share one transaction.

A webhook may be acknowledged only once its payload is committed (Twilio
and Telegram do not send it again after a 2xx). Stored one transaction
each, the transaction was the cost of a webhook (a thread hop, the SQLite
writer lock queued behind the inbound processor's transactions, or
PostgreSQL round trips, and a commit). :class:`Intake` keeps the
guarantee and shares the cost (:class:`bot.groups.GroupWriter`): the
payloads waiting together are stored with one multi-row insert
(:func:`bot.inbound.enqueue_many`) and one commit, and each webhook still
learns whether its payload was new or a provider's retry.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.groups import MAX_GROUP, GroupWriter
from bot.inbound import Arrival, enqueue_many

if TYPE_CHECKING:
    from bot.web.services import Services


class Intake:
    """Stores webhook payloads for the webhooks of one event loop, in groups (see the module)."""

    def __init__(self, write: Callable[[Sequence[Arrival]], list[bool]], *,
                 stored: Callable[[], object] | None = None, max_group: int = MAX_GROUP) -> None:
        def written(new: Sequence[bool]) -> None:
            if stored is not None and any(new):
                stored()  # wakes the inbound processor, once a group

        self._writer: GroupWriter[Arrival, bool] = GroupWriter(write, name="intake", written=written,
                                                               max_group=max_group)

    @classmethod
    def for_services(cls, services: Services) -> Intake:
        def write(arrivals: Sequence[Arrival]) -> list[bool]:
            with services.session() as session:
                return enqueue_many(session, arrivals)

        return cls(write, stored=services.notify_inbound)

    async def store(self, arrival: Arrival) -> bool:
        """Store ``arrival``; True once committed as new, False if already stored. Raises if it could not be stored."""
        return await self._writer.submit(arrival)

    async def drain(self) -> None:
        """Wait until everything handed over so far is written (shutdown)."""
        await self._writer.drain()
