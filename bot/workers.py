"""The loop shared by the inbound processor and the outbox.

Both are "claim rows from the database, work on them, repeat" tasks. The
database is the queue (so a restart or a second process loses nothing); the
loop only decides *when* to look: right after a webhook or a reply says so
(:meth:`Worker.notify`, safe from any thread, since FastAPI runs sync
routes in a thread pool), and every ``poll_interval`` seconds anyway, which
also catches retries coming due and rows written by another process.

Database work is synchronous (SQLModel) and runs in worker threads
(:func:`asyncio.to_thread`) so a busy SQLite file never blocks the event loop.

When claiming fails (the database restarting, a failover), the loop keeps
trying at its usual pace; the log gets the traceback of the first failure
only, then one line per further failure with a count, and one line when a
claim works again, so a four-second outage is a few lines, not thousands.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a job keeps trying to write its outcome while the database is unreachable.
#: Well under the leases (inbound 5 min, outbox 2 min), so the job still owns its row.
DB_RETRY_SECONDS = 60.0


def database_unreachable(exc: BaseException) -> bool:
    """True for a lost or refused database connection (worth retrying), not for a bad statement."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def until_written(write: Callable[[], T], *, what: str, within: float = DB_RETRY_SECONDS) -> T:
    """Run the synchronous database ``write`` in a thread, retrying while the database is unreachable.

    Why: a job's outcome (a reply Twilio accepted, a message that must be
    retried) is known only in this process. Giving up on the first failed
    commit leaves the row claimed until its lease expires: minutes of
    silence for that student, and for a reply the provider already
    accepted, a second copy when the lease lapses. Retrying for a while
    (a database restart, a failover, a network blip) records it instead.
    Other errors, and the last one after ``within`` seconds, are raised.
    """
    return await until_done(lambda: asyncio.to_thread(write), what=what, within=within)


