"""Typed settings, read from the environment and a ``.env`` file.

There is no module-level instance: the entry points build one and pass it
down, so tests construct their own instead of patching a global.

A value that can never work (a Telegram secret Telegram would refuse, a
Twilio Account SID that is not one) is refused here, at start-up. A channel
configured only in part is not an error (the service runs without it), but
it is never what the operator meant: :meth:`Settings.half_configured` names
the missing settings, for the start-up log and ``/healthz``.
"""
from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the service; environment names are the upper-case field names."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    database_url: str = "sqlite:///./seguro-bot.db"
    public_base_url: str = "http://127.0.0.1:8000"

    twilio_account_sid: str | None = None

    @field_validator("twilio_account_sid")
    @classmethod
    def _twilio_sid_shape(cls, value: str | None) -> str | None:
        """An Account SID starts with "AC": anything else (an API key's "SK…", the auth token pasted
        in the wrong line) is refused at start-up, not by Twilio's 401 on the first reply."""
        value = value.strip() if value else None
        if value and not value.startswith("AC"):
            raise ValueError("TWILIO_ACCOUNT_SID must be the Account SID, which starts with AC "
                             "(Twilio Console, Account Info)")
        return value or None
    twilio_auth_token: SecretStr | None = None
    # Kept as the raw comma-separated string: pydantic-settings would try to
    # JSON-decode a ``list[str]`` field and reject "+521...,+521...".
    twilio_whatsapp_numbers_raw: str = Field(
        "", validation_alias=AliasChoices("twilio_whatsapp_numbers", "twilio_whatsapp_numbers_raw")
    )
    twilio_api_base_url: str = "https://api.twilio.com"

    @field_validator("twilio_whatsapp_numbers_raw")
    @classmethod
    def _whatsapp_numbers_shape(cls, value: str) -> str:
        """Every desk number must read as a phone number: refused here, at start-up, rather than
        found out when every student's message is dropped as written to "another" number."""
        from bot.phones import e164

        bad = [n for n in (part.strip() for part in value.split(",")) if n and e164(n) is None]
        if bad:
            raise ValueError(
                "TWILIO_WHATSAPP_NUMBERS must be phone numbers, comma-separated (e.g. +5216444207351 or "
                "6444207351); cannot read " + ", ".join(repr(n[:32]) for n in bad))
        return value

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        """Telegram's setWebhook accepts 1-256 of A-Z, a-z, 0-9, _ and -: refused here, at start-up,
        rather than by Telegram when the webhook is set."""
        if value is not None and value.get_secret_value() and not _TELEGRAM_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET may only hold letters, digits, '_' and '-' (1 to 256)")
        return value

    #: The approved WhatsApp template (``HX…``) for messages outside the
    #: 24-hour window (reminders, late staff replies); its variable "1" carries the text.
    twilio_template_content_sid: str | None = None

    knowledge_dir: Path | None = None
    #: Files students send are stored here (outside any web root).
    media_dir: Path = Path("./var/media")
    log_level: str = "INFO"

    #: An outbound message is given up (status failed) after this many tries.
    outbox_max_attempts: int = Field(12, ge=1)
    #: Retry delays grow from this base, doubling, with jitter, up to the cap.
    outbox_retry_base_seconds: float = Field(2.0, gt=0)
    outbox_retry_max_seconds: float = Field(300.0, gt=0)
    #: A stored webhook payload is given up (status failed) after this many tries.
    inbound_max_attempts: int = Field(10, ge=1)
    #: In a burst of webhooks, a process stores and acknowledges them before handling more
    #: messages, for at most this long each time (bot/intake.py); 0 = never wait.
    intake_first_seconds: float = Field(1.0, ge=0, le=10)

    #: Provider send rates, held for the whole deployment through the database (bot/sendrate.py); 0 = no limit.
    twilio_send_rate: float = Field(80.0, ge=0)  # messages per second per sender number
    telegram_send_rate: float = Field(30.0, ge=0)  # messages per second per bot
    telegram_chat_send_rate: float = Field(1.0, ge=0)  # messages per second per chat
    telegram_chat_burst: int = Field(3, ge=1)  # messages a chat may get at once before the per-chat rate applies

    # --- issue 6: abuse limits and personal data (bot/limits.py, bot/privacy.py, bot/web/middleware.py) ---
    #: Messages one student (channel + address) may send per minute before the bot
    #: stops answering them for the rest of that minute (0 = no limit).
    student_rate_limit: int = Field(20, ge=0)
    #: Messages the service may send per minute on paid channels (WhatsApp, Telegram),
    #: counted in the database across every process (0 = no limit).
    outgoing_rate_limit: int = Field(300, ge=0)
    #: Closed conversations, their tickets, messages, webhook payloads and files are
    #: deleted or anonymised this many days after their last activity (0 = keep forever).
    retention_days: int = Field(180, ge=0)
    #: The largest request body accepted, read before any parsing (the console allows 4x).
    max_request_bytes: int = Field(64 * 1024, ge=1024)
    #: Seconds a client has to send a whole request body (408 after): a trickled body holds no worker.
    request_body_timeout_seconds: float = Field(15.0, gt=0, le=300)
    #: Web chat messages one client address may send per minute (new sessions included),
    #: across every worker; more get 429 (bot/clientlimit.py). 0 = no limit.
    webchat_rate_limit: int = Field(60, ge=0)
    #: A chat staff took goes back to the bot after this many minutes without staff activity on it
    #: (taking it, a reply, a note): a staff member who left (Salir, the end of the day) would
    #: otherwise keep the bot silent to that student forever. 0 = holds never expire.
    hold_timeout_minutes: int = Field(30, ge=0)
    #: Addresses whose X-Forwarded-For / X-Forwarded-Proto uvicorn trusts (the load balancer's),
    #: comma-separated, or "*" for any; passed to uvicorn by ``seguro-bot serve``.
    forwarded_allow_ips: str = "127.0.0.1"

    @property
    def twilio_whatsapp_numbers(self) -> list[str]:
        """The desk's WhatsApp numbers, from ``TWILIO_WHATSAPP_NUMBERS``."""
        return [n.strip() for n in self.twilio_whatsapp_numbers_raw.split(",") if n.strip()]

    @property
    def whatsapp_enabled(self) -> bool:
        """True when Twilio credentials and at least one number are configured."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_numbers)

    @property
    def telegram_enabled(self) -> bool:
        """True when a Telegram bot token and webhook secret are configured."""
        return bool(self.telegram_bot_token and self.telegram_webhook_secret)

    def half_configured(self) -> dict[str, str]:
        """``{channel: warning}`` for each channel with some of its settings but not all: it stays off,
        and the warning names the missing ones. Channels with none of their settings are not here."""
        settings = {
            "whatsapp": {"TWILIO_ACCOUNT_SID": self.twilio_account_sid, "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
                         "TWILIO_WHATSAPP_NUMBERS": self.twilio_whatsapp_numbers},
            "telegram": {"TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
                         "TELEGRAM_WEBHOOK_SECRET": self.telegram_webhook_secret},
        }
        warnings: dict[str, str] = {}
        for channel, values in settings.items():
            missing = [name for name, value in values.items() if not value]
            given = [name for name, value in values.items() if value]
            if missing and given:
                warnings[channel] = (
                    f"{channel} is OFF: {_names(given)} {'is' if len(given) == 1 else 'are'} set but "
                    f"{_names(missing)} {'is' if len(missing) == 1 else 'are'} not; set "
                    f"{'it' if len(missing) == 1 else 'them'} too, or unset the rest"
                )
        return warnings


def _names(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
