"""What stands between the public internet and the routes: body limits, content types, errors.

The webhooks and the web chat are reachable by anyone, so every request is
judged here before a route parses it:

* **Size, before parsing.** :class:`RequestGuard` refuses a declared
  ``Content-Length`` over the limit without reading a byte (413), and reads
  an undeclared (chunked) body with a cap, so no route ever holds more than
  the limit in memory. The limit is ``MAX_REQUEST_BYTES`` (64 KB: a Twilio
  form is a few KB, a Telegram update or a web chat message less); the
  console, whose forms carry canned answers and replies, gets four times that.
* **Content type.** A non-empty body must be what the route parses: a form
  for Twilio's webhooks and the console, JSON for Telegram and the web chat
  (415 otherwise). Routes still validate their own fields (JSON that is not
  UTF-8 or not JSON: 400 on Telegram's webhook, 422 on the web chat); this
  only keeps the wrong parser from ever running.
* **Numbers out of range.** An id that passes FastAPI's ``int`` check but
  not the database's 64 bits gets 422 (:func:`out_of_range`), not a 500.
* **The last resort.** :func:`install` adds a handler for any exception a
  route did not expect: a generic ``{"detail": "internal error"}`` with 500,
  nothing of the exception in the answer, the traceback in the (masked) log,
  and a count in ``app.state.unhandled_errors`` so tests can prove that no
  bad input ever gets that far. Starlette raises the exception again after
  that answer, for the server to log, and uvicorn did ("Exception in ASGI
  application", the same traceback a second time); the app drops an
  exception this handler has logged and answered (:func:`logged_here`).
  Any other one (an error after the answer began, a failing handler) still
  reaches uvicorn's log.

The retention task (:func:`bot.privacy.retention_loop`) is started here too,
wrapped around the app's lifespan, so the app module needs one line.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DataError
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from fastapi import FastAPI

    from bot.web.services import Services

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BYTES = 64 * 1024
#: Behind HTTPS (``PUBLIC_BASE_URL`` is https), browsers must never come back over plain HTTP.
HSTS = "max-age=31536000; includeSubDomains"
#: The whole body must arrive within this long (Twilio and Telegram send theirs at once);
#: ``REQUEST_BODY_TIMEOUT_SECONDS``.
BODY_TIMEOUT_S = 15.0
#: The console's forms may carry long replies and canned answers.
CONSOLE_FACTOR = 4
#: The web chat's messages: 4,000 characters, each up to 12 bytes as ASCII-escaped JSON (an emoji is
#: ``\ud83d\ude00``), plus the session and cursor. Its API gets at least this, whatever MAX_REQUEST_BYTES.
WEBCHAT_TEXT_CHARS = 4000
WEBCHAT_MAX_BYTES = WEBCHAT_TEXT_CHARS * 12 + 4096

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
JSON = "application/json"

#: (path prefix, the media types a non-empty body may have), for the routes of
#: our own channels. First match wins; paths not listed accept any type.
WEBCHAT_AND_CONSOLE: tuple[tuple[str, frozenset[str]], ...] = (
    ("/chat/api/", frozenset({JSON})),
    ("/console", frozenset({FORM, MULTIPART})),
)
#: Channel module → its webhook's rule; applied only when that channel is the one serving the path.
CHANNEL_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "bot.channels.whatsapp": ("/webhooks/whatsapp", frozenset({FORM})),
    "bot.channels.telegram": ("/webhooks/telegram", frozenset({JSON})),
}


def body_types(channels: dict[str, Any]) -> tuple[tuple[str, frozenset[str]], ...]:
    """The content-type rules for the channels that are on (tests may mount channels of their own)."""
    rules = [CHANNEL_TYPES[type(c).__module__] for c in channels.values() if type(c).__module__ in CHANNEL_TYPES]
    return (*rules, *WEBCHAT_AND_CONSOLE)


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers={"Cache-Control": "no-store"})


def _has_query_key(scope: Scope, key: bytes) -> bool:
    query: bytes = scope.get("query_string", b"") or b""
    return any(part.split(b"=", 1)[0] == key for part in query.split(b"&"))


def _mask_query_key(scope: Scope, key: str) -> None:
    """Replace ``key``'s value in the scope's query string, which uvicorn's access log prints."""
    from urllib.parse import parse_qsl, urlencode

    pairs = parse_qsl((scope.get("query_string", b"") or b"").decode("latin-1"), keep_blank_values=True)
    scope["query_string"] = urlencode([(k, "***" if k == key else v) for k, v in pairs],
                                      safe="*").encode("latin-1")