async def until_done(attempt: Callable[[], Awaitable[T]], *, what: str, within: float = DB_RETRY_SECONDS) -> T:
    """:func:`until_written` for a write that is already asynchronous (handed to a group writer, say)."""
    delay = 0.2
    deadline = time.monotonic() + within
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if not database_unreachable(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("%s: database unreachable (%s); retrying in %.1f s", what, type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


def backoff(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before try ``attempt + 1``: exponential, capped, with jitter.

    The jitter (50-100 % of the exponential delay) keeps many failed messages
    from hitting a recovering provider at the same instant. A provider's own
    ``retry_after`` (Telegram's 429) is a floor and is obeyed even above the cap.
    """
    exponent = max(0, attempt - 1)
    delay = cap if exponent >= 64 else min(cap, base * (2 ** exponent))
    delay *= 0.5 + rng() / 2
    if retry_after is not None and retry_after > 0:
        delay = max(delay, float(retry_after))
    return delay


class Worker:
    """A claim-and-work loop with bounded concurrency and a clean stop.

    Subclasses implement :meth:`claim` (atomically take up to ``limit`` jobs
    whose keys are not in ``busy``) and :meth:`work` (never raises for a
    job's own failure: it records it). :meth:`tick` runs once per loop turn
    for periodic work (the outbox's reminders).
    """

    name = "worker"

    def __init__(self, *, poll_interval: float = 0.5, concurrency: int = 8, gather: float = 0.005) -> None:
        self.poll_interval = poll_interval
        self.concurrency = max(1, concurrency)
        #: After a wake-up, wait this long before claiming, so that the rows stored and the
        #: jobs finished meanwhile are claimed in one query rather than one query each.
        self.gather = gather
        self._busy: set[Hashable] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._next_expired_check = 0.0
        #: Whether the last claim was limited by free slots rather than by the rows due.
        self._saturated = False
        #: The look scheduled after a job finished (see :meth:`_finished`), if any.
        self._soon: asyncio.TimerHandle | None = None
        #: Claims failed in a row, and since when (monotonic): for the log (see :meth:`_claim_failed`).
        self._failures = 0
        self._failing_since = 0.0

    # --- to implement -------------------------------------------------------

    async def claim(self, limit: int, busy: frozenset[Hashable]) -> Sequence[Any]:
        raise NotImplementedError

    async def work(self, job: Any) -> None:
        raise NotImplementedError

    def claim_statements(self, statements: Sequence[T]) -> Sequence[T]:
        """The claim's queries for this turn: ``statements[0]`` (the due pending rows) always,
        the others (rows whose worker died: their lease ran out) once every ``poll_interval``.

        Why: a lease runs for minutes, so looking for expired ones at every
        claim (several a second under load) costs a query each time for
        nothing; finding one half a second later changes nothing. Order is
        kept all the same: a claim never takes a row behind an earlier one of
        its conversation that is still in flight, expired or not.
        """
        now = time.monotonic()
        if now < self._next_expired_check:
            return statements[:1]
        self._next_expired_check = now + self.poll_interval
        return statements

    def look_for_expired(self) -> None:
        """Make the next claim look for expired leases too (one-shot callers: "everything due now")."""
        self._next_expired_check = 0.0

    def job_key(self, job: Any) -> Hashable:
        return getattr(job, "id", id(job))

    async def tick(self) -> None:
        """Periodic work besides the claimed jobs (default: none)."""

    async def before_claim(self) -> None:
        """Wait, if there is reason to, before the loop claims (default: no reason)."""

    # --- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let jobs in flight finish (up to ``timeout``), then cancel them.

        A job cancelled mid-way keeps its row claimed under a lease; it is
        claimed again once the lease expires (see the subclasses).
        """
        self._stopping = True
        self.notify()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
        pending = list(self._inflight)
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=2)
        self._cancel_soon()
        self._loop = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def notify(self) -> None:
        """Look for work now. Safe to call from any thread, or when not running."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            wake.set()
        else:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop closed meanwhile
                pass

    # --- the loop -----------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            idle = True
            try:
                await self.tick()
                free = self.concurrency - len(self._inflight)
                self._saturated = free <= 0
                if free > 0:
                    await self.before_claim()
                    self._cancel_soon()  # this claim sees every job finished before it
                    jobs = await self.claim(free, frozenset(self._busy))
                    for job in jobs:
                        self._spawn(job)
                    idle = len(jobs) < free
                    self._saturated = not idle
                if self._failures:
                    self._claim_recovered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not end the loop
                self._claim_failed(exc)
            if idle and not self._stopping:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                except asyncio.TimeoutError:
                    continue
            if self.gather > 0 and not self._stopping:
                await asyncio.sleep(self.gather)

    def _claim_failed(self, exc: Exception) -> None:
        """The first failure in a row with its traceback; the next ones one line each, counted."""
        self._failures += 1
        if self._failures == 1:
            self._failing_since = time.monotonic()
            log.exception("%s: claiming work failed; trying again shortly", self.name)
            return
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0][:200]
        log.error("%s: claiming work failed again (%d times in a row, for %.1f s): %s: %s; trying again shortly",
                  self.name, self._failures, time.monotonic() - self._failing_since, type(exc).__name__, reason)

    def _claim_recovered(self) -> None:
        # A warning, not info: whoever sees the errors above (LOG_LEVEL=WARNING) must see this too.
        log.warning("%s: claiming work again, after %d failed %s over %.1f s", self.name, self._failures,
                    "try" if self._failures == 1 else "tries", time.monotonic() - self._failing_since)
        self._failures = 0

    def _spawn(self, job: Any) -> None:
        key = self.job_key(job)
        self._busy.add(key)
        task = asyncio.create_task(self._guarded(job), name=f"{self.name}:{key}")
        self._inflight.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._inflight.discard(t)
            self._busy.discard(key)
            self._finished()

        task.add_done_callback(done)

    #: After a job finishes, look again within this many seconds (unless a claim happens anyway).
    RECHECK_AFTER_DONE = 0.02

    def _finished(self) -> None:
        """A job finished: its slot is free, and the next row of its conversation may be claimable.

        When the last claim filled every slot, rows are waiting for one: look
        now. Otherwise a look soon is enough, and under load it never costs a
        query of its own: the claim that the next notify starts, a few
        milliseconds later, sees the finished job too and cancels it. (Looking
        at once after every job made one claim in seven that found nothing:
        PostgreSQL, 2 workers, 200 new students a second.)
        """
        wake, loop = self._wake, self._loop
        if wake is None or loop is None:
            return
        if self._saturated:
            wake.set()
        elif self._soon is None:
            self._soon = loop.call_later(self.RECHECK_AFTER_DONE, self._look_soon)

    def _look_soon(self) -> None:
        self._soon = None
        if self._wake is not None:
            self._wake.set()

    def _cancel_soon(self) -> None:
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None

    async def _guarded(self, job: Any) -> None:
        try:
            await self.work(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: job %s failed unexpectedly", self.name, self.job_key(job))

    async def run_job(self, job: Any) -> None:
        """Work on a job claimed outside the loop (one-shot callers), marking it busy meanwhile."""
        key = self.job_key(job)
        self._busy.add(key)
        try:
            await self._guarded(job)
        finally:
            self._busy.discard(key)
