"""WhatsApp through Twilio: signed webhooks in, the Messages REST API out.

Decisions worth knowing (see ``../shared/spec/channels.md`` for the facts):

* Signatures are checked against ``PUBLIC_BASE_URL`` + path (+ query), never
  against ``request.url``: behind a proxy the app sees another address than
  the one Twilio signed. The form is read raw with repeated keys kept, and
  never validated against a fixed model (Twilio adds fields without notice).
* The webhook only stores the message (``bot.inbound.enqueue``, unique per
  MessageSid) and answers an empty TwiML ``<Response/>``: replies always go
  through the outbox and the REST API, so they are durable and retried.
* Desk numbers are compared by :func:`bot.phones.number_key`: Twilio writes
  a Mexican sender as ``+521…`` or ``+52…`` and operators configure either,
  with or without ``+52``. A message to a number that is still not one of
  ``TWILIO_WHATSAPP_NUMBERS`` is acknowledged with 200 (an error would only
  make Twilio retry a message we will never handle), stored as a failed
  event and counted in ``/healthz``'s warnings, so the operator sees that
  students are writing to a number the service does not answer.
* Replies go out ``From`` the desk number exactly as the student's message
  named it in ``To`` (the form Twilio knows the sender by).
* Media are downloaded in :meth:`WhatsAppChannel.prepare` (not in the
  webhook, which must answer fast), with Basic auth, following redirects,
  streamed and cut at ``bot.media.MAX_BYTES``. A refused file becomes a
  note in the text (``[archivo no aceptado: …]``) so the conversation and
  staff see that something was sent and why it was not kept.
* A free-form text longer than WhatsApp's 1,600 characters is cut at a
  line or word boundary and ends in "…" (one message, one status to track).
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.rest import Client

from bot.channels.base import Outgoing, PermanentFailure, Prepared, RetryLater, SendError, WebhookRoute
from bot.channels.twilio_http import DEFAULT_API_BASE_URL, RewritingHttpClient, map_error
from bot.channels.twilio_signature import SignatureChecker
from bot.media import MAX_BYTES, MediaRejected, MediaStore
from bot.phones import e164, number_key

if TYPE_CHECKING:
    from bot.config import Settings
    from flows.messages import Attachment

try:  # twilio releases that know Webhooks SharedKey signatures (HMAC-SHA256)
    from twilio.request_validator import get_signature_algorithm
except ImportError:  # pragma: no cover - older twilio 9.x: Auth Token + HMAC-SHA1 only
    def get_signature_algorithm(signature_settings_header: str | None) -> str | None:  # type: ignore[misc]
        return None

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
SIGNATURE_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
INBOUND_PATH = "/webhooks/whatsapp"
STATUS_PATH = "/webhooks/whatsapp/status"
PREFIX = "whatsapp:"
#: WhatsApp's cap on a message body (and on a template variable here).
MAX_BODY = 1600
#: Twilio sends at most 10 media a message; larger NumMedia values are ignored.
MAX_MEDIA = 10
#: A Twilio webhook form is a few kB; anything far larger is not Twilio.
MAX_FORM_BYTES = 256 * 1024
#: A student's WhatsApp address as Twilio writes it: ``whatsapp:+`` and an E.164 number.
WHATSAPP_ADDRESS = re.compile(r"whatsapp:\+\d{8,15}")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

NOTE_REJECTED = "[archivo no aceptado: {why}]"
NOTE_UNAVAILABLE = "[archivo no disponible]"
WHY_TOO_BIG = "demasiado grande; imágenes hasta 5 MB, documentos hasta 16 MB"
WHY_TYPE = "tipo no admitido; envía una imagen JPG o PNG, un PDF o un documento de Word"


class _Form(dict[str, list[str]]):
    """A webhook form with repeated keys kept; ``getall`` is what RequestValidator uses."""

    def getall(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None

    def payload(self) -> dict[str, Any]:
        """JSON-ready: one value as a string, repeated keys as a list."""
        return {k: (v[0] if len(v) == 1 else list(v)) for k, v in self.items()}


#: Fields this long or shorter (names, addresses, the desk's numbers) repeat from webhook to
#: webhook: their unquoted form is remembered (:func:`parse_form`).
SHORT_FIELD = 64
_unquote_short = lru_cache(maxsize=2048)(unquote)


def parse_form(text: str) -> _Form:
    """``parse_qsl(text, keep_blank_values=True)`` as a form with repeated keys kept; the same result.

    Why not ``parse_qsl`` itself: it runs on every webhook, in the event
    loop that acknowledges the others, and sends every one of a Twilio
    form's thirty-odd names and values through ``unquote``, most of which
    have nothing to unquote. Here only those with a ``+`` or a ``%`` are
    (``unquote`` of a text without ``%`` is that text), and the short ones
    that repeat (``whatsapp%3A%2B52…`` in From and To) once; a test
    compares the two on arbitrary input.
    """
    form = _Form()
    for part in text.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "+" in key:
            key = key.replace("+", " ")
        if "%" in key:
            key = _unquote_short(key)
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = _unquote_short(value) if len(value) <= SHORT_FIELD else unquote(value)
        values = form.get(key)
        if values is None:
            form[key] = [value]
        else:
            values.append(value)
    return form


class _TooBig(Exception):
    pass


class _Unavailable(Exception):
    pass


def bare_number(address: str | None) -> str:
    """``whatsapp:+52 1 644…`` → ``+521644…``: the number without prefix nor separators, as written."""
    value = (address or "").strip()
    if value.lower().startswith(PREFIX):
        value = value[len(PREFIX):]
    return re.sub(r"[\s\-()]", "", value)


def wa_address(number: str) -> str:
    """A number in the ``whatsapp:+…`` form Twilio needs in To/From."""
    return f"{PREFIX}{bare_number(number)}"


def fit_body(text: str, limit: int = MAX_BODY) -> str:
    """``text`` within ``limit`` characters, cut at a line or word boundary and ending in "…"."""
    if len(text) <= limit:
        return text
    room = text[: limit - 1]
    for sep in ("\n", " "):
        cut = room.rfind(sep)
        if cut >= limit // 2:
            room = room[:cut]
            break
    return room.rstrip() + "…"


def template_value(text: str) -> str:
    """A template variable as WhatsApp accepts it: no newlines or tabs, no long space runs."""
    flat = re.sub(r"\s*\n\s*", " · ", text.strip())
    flat = re.sub(r"[\t ]+", " ", flat)
    return fit_body(flat, 1024)


def _first(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


class WhatsAppChannel:
    """The ``whatsapp`` channel (implements :class:`bot.channels.base.Channel`)."""

    name = "whatsapp"

    def __init__(self, settings: Settings, media: MediaStore, *,
                 send_timeout: float = 20.0, media_timeout: float = 30.0) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError("WhatsApp needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        self.settings = settings
        self.media = media
        self.account_sid: str = settings.twilio_account_sid
        self._token = settings.twilio_auth_token.get_secret_value()
        #: The configured numbers in E.164 (``6444207351`` → ``+526444207351``; Settings refused unreadable ones).
        self.desk_numbers = [n for n in (e164(raw) for raw in settings.twilio_whatsapp_numbers) if n]
        self._desk_keys = {number_key(n) for n in self.desk_numbers}
        self.public_base_url = settings.public_base_url.rstrip("/")
        self.send_timeout = send_timeout
        self.media_timeout = media_timeout
        self._signatures = SignatureChecker(self._token)
        self._http: RewritingHttpClient | None = None
        self._client: Client | None = None
        self._media_http: httpx.AsyncClient | None = None

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        self._rest()
        self._downloader()
        log.info("WhatsApp channel on: desk numbers %s, API %s",
                 ", ".join(self.desk_numbers), self.settings.twilio_api_base_url)

    async def stop(self) -> None:
        if self._media_http is not None:
            await self._media_http.aclose()
            self._media_http = None
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None

    def _rest(self) -> Client:
        if self._client is None:
            self._http = RewritingHttpClient(self.settings.twilio_api_base_url or DEFAULT_API_BASE_URL,
                                             timeout=self.send_timeout)
            self._client = Client(self.account_sid, self._token, http_client=self._http)
        return self._client

    def _downloader(self) -> httpx.AsyncClient:
        if self._media_http is None:
            self._media_http = httpx.AsyncClient(
                follow_redirects=True, max_redirects=5,
                timeout=httpx.Timeout(self.media_timeout, connect=10.0),
            )
        return self._media_http

    # -- webhooks ----------------------------------------------------------

    def router(self) -> APIRouter:
        router = APIRouter(tags=["whatsapp"])
        router.routes.extend([WebhookRoute(INBOUND_PATH, self._inbound), WebhookRoute(STATUS_PATH, self._status)])
        return router

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: the public base URL, not what the app sees behind a proxy."""
        scope = request.scope  # what request.url.path is, without building the whole URL
        path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
        query = scope.get("query_string", b"").decode("latin-1")
        return self.public_base_url + path + (f"?{query}" if query else "")

    async def _verified_form(self, request: Request) -> _Form:
        """The raw form, after checking X-Twilio-Signature over all of it (403 otherwise)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
        form = parse_form(body.decode("utf-8", errors="replace"))
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            log.warning("WhatsApp webhook %s without %s: refused", request.url.path, SIGNATURE_HEADER)
            raise HTTPException(403, "missing signature")
        settings_header = request.headers.get(SIGNATURE_SETTINGS_HEADER)
        algorithm = get_signature_algorithm(settings_header)
        url = self.signed_url(request)
        if not self._signatures.valid(url, form, signature, algorithm):
            hint = (" (signed with a Webhooks SharedKey, which this service does not use)"
                    if settings_header else "; is PUBLIC_BASE_URL the address configured in Twilio?")
            log.warning("WhatsApp webhook with a bad signature for %s: refused%s", url, hint)
            raise HTTPException(403, "bad signature")
        return form

    def is_desk_number(self, address: str | None) -> bool:
        """Whether ``address`` (``whatsapp:+521…``, ``+52…``, …) is one of the configured desk numbers."""
        key = number_key(address)
        return key is not None and key in self._desk_keys

    async def _inbound(self, request: Request) -> Response:
        form = await self._verified_form(request)
        sid, sender, desk = form.first("MessageSid"), form.first("From"), form.first("To")
        if not sid or not sender:
            raise HTTPException(400, "MessageSid and From are required")
        if not WHATSAPP_ADDRESS.fullmatch(sender):
            # Signed, so from Twilio, but not a WhatsApp number we could ever answer.
            log.warning("WhatsApp message %s from an address that is not whatsapp:+<digits>: ignored", sid)
            return _twiml()
        from bot.inbound import Arrival  # the core's; imported late so this module loads alone

        services = request.app.state.services
        arrival = Arrival(channel=self.name, provider_id=sid, address=sender, desk_address=desk,
                          payload=form.payload(), received_at=services.now())
        if not self.is_desk_number(desk):
            log.warning("WhatsApp message %s to %s, which is not in TWILIO_WHATSAPP_NUMBERS (%s): not answered; "
                        "stored as failed and counted in /healthz", sid, desk, ", ".join(self.desk_numbers))
            await run_in_threadpool(self._record_unrouted, services, arrival)
            return _twiml()
        if not await services.store_webhook(arrival):
            log.info("WhatsApp message %s already stored (Twilio retry): acknowledged", sid)
        return _twiml()

    @staticmethod
    def _record_unrouted(services: Any, arrival: Any) -> None:
        from bot.inbound import record_unrouted

        with services.session() as session:
            record_unrouted(session, arrival)

    async def _status(self, request: Request) -> Response:
        form = await self._verified_form(request)
        sid = form.first("MessageSid") or form.first("SmsSid")
        status = (form.first("MessageStatus") or form.first("SmsStatus") or "").strip().lower()
        if not sid or not status:
            raise HTTPException(400, "MessageSid and MessageStatus are required")
        error_code = form.first("ErrorCode") or None
        services = request.app.state.services

        def record() -> bool:
            from bot import outbox

            with services.session() as session:
                return bool(outbox.record_status(session=session, channel=self.name, provider_id=sid,
                                                 status=status, error_code=error_code))

        if not await run_in_threadpool(record):
            log.debug("WhatsApp status %s for %s: unknown message or no change", status, sid)
        if error_code:
            # A failed delivery (63016 reported late, among others) may leave the outbox work to do.
            notify = getattr(services, "notify_outbox", None)
            if notify is not None:
                await _maybe_await(notify())
        return Response(status_code=200)

    # -- inbound processing ------------------------------------------------

    async def prepare(self, payload: dict[str, Any], *, last_try: bool = False) -> Prepared:
        """Text (a quick-reply payload wins over Body), profile name, and the media downloaded.

        A download that fails transiently raises RetryLater, except on the
        ``last_try``: then the file is noted as unavailable and the message answered.
        """
        text = _first(payload, "ButtonPayload") or _first(payload, "Body") or ""
        display_name = (_first(payload, "ProfileName") or "").strip() or None
        try:
            count = int(_first(payload, "NumMedia") or 0)
        except ValueError:
            count = 0
        label = _first(payload, "MessageSid") or "?"
        attachments: list[Attachment] = []
        notes: list[str] = []
        for i in range(max(0, min(count, MAX_MEDIA))):
            url = _first(payload, f"MediaUrl{i}")
            if not url:
                continue
            claimed = (_first(payload, f"MediaContentType{i}") or "").lower()
            if claimed.startswith("video/"):
                log.info("media %d of %s: %s not accepted", i, label, claimed)
                notes.append(NOTE_REJECTED.format(why=WHY_TYPE))
                continue
            if self._auth_for(url) is None:
                # Twilio's media live on Twilio's hosts: any other address (an internal one, say) is not fetched.
                log.warning("media %d of %s is not on Twilio's hosts: not fetched", i, label)
                notes.append(NOTE_UNAVAILABLE)
                continue
            try:
                data = await self._download(url, f"{i} of {label}")
                attachments.append(self.media.attachment(data, name=f"whatsapp-{label}-{i}"))
            except _TooBig:
                notes.append(NOTE_REJECTED.format(why=WHY_TOO_BIG))
            except MediaRejected as exc:
                log.info("media %d of %s refused: %s", i, label, exc)
                notes.append(NOTE_REJECTED.format(why=WHY_TOO_BIG if "exceeds" in str(exc) else WHY_TYPE))
            except _Unavailable:
                notes.append(NOTE_UNAVAILABLE)
            except RetryLater as exc:
                if not last_try:
                    raise
                log.warning("media %d of %s still unavailable (%s): answered without it", i, label, exc)
                notes.append(NOTE_UNAVAILABLE)
        if notes:
            text = "\n".join([text, *notes]) if text else "\n".join(notes)
        return Prepared(text=text, attachments=tuple(attachments), display_name=display_name)

    def _auth_for(self, url: str) -> tuple[str, str] | None:
        """Our credentials, only for Twilio's hosts (or the configured fake): never for a stranger."""
        host = (urlsplit(url).hostname or "").lower()
        api_host = (urlsplit(self.settings.twilio_api_base_url).hostname or "").lower()
        if host == api_host or host == "twilio.com" or host.endswith(".twilio.com"):
            return (self.account_sid, self._token)
        return None

    async def _download(self, url: str, label: str) -> bytes:
        """The file's bytes; RetryLater on 5xx/429/timeouts, _TooBig past MAX_BYTES, _Unavailable on 4xx."""
        client = self._downloader()
        auth = self._auth_for(url)
        try:
            async with asyncio.timeout(self.media_timeout * 2):
                async with client.stream("GET", url, auth=auth) as response:
                    status = response.status_code
                    if status == 429 or status >= 500:
                        raise RetryLater(f"media {label}: HTTP {status}")
                    if status != 200:
                        level = logging.ERROR if status in (401, 403) else logging.WARNING
                        log.log(level, "media %s: HTTP %d, skipped%s", label, status,
                                " (check TWILIO_AUTH_TOKEN)" if status in (401, 403) else "")
                        raise _Unavailable(status)
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > MAX_BYTES:
                        log.info("media %s: %s bytes announced, over the limit", label, declared)
                        raise _TooBig()
                    data = bytearray()
                    async for chunk in response.aiter_bytes():
                        data += chunk
                        if len(data) > MAX_BYTES:
                            log.info("media %s: over %d bytes, download stopped", label, MAX_BYTES)
                            raise _TooBig()
                    return bytes(data)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RetryLater(f"media {label}: timed out ({type(exc).__name__})") from None
        except httpx.TooManyRedirects:
            log.warning("media %s: too many redirects, skipped", label)
            raise _Unavailable(0) from None
        except httpx.TransportError as exc:
            raise RetryLater(f"media {label}: {type(exc).__name__}") from None

    # -- sending -------------------------------------------------------------

    def sender_for(self, desk_address: str | None) -> str:
        """Reply from the number the student wrote to; the first desk number otherwise."""
        if desk_address and self.is_desk_number(desk_address):
            return wa_address(desk_address)  # as the student's message named it in To
        if not self.desk_numbers:
            raise PermanentFailure("no TWILIO_WHATSAPP_NUMBERS configured", code="no_sender")
        if desk_address:
            log.warning("desk number %s is no longer configured: replying from %s", desk_address, self.desk_numbers[0])
        return wa_address(self.desk_numbers[0])

    def message_params(self, message: Outgoing) -> dict[str, str]:
        """The ``messages.create`` arguments: a free-form body, or the template and its variables."""
        params = {
            "to": message.address if message.address.startswith(PREFIX) else wa_address(message.address),
            "from_": self.sender_for(message.desk_address),
            "status_callback": self.public_base_url + STATUS_PATH,
        }
        if message.template:
            content_sid = getattr(self.settings, "twilio_template_content_sid", None)
            if not content_sid:
                raise PermanentFailure(
                    "this message needs an approved WhatsApp template (outside the 24-hour window) "
                    "and TWILIO_TEMPLATE_CONTENT_SID is not set", code="no_template")
            variables = dict(message.template_variables) or {"1": message.text}
            params["content_sid"] = content_sid
            params["content_variables"] = json.dumps(
                {k: template_value(str(v)) for k, v in variables.items()}, ensure_ascii=False)
        else:
            params["body"] = fit_body(message.text)
        return params

    async def send(self, message: Outgoing) -> str | None:
        """Create the message through Twilio's REST API (twilio's client, asynchronously)."""
        params = self.message_params(message)
        client = self._rest()
        http = self._http
        try:
            created = await client.messages.create_async(**params)
        except SendError:
            raise
        except Exception as exc:
            try:
                error = map_error(exc, retry_after=http.last_retry_after if http else None)
            except TypeError:
                raise exc from None
            log.warning("WhatsApp send of message %s failed: %s", message.message_id, error)
            raise error from None
        return str(created.sid)


def _twiml() -> Response:
    return Response(content=EMPTY_TWIML, media_type="text/xml")
