"""Bad input on every endpoint gets a clear 4xx, never a 500, never a crash.

Each test drives the real service over loopback HTTP (web chat, WhatsApp and
Telegram webhooks, console, /healthz) and ends by checking that nothing
reached the catch-all error handler. The README's "Security" section lists
these inputs and what each gets.
"""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from bot.models import EventStatus, InboundEvent, Message
from tests.conftest import rows
from tests.fakes.twilio import inbound_form
from tests.security_support import Exposed, exposed_app
from tests.service_support import session_id, wait_until

LIMIT = 64 * 1024
ENDPOINTS = ["/chat/api/messages", "/webhooks/whatsapp", "/webhooks/whatsapp/status", "/webhooks/telegram",
             "/console/login", "/healthz"]


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Exposed]:
    # One service per test: on PostgreSQL (TEST_DATABASE=postgres) each test's database is dropped after it.
    with exposed_app(tmp_path) as exposed:
        yield exposed
        assert exposed.unhandled == 0, "a bad input reached the catch-all error handler"


@pytest.fixture(autouse=True)
def _no_unhandled(svc: Exposed) -> Iterator[None]:
    before = svc.unhandled
    yield
    assert svc.unhandled == before, "this input reached the catch-all error handler"


def raw_request(url: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (headers no client library would send) and read the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


def events(svc: Exposed) -> list[InboundEvent]:
    return rows(svc.services.engine, InboundEvent)


# --- size, before parsing ---------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_declared_huge_body_is_refused_before_it_is_read(svc: Exposed, path: str) -> None:
    before = len(events(svc))
    # Only the headers are sent: a 413 that arrives anyway proves nothing was read.
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {50 * 1024 * 1024}\r\n\r\n").encode()
    status, data = raw_request(svc.url, head)
    assert status == 413, data[:200]
    assert len(events(svc)) == before


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_chunked_body_over_the_limit_is_cut_off(svc: Exposed, path: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):  # 100 × 8 KB, no Content-Length
            yield b"a" * 8192

    ctype = "application/x-www-form-urlencoded" if "whatsapp" in path or "console" in path else "application/json"
    response = svc.client.post(path, content=chunks(), headers={"Content-Type": ctype})
    assert response.status_code == 413
    assert response.json() == {"detail": f"request body over {LIMIT * (4 if path.startswith('/console') else 1)} bytes"}


def test_an_invalid_content_length_is_a_400(svc: Exposed) -> None:
    status, _ = raw_request(svc.url, b"POST /chat/api/messages HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Length: -5\r\nContent-Type: application/json\r\n\r\n")
    assert status == 400


def test_a_body_under_the_limit_reaches_the_route_and_its_own_checks(svc: Exposed) -> None:
    response = svc.client.post("/chat/api/messages", json={"session": session_id(), "text": "x" * 20_000})
    assert response.status_code == 422  # the web chat's own 4,000-character limit


# --- content types ------------------------------------------------------------------------


@pytest.mark.parametrize("path,ctype,body", [
    ("/webhooks/whatsapp", "application/json", b'{"Body": "hola"}'),
    ("/webhooks/whatsapp/status", "application/json", b'{"MessageStatus": "sent"}'),
    ("/webhooks/telegram", "application/x-www-form-urlencoded", b"update_id=1"),
    ("/chat/api/messages", "application/x-www-form-urlencoded", b"session=abc&text=hola"),
    ("/chat/api/messages", "text/plain", b"hola"),
    ("/chat/api/messages", "", b'{"session": "x", "text": "hola"}'),
    ("/console/login", "application/json", b'{"email": "a@b.mx", "password": "x"}'),
    ("/console/tickets/1/reply", "application/xml", b"<reply/>"),
])
def test_the_wrong_content_type_is_a_415(svc: Exposed, path: str, ctype: str, body: bytes) -> None:
    headers = {"Content-Type": ctype} if ctype else {}  # httpx adds none to raw content
    response = svc.client.post(path, content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert "expected" in response.json()["detail"]


def test_an_empty_body_is_judged_by_the_route(svc: Exposed) -> None:
    assert svc.client.post("/webhooks/whatsapp").status_code == 403  # no signature
    assert svc.client.post("/webhooks/telegram").status_code == 403  # no secret
    assert svc.client.post("/chat/api/messages", headers={"Content-Type": "application/json"}).status_code == 422
    assert svc.client.post("/console/logout").status_code == 401


# --- WhatsApp webhook -------------------------------------------------------------------------


def test_an_unsigned_or_forged_webhook_is_403_and_stores_nothing(svc: Exposed) -> None:
    before = len(events(svc))
    form = inbound_form("hola")
    assert svc.client.post("/webhooks/whatsapp", data=form).status_code == 403
    assert svc.client.post("/webhooks/whatsapp", data=form, headers={"X-Twilio-Signature": "Zm9yZ2Vk"}).status_code == 403
    assert svc.client.post("/webhooks/whatsapp/status", data={"MessageSid": "SMx", "MessageStatus": "read"},
                           headers={"X-Twilio-Signature": "Zm9yZ2Vk"}).status_code == 403
    assert len(events(svc)) == before


@pytest.mark.parametrize("missing", ["MessageSid", "From"])
def test_a_signed_form_without_required_fields_is_a_400(svc: Exposed, missing: str) -> None:
    form = inbound_form("hola")
    del form[missing]
    if missing == "MessageSid":
        form.pop("SmsMessageSid")
    response = svc.signed_form("/webhooks/whatsapp", urlencode(form), form)
    assert response.status_code == 400


def test_a_status_callback_without_a_status_is_a_400(svc: Exposed) -> None:
    form = {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC1"}
    assert svc.signed_form("/webhooks/whatsapp/status", urlencode(form), form).status_code == 400


def _processed(svc: Exposed, provider_id: str) -> InboundEvent:
    return wait_until(lambda: next((e for e in events(svc) if e.provider_id == provider_id
                                    and e.status in (EventStatus.DONE, EventStatus.FAILED)), None), timeout=20)


@pytest.mark.parametrize("num_media", ["1000000000", "1e9", "-5", "abc", "", "99999999999999999999999"])
def test_absurd_media_counts_are_answered_like_text(svc: Exposed, num_media: str) -> None:
    form = inbound_form("hola", sender=f"+52164400{abs(hash(num_media)) % 10000:04d}",
                        extra={"NumMedia": num_media, "MediaUrl0": "http://169.254.169.254/latest/meta-data"})
    response = svc.signed_form("/webhooks/whatsapp", urlencode(form), form)
    assert response.status_code == 200
    event = _processed(svc, form["MessageSid"])
    assert event.status == EventStatus.DONE
    stored = [m for m in rows(svc.services.engine, Message) if m.provider_id == form["MessageSid"]]
    assert stored and stored[0].attachments == []


def test_invalid_utf8_and_control_characters_in_a_form_are_stored_clean_and_answered(svc: Exposed) -> None:
    form = inbound_form("PLACEHOLDER", sender="+5216449990001")
    body = urlencode(form).replace("PLACEHOLDER", "hola%FF%FE%00%07%1B%5B31m")
    signed = {**form, "Body": "hola\ufffd\ufffd\x00\x07\x1b[31m"}
    assert svc.signed_form("/webhooks/whatsapp", body, signed).status_code == 200
    assert _processed(svc, form["MessageSid"]).status == EventStatus.DONE
    (stored,) = [m for m in rows(svc.services.engine, Message) if m.provider_id == form["MessageSid"]]
    assert "\x00" not in stored.text and stored.text.startswith("hola")


# --- Telegram webhook -------------------------------------------------------------------------


def _tg_message(update_id: int, text: object, chat_id: int = 777001, chat_type: str = "private") -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1770000000, "text": text,
                                                "chat": {"id": chat_id, "type": chat_type},
                                                "from": {"id": chat_id, "is_bot": False, "first_name": "Ana"}}}


def test_a_wrong_secret_is_403(svc: Exposed) -> None:
    assert svc.telegram_update(_tg_message(1, "hola"), secret="wrong").status_code == 403


@pytest.mark.parametrize("raw,status", [
    (b"\xff\xfe{not json", 400),
    (b"[1, 2, 3]", 400),
    (b'"just a string"', 400),
    (b"{}", 400),
    (b'{"update_id": "12"}', 400),
    (b'{"update_id": true}', 400),
    (b"[" * 100_00 + b"]" * 100_00, 400),
])
def test_malformed_updates_are_a_400(svc: Exposed, raw: bytes, status: int) -> None:
    assert svc.telegram_update(None, raw=raw).status_code == status


@pytest.mark.parametrize("update", [
    {"update_id": 9001, "edited_message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "text": "x"}},
    {"update_id": 9002, "channel_post": {"message_id": 1, "chat": {"id": -100, "type": "channel"}, "text": "x"}},
    {"update_id": 9003, "inline_query": {"id": "1", "from": {"id": 5}, "query": "x", "offset": ""}},
    {"update_id": 9004, "poll": {"id": "1", "question": "?", "options": []}},
    {"update_id": 9005, "my_chat_member": {"chat": {"id": 5, "type": "private"}}},
    {"update_id": 9006, "message_reaction": {"chat": {"id": 5, "type": "private"}}},
    {"update_id": 9007, "unknown_future_type": {"x": 1}},
    _tg_message(9008, "hola a todos", chat_id=-4242, chat_type="group"),
    {"update_id": 9009, "message": {"message_id": 1, "text": "sin chat"}},
    {"update_id": 9010, "message": "not an object"},
    _tg_message(9011, "hola", chat_id="abc"),  # type: ignore[arg-type]
    _tg_message(9012, "hola", chat_id=10**30),
])
def test_updates_we_do_not_handle_are_acknowledged_and_not_stored(svc: Exposed, update: dict) -> None:
    response = svc.telegram_update(update)
    assert response.status_code == 200
    assert str(update["update_id"]) not in {e.provider_id for e in events(svc) if e.channel == "telegram"}


def test_odd_field_types_in_a_message_do_not_break_processing(svc: Exposed) -> None:
    update = _tg_message(9100, {"not": "text"}, chat_id=777100)
    update["message"]["photo"] = "not a list"
    update["message"]["document"] = {"file_id": 12}
    assert svc.telegram_update(update).status_code == 200
    assert _processed(svc, "9100").status == EventStatus.DONE


def test_a_replayed_update_is_processed_once_and_out_of_order_ones_each_once(svc: Exposed) -> None:
    chat = 777200
    for update_id in (9205, 9205, 9204, 9206, 9204):
        assert svc.telegram_update(_tg_message(update_id, "hola", chat_id=chat)).status_code == 200
    for update_id in ("9204", "9205", "9206"):
        assert _processed(svc, update_id).status == EventStatus.DONE
    stored = [e.provider_id for e in events(svc) if e.address == str(chat)]
    assert sorted(stored) == ["9204", "9205", "9206"]
    inbound = [m for m in rows(svc.services.engine, Message) if m.provider_id in ("9204", "9205", "9206")]
    assert len(inbound) == 3


def test_a_10000_character_message_is_answered_on_telegram(svc: Exposed) -> None:
    text = ("sigo sin vigencia " * 600)[:10_000]
    assert svc.telegram_update(_tg_message(9300, text, chat_id=777300)).status_code == 200
    assert _processed(svc, "9300").status == EventStatus.DONE
    conversation_id = next(m.conversation_id for m in rows(svc.services.engine, Message) if m.provider_id == "9300")
    replies = [m for m in rows(svc.services.engine, Message, conversation_id=conversation_id) if m.direction == "out"]
    assert replies and all(r.text.strip() for r in replies)


# --- console and health ------------------------------------------------------------------------


def test_console_forms_with_absurd_field_counts_are_a_400(svc: Exposed) -> None:
    fields = "&".join(f"f{i}=x" for i in range(500))
    response = svc.client.post("/console/login", content=fields,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400


def test_console_multipart_garbage_is_a_4xx(svc: Exposed) -> None:
    response = svc.client.post("/console/login", content=b"--x\r\nnot a part\r\n",
                               headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("path", ["/console/tickets/99999999999999999999999", "/console/tickets/-1",
                                  "/console/tickets/%00", "/console/media/..%2F..%2Fetc%2Fpasswd",
                                  "/console/api/tickets/abc"])
def test_console_urls_with_junk_ids_never_fail(svc: Exposed, path: str) -> None:
    response = svc.client.get(path, follow_redirects=False)
    assert response.status_code in (303, 401, 404), response.status_code


def test_healthz_with_the_wrong_method_or_junk_is_a_4xx_or_ok(svc: Exposed) -> None:
    assert svc.client.post("/healthz", json={}).status_code == 405
    assert svc.client.get("/healthz", params={"x": "\x00" * 100}).status_code == 200
    assert svc.client.request("DELETE", "/healthz").status_code == 405


def test_web_chat_polls_with_huge_or_junk_cursors_are_a_422(svc: Exposed) -> None:
    sid = session_id()
    assert svc.client.post("/chat/api/messages", json={"session": sid, "text": "hola"}).status_code == 200
    for after in ("99999999999999999999999", "-1", "1e3", "abc"):
        response = svc.client.get("/chat/api/messages", params={"after": after}, headers={"X-Chat-Session": sid})
        assert response.status_code == 422, (after, response.status_code)
    body = {"session": sid, "text": "hola", "after": 10**30}
    assert svc.client.post("/chat/api/messages", json=body).status_code == 422


def test_unknown_json_fields_are_ignored_and_nested_junk_refused(svc: Exposed) -> None:
    sid = session_id()
    ok = svc.client.post("/chat/api/messages", json={"session": sid, "text": "hola", "admin": True, "x": [1]})
    assert ok.status_code == 200
    bad = svc.client.post("/chat/api/messages", json={"session": sid, "text": {"$ne": ""}})
    assert bad.status_code == 422
    assert svc.client.post("/chat/api/messages", content=json.dumps([sid, "hola"]),
                           headers={"Content-Type": "application/json"}).status_code == 422


# --- the catch-all itself ---------------------------------------------------------------------------


def test_the_catch_all_answers_a_generic_500_without_details(tmp_path: Path) -> None:
    with exposed_app(tmp_path, workers=False) as exposed:
        def boom() -> None:
            raise RuntimeError("secret detail NSS 12345678903")

        exposed.app.add_api_route("/boom-for-test", boom)
        response = exposed.client.get("/boom-for-test")
        assert response.status_code == 500
        assert response.json() == {"detail": "internal error"}
        assert "12345678903" not in response.text and "secret" not in response.text
        assert exposed.unhandled == 1


# --- the web chat's body cap fits its 4,000 characters, however they are encoded ------------------


@pytest.mark.parametrize("count, status", [(4000, 200), (4001, 422)])
def test_4000_emojis_as_ascii_escaped_json_get_an_answer_not_a_413(svc: Exposed, count: int, status: int) -> None:
    body = json.dumps({"session": session_id(), "text": "😀" * count})  # ensure_ascii: 12 bytes an emoji
    assert len(body.encode()) > 48_000
    response = svc.client.post("/chat/api/messages", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text[:200]
    if status == 200:
        assert [m for m in response.json()["messages"] if m["from"] == "bot"]


def test_a_small_max_request_bytes_still_fits_a_full_web_chat_message(tmp_path: Path) -> None:
    with exposed_app(tmp_path, workers=False, max_request_bytes=16 * 1024) as small:
        body = json.dumps({"session": session_id(), "text": "😀" * 4000})
        response = small.client.post("/chat/api/messages", content=body,
                                     headers={"Content-Type": "application/json"})
        assert response.status_code == 200
        assert small.client.post("/healthz", content=b"x" * 20_000).status_code == 413  # elsewhere the cap holds
