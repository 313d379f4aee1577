"""The app factory uvicorn calls in each worker process of ``seguro-bot serve --workers N``.

uvicorn starts worker processes itself (spawned, not forked), so each one
must build its own settings, logging and app from the environment; an app
object made in the parent cannot be handed over. The workers share nothing
but the database: stored webhooks, the outbox, reminders, staff sessions
and the send-rate limits all live there (see the README).
"""
from __future__ import annotations

from fastapi import FastAPI

from bot.config import Settings
from bot.heap import settle
from bot.logging import install
from bot.web.app import create_app


def create_app_from_env() -> FastAPI:
    """``create_app(Settings())`` with the same masked logging ``seguro-bot serve`` installs."""
    settings = Settings()
    secrets = [
        s.get_secret_value()
        for s in (settings.twilio_auth_token, settings.telegram_bot_token, settings.telegram_webhook_secret)
        if s is not None
    ]
    install(settings.log_level.upper(), secrets=secrets)
    app = create_app(settings)
    settle(app)  # the start-up's objects out of the collector's way (bot/heap.py)
    return app
