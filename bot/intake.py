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

**Acknowledging first, in a burst.** Handling a message costs its process
about ten times what storing it does, and both share one interpreter. When
webhooks come faster than the process does both, handling would take the
time the webhooks need to be acknowledged: every acknowledgement queues
behind handling, Twilio's 15-second timeout comes closer, and a timed-out
webhook is sent again, more load. So while a burst is on (:data:`BURST`
webhooks or more waiting at once to be stored, a few milliseconds ago at
most) the process's inbound
processor waits before claiming more messages (:meth:`Intake.after_burst`),
for at most ``INTAKE_FIRST_SECONDS`` (1 s) each time, so that handling never
stops for longer even under a flood. Messages already claimed are handled
meanwhile, and nothing waits outside a burst: at the desk's ordinary rates
a webhook is stored alone, long before a fourth arrives.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.groups import MAX_GROUP, GroupWriter
from bot.inbound import Arrival, enqueue_many

if TYPE_CHECKING:
    from bot.web.services import Services

#: Webhooks waiting at once to be stored from which a process is in a burst (see the module).
BURST = 4
#: A burst is over once no more than BURST - 1 webhooks have waited for this long. Not at
#: once: every committed group answers all its webhooks together, and the next ones take a
#: moment to arrive; a burst seen to end at that instant would let handling in after
#: every group.
BURST_QUIET_SECONDS = 0.005
#: How often a wait for the end of a burst looks again.
BURST_LOOK_SECONDS = 0.002


class Intake:
    """Stores webhook payloads for the webhooks of one event loop, in groups (see the module)."""

    def __init__(self, write: Callable[[Sequence[Arrival]], list[bool]], *,
                 stored: Callable[[], object] | None = None, max_group: int = MAX_GROUP,
                 write_now: Callable[[Sequence[Arrival]], list[bool] | None] | None = None) -> None:
        def written(new: Sequence[bool]) -> None:
            if stored is not None and any(new):
                stored()  # wakes the inbound processor, once a group

        self._writer: GroupWriter[Arrival, bool] = GroupWriter(write, name="intake", written=written,
                                                               max_group=max_group, write_now=write_now)
        #: Webhooks handed over and not yet answered (committed or failed).
        self.waiting = 0
        #: When BURST webhooks or more last waited together (time.monotonic()).
        self._crowded_at = float("-inf")

    @classmethod
    def for_services(cls, services: Services) -> Intake:
        from bot.storage import connection_if_free, connection_scope

        def write(arrivals: Sequence[Arrival]) -> list[bool]:
            with connection_scope(services.engine) as conn:
                return enqueue_many(conn, arrivals)

        def write_now(arrivals: Sequence[Arrival]) -> list[bool] | None:
            with connection_if_free(services.engine) as conn:
                return None if conn is None else enqueue_many(conn, arrivals)

        return cls(write, stored=services.notify_inbound, write_now=write_now)

    async def store(self, arrival: Arrival) -> bool:
        """Store ``arrival``; True once committed as new, False if already stored. Raises if it could not be stored."""
        self.waiting += 1
        if self.waiting >= BURST:
            self._crowded_at = time.monotonic()
        try:
            return await self._writer.submit(arrival)
        finally:
            self.waiting -= 1

    def in_burst(self) -> bool:
        """Whether :data:`BURST` webhooks or more wait to be stored, or did within :data:`BURST_QUIET_SECONDS`."""
        return self.waiting >= BURST or time.monotonic() - self._crowded_at < BURST_QUIET_SECONDS

    async def after_burst(self, longest: float) -> float:
        """Return once the burst of webhooks is over (:meth:`in_burst`), or after ``longest`` seconds.

        Returns how long it waited (0.0 outside a burst, without yielding).
        """
        if longest <= 0 or not self.in_burst():
            return 0.0
        start = time.monotonic()
        deadline = start + longest
        while self.in_burst():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(BURST_LOOK_SECONDS, left))
        return time.monotonic() - start

    async def drain(self) -> None:
        """Wait until everything handed over so far is written (shutdown)."""
        await self._writer.drain()
