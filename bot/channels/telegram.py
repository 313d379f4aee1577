"""Telegram through python-telegram-bot, used only as a Bot API client.

Why no ``Application``/``ConversationHandler``: conversation state lives in
our database (several workers, restarts), and updates must be stored before
the webhook answers, which PTB's in-memory update queue does not do. So the
webhook route stores the raw update through ``bot.inbound.enqueue``, the
core later calls :meth:`TelegramChannel.prepare`, and the outbox calls
:meth:`TelegramChannel.send`; PTB's ``Bot`` makes the HTTP calls.

The bot token is part of every Bot API and file URL, so it is redacted from
the loggers of httpx and python-telegram-bot (:func:`redact_token_in_logs`)
and never put into our own messages or exceptions.
"""
from __future__ import annotations

import hmac
import html
import json
import logging
import re
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import Outgoing, PermanentFailure, Prepared, RetryLater, WebhookRoute
from bot.media import MAX_BYTES, MediaRejected
from flows.messages import Attachment

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.media import MediaStore

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: The update types we ask Telegram for (setWebhook / getUpdates) and process.
ALLOWED_UPDATES = ("message", "callback_query")
#: sendMessage's limit (Telegram counts UTF-16 code units).
MAX_TEXT = 4096
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTON_LABEL = 60
#: getFile serves files up to 20 MB; our media store keeps up to MAX_BYTES.
MAX_DOWNLOAD_BYTES = min(20 * 1024 * 1024, MAX_BYTES)
#: An update is a few KB; anything far bigger is not Telegram.
MAX_UPDATE_BYTES = 1024 * 1024


# --- secrets out of the logs ------------------------------------------------------

#: Loggers that may print a Bot API or file URL (httpx logs every request's URL at INFO).
_URL_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "telegram",
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.request.BaseRequest",
    "telegram.request.HTTPXRequest",
)


class _TokenRedactor(logging.Filter):
    """Replaces bot tokens with ``***`` in records of the loggers it sits on.

    It sits on the emitting loggers (not on a handler), so every handler sees
    the redacted record, including ones we do not install (pytest's caplog,
    uvicorn's), and it never drops a record.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


_REDACTOR = _TokenRedactor()


def redact_token_in_logs(token: str) -> None:
    """Make sure ``token`` never reaches a log line through httpx or PTB (idempotent).

    Its percent-encoded form counts too: PTB quotes the file URL's path, so
    httpx logs ``.../file/bot123%3AAbc.../photos/file_0.jpg``.
    """
    if len(token) >= 4:
        _REDACTOR.secrets.update({token, quote(token), quote(token, safe="")})
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


def _describe(exc: BaseException) -> str:
    """A loggable description of a Bot API error: type and message, token removed."""
    return _REDACTOR.redact(f"{type(exc).__name__}: {exc}")[:300]


# --- building messages --------------------------------------------------------------


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in parts Telegram accepts, cut at a paragraph, line or space when possible."""
    parts: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        # The longest prefix within the limit (in UTF-16 units, as Telegram counts).
        end, units = 0, 0
        for i, ch in enumerate(rest):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > limit:
                end = i
                break
        window = rest[:end]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at >= end // 2:
                cut = at
                break
        if cut <= 0:
            cut = end
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut:].lstrip()
    if rest.strip():
        parts.append(rest)
    return parts


_BOLD = re.compile(r"\*(?=\S)([^*\n]+?)(?<=\S)\*")


