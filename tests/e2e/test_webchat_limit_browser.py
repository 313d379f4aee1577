"""The web chat page over its per-address limit, in a real browser: the student reads why, in Spanish.

OUR app (``create_app``, workers on, web chat only, ``WEBCHAT_RATE_LIMIT=2``)
on loopback; Debian's Chromium opens ``/chat`` and sends three messages.
The third gets 429: the page shows the server's message and marks that
bubble as not sent, instead of retrying it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.clientlimit import MESSAGE
from tests.service_support import running_app, settings_for

from tests.e2e.browser import requires_chromium

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = requires_chromium



def test_the_page_says_why_a_message_was_refused(tmp_path: Path, kb: Any, chromium: Any) -> None:
    with running_app(settings_for(tmp_path, webchat_rate_limit=2), kb=kb) as (bot, _):
        ctx = chromium.new_context(locale="es-MX")
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(bot.url + "/chat")
            for text in ("hola", "requisitos"):
                page.locator("#text").fill(text)
                page.locator("#send").click()
                page.locator(".msg.student", has_text=text).wait_for()
                page.wait_for_function("() => !document.querySelector('.msg.student.pending')", timeout=15_000)
            page.locator("#text").fill("vigencia")
            page.locator("#send").click()
            page.locator(".notice", has_text="Espera un minuto").wait_for(timeout=10_000)
            assert page.locator(".notice").last.inner_text().strip() == MESSAGE
            page.locator(".msg.student.failed", has_text="vigencia").wait_for()
            assert errors == []
        finally:
            ctx.close()
