"""The web chat: a page anyone can use to talk to the bot, no credentials needed.

The page (``GET /chat``, static files under ``bot/web/static``) keeps a
random session id in localStorage and talks JSON to two endpoints:

- ``POST /chat/api/messages`` ``{"session", "text", "after"?, "client_id"?}``
  stores the message like any webhook (an inbound event), processes it
  inline and answers with the new messages, so the reply needs no polling;
- ``GET /chat/api/messages?after=<id>`` (session in the ``X-Chat-Session``
  header) returns what came later: a staff reply, a reminder. A session in
  the query string is refused (400) and cut from the URL before the access
  log writes it: URLs end up in logs, proxies and browser history.

The session id is the only credential: it must be long and random, and is
stored only hashed (the conversation's address), so the database never
holds a live session id and one session cannot name another's messages.
Outbound web chat messages are "delivered" by being stored: ``send`` only
returns a local id.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, col, select

from bot.channels.base import Outgoing, Prepared, menu_body
from bot.inbound import enqueue, find_event
from bot.models import Author, Conversation, Direction, Message
from bot.web.deps import ServicesDep
from bot.web.middleware import WEBCHAT_MAX_BYTES, WEBCHAT_TEXT_CHARS

NAME = "webchat"
STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
#: ≥ 16 random bytes, urlsafe base64 (22 characters); the page makes 24 bytes (32 characters).
SESSION_PATTERN = r"^[A-Za-z0-9_-]{22,128}$"
MAX_TEXT = WEBCHAT_TEXT_CHARS
#: Fits MAX_TEXT characters as ASCII-escaped JSON (up to 12 bytes each): such a message gets 200 or 422, not 413.
MAX_BODY = WEBCHAT_MAX_BYTES
PAGE_LIMIT = 200
#: Message ids are 64-bit integers in every database: a larger cursor is refused (422), not sent to SQL.
MAX_ID = 2**63 - 1
#: How long a POST waits for its own reply before leaving it to polling.
INLINE_TIMEOUT = 15.0
#: The page runs with no inline script or style: everything comes from /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
_SESSION_RE = re.compile(SESSION_PATTERN)


class ChatIn(BaseModel):
    session: str = Field(pattern=SESSION_PATTERN)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    after: int | None = Field(default=None, ge=0, le=MAX_ID)
    client_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")


def address_for(session: str) -> str:
    """The conversation address of a session: a hash, so the id itself is never stored."""
    return "web-" + hashlib.sha256(session.encode()).hexdigest()[:40]


def message_json(message: Message) -> dict[str, Any]:
    author = {Author.STUDENT: "student", Author.STAFF: "staff", Author.SYSTEM: "system"}.get(message.author, "bot")
    options = [[str(k), str(v)] for k, v in (message.options or [])]
    return {
        "id": message.id,
        "from": author,
        "text": menu_body(message.text, options) if message.direction == Direction.OUT else message.text,
        "options": [{"key": k, "label": v} for k, v in options],
        "at": message.created_at.isoformat(),
    }


def _messages_after(session: Session, address: str, after: int) -> tuple[list[dict[str, Any]], str | None]:
    conversation = session.exec(
        select(Conversation).where(Conversation.channel == NAME, Conversation.address == address)
    ).first()
    if conversation is None:
        return [], None
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation.id, col(Message.id) > after)
        .order_by(col(Message.id))
        .limit(PAGE_LIMIT)
    )
    return [message_json(m) for m in session.exec(stmt)], conversation.holder


class WebChatChannel:
    """Channel ``webchat``: the page and its JSON API; needs no configuration."""

    name = NAME

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def prepare(self, payload: dict[str, Any], *, last_try: bool = False) -> Prepared:
        return Prepared(text=str(payload.get("text") or ""))

    async def send(self, message: Outgoing) -> str | None:
        # The page fetches stored messages: storing was the delivery.
        return f"webchat:{message.message_id}"

    def router(self) -> APIRouter:
        router = APIRouter(tags=["webchat"])

        @router.api_route("/chat", methods=["GET", "HEAD"], include_in_schema=False)
        def page() -> FileResponse:
            return FileResponse(
                STATIC / "chat.html",
                media_type="text/html; charset=utf-8",
                headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                         "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"},
            )

        # The body is read by hand (size cap first), so its schema is declared here for the
        # OpenAPI document that schemathesis fuzzes (tests/test_fuzz_api.py).
        @router.post("/chat/api/messages", openapi_extra={"requestBody": {
            "required": True, "content": {"application/json": {"schema": ChatIn.model_json_schema()}}}})
        async def post_message(request: Request, services: ServicesDep) -> JSONResponse:
            body = await _read_body(request)
            try:
                data = ChatIn.model_validate_json(body)
            except ValidationError as exc:
                raise HTTPException(422, detail=_errors(exc)) from None
            header = request.headers.get("x-chat-session")
            if header is not None and header != data.session:
                raise HTTPException(400, detail="the X-Chat-Session header and the body name different sessions")
            await _admit_client(request, services)
            address = address_for(data.session)
            # A client id makes a resent POST (flaky mobile network) a duplicate, not a second message.
            nonce = data.client_id or secrets.token_urlsafe(16)
            provider_id = hashlib.sha256(f"{data.session}:{nonce}".encode()).hexdigest()[:40]
            now = services.now()

            def store() -> int:
                with services.session() as session:
                    enqueue(session=session, channel=NAME, provider_id=provider_id, address=address,
                            desk_address=None, payload={"text": data.text}, received_at=now)
                    event = find_event(session=session, channel=NAME, provider_id=provider_id)
                    assert event is not None and event.id is not None
                    return event.id

            event_id = await asyncio.to_thread(store)
            status = None
            if services.inbound is not None:
                status = await services.inbound.process_address(
                    channel=NAME, address=address, until_event_id=event_id, timeout=INLINE_TIMEOUT
                )
            else:
                services.notify_inbound()
            services.notify_outbox()

            def collect() -> dict[str, Any]:
                with services.session() as session:
                    mine = session.exec(
                        select(Message.id).where(Message.channel == NAME, Message.provider_id == provider_id)
                    ).first()
                    after = data.after if data.after is not None else (mine or 0)
                    messages, holder = _messages_after(session, address, after)
                return {"id": mine, "status": status or "pending", "agent": holder or "bot", "messages": messages}

            return JSONResponse(await asyncio.to_thread(collect), headers={"Cache-Control": "no-store"})

        @router.get("/chat/api/messages")
        async def get_messages(request: Request, services: ServicesDep, after: int = 0,
                               x_chat_session: Annotated[str | None, Header()] = None) -> JSONResponse:
            if "session" in request.query_params:
                _drop_session_from_url(request)
                raise HTTPException(400, detail="send the session id in the X-Chat-Session header, never in the URL")
            sid = x_chat_session or ""
            if not _SESSION_RE.match(sid):
                raise HTTPException(422, detail=[{"loc": ["header", "x-chat-session"], "type": "value_error",
                                                  "msg": "a random id of at least 22 characters [A-Za-z0-9_-]"}])
            if not 0 <= after <= MAX_ID:
                raise HTTPException(422, detail=[{"loc": ["query", "after"], "type": "value_error",
                                                  "msg": "between 0 and 2^63-1"}])

            def collect() -> dict[str, Any]:
                with services.session() as db:
                    messages, holder = _messages_after(db, address_for(sid), after)
                return {"agent": holder or "bot", "messages": messages}

            return JSONResponse(await asyncio.to_thread(collect), headers={"Cache-Control": "no-store"})

        return router


async def _admit_client(request: Request, services: Any) -> None:
    """429 when the client's address sent more than ``WEBCHAT_RATE_LIMIT`` messages in the last minute."""
    from bot.clientlimit import MESSAGE, admit

    limit = services.settings.webchat_rate_limit
    if limit <= 0:
        return
    host = request.client.host if request.client else "unknown"

    def check() -> float:
        with services.session() as session:
            wait = admit(session, host, limit)
            session.commit()
            return wait

    wait = await asyncio.to_thread(check)
    if wait > 0:
        raise HTTPException(429, detail=MESSAGE, headers={"Retry-After": str(max(1, math.ceil(wait)))})


async def _read_body(request: Request) -> bytes:
    """The request body, refusing (413) anything over :data:`MAX_BODY` before reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, detail=f"body over {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPException(413, detail=f"body over {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _drop_session_from_url(request: Request) -> None:
    """Cut ``session=`` out of the request's query string, in the scope the server logs from.

    uvicorn's access log formats the path and query of the very scope it
    handed to the app when the response starts, so a session id a client put
    in the URL never reaches the log (it is refused anyway).
    """
    kept = [(k, v) for k, v in parse_qsl(request.scope.get("query_string", b"").decode("latin-1"),
                                          keep_blank_values=True) if k != "session"]
    request.scope["query_string"] = (urlencode(kept) + ("&" if kept else "") + "session=***").encode("latin-1")


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors without the input echoed back (it may be the whole message)."""
    return json.loads(exc.json(include_input=False, include_url=False))
