"""What a running service holds: settings, database, knowledge, media, channels, workers.

One :class:`Services` object is built per app (``create_app``) or per
command (``seguro-bot telegram poll``) and passed down explicitly; routes
reach it through :func:`bot.web.deps.get_services`. :func:`running` starts
and stops the channels and the two workers in the right order, so the
FastAPI lifespan and a command-line runner share one start-up sequence.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.models import utcnow
from bot.storage import checkpoint, checkpoints_in_background, init_db, make_engine, session_scope

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.config import Settings
    from bot.inbound import Arrival, InboundProcessor
    from bot.intake import Intake
    from bot.media import MediaStore
    from bot.outbox import OutboxWorker
    from knowledge.loader import KnowledgeBase

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass
class Services:
    """The service's shared objects; ``channels`` holds only the channels that are on."""

    settings: Settings
    engine: Engine
    kb: KnowledgeBase
    media: MediaStore
    channels: dict[str, Channel]
    clock: Clock = utcnow
    inbound: InboundProcessor | None = None
    outbox: OutboxWorker | None = None
    #: Stores webhook payloads in groups while the service runs (see bot.intake).
    intake: Intake | None = None
    #: Channels that failed to start: name → short reason (shown by /healthz).
    broken: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: commits on success, rolls back on error."""
        with session_scope(self.engine) as session:
            yield session

    def now(self) -> datetime:
        """The current time (timezone-aware); tests pass a clock to move it."""
        return self.clock()

    async def store_webhook(self, arrival: Arrival) -> bool:
        """Store one webhook's payload, committed when this returns; True if new, False if a retry.

        Wakes the inbound processor for a new one. While the service runs,
        webhooks arriving together share one transaction (:mod:`bot.intake`).
        """
        if self.intake is not None:
            return await self.intake.store(arrival)

        def write() -> bool:
            from bot.inbound import enqueue_many

            with self.session() as session:
                return enqueue_many(session, [arrival])[0]

        new = await asyncio.to_thread(write)
        if new:
            self.notify_inbound()
        return new

    def notify_inbound(self) -> None:
        """A webhook stored an event: process it now. Safe from any thread."""
        if self.inbound is not None:
            self.inbound.notify()

    def notify_outbox(self) -> None:
        """An outbound message was stored: send it now. Safe from any thread."""
        if self.outbox is not None:
            self.outbox.notify()


def build_services(
    settings: Settings,
    *,
    kb: KnowledgeBase | None = None,
    channels: dict[str, Channel] | None = None,
    clock: Clock | None = None,
) -> Services:
    """Everything but the workers, without network I/O (channels are started by :func:`running`).

    ``channels`` replaces the ones built from the settings (tests pass their
    own); the web chat is added when missing, since it needs no credentials.
    """
    from bot.channels import build_channels
    from bot.channels.webchat import WebChatChannel
    from bot.media import MediaStore

    if kb is None:
        from knowledge.loader import load

        kb = load(settings.knowledge_dir)
    media = MediaStore(settings.media_dir)
    if channels is None:
        channels = build_channels(settings, media)
    else:
        channels = dict(channels)
        channels.setdefault("webchat", WebChatChannel())
    return Services(
        settings=settings,
        engine=make_engine(settings.database_url, background_checkpoint=True),
        kb=kb,
        media=media,
        channels=channels,
        clock=clock or utcnow,
    )


#: How often the service copies SQLite's WAL into the database file (bot.storage.checkpoint).
CHECKPOINT_SECONDS = 1.0


async def _checkpoint_loop(services: Services) -> None:
    """Checkpoint the SQLite file every :data:`CHECKPOINT_SECONDS` (see :func:`bot.storage.make_engine`).

    The engine is read at each turn (tests swap it); PostgreSQL, or an engine
    left to SQLite's own checkpoints, is skipped. A failure is logged once
    until a checkpoint works again: a database that cannot be written says
    so elsewhere, loudly.
    """
    failing = False
    while True:
        await asyncio.sleep(CHECKPOINT_SECONDS)
        engine = services.engine
        if not checkpoints_in_background(engine):
            continue
        try:
            await asyncio.to_thread(checkpoint, engine)
        except Exception as exc:  # noqa: BLE001 - the loop must outlive a bad moment
            if not failing:
                log.warning("SQLite checkpoint failed (%s); trying again every %.0f s", type(exc).__name__,
                            CHECKPOINT_SECONDS)
            failing = True
        else:
            if failing:
                log.info("SQLite checkpoints work again")
            failing = False


@asynccontextmanager
async def running(services: Services, *, workers: bool = True) -> AsyncIterator[Services]:
    """Create the tables, start the channels and (unless ``workers=False``) the two workers.

    A channel whose ``start`` fails is switched off with a logged error
    rather than taking the whole service (and the web chat) down; its stored
    events and messages wait until it works again.
    """
    from bot.inbound import InboundProcessor
    from bot.outbox import OutboxWorker

    from bot.intake import Intake

    await asyncio.to_thread(init_db, services.engine)
    services.intake = Intake.for_services(services)
    started: list[Channel] = []
    for name, channel in list(services.channels.items()):
        try:
            await channel.start()
            started.append(channel)
        except Exception as exc:
            log.error("channel %s failed to start and is OFF: %s: %s", name, type(exc).__name__, exc)
            services.broken[name] = type(exc).__name__
            del services.channels[name]
    log.info("channels ON: %s", ", ".join(sorted(services.channels)) or "none")
    checkpoints = asyncio.create_task(_checkpoint_loop(services), name="sqlite checkpoints")
    if workers:
        services.inbound = InboundProcessor(services)
        services.outbox = OutboxWorker(services)
        await services.inbound.start()
        await services.outbox.start()
    try:
        yield services
    finally:
        checkpoints.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await checkpoints
        intake, services.intake = services.intake, None
        if intake is not None:
            await intake.drain()
        for worker in (services.inbound, services.outbox):
            if worker is not None:
                await worker.stop()
        services.inbound = None
        services.outbox = None
        for channel in reversed(started):
            try:
                await channel.stop()
            except Exception:
                log.exception("channel %s did not stop cleanly", channel.name)
