"""``seguro-bot telegram ...``: register the webhook (a deploy step) or run by long polling.

Registering the webhook is a command, not something the service does when
it starts: with several workers each would call setWebhook, and a
development copy started by mistake would steal production's webhook.
Webhook and getUpdates exclude each other, so ``poll`` deletes the webhook
first and says so.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.config import Settings

log = logging.getLogger("bot.cli_telegram")

telegram_app = typer.Typer(
    help="Telegram: register the webhook (deploy step) or run by long polling (development).",
    no_args_is_help=True,
)

#: Seconds Telegram holds a getUpdates call open when there is nothing new.
POLL_TIMEOUT = 25


def _settings() -> Settings:
    from pydantic import ValidationError

    from bot.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        typer.echo(f"seguro-bot: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from exc


def _install_logging(settings: Settings) -> None:
    from bot.logging import install

    values = [
        s.get_secret_value()
        for s in (settings.twilio_auth_token, settings.telegram_bot_token, settings.telegram_webhook_secret)
        if s is not None
    ]
    install(settings.log_level, secrets=values)
    # One INFO line per Bot API call (every long poll) drowns what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _channel(settings: Settings, *, need_secret: bool) -> TelegramChannel:
    from bot.channels.telegram import TelegramChannel
    from bot.media import MediaStore

    if settings.telegram_bot_token is None:
        typer.echo("seguro-bot telegram: TELEGRAM_BOT_TOKEN is not set", err=True)
        raise typer.Exit(2)
    if settings.telegram_webhook_secret is None:
        if need_secret:
            typer.echo("seguro-bot telegram: TELEGRAM_WEBHOOK_SECRET is not set (Telegram sends it back with "
                       "every update so the webhook can tell it apart from forgeries)", err=True)
            raise typer.Exit(2)
        # Polling never receives webhooks: any value will do.
        from pydantic import SecretStr

        settings = settings.model_copy(update={"telegram_webhook_secret": SecretStr(secrets.token_urlsafe(16))})
    return TelegramChannel(settings, MediaStore(_media_root(settings)))


def _media_root(settings: Settings) -> Path:
    return Path(settings.media_dir)


def _fail(action: str, exc: Exception) -> typer.Exit:
    from bot.channels.telegram import _describe

    typer.echo(f"seguro-bot telegram: {action} failed: {_describe(exc)}", err=True)
    return typer.Exit(1)


async def _with_bot(channel: TelegramChannel, body: Any) -> Any:
    bot = channel.make_bot()
    async with bot:  # initialize() checks the token with getMe
        return await body(bot)


@telegram_app.command("set-webhook")
def set_webhook(
    drop_pending: Annotated[
        bool, typer.Option("--drop-pending-updates", help="Discard updates Telegram queued meanwhile.")
    ] = False,
) -> None:
    """Point Telegram at PUBLIC_BASE_URL/webhooks/telegram, with the webhook secret."""
    from telegram.error import TelegramError

    from bot.channels.telegram import ALLOWED_UPDATES, WEBHOOK_PATH

    settings = _settings()
    _install_logging(settings)
    channel = _channel(settings, need_secret=True)
    url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH
    secret = settings.telegram_webhook_secret.get_secret_value()  # type: ignore[union-attr]
    if not url.startswith("https://"):
        typer.echo(f"note: Telegram only calls HTTPS webhooks; {url} will be refused by api.telegram.org", err=True)

    async def body(bot: Any) -> Any:
        await bot.set_webhook(url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES),
                              drop_pending_updates=drop_pending or None)
        return await bot.get_webhook_info()

    try:
        info = asyncio.run(_with_bot(channel, body))
    except TelegramError as exc:
        raise _fail("setWebhook", exc) from None
    typer.echo(f"webhook set: {url}")
    typer.echo(f"updates: {', '.join(ALLOWED_UPDATES)}; secret token: configured (not shown)")
    if info.pending_update_count:
        typer.echo(f"pending updates: {info.pending_update_count}")
    if info.last_error_message:
        typer.echo(f"last delivery error reported by Telegram: {info.last_error_message}")


@telegram_app.command("delete-webhook")
def delete_webhook(
    drop_pending: Annotated[
        bool, typer.Option("--drop-pending-updates", help="Discard updates Telegram queued meanwhile.")
    ] = False,
) -> None:
    """Stop Telegram calling the webhook (updates wait for getUpdates instead)."""
    from telegram.error import TelegramError

    settings = _settings()
    _install_logging(settings)
    channel = _channel(settings, need_secret=False)
    try:
        asyncio.run(_with_bot(channel, lambda bot: bot.delete_webhook(drop_pending_updates=drop_pending or None)))
    except TelegramError as exc:
        raise _fail("deleteWebhook", exc) from None
    typer.echo("webhook deleted")


@telegram_app.command()
def poll(
    knowledge_dir: Annotated[Path | None, typer.Option("--knowledge-dir", help="Knowledge folder.")] = None,
) -> None:
    """Run the Telegram bot by long polling, for development without a public address (Ctrl-C stops it).

    Updates are stored and processed exactly as the webhook's are (the same
    inbound processor and outbox run here), against DATABASE_URL.
    """
    from bot.cli import _load_kb

    settings = _settings()
    _install_logging(settings)
    kb = _load_kb(knowledge_dir or settings.knowledge_dir)
    channel = _channel(settings, need_secret=False)
    try:
        asyncio.run(run_polling(settings, channel, kb))
    except KeyboardInterrupt:
        pass
    except _PollFailed as exc:
        typer.echo(f"seguro-bot telegram poll: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo("polling stopped", err=True)


class _PollFailed(Exception):
    """Polling cannot go on (the token was rejected)."""


async def run_polling(
    settings: Settings, channel: TelegramChannel, kb: Any, *, stop: asyncio.Event | None = None
) -> None:
    """getUpdates in a loop, each update stored like a webhook delivery, until ``stop`` or cancellation.

    The service's own pieces do the rest: :func:`bot.web.services.running`
    starts the channel, the inbound processor (which prepares and handles
    each stored update) and the outbox (which sends the replies). The offset
    confirms an update to Telegram only after it is stored, and storing is
    idempotent by update_id, so a crash in between loses and doubles nothing.
    """
    from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

    from bot.channels.telegram import ALLOWED_UPDATES, _describe, _retry_after, update_address
    from bot.web.services import build_services, running

    services = build_services(settings, kb=kb, channels={channel.name: channel})
    async with running(services):
        if channel.name not in services.channels:
            raise _PollFailed("the Telegram channel did not start (is TELEGRAM_BOT_TOKEN right?)")
        bot = channel.bot
        await bot.delete_webhook()
        typer.echo("webhook deleted: Telegram delivers either to a webhook or to getUpdates, not both; "
                   "run `seguro-bot telegram set-webhook` to go back to the webhook", err=True)
        typer.echo("polling Telegram for updates (Ctrl-C to stop)", err=True)
        offset: int | None = None
        failures = 0
        while stop is None or not stop.is_set():
            try:
                updates = await bot.get_updates(offset=offset, timeout=POLL_TIMEOUT,
                                                allowed_updates=list(ALLOWED_UPDATES))
                failures = 0
            except RetryAfter as exc:
                await asyncio.sleep(_retry_after(exc))
                continue
            except InvalidToken:
                raise _PollFailed("Telegram rejected TELEGRAM_BOT_TOKEN") from None
            except (Conflict, NetworkError, TelegramError) as exc:
                # Conflict: another poller (or a webhook set meanwhile) uses this bot.
                failures += 1
                delay = min(30.0, 2.0 ** min(failures, 5))
                log.warning("getUpdates failed (%s); trying again in %.0f s", _describe(exc), delay)
                await asyncio.sleep(delay)
                continue
            stored = 0
            for update in updates:
                payload = update.to_dict()
                address = update_address(payload)
                if address is not None:
                    new = await asyncio.to_thread(channel.store_update, services, update.update_id, address, payload)
                    stored += int(new)
                else:
                    log.info("telegram update %s acknowledged, not processed", update.update_id)
                offset = update.update_id + 1
            if stored:
                services.notify_inbound()
