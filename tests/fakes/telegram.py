"""A fake Telegram Bot API on loopback, and Update JSON as Telegram sends it.

Served with :mod:`tests.fakes.server`, it answers what python-telegram-bot
calls (``{base}/bot{token}/{method}`` and ``{base}/file/bot{token}/{path}``)
the way Telegram does: the ``{"ok": ..., "result": ...}`` envelope, 401 for a
wrong token, 429 with ``parameters.retry_after``, 409 for getUpdates while a
webhook is set. It records what the bot did so tests can assert on it.

Parameters arrive as PTB sends them (form fields, objects JSON-encoded), or
as JSON or query strings as other clients do; all three are accepted.
"""
from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

TOKEN = "123456789:AAFakeTokenForTestsOnly-abcdefghijklmn"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Seguro ITSON", "username": "seguro_itson_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
#: Parameters Telegram expects as JSON-serialised objects in form requests.
_JSON_PARAMS = {"reply_markup", "allowed_updates", "entities", "caption_entities", "link_preview_options",
                "reply_parameters"}


@dataclass
class _Failure:
    status: int
    retry_after: int | None = None


@dataclass
class FakeTelegram:
    """The Bot API's state: what was sent, which files exist, queued updates and failure knobs."""

    token: str = TOKEN
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: (monotonic time, method, answered ok) of every call, to check waits between retries.
    call_log: list[tuple[float, str, bool]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    answered: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    deleted_webhooks: list[dict[str, Any]] = field(default_factory=list)
    file_downloads: list[str] = field(default_factory=list)
    blocked_chats: set[str] = field(default_factory=set)
    missing_chats: set[str] = field(default_factory=set)
    webhook_url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, tuple[str, bytes]] = {}
        self._updates: list[dict[str, Any]] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._message_ids = itertools.count(1000)
        self.app = self._build_app()

    # --- knobs and helpers for tests ---------------------------------------------

    def rate_limit(self, count: int, *, retry_after: int = 1, method: str = "sendMessage") -> None:
        """Answer the next ``count`` calls of ``method`` with 429 and ``parameters.retry_after``."""
        with self._lock:
            self._failures.setdefault(method.lower(), []).extend(_Failure(429, retry_after) for _ in range(count))

    def server_error(self, count: int, *, method: str = "sendMessage", status: int = 500) -> None:
        """Answer the next ``count`` calls of ``method`` with a 5xx."""
        with self._lock:
            self._failures.setdefault(method.lower(), []).extend(_Failure(status) for _ in range(count))

    def add_file(self, file_id: str, data: bytes, *, file_path: str | None = None) -> str:
        """Make ``file_id`` downloadable (getFile + the file URL); returns its file_path."""
        path = file_path or f"photos/file_{len(self._files)}.jpg"
        with self._lock:
            self._files[file_id] = (path, data)
        return path

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates."""
        with self._lock:
            self._updates.append(update)

    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._updates)

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    def texts_to(self, chat_id: int | str) -> list[str]:
        return [m["text"] for m in self.sent if str(m["chat_id"]) == str(chat_id)]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Wait until ``predicate(self)`` is true (the app sends from background tasks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return bool(predicate(self))

    # --- the HTTP side -------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def api(token: str, method: str, request: Request) -> Response:
            if token != self.token:
                return _error(401, "Unauthorized")
            params = await _params(request)
            self.calls.append((method, params))
            response = await self._answer(method, params)
            self.call_log.append((time.monotonic(), method, response.status_code == 200))
            return response

        @app.get("/file/bot{token}/{file_path:path}")
        async def file(token: str, file_path: str) -> Response:
            if token != self.token:
                return _error(401, "Unauthorized")
            with self._lock:
                data = next((d for p, d in self._files.values() if p == file_path), None)
            if data is None:
                return _error(404, "Not Found")
            self.file_downloads.append(file_path)
            return Response(content=data, media_type="application/octet-stream")

        return app

    async def _answer(self, method: str, params: dict[str, Any]) -> Response:
        failure = self._next_failure(method)
        if failure is not None:
            if failure.status == 429:
                return _error(429, f"Too Many Requests: retry after {failure.retry_after}",
                              parameters={"retry_after": failure.retry_after})
            return _error(failure.status, "Internal Server Error")
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found")
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        return result if isinstance(result, Response) else _ok(result)

    def _next_failure(self, method: str) -> _Failure | None:
        with self._lock:
            queue = self._failures.get(method.lower())
            return queue.pop(0) if queue else None

    # --- methods (named _m_<lower-case method>) -------------------------------------

    def _m_getme(self, _params: dict[str, Any]) -> Any:
        return BOT_USER

    def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        chat_id = str(params.get("chat_id", ""))
        text = params.get("text")
        if not chat_id or not text:
            return _error(400, "Bad Request: message text is empty" if chat_id else "Bad Request: chat_id is empty")
        raw = str(text)
        if str(params.get("parse_mode", "")).upper() == "HTML":
            try:
                text = _parse_html(raw)
            except ValueError as exc:
                return _error(400, f"Bad Request: can't parse entities: {exc}")
        if len(text.encode("utf-16-le")) // 2 > 4096:  # counted after parsing, in UTF-16 units
            return _error(400, "Bad Request: message is too long")
        if chat_id in self.blocked_chats:
            return _error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.missing_chats:
            return _error(400, "Bad Request: chat not found")
        message_id = next(self._message_ids)
        # "text" is what the student sees (formatting parsed away), "raw" what the bot sent.
        self.sent.append({"chat_id": chat_id, "text": text, "raw": raw, "parse_mode": params.get("parse_mode"),
                          "reply_markup": params.get("reply_markup"), "message_id": message_id})
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": {"id": _int_or_str(chat_id), "type": "private", "first_name": "Estudiante"},
            "date": int(time.time()),
            "text": text,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answered.append(params)
        return True

    def _m_getfile(self, params: dict[str, Any]) -> Any:
        file_id = str(params.get("file_id", ""))
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            return _error(400, "Bad Request: invalid file_id")
        path, data = found
        return {"file_id": file_id, "file_unique_id": f"u{abs(hash(file_id)) % 10**8}", "file_size": len(data),
                "file_path": path}

    def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhooks.append(params)
        self.webhook_url = str(params.get("url", ""))
        return True

    def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.deleted_webhooks.append(params)
        self.webhook_url = ""
        return True

    def _m_getwebhookinfo(self, _params: dict[str, Any]) -> Any:
        return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook_url:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active; "
                               "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), 2.0)  # keep tests quick
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if offset:
                    # Telegram forgets updates below the offset: they are confirmed.
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.05)


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str, *, parameters: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


_TAG = re.compile(r"<(/?)([a-zA-Z-]+)(?:\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "tg-spoiler",
              "span", "blockquote", "tg-emoji"}


def _parse_html(text: str) -> str:
    """Telegram's HTML parse mode, strictly enough to catch bad escaping: the visible text, or ValueError."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    for match in _TAG.finditer(text):
        out.append(text[pos:match.start()])
        closing, tag = match.group(1) == "/", match.group(2).lower()
        if tag not in _HTML_TAGS:
            raise ValueError(f"unsupported start tag \"{tag}\" at byte offset {match.start()}")
        if closing:
            if not stack or stack.pop() != tag:
                raise ValueError(f"unmatched end tag at byte offset {match.start()}, expected \"</{tag}>\"")
        else:
            stack.append(tag)
        pos = match.end()
    out.append(text[pos:])
    if stack:
        raise ValueError(f"can't find end tag corresponding to start tag \"{stack[-1]}\"")
    visible = "".join(out)
    if "<" in visible or ">" in visible:
        raise ValueError("unexpected < or > (escape them as &lt; &gt;)")
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", visible):
        raise ValueError("unescaped & (escape it as &amp;)")
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), visible)


