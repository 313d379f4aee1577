"""Group commit: the jobs that are waiting together share one transaction.

A webhook may be acknowledged only once its payload is committed, and a
message is answered once its handling is committed. With a transaction
each, the transaction was the cost: a hop to a thread, a session and a
pooled connection, BEGIN and COMMIT (on PostgreSQL each a round trip),
and on SQLite a turn at the file's single writer lock, queued behind
everyone else's. :class:`GroupWriter` keeps each job's guarantee (its
caller learns the outcome only once it is committed) and shares that cost:
callers hand a job over and wait; one writer at a time takes everything
that is waiting, runs it in one transaction in a thread, and answers each
caller. Nobody waits for a group to fill: a lone job is written at once,
and under load a group is whatever arrived during the previous write.

A failed group fails every job in it when the database is unreachable
(each caller then does what it does for a failed write: a webhook answers
5xx and the provider retries it; a worker retries later). Any other error
may be one job's own fault, which must not cost the others: the group is
then written again one job at a time, each in a transaction of its own,
and each caller gets its own job's outcome.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from bot.workers import database_unreachable

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Most jobs in one transaction (a longer queue is written in several).
MAX_GROUP = 128


class GroupWriter(Generic[T, R]):
    """Runs the jobs handed to :meth:`submit` in groups, one group at a time, for one event loop.

    ``write`` runs a group in one transaction (blocking: it is called in a
    thread) and returns one result per job, in order; it must leave nothing
    behind when it raises (the transaction rolled back), since the jobs are
    then written again one at a time. ``written`` (optional) is called on
    the event loop with the results of every group that committed.
    """

    def __init__(self, write: Callable[[Sequence[T]], Sequence[R]], *, name: str,
                 written: Callable[[Sequence[R]], object] | None = None, max_group: int = MAX_GROUP,
                 write_now: Callable[[Sequence[T]], Sequence[R] | None] | None = None) -> None:
        self._write = write
        #: Writes a group on the event loop if it can do so without waiting, else returns None
        #: (then ``write`` runs in a thread): see :func:`bot.storage.connection_if_free`.
        self._write_now = write_now
        self.name = name
        self._written = written
        self.max_group = max(1, max_group)
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, job: T) -> R:
        """``job``'s result once its group is committed; raises what writing it raised."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[R] = loop.create_future()
        self._waiting.append((job, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_all(), name=self.name)
        return await done

    async def drain(self) -> None:
        """Wait until every job handed over so far is written (shutdown)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer})

    async def _write_all(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[: self.max_group], self._waiting[self.max_group:]
            try:
                await self._write_group(group)
            except BaseException as exc:  # cancelled (shutdown): nobody is left waiting for ever
                stopped = exc if isinstance(exc, Exception) else RuntimeError(f"{self.name} stopped")
                for _, done in group + self._waiting:
                    _settle(done, exc=stopped)
                self._waiting = []
                raise

    async def _write_group(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        jobs = [job for job, _ in group]
        try:
            now = self._write_now(jobs) if self._write_now is not None else None
            results = list(now if now is not None else await asyncio.to_thread(self._write, jobs))
        except Exception as exc:
            if len(group) == 1 or database_unreachable(exc):
                for _, done in group:
                    _settle(done, exc=exc)
                return
            log.warning("%s: writing %d jobs together failed (%s); writing them one at a time",
                        self.name, len(group), type(exc).__name__)
            results = []
            for job, done in group:
                try:
                    result = (await asyncio.to_thread(self._write, [job]))[0]
                except Exception as one:
                    _settle(done, exc=one)
                    continue
                results.append(result)
                _settle(done, result=result)
        else:
            for (_, done), result in zip(group, results):
                _settle(done, result=result)
        if results and self._written is not None:
            self._written(results)


def _settle(done: asyncio.Future[R], *, result: R | None = None, exc: BaseException | None = None) -> None:
    """Answer one waiting caller, unless it gave up meanwhile (a client that went away)."""
    if done.done():
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(result)  # type: ignore[arg-type]