def to_html(text: str) -> str:
    """The flows' WhatsApp-style ``*bold*`` as Telegram HTML; everything else escaped, shown as written.

    Without a parse mode Telegram would show the asterisks; HTML is the mode
    where escaping is simple and complete (``<``, ``>``, ``&``).
    """
    return _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def _truncate_bytes(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def keyboard(options: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup | None:
    """One button per option, one per row; pressing it sends the option's key back."""
    rows = []
    for key, label in options:
        data = _truncate_bytes(str(key), MAX_CALLBACK_DATA_BYTES)
        if not data:
            continue
        text = f"{key}. {label}" if label else str(key)
        if len(text) > MAX_BUTTON_LABEL:
            text = text[: MAX_BUTTON_LABEL - 1].rstrip() + "…"
        rows.append([InlineKeyboardButton(text, callback_data=data)])
    return InlineKeyboardMarkup(rows) if rows else None


def pressed_label(origin: Any, data: str) -> str | None:
    """The label of the button whose key was pressed, read off the message that carried it
    (":func:`keyboard` writes "11. Hablar con una persona"; the label is what follows the key)."""
    markup = origin.get("reply_markup") if isinstance(origin, dict) else None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else ():
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("callback_data") == data and isinstance(button.get("text"), str):
                text = button["text"]
                prefix = f"{data}. "
                label = text[len(prefix):] if text.startswith(prefix) else text
                return label.rstrip("…").strip() or None
    return None


def _retry_after(exc: RetryAfter) -> float:
    """Seconds to wait: RetryAfter.retry_after is an int in PTB 22 (deprecated), a timedelta when opted in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# --- reading updates ---------------------------------------------------------------


def _is_private(chat: Any) -> bool:
    # The desk talks to students one to one: group chats are not processed.
    return isinstance(chat, dict) and chat.get("type", "private") == "private" and _is_chat_id(chat.get("id"))


def _is_chat_id(value: Any) -> bool:
    """Telegram ids are integers that fit in 64 bits; anything else is not a chat we can answer."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) < value < 2**63


def update_address(update: dict[str, Any]) -> str | None:
    """The chat an update we process belongs to (str(chat.id)), or None to acknowledge and skip it."""
    message = update.get("message")
    if isinstance(message, dict):
        chat = message.get("chat")
        return str(chat["id"]) if _is_private(chat) else None
    query = update.get("callback_query")
    if isinstance(query, dict):
        origin = query.get("message")
        if isinstance(origin, dict):
            chat = origin.get("chat")
            return str(chat["id"]) if _is_private(chat) else None
        sender = query.get("from")
        return str(sender["id"]) if isinstance(sender, dict) and _is_chat_id(sender.get("id")) else None
    return None


def _first_name(sender: Any) -> str | None:
    if isinstance(sender, dict) and isinstance(sender.get("first_name"), str):
        return sender["first_name"][:255] or None
    return None


class _Skipped(Exception):
    """A file we will not attach; the message is the note the core sees instead."""


# --- the channel ------------------------------------------------------------------


class TelegramChannel:
    """The Telegram channel: webhook, media download and sending (see :mod:`bot.channels.base`)."""

    name = "telegram"

    def __init__(self, settings: Settings, media: MediaStore) -> None:
        if settings.telegram_bot_token is None or settings.telegram_webhook_secret is None:
            raise ValueError("TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET are required for Telegram")
        self._token = settings.telegram_bot_token.get_secret_value()
        self._secret = settings.telegram_webhook_secret.get_secret_value().encode("utf-8")
        self.api_base_url = settings.telegram_api_base_url.rstrip("/")
        self.media = media
        self._bot: Bot | None = None
        # Parts of a long message already delivered, by outbound message id, so a
        # retry after a partial failure does not send the first parts again.
        self._progress: dict[int, tuple[int, str]] = {}
        redact_token_in_logs(self._token)

    def __repr__(self) -> str:  # never show the token
        return f"TelegramChannel(api={self.api_base_url!r})"

    # --- lifecycle ---------------------------------------------------------------

    def make_bot(self) -> Bot:
        """A PTB ``Bot`` pointed at TELEGRAM_API_BASE_URL (PTB appends the token to both URLs)."""
        return Bot(
            self._token,
            base_url=f"{self.api_base_url}/bot",
            base_file_url=f"{self.api_base_url}/file/bot",
        )

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            raise RuntimeError("TelegramChannel.start() was not called")
        return self._bot

    async def start(self) -> None:
        """Open the HTTP client and check the token with getMe.

        A rejected token stops the start-up (a deployment mistake to see at
        once); Telegram being unreachable does not: the client stays open and
        sends are retried by the outbox.
        """
        if self._bot is not None:
            return
        bot = self.make_bot()
        try:
            await bot.initialize()
        except InvalidToken:
            await bot.shutdown()
            # PTB's message contains the token: raise our own, without the chain.
            raise RuntimeError("Telegram rejected TELEGRAM_BOT_TOKEN (getMe answered 401/404)") from None
        except TelegramError as exc:
            log.warning("Telegram getMe failed at start-up (%s); sends will be retried", _describe(exc))
        self._bot = bot
        try:
            username: str | None = bot.username
        except RuntimeError:  # getMe did not answer
            username = None
        log.info("telegram channel started (bot @%s)", username or "?")

    async def stop(self) -> None:
        bot, self._bot = self._bot, None
        if bot is not None:
            await bot.shutdown()

    # --- webhook ---------------------------------------------------------------------

    def router(self) -> APIRouter:
        router = APIRouter()

        async def telegram_webhook(request: Request) -> JSONResponse:
            """Check the secret, store the update (once per update_id), answer 200 fast."""
            given = request.headers.get(SECRET_HEADER)
            if given is None or not hmac.compare_digest(given.encode("utf-8"), self._secret):
                log.warning("telegram webhook: missing or wrong secret token, rejected")
                return JSONResponse({"detail": "forbidden"}, status_code=403)
            raw = await request.body()
            if len(raw) > MAX_UPDATE_BYTES:
                return JSONResponse({"detail": "update too large"}, status_code=413)
            try:
                update = json.loads(raw)
            except (ValueError, RecursionError):
                return JSONResponse({"detail": "invalid JSON"}, status_code=400)
            if not isinstance(update, dict):
                return JSONResponse({"detail": "an update is a JSON object"}, status_code=400)
            update_id = update.get("update_id")
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                return JSONResponse({"detail": "update_id missing"}, status_code=400)

            address = update_address(update)
            if address is None:
                kinds = [k for k in update if k != "update_id"]
                log.info("telegram update %s (%s) acknowledged, not processed", update_id, ",".join(kinds)[:80])
                return JSONResponse({})

            services = request.app.state.services
            from bot.inbound import Arrival  # the core's; imported late so this module loads alone

            arrival = Arrival(channel=self.name, provider_id=str(update_id), address=address, desk_address=None,
                              payload=update, received_at=services.now())  # the service's clock dates the message
            if not await services.store_webhook(arrival):
                log.info("telegram update %s already stored (Telegram retried it)", update_id)
            return JSONResponse({})

        router.routes.append(WebhookRoute(WEBHOOK_PATH, telegram_webhook))
        return router

    def store_update(self, services: Any, update_id: int, address: str, update: dict[str, Any]) -> bool:
        """Store the update in the inbound queue; False when this update_id was already stored.

        Used by ``seguro-bot telegram poll`` (the webhook goes through
        ``services.store_webhook``, which groups webhooks). Blocking
        (database): call it from a thread.
        """
        from bot.inbound import enqueue  # the core's; imported late so this module loads alone

        with services.session() as session:
            return bool(
                enqueue(
                    session=session,
                    channel=self.name,
                    provider_id=str(update_id),
                    address=address,
                    desk_address=None,
                    payload=update,
                    received_at=services.now(),  # the service's clock dates the message
                )
            )

    # --- inbound -----------------------------------------------------------------------

    async def prepare(self, payload: dict[str, Any], *, last_try: bool = False) -> Prepared:
        """Text, files and name of a stored update; answers a button press.

        Raises RetryLater when Telegram cannot be reached, so the stored update
        is prepared again later (files are fetched with a fresh getFile then).
        """
        query = payload.get("callback_query")
        if isinstance(query, dict):
            await self._answer_callback(query.get("id"))
            data = query.get("data")
            data = data if isinstance(data, str) else ""
            return Prepared(text=data, display_name=_first_name(query.get("from")),
                            button_label=pressed_label(query.get("message"), data))

        message = payload.get("message")
        if not isinstance(message, dict):
            return Prepared(text="")
        text = message.get("text") or message.get("caption") or ""
        text = text if isinstance(text, str) else ""
        attachments: list[Attachment] = []
        notes: list[str] = []
        for file_id, size, name in _files_of(message):
            try:
                attachments.append(await self._download(file_id, size, name))
            except _Skipped as skipped:
                notes.append(str(skipped))
            except RetryLater as exc:
                if not last_try:
                    raise
                log.warning("telegram file of %s still unavailable (%s): answered without it", name, exc)
                notes.append(_note(name, "no se pudo descargar"))
        if notes:
            text = "\n".join([t for t in (text, *notes) if t])
        return Prepared(text=text, attachments=tuple(attachments), display_name=_first_name(message.get("from")))

    async def _answer_callback(self, query_id: Any) -> None:
        """Stop the button's spinner on the student's phone; a failure (query too old) is not fatal."""
        if not isinstance(query_id, str) or not query_id:
            return
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.warning("answerCallbackQuery failed: %s", _describe(exc))

    async def _download(self, file_id: str, size: int | None, name: str) -> Attachment:
        """Fetch one file (getFile, then the file URL, which holds the token) into the media store."""
        if size is not None and size > MAX_DOWNLOAD_BYTES:
            raise _Skipped(_note(name, "pesa más de 16 MB"))
        try:
            file = await self.bot.get_file(file_id)
            if file.file_size is not None and file.file_size > MAX_DOWNLOAD_BYTES:
                raise _Skipped(_note(name, "pesa más de 16 MB"))
            data = bytes(await file.download_as_bytearray())
        except RetryAfter as exc:
            raise RetryLater("telegram getFile rate limited", retry_after=_retry_after(exc)) from None
        except BadRequest as exc:  # "file is too big", an expired or unknown file_id
            log.warning("telegram file not downloadable: %s", _describe(exc))
            raise _Skipped(_note(name, "no se pudo descargar")) from None
        except (NetworkError, InvalidToken, TelegramError) as exc:
            # Transient (or the file path expired): getFile again on the next attempt.
            raise RetryLater(f"telegram file download failed: {_describe(exc)}") from None
        try:
            return self.media.attachment(data, name=name)
        except MediaRejected as exc:
            log.info("telegram file rejected by the media store: %s", exc)
            reason = "pesa demasiado" if "exceeds" in str(exc) else "tipo de archivo no aceptado (usa JPG, PNG o PDF)"
            raise _Skipped(_note(name, reason)) from None

    # --- outbound ------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> str | None:
        """sendMessage (in parts past 4,096 characters), menus as an inline keyboard on the last part."""
        parts = split_text(message.text)
        if not parts:
            raise PermanentFailure("empty message", code="empty")
        markup = keyboard(message.options) if message.options else None
        chat_id: int | str = int(message.address) if message.address.lstrip("-").isdigit() else message.address
        done, last_id = self._progress.get(message.message_id, (0, ""))
        for index in range(done, len(parts)):
            is_last = index == len(parts) - 1
            try:
                sent = await self._send_part(chat_id, parts[index], markup if is_last else None)
            except RetryAfter as exc:
                raise RetryLater("telegram 429", retry_after=_retry_after(exc)) from None
            except Forbidden as exc:  # the student blocked the bot
                self._progress.pop(message.message_id, None)
                raise PermanentFailure(_describe(exc), code="403") from None
            except BadRequest as exc:  # chat not found, ... (before NetworkError: it subclasses it)
                self._progress.pop(message.message_id, None)
                raise PermanentFailure(_describe(exc), code="400") from None
            except ChatMigrated as exc:
                self._progress.pop(message.message_id, None)
                raise PermanentFailure(_describe(exc), code="migrated") from None
            except InvalidToken:
                raise RetryLater("Telegram rejected the bot token", retry_after=300) from None
            except (NetworkError, TelegramError) as exc:  # timeouts, 5xx, connection errors
                raise RetryLater(_describe(exc)) from None
            # Telegram numbers messages per chat: the chat makes the id unique per channel.
            last_id = f"{chat_id}:{sent.message_id}"
            self._progress[message.message_id] = (index + 1, last_id)
        self._progress.pop(message.message_id, None)
        return last_id

    async def _send_part(self, chat_id: int | str, text: str, markup: InlineKeyboardMarkup | None) -> Any:
        """One sendMessage, formatted; as plain text if Telegram cannot parse the formatting."""
        try:
            return await self.bot.send_message(chat_id=chat_id, text=to_html(text), parse_mode=ParseMode.HTML,
                                               reply_markup=markup)
        except BadRequest as exc:
            if "parse" not in str(exc).lower():
                raise
            log.warning("telegram could not parse the formatting (%s); sending plain text", _describe(exc))
            return await self.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)


def _note(name: str, reason: str) -> str:
    """The flows' convention for a refused file (flows.messages.FILE_NOTE)."""
    return f"[archivo no aceptado: «{name}», {reason}]"


def _files_of(message: dict[str, Any]) -> list[tuple[str, int | None, str]]:
    """(file_id, size, name) of the photo (largest size) and document of a message."""
    found: list[tuple[str, int | None, str]] = []
    photos = message.get("photo")
    if isinstance(photos, list):
        sizes = [p for p in photos if isinstance(p, dict) and isinstance(p.get("file_id"), str)]
        if sizes:
            # Telegram lists sizes smallest first; pick by pixels, then bytes.
            best = max(sizes, key=lambda p: ((p.get("width") or 0) * (p.get("height") or 0), p.get("file_size") or 0))
            found.append((best["file_id"], _int(best.get("file_size")), "foto.jpg"))
    document = message.get("document")
    if isinstance(document, dict) and isinstance(document.get("file_id"), str):
        name = document.get("file_name") if isinstance(document.get("file_name"), str) else "documento"
        found.append((document["file_id"], _int(document.get("file_size")), name))
    return found


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