def _int_or_str(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value


async def _params(request: Request) -> dict[str, Any]:
    """The call's parameters from the query string, a JSON body or a form (as Telegram accepts)."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if "application/json" in content_type:
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.method == "POST":
        form = await request.form()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = value
    for key in _JSON_PARAMS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                pass
    return params


# --- Update JSON as Telegram sends it ----------------------------------------------------

_update_ids = itertools.count(700_000_001)
_message_ids = itertools.count(1)
CHAT_ID = 555_000_111


def next_update_id() -> int:
    return next(_update_ids)


def user(user_id: int = CHAT_ID, first_name: str = "Ana", last_name: str | None = "López") -> dict[str, Any]:
    person: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "es"}
    if last_name:
        person["last_name"] = last_name
    return person


def _message(chat_id: int, first_name: str, **fields: Any) -> dict[str, Any]:
    return {
        "message_id": next(_message_ids),
        "from": user(chat_id, first_name),
        "chat": {"id": chat_id, "first_name": first_name, "last_name": "López", "type": "private"},
        "date": int(time.time()),
        **fields,
    }


def message_update(text: str, *, chat_id: int = CHAT_ID, first_name: str = "Ana",
                   update_id: int | None = None) -> dict[str, Any]:
    """A private text message; a leading /command carries its bot_command entity like Telegram's."""
    fields: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        fields["entities"] = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}]
    return {"update_id": update_id or next_update_id(), "message": _message(chat_id, first_name, **fields)}


