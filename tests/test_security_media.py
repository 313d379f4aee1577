"""Files students send: types read from the bytes and from inside containers, stored privately, served safely.

The attacks are real files (a ZIP carrying a program named ``.docx``, an MSI
installer, HTML behind an ID3 tag), stored through the same ``MediaStore``
the channels use, and fetched through the console over real HTTP.
"""
from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.media import DOCX, MediaRejected, MediaStore
from tests.e2e.helpers import Browser, add_staff, browser, build_app, running
from tests.fakes.twilio import PNG_1PX
from tests.security_support import MP3_FRAME, docx, id3, ole2, zip_file

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
ADMIN = "admin@itson.edu.mx"


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


def test_a_word_document_is_stored_with_its_exact_type(media: MediaStore) -> None:
    stored = media.save(docx(), name="solicitud.docx")
    assert stored.content_type == DOCX and stored.ref.endswith(".docx")


@pytest.mark.parametrize("label, data", [
    ("a zip with a program", zip_file({"evil.exe": b"MZ\x90\x00" + b"\x00" * 60})),
    ("a word package carrying a program", docx({"word/media/evil.exe": b"MZ\x90\x00"})),
    ("a word package carrying a script", docx({"setup.js": "WScript.Shell"})),
    ("a macro-enabled document", docx({"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"},
                                      main="application/vnd.ms-word.document.macroEnabled.main+xml")),
    ("a spreadsheet", zip_file({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})),
    ("a zip without the word parts", zip_file({"word/document.xml": "<w:document/>"})),
    ("a broken zip", b"PK\x03\x04" + b"\x00" * 200),
])
def test_zips_that_are_not_word_documents_are_refused(media: MediaStore, label: str, data: bytes) -> None:
    with pytest.raises(MediaRejected):
        media.save(data, name="solicitud.docx")
    assert not media.root.exists() or not any(media.root.iterdir()), label


def test_an_old_word_document_is_accepted_and_an_msi_installer_refused(media: MediaStore) -> None:
    word = ole2(["\x05SummaryInformation", "1Table", "Data", "\x05DocumentSummaryInformation", "WordDocument"])
    assert media.save(word, name="solicitud.doc").content_type == "application/msword"
    installer = ole2(["\x05SummaryInformation", "\u4840\u3b3f\u4577\u416c", "\u4840\u3f7f\u4164\u422f"])
    for data in (installer, ole2([]), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600,
                 ole2(["WordDocument", "Macros", "VBA"])):
        with pytest.raises(MediaRejected):
            media.save(data, name="solicitud.doc")


def test_audio_needs_a_real_frame_after_its_id3_tag(media: MediaStore) -> None:
    assert media.save(id3(MP3_FRAME), name="nota.mp3").content_type == "audio/mpeg"
    assert media.save(MP3_FRAME, name="nota.mp3").content_type == "audio/mpeg"
    for data in (id3(HTML), b"ID3" + HTML, b"\xff\xfb" + HTML, b"\xff\xf1" + HTML):
        with pytest.raises(MediaRejected):
            media.save(data, name="nota.mp3")


def test_stored_files_are_readable_only_by_the_service(media: MediaStore) -> None:
    stored = media.save(PNG_1PX, name="captura.png")
    assert stat.S_IMODE(stored.path.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(media.root.stat().st_mode) & 0o077 == 0
    assert [p.name for p in media.root.iterdir()] == [stored.ref]  # no temporary file left behind


@pytest.fixture
def app(tmp_path: Path, kb: Any) -> FastAPI:
    app = build_app(tmp_path, kb=kb)
    add_staff(app, ADMIN, "Ana López", role="admin")
    return app


@pytest.fixture
def server(app: FastAPI) -> Iterator[Any]:
    with running(app) as srv:
        yield srv


@pytest.fixture
def staff(server: Any) -> Iterator[Browser]:
    with browser(server) as b:
        assert b.login(ADMIN).status_code == 303
        yield b


@pytest.mark.parametrize("ref", ["a" * 256, "a" * 5000 + ".png", "0" * 32 + ".exe", "0" * 32 + ".png",
                                 "x.png", "%00.png"])
def test_unknown_or_absurd_media_names_are_a_404(staff: Browser, ref: str) -> None:
    assert staff.client.get(f"/console/media/{ref}").status_code == 404


def test_the_console_serves_only_images_and_pdf_inline(app: FastAPI, staff: Browser, server: Any) -> None:
    files = app.state.services.media
    cases = [(PNG_1PX, "image/png", "inline"), (id3(MP3_FRAME), "audio/mpeg", "attachment"),
             (docx(), DOCX, "attachment"), (b"%PDF-1.4\n%fake\n", "application/pdf", "inline")]
    for data, content_type, disposition in cases:
        stored = files.save(data, name="x")
        response = staff.client.get(f"/console/media/{stored.ref}")
        assert response.status_code == 200 and response.content == data
        assert response.headers["content-type"] == content_type
        assert response.headers["content-disposition"].startswith(disposition)
        assert response.headers["x-content-type-options"] == "nosniff"
    # A file stored before the checks were tightened is served as bytes to download, not as its old type.
    old = files.root / ("b" * 32 + ".mp3")
    old.write_bytes(id3(HTML))
    response = staff.client.get(f"/console/media/{old.name}")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment")
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.get(f"/console/media/{old.name}").status_code == 401
