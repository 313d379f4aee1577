"""The app with every channel on, against the fake Twilio and Telegram, for the attack tests.

:class:`Exposed` serves ``create_app`` on loopback exactly as the internet
sees it (real HTTP, so chunked bodies and odd headers arrive as a client
sends them) and keeps the app, so a test can check that no request reached
the catch-all error handler (``app.state.unhandled_errors``).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.web.app import create_app
from tests.fakes import telegram as tg
from tests.fakes.server import ServerThread
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, DESK_NUMBERS, PUBLIC_BASE_URL, FakeTwilio, sign
from tests.service_support import settings_for

TELEGRAM_SECRET = "tg-webhook-secret-9d8e7f"


@dataclass
class Exposed:
    app: Any
    url: str
    twilio: FakeTwilio
    telegram: tg.FakeTelegram
    client: httpx.Client

    @property
    def services(self) -> Any:
        return self.app.state.services

    @property
    def unhandled(self) -> int:
        return int(self.app.state.unhandled_errors)

    def signed_form(self, path: str, body: bytes | str, params: Any) -> httpx.Response:
        """POST a raw form body with the signature Twilio would compute over ``params``."""
        signature = sign(PUBLIC_BASE_URL + path, params)
        return self.client.post(path, content=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})

    def telegram_update(self, update: Any, *, raw: bytes | None = None, secret: str = TELEGRAM_SECRET,
                        content_type: str = "application/json") -> httpx.Response:
        body = raw if raw is not None else json.dumps(update).encode()
        return self.client.post("/webhooks/telegram", content=body, headers={
            "Content-Type": content_type, "X-Telegram-Bot-Api-Secret-Token": secret})


@contextmanager
def exposed_app(tmp_path: Path, *, workers: bool = True, **overrides: Any) -> Iterator[Exposed]:
    """The whole service (web chat, WhatsApp, Telegram, console) on loopback, with fakes behind it."""
    twilio = FakeTwilio()
    telegram = tg.FakeTelegram()
    twilio_server = ServerThread(twilio.app).start()
    telegram_server = ServerThread(telegram.app).start()
    twilio.url = twilio_server.url
    settings = settings_for(
        tmp_path,
        public_base_url=PUBLIC_BASE_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_numbers_raw=",".join(DESK_NUMBERS),
        twilio_api_base_url=twilio_server.url,
        telegram_bot_token=tg.TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_base_url=telegram_server.url,
        **overrides,
    )
    app = create_app(settings, workers=workers)
    server = ServerThread(app).start()
    client = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield Exposed(app=app, url=server.url, twilio=twilio, telegram=telegram, client=client)
    finally:
        client.close()
        server.stop()
        twilio_server.stop()
        telegram_server.stop()


# --- files as an attacker (or a student's phone) makes them, for the media checks -----------------

import io  # noqa: E402
import struct  # noqa: E402
import zipfile  # noqa: E402

WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
#: An MPEG-1 layer III frame header (128 kbit/s, 44.1 kHz), as the first frame of an MP3.
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413


def zip_file(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def docx(extra: dict[str, bytes | str] | None = None, *, main: str = WORD_MAIN) -> bytes:
    """A minimal Word OOXML package (what Word writes, without the styles), plus ``extra`` members."""
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             'content-types"><Default Extension="xml" ContentType="application/xml"/>'
             f'<Override PartName="/word/document.xml" ContentType="{main}"/></Types>')
    return zip_file({"[Content_Types].xml": types, "_rels/.rels": "<Relationships/>",
                     "word/document.xml": "<w:document><w:body><w:p>Error</w:p></w:body></w:document>",
                     **(extra or {})})


def ole2(names: list[str]) -> bytes:
    """A compound file (OLE2, what Word 97 and MSI installers are) whose directory holds these streams.

    512-byte sectors: sector 0 is the FAT, the directory follows in as many chained sectors as it
    needs (four entries each), so a name past the first sector is found only by following the FAT.
    """
    entries = [("Root Entry", 5)] + [(name, 2) for name in names]
    dir_sectors = (len(entries) + 3) // 4
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 44, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    struct.pack_into("<109I", header, 76, 0, *([0xFFFFFFFF] * 108))
    fat = [0xFFFFFFFD] + [n + 2 for n in range(dir_sectors - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (128 - len(fat))
    directory = bytearray()
    for name, kind in entries:
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        entry[:len(encoded)] = encoded
        struct.pack_into("<HBB III", entry, 64, len(encoded), kind, 1, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        struct.pack_into("<II", entry, 116, 0xFFFFFFFE, 0)
        directory += entry
    directory += b"\x00" * (dir_sectors * 512 - len(directory))
    return bytes(header) + struct.pack("<128I", *fat) + bytes(directory)


def id3(body: bytes, tag: bytes = b"TIT2\x00\x00\x00\x06\x00\x00\x03Error") -> bytes:
    """An ID3v2.4 tag (syncsafe size) followed by ``body``."""
    size = len(tag)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + tag + body
