"""The channels and the one function that decides which are on.

Each channel lives in its own module and is imported only when its
credentials are configured, so a missing or broken channel module switches
that channel off (with a logged error) instead of stopping the service.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.config import Settings
    from bot.media import MediaStore

log = logging.getLogger(__name__)

#: Every channel the service knows, for start-up logs and /healthz.
KNOWN_CHANNELS = ("webchat", "whatsapp", "telegram")


def build_channels(settings: Settings, media: MediaStore) -> dict[str, Channel]:
    """The channels whose configuration is complete; the web chat is always on.

    Builds objects only: no network I/O here (``Channel.start`` does that).
    Never logs a secret: only which channels are on and which setting is missing.
    A channel given only some of its settings is not said here: the start-up
    log says it as a WARNING, and ``/healthz`` lists it (bot.web.app.config_warnings).
    """
    from bot.channels.webchat import WebChatChannel

    channels: dict[str, Channel] = {"webchat": WebChatChannel()}
    half = settings.half_configured()

    if settings.whatsapp_enabled:
        try:
            from bot.channels.whatsapp import WhatsAppChannel

            channels["whatsapp"] = WhatsAppChannel(settings, media)
        except Exception:
            log.exception("whatsapp channel could not be built; it stays OFF")
    elif "whatsapp" not in half:
        log.info("whatsapp OFF: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_NUMBERS to turn it on")

    if settings.telegram_enabled:
        try:
            from bot.channels.telegram import TelegramChannel

            channels["telegram"] = TelegramChannel(settings, media)
        except Exception:
            log.exception("telegram channel could not be built; it stays OFF")
    elif "telegram" not in half:
        log.info("telegram OFF: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET to turn it on")

    return channels