class RequestGuard:
    """Pure ASGI middleware: body size cap before parsing, then the content type."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 types: tuple[tuple[str, frozenset[str]], ...] = WEBCHAT_AND_CONSOLE,
                 body_timeout: float = BODY_TIMEOUT_S, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts
        self.max_bytes = max_bytes
        self.types = types
        self.body_timeout = body_timeout

    def _with_headers(self, send: Send) -> Send:
        """Headers every answer carries, whoever wrote it (routes, static files, errors)."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        return sending

    def limit_for(self, path: str) -> int:
        if path.startswith("/console"):
            return self.max_bytes * CONSOLE_FACTOR
        if path.startswith("/chat/api/"):
            return max(self.max_bytes, WEBCHAT_MAX_BYTES)
        return self.max_bytes

    def allowed_types(self, path: str) -> frozenset[str] | None:
        for prefix, types in self.types:
            if path.startswith(prefix):
                return types
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        path: str = scope.get("path", "")
        if path.startswith("/chat") and _has_query_key(scope, b"session"):
            # The web chat's session id is its only credential: never in a URL (history, proxies, logs).
            _mask_query_key(scope, "session")
            await _problem(400, "send the session id in the X-Chat-Session header or the body, "
                                "never in the URL")(scope, receive, send)
            return
        limit = self.limit_for(path)
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _problem(400, "invalid Content-Length")(scope, receive, send)
                return
            if int(declared) > limit:
                await _problem(413, f"request body over {limit} bytes")(scope, receive, send)
                return

        body = bytearray()
        more = True
        try:
            async with asyncio.timeout(self.body_timeout):
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client left: nobody to answer
                    body += message.get("body", b"")
                    more = bool(message.get("more_body", False))
                    if len(body) > limit:
                        await _problem(413, f"request body over {limit} bytes")(scope, receive, send)
                        return
        except TimeoutError:
            # A client trickling its body (slowloris) must not hold a connection and a worker slot.
            await _problem(408, f"request body not received within {self.body_timeout:g} s")(scope, receive, send)
            return

        if body:
            allowed = self.allowed_types(path)
            media_type = _media_type(headers.get("content-type"))
            if allowed is not None and media_type not in allowed:
                expected = " or ".join(sorted(allowed))
                await _problem(415, f"expected {expected}")(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as servers do

        await self.app(scope, replay, send)


async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A number in the URL or body too large for the database (ids are 64-bit): the client's mistake.

    Validated values such as ``/console/api/tickets/99999999999999999999`` pass
    FastAPI's ``int`` check and only fail in the driver (SQLite's OverflowError,
    PostgreSQL's "out of range" DataError); they get a 422, not the catch-all's 500.
    """
    log.info("%s %s: a value out of the database's range (%s)", request.method, request.url.path,
             type(exc).__name__)
    return JSONResponse({"detail": [{"loc": ["path"], "msg": "number out of range", "type": "value_error"}]},
                        status_code=422)


#: The scope key holding the exception :func:`unhandled_error` logged (see :func:`logged_here`).
_LOGGED = "seguro_bot.logged_error"


#: While the database is unreachable, the requests that fail on it are summed up in one log line this often.
OUTAGE_LOG_SECONDS = 10.0


class _Outage:
    """The database outage requests are failing on, as this process has seen it (see :func:`database_down`)."""

    def __init__(self) -> None:
        self.last_failure = float("-inf")
        self.last_line = float("-inf")
        self.unlogged = 0


def database_down(request: Request, exc: Exception) -> JSONResponse:
    """A request that failed because the database is unreachable: 503, and a short log.

    Why: during a database restart every webhook fails (Twilio and Telegram
    retry them: a 5xx is what they need), and a full traceback for each was
    thousands of lines hiding everything else. The first failure of an
    outage logs its traceback; the others are counted and summed up in one
    line every :data:`OUTAGE_LOG_SECONDS`; an outage is over once no request
    has failed for that long (the next failure logs a traceback again).
    """
    state = request.app.state
    state.unhandled_errors = getattr(state, "unhandled_errors", 0) + 1
    outage: _Outage = getattr(state, "outage", None) or _Outage()
    state.outage = outage
    now = time.monotonic()
    if now - outage.last_failure >= OUTAGE_LOG_SECONDS:
        log.error("database unreachable (%s) on %s %s: answering 503 until it is back; Twilio and Telegram retry",
                  type(exc).__name__, request.method, request.url.path, exc_info=exc)
        outage.last_line, outage.unlogged = now, 0
    else:
        outage.unlogged += 1
        if now - outage.last_line >= OUTAGE_LOG_SECONDS:
            log.error("database still unreachable (%s): %d more request(s) answered 503 in the last %.0f s",
                      type(exc).__name__, outage.unlogged, now - outage.last_line)
            outage.last_line, outage.unlogged = now, 0
    outage.last_failure = now
    request.scope[_LOGGED] = exc
    return JSONResponse({"detail": "temporarily unavailable"}, status_code=503, headers={"Retry-After": "5"})


async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    """Any exception a route did not expect: 500 with no detail; the traceback goes to the log only.

    The database being unreachable is expected, in a way: :func:`database_down` answers it.
    """
    from bot.workers import database_unreachable

    if database_unreachable(exc):
        return database_down(request, exc)
    state = request.app.state
    state.unhandled_errors = getattr(state, "unhandled_errors", 0) + 1
    # The log handler masks personal data and secrets in the message and the traceback.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    response = JSONResponse({"detail": "internal error"}, status_code=500)
    request.scope[_LOGGED] = exc
    return response


def logged_here(scope: Scope, exc: BaseException) -> bool:
    """True when ``exc`` is the one :func:`unhandled_error` logged and answered for this request:
    Starlette raises it again afterwards, and the server would log its traceback a second time."""
    return scope.get(_LOGGED) is exc


def install(app: FastAPI, services: Services) -> None:
    """Put the request guard, the catch-all handler and the retention task on ``app``."""
    app.state.unhandled_errors = 0
    app.add_middleware(RequestGuard, max_bytes=services.settings.max_request_bytes,
                       types=body_types(services.channels),
                       body_timeout=services.settings.request_body_timeout_seconds,
                       hsts=services.settings.public_base_url.lower().startswith("https://"))
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(Exception, unhandled_error)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            task = _start_retention(services)
            try:
                yield state
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    app.router.lifespan_context = lifespan


def _start_retention(services: Services) -> asyncio.Task[None] | None:
    if services.settings.retention_days <= 0:
        log.info("retention: RETENTION_DAYS=0, nothing is purged automatically")
        return None
    from bot.privacy import retention_loop

    return asyncio.create_task(retention_loop(services), name="retention")