def photo_update(file_id: str, *, size: int, caption: str | None = None, chat_id: int = CHAT_ID,
                 first_name: str = "Ana", update_id: int | None = None) -> dict[str, Any]:
    """A photo: Telegram sends several sizes, smallest first; ``file_id`` is the largest."""
    sizes = [
        {"file_id": f"{file_id}-s", "file_unique_id": f"{file_id}-us", "file_size": 1_200, "width": 90, "height": 51},
        {"file_id": f"{file_id}-m", "file_unique_id": f"{file_id}-um", "file_size": 15_000, "width": 320,
         "height": 180},
        {"file_id": file_id, "file_unique_id": f"{file_id}-u", "file_size": size, "width": 1280, "height": 720},
    ]
    fields: dict[str, Any] = {"photo": sizes}
    if caption is not None:
        fields["caption"] = caption
    return {"update_id": update_id or next_update_id(), "message": _message(chat_id, first_name, **fields)}


def document_update(file_id: str, *, size: int, file_name: str = "comprobante.pdf",
                    mime_type: str = "application/pdf", caption: str | None = None, chat_id: int = CHAT_ID,
                    first_name: str = "Ana", update_id: int | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"document": {"file_name": file_name, "mime_type": mime_type, "file_id": file_id,
                                           "file_unique_id": f"{file_id}-u", "file_size": size}}
    if caption is not None:
        fields["caption"] = caption
    return {"update_id": update_id or next_update_id(), "message": _message(chat_id, first_name, **fields)}


def callback_update(data: str, *, chat_id: int = CHAT_ID, first_name: str = "Ana",
                    menu_text: str = "Elige una opción", query_id: str | None = None,
                    update_id: int | None = None, keyboard: list[list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """A button press on a keyboard the bot sent: ``data`` is the button's callback_data
    (``keyboard``: the whole inline keyboard of that message, as Telegram sends it back)."""
    bot_message = {
        "message_id": next(_message_ids),
        "from": BOT_USER,
        "chat": {"id": chat_id, "first_name": first_name, "type": "private"},
        "date": int(time.time()),
        "text": menu_text,
        "reply_markup": {"inline_keyboard": keyboard or [[{"text": "Opción", "callback_data": data}]]},
    }
    return {
        "update_id": update_id or next_update_id(),
        "callback_query": {
            "id": query_id or f"{next(_message_ids)}4382bfdwdsb323b2d9",
            "from": user(chat_id, first_name),
            "message": bot_message,
            "chat_instance": "-8390139912451345324",
            "data": data,
        },
    }


def edited_message_update(text: str, *, chat_id: int = CHAT_ID, update_id: int | None = None) -> dict[str, Any]:
    message = _message(chat_id, "Ana", text=text)
    message["edit_date"] = message["date"] + 5
    return {"update_id": update_id or next_update_id(), "edited_message": message}


def my_chat_member_update(*, chat_id: int = CHAT_ID, update_id: int | None = None) -> dict[str, Any]:
    """The student blocked the bot (Telegram tells the bot with my_chat_member)."""
    return {
        "update_id": update_id or next_update_id(),
        "my_chat_member": {
            "chat": {"id": chat_id, "first_name": "Ana", "type": "private"},
            "from": user(chat_id),
            "date": int(time.time()),
            "old_chat_member": {"user": BOT_USER, "status": "member"},
            "new_chat_member": {"user": BOT_USER, "status": "kicked", "until_date": 0},
        },
    }


#: The smallest valid images and PDF the media store accepts (it reads the first bytes).
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF_BYTES = b"%PDF-1.4\n%fake\n" + b"0" * 64
