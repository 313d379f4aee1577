"""The Telegram channel alone against the fake Bot API: sending, preparing updates, errors, logs.

Real HTTP on loopback to :mod:`tests.fakes.telegram`; the end-to-end path
through our app is in ``test_telegram.py``.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

from bot.channels.base import Outgoing, PermanentFailure, RetryLater
from bot.channels.telegram import MAX_TEXT, TelegramChannel, keyboard, split_text, update_address
from bot.config import Settings
from bot.media import MediaStore
from tests.fakes import telegram as tg
from tests.fakes.server import ServerThread, serve

T = TypeVar("T")


@pytest.fixture
def fake() -> Iterator[tuple[tg.FakeTelegram, ServerThread]]:
    api = tg.FakeTelegram()
    with serve(api.app) as server:
        yield api, server


def make_channel(base_url: str, tmp_path: Path, token: str = tg.TOKEN) -> TelegramChannel:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=token,
        telegram_webhook_secret="s3cret-webhook",
        telegram_api_base_url=base_url,
    )
    return TelegramChannel(settings, MediaStore(tmp_path / "media"))


def run(channel: TelegramChannel, body: Callable[[TelegramChannel], Awaitable[T]]) -> T:
    async def main() -> T:
        await channel.start()
        try:
            return await body(channel)
        finally:
            await channel.stop()

    return asyncio.run(main())


def outgoing(text: str, *, options: tuple[tuple[str, str], ...] = (), message_id: int = 1,
             address: str = str(tg.CHAT_ID)) -> Outgoing:
    return Outgoing(message_id=message_id, conversation_id=1, channel="telegram", address=address, text=text,
                    options=options)


# --- pure helpers ---------------------------------------------------------------------


def test_split_text_keeps_everything_in_order_within_the_limit():
    paragraphs = [f"Párrafo {i}: " + "palabra " * 120 for i in range(20)]
    text = "\n\n".join(paragraphs)
    parts = split_text(text)
    assert len(parts) > 1
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())
    assert split_text("hola") == ["hola"]
    assert split_text("x" * (MAX_TEXT * 2 + 5)) == ["x" * MAX_TEXT, "x" * MAX_TEXT, "x" * 5]
    emoji = "😀" * MAX_TEXT  # two UTF-16 units each, as Telegram counts
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in split_text(emoji))


def test_keyboard_has_one_button_per_option_with_short_callback_data():
    markup = keyboard((("1", "Sí"), ("2", "No, " + "muy " * 40 + "largo"), ("ñ" * 40, "clave larga")))
    assert markup is not None
    rows = markup.inline_keyboard
    assert [r[0].callback_data for r in rows][:2] == ["1", "2"]
    assert all(len(r[0].callback_data.encode()) <= 64 for r in rows)
    assert rows[1][0].text.endswith("…") and len(rows[1][0].text) <= 60


def test_update_address_skips_groups_and_unhandled_types():
    assert update_address(tg.message_update("hola", chat_id=42)) == "42"
    assert update_address(tg.callback_update("2", chat_id=43)) == "43"
    assert update_address(tg.edited_message_update("x")) is None
    assert update_address(tg.my_chat_member_update()) is None
    group = tg.message_update("hola")
    group["message"]["chat"] = {"id": -100123, "title": "Grupo", "type": "supergroup"}
    assert update_address(group) is None


# --- sending ------------------------------------------------------------------------------


def test_send_plain_text_and_menu_with_inline_keyboard(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)

    async def body(ch: TelegramChannel) -> list[str | None]:
        first = await ch.send(outgoing("Hola, soy el asistente."))
        second = await ch.send(outgoing("¿Qué necesitas?\n\n1. Alta\n2. Baja", options=(("1", "Alta"), ("2", "Baja")),
                                        message_id=2))
        return [first, second]

    ids = run(channel, body)
    assert ids == [f"{m['chat_id']}:{m['message_id']}" for m in api.sent]
    assert api.sent[0]["reply_markup"] is None
    buttons = api.sent[1]["reply_markup"]["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in buttons] == [["1"], ["2"]]
    assert api.sent[1]["text"].endswith("2. Baja")  # the numbered list stays in the text
    assert "getMe" in api.methods()


def test_bold_is_sent_as_html_and_everything_else_shows_as_written(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)
    text = "Responde *sí* o *no*. Tu NSS <11 dígitos> & tu CURP: a*b 2 * 3"
    run(channel, lambda ch: ch.send(outgoing(text)))
    sent = api.sent[0]
    assert sent["parse_mode"] == "HTML"
    assert "<b>sí</b>" in sent["raw"] and "&lt;11" in sent["raw"] and "&amp;" in sent["raw"]
    assert sent["text"] == "Responde sí o no. Tu NSS <11 dígitos> & tu CURP: a*b 2 * 3"  # as the student sees it


def test_long_text_goes_in_parts_in_order_with_keyboard_on_the_last(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)
    text = "\n".join(f"Línea {i:04d} " + "x" * 60 for i in range(150))
    last = run(channel, lambda ch: ch.send(outgoing(text, options=(("1", "Sí"),))))
    assert len(api.sent) == 3
    assert last == f"{api.sent[-1]['chat_id']}:{api.sent[-1]['message_id']}"
    assert "\n".join(m["text"] for m in api.sent).split() == text.split()
    assert [m["reply_markup"] is not None for m in api.sent] == [False, False, True]


def test_429_becomes_retry_later_with_retry_after_and_a_partial_send_is_not_repeated(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)
    text = "a" * 4000 + "\n\n" + "b" * 100

    async def body(ch: TelegramChannel) -> list[Any]:
        results: list[Any] = []
        await ch.send(outgoing("calentando", message_id=9))
        api.rate_limit(1, retry_after=3)
        # First part goes out, the second gets 429 on the retry below.
        try:
            await ch.send(outgoing(text, message_id=10))
        except RetryLater as exc:
            results.append(exc.retry_after)
        api.rate_limit(1, retry_after=2)
        try:
            await ch.send(outgoing(text, message_id=10))
        except RetryLater as exc:
            results.append(exc.retry_after)
        results.append(await ch.send(outgoing(text, message_id=10)))
        return results

    results = run(channel, body)
    assert results[:2] == [3.0, 2.0]
    assert [m["text"][0] for m in api.sent] == ["c", "a", "b"]  # each part delivered once, in order
    assert results[2] == f"{api.sent[-1]['chat_id']}:{api.sent[-1]['message_id']}"


def test_server_errors_retry_and_refusals_are_permanent(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)
    api.blocked_chats.add("777")
    api.missing_chats.add("888")

    async def body(ch: TelegramChannel) -> list[str]:
        kinds = []
        api.server_error(1)
        for address in (str(tg.CHAT_ID), "777", "888"):
            try:
                await ch.send(outgoing("hola", address=address))
                kinds.append("sent")
            except RetryLater:
                kinds.append("retry")
            except PermanentFailure as exc:
                kinds.append(f"permanent:{exc.code}")
        return kinds

    assert run(channel, body) == ["retry", "permanent:403", "permanent:400"]
    assert api.sent == []


def test_unreachable_api_is_retry_later(tmp_path):
    from tests.fakes.server import free_port

    channel = make_channel(f"http://127.0.0.1:{free_port()}", tmp_path)

    async def body(ch: TelegramChannel) -> None:
        with pytest.raises(RetryLater):
            await ch.send(outgoing("hola"))

    run(channel, body)  # start() survives getMe failing: Telegram may be down at boot


# --- preparing updates ---------------------------------------------------------------------


def test_prepare_text_photo_document_and_callback(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)
    api.add_file("PHOTO-big", tg.JPEG_BYTES, file_path="photos/file_1.jpg")
    api.add_file("DOC-1", tg.PDF_BYTES, file_path="documents/file_2.pdf")

    async def body(ch: TelegramChannel) -> list[Any]:
        return [
            await ch.prepare(tg.message_update("hola", first_name="Ana")),
            await ch.prepare(tg.photo_update("PHOTO-big", size=len(tg.JPEG_BYTES), caption="me sale este error")),
            await ch.prepare(tg.document_update("DOC-1", size=len(tg.PDF_BYTES))),
            await ch.prepare(tg.callback_update("2", query_id="cbq-1")),
        ]

    text, photo, document, pressed = run(channel, body)
    assert (text.text, text.display_name, text.attachments) == ("hola", "Ana", ())
    assert photo.text == "me sale este error"
    assert [a.content_type for a in photo.attachments] == ["image/jpeg"]
    assert (tmp_path / "media" / photo.attachments[0].ref).read_bytes() == tg.JPEG_BYTES
    assert api.file_downloads[0] == "photos/file_1.jpg"  # the largest size, not a thumbnail
    assert [(a.content_type, a.name) for a in document.attachments] == [("application/pdf", "comprobante.pdf")]
    assert pressed.text == "2"
    assert [a["callback_query_id"] for a in api.answered] == ["cbq-1"]


def test_prepare_skips_files_too_big_or_of_a_refused_type_with_a_note(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)
    api.add_file("EXE", b"MZ\x90\x00 not a picture", file_path="documents/file_9.exe")

    async def body(ch: TelegramChannel) -> list[Any]:
        return [
            await ch.prepare(tg.document_update("HUGE", size=25 * 1024 * 1024, file_name="video.mp4")),
            await ch.prepare(tg.document_update("EXE", size=20, file_name="programa.exe", caption="mira")),
        ]

    huge, exe = run(channel, body)
    assert huge.attachments == () and "video.mp4" in huge.text
    assert exe.attachments == () and exe.text.startswith("mira\n") and "programa.exe" in exe.text
    assert "getFile" not in [m for m, p in api.calls if p.get("file_id") == "HUGE"]


def test_prepare_retries_later_when_the_download_fails(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)
    api.add_file("PHOTO-x", tg.PNG_BYTES)
    api.server_error(1, method="getFile")

    async def body(ch: TelegramChannel) -> Any:
        with pytest.raises(RetryLater):
            await ch.prepare(tg.photo_update("PHOTO-x", size=100))
        return await ch.prepare(tg.photo_update("PHOTO-x", size=100))

    assert [a.content_type for a in run(channel, body).attachments] == ["image/png"]


def test_a_failed_callback_answer_is_not_fatal(fake, tmp_path):
    api, server = fake
    channel = make_channel(server.url, tmp_path)
    api.server_error(1, method="answerCallbackQuery")
    prepared = run(channel, lambda ch: ch.prepare(tg.callback_update("1")))
    assert prepared.text == "1"


# --- secrets --------------------------------------------------------------------------------


def test_wrong_token_fails_start_without_showing_it_and_no_log_line_has_the_token(fake, tmp_path, caplog):
    api, server = fake
    caplog.set_level(logging.DEBUG)
    api.add_file("PHOTO-log", tg.PNG_BYTES)
    run(make_channel(server.url, tmp_path), lambda ch: ch.prepare(tg.photo_update("PHOTO-log", size=100)))

    wrong = "999999:WrongTokenWrongTokenWrongToken"
    channel = make_channel(server.url, tmp_path, token=wrong)
    with pytest.raises(RuntimeError) as info:
        asyncio.run(channel.start())
    assert wrong not in str(info.value) and info.value.__cause__ is None
    assert wrong not in repr(channel) and tg.TOKEN not in repr(channel)

    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log the URLs...
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for token in (tg.TOKEN, wrong):  # ...without the token, plain or percent-encoded
        assert token not in text and quote(token) not in text and token.split(":")[1] not in text
    assert "/file/bot***/" in text
