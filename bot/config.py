"""Typed settings, read from the environment and a ``.env`` file.

There is no module-level instance: the entry points build one and pass it
down, so tests construct their own instead of patching a global.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
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
    twilio_auth_token: SecretStr | None = None
    # Kept as the raw comma-separated string: pydantic-settings would try to
    # JSON-decode a ``list[str]`` field and reject "+521...,+521...".
    twilio_whatsapp_numbers_raw: str = Field(
        "", validation_alias=AliasChoices("twilio_whatsapp_numbers", "twilio_whatsapp_numbers_raw")
    )
    twilio_api_base_url: str = "https://api.twilio.com"
    # The approved WhatsApp template (Content SID ``HX…``) for messages outside
    # the 24-hour window; its variable {{1}} receives the text to deliver.
    twilio_template_content_sid: str | None = None

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"

    knowledge_dir: Path | None = None
    log_level: str = "INFO"

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
