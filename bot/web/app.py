"""The FastAPI service: webhooks, the web chat, health; built by :func:`create_app`.

There is no module-level app: ``seguro-bot serve`` (and tests) build one
from a :class:`~bot.config.Settings`, so nothing reads the environment at
import time and each test gets its own database and channels. Channels are
built here (no network I/O) so their routes exist before start-up; the
lifespan opens the database, starts the channels and the two workers, and
stops them in reverse order.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from bot.channels import KNOWN_CHANNELS
from bot.channels.base import WebhookRoute
from bot.web.deps import ServicesDep
from bot.web.services import Clock, Services, build_services, running
from bot.web.webhook_stack import WebhookApp

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.config import Settings
    from knowledge.loader import KnowledgeBase

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"


def create_app(
    settings: Settings,
    *,
    kb: KnowledgeBase | None = None,
    channels: dict[str, Channel] | None = None,
    clock: Clock | None = None,
    workers: bool = True,
) -> FastAPI:
    """The app for ``settings``.

    ``kb`` and ``channels`` replace the ones built from the settings (tests
    pass their own; the web chat is always added); ``clock`` replaces the
    wall clock (reminders and the 24-hour window depend on it);
    ``workers=False`` leaves stored events and messages alone (for tests of
    the webhooks' storing half).
    """
    services = build_services(settings, kb=kb, channels=channels, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        off = [name for name in KNOWN_CHANNELS if name not in services.channels]
        try:
            async with running(services, workers=workers):
                log.info(
                    "seguro-bot ready: channels ON [%s], OFF [%s]; web chat at /chat, staff console at /console",
                    ", ".join(sorted(services.channels)),
                    ", ".join(sorted(set(off) | set(services.broken))) or "-",
                )
                for warning in config_warnings(services):
                    log.warning("%s", warning)
                yield
        finally:
            await asyncio.to_thread(services.engine.dispose)

    app = WebhookApp(title="seguro-bot", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.services = services
    for channel in services.channels.values():
        router = channel.router()
        # Webhooks first, on the app itself (every student message takes one; see WebhookRoute).
        webhooks = [route for route in router.routes if isinstance(route, WebhookRoute)]
        app.router.routes[0:0] = webhooks
        router.routes = [route for route in router.routes if route not in webhooks]
        app.include_router(router)
    _include_console(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # issue 6: body limit, content types, catch-all 500, retention task (bot/web/middleware.py)
    from bot.web.middleware import install as install_guards

    install_guards(app, services)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/chat")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """For browsers that ask for /favicon.ico (a JSON page, an old bookmark): the same SVG icon."""
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/healthz")
    async def healthz(services: ServicesDep) -> JSONResponse:
        body: dict[str, Any] = {"status": "ok", "database": "ok", "channels": channel_report(services),
                                "warnings": config_warnings(services)}
        try:
            body["warnings"] += await asyncio.wait_for(asyncio.to_thread(_ping, services), timeout=5)
        except Exception as exc:
            log.error("health check: database unreachable: %s", type(exc).__name__)
            body["status"] = "error"
            body["database"] = "unreachable"
            return JSONResponse(body, status_code=503)
        return JSONResponse(body)

    # Load balancers and uptime monitors may ask HEAD: the same check (kept out of the API schema).
    app.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
    return app


def _include_console(app: FastAPI) -> None:
    """The staff console's routes (``/console``), when that package is present."""
    try:
        from bot.console import console_router
    except ImportError:
        return
    except Exception:  # a broken console must not take the students' channels down
        log.exception("staff console unavailable")
        return
    app.include_router(console_router())


def channel_report(services: Services) -> dict[str, str]:
    """``{"webchat": "on", "whatsapp": "off", ...}``; "error" for one that failed to start."""
    names = list(dict.fromkeys([*KNOWN_CHANNELS, *services.channels, *services.broken]))
    return {
        name: "on" if name in services.channels else ("error" if name in services.broken else "off")
        for name in names
    }


#: What breaks for good, later, when WhatsApp is on without a template (README, Connecting WhatsApp, step 5).
NO_TEMPLATE_WARNING = (
    "whatsapp: TWILIO_TEMPLATE_CONTENT_SID is not set: every reminder, and every staff reply sent more than "
    "24 h after the student's last message, will fail for good (no_template); create the approved template "
    "and set TWILIO_TEMPLATE_CONTENT_SID (README, Connecting WhatsApp, step 5)"
)


def config_warnings(services: Services) -> list[str]:
    """Settings that let the service start but will make some messages fail later, or leave a channel
    off that was meant to be on (a channel given only some of its settings); also in /healthz."""
    warnings: list[str] = list(services.settings.half_configured().values())
    whatsapp_on = "whatsapp" in services.channels or "whatsapp" in services.broken
    if whatsapp_on and not (services.settings.twilio_template_content_sid or "").strip():
        warnings.append(NO_TEMPLATE_WARNING)
    return warnings


#: A WhatsApp desk number students write to that the service does not answer (see unrouted_warnings).
UNROUTED_WARNING = (
    "whatsapp: {count} message(s) in the last 24 h were sent to {desk}, which is not in TWILIO_WHATSAPP_NUMBERS: "
    "they were stored but never answered; add that number to TWILIO_WHATSAPP_NUMBERS, restart, then run "
    "`seguro-bot whatsapp requeue-unrouted` to answer them (README, Connecting WhatsApp)"
)


def unrouted_warnings(services: Services) -> list[str]:
    """What the database says is going wrong now: students writing to a desk number nobody answers.

    Read from the database (not a counter in this process), so every worker's
    ``/healthz`` tells, whichever of them received those webhooks.
    """
    from bot.inbound import unrouted_counts

    with services.session() as session:
        counts = unrouted_counts(session, services.now())
    whatsapp = services.channels.get("whatsapp")
    # A number configured since is not the problem any more (what was left of it, see bot.unrouted).
    configured = getattr(whatsapp, "is_desk_number", lambda _address: False)
    return [UNROUTED_WARNING.format(count=count, desk=desk) for desk, count in sorted(counts.items())
            if not configured(desk)]


def _ping(services: Services) -> list[str]:
    """Check the database answers; returns the warnings read from it."""
    with services.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return unrouted_warnings(services)
