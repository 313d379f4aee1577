"""The web chat embedded on another site with one ``<script>`` tag, on a phone, in a real browser.

The university's page is served from its own loopback origin (another port)
with only ``<script src=".../static/embed.js" async>``; OUR app (``create_app``,
workers on, web chat only) serves the script and the chat. At 390×844 the
open chat fills the screen: the close button must not sit on the chat's own
header ("Nueva", the title), and the chat must work inside the panel.
Screenshots go to ``tests/e2e/screenshots/``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from tests.fakes.server import serve
from tests.service_support import running_app, settings_for

from tests.e2e.browser import LAPTOP, PHONE, SHOTS, requires_chromium

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = requires_chromium


def university_site(bot_url: str) -> FastAPI:
    """A host page as the university would write it: its own content and the one tag."""
    site = FastAPI()

    @site.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(f"""<!doctype html><html lang="es"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Servicios escolares · ITSON</title></head>
<body><header><h1>Servicios escolares</h1><nav><a href="#">Inicio</a> · <a href="#">Trámites</a></nav></header>
<main><p>Información del Seguro Facultativo del IMSS para estudiantes.</p></main>
<script src="{bot_url}/static/embed.js" async></script></body></html>""")

    return site



def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def test_embedded_chat_on_a_phone_keeps_its_header_clear_and_works(tmp_path: Path, kb: Any, chromium: Any) -> None:
    SHOTS.mkdir(exist_ok=True)
    with running_app(settings_for(tmp_path), kb=kb) as (bot, _), serve(university_site(bot.url)) as site:
        ctx = chromium.new_context(viewport=PHONE, locale="es-MX", is_mobile=True, has_touch=True)
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(site.url + "/")
            opener = page.get_by_role("button", name="¿Dudas del Seguro Facultativo?")
            opener.wait_for()
            page.screenshot(path=str(SHOTS / "embed-closed-phone.png"))

            opener.click()
            close = page.get_by_role("button", name="Cerrar chat")
            close.wait_for()
            frame_el = page.locator("iframe[title^='Chat del Seguro Facultativo']")
            frame_el.wait_for()
            chat = page.frame_locator("iframe[title^='Chat del Seguro Facultativo']")
            chat.locator("#restart").wait_for()

            # the panel fills the phone's screen under the close bar
            box = frame_el.bounding_box()
            assert box is not None and box["width"] >= PHONE["width"] - 1 and box["y"] + box["height"] >= PHONE["height"] - 1
            closing = close.bounding_box()
            assert closing is not None and closing["height"] >= 44, "a touch target"
            for what in ("#restart", ".title h1", "#agent", ".avatar"):
                target = chat.locator(what).bounding_box()
                assert target is not None, what
                assert not overlap(closing, target), f"the close button covers the chat header's {what}"
                # what is there is what the user taps: the header's own element, not the close button
                tapped = page.evaluate("([x, y]) => document.elementFromPoint(x, y).tagName",
                                       [target["x"] + target["width"] / 2, target["y"] + target["height"] / 2])
                assert tapped == "IFRAME", what
            page.screenshot(path=str(SHOTS / "embed-open-phone.png"))

            # the chat works in the panel: Empezar → the menu as buttons → an answer
            chat.get_by_role("button", name="Empezar").click()
            chat.locator(".msg.bot .option", has_text="Requisitos").wait_for(timeout=15_000)
            chat.locator(".msg.bot .option", has_text="Requisitos").click()
            chat.locator(".msg.student", has_text="Requisitos").wait_for()
            answer = kb.topics["requisitos"].answers[0].strip().splitlines()[0].replace("*", "")[:30]  # *bold* is shown bold
            chat.locator(".msg.bot", has_text=answer).wait_for(timeout=15_000)
            chat.locator("#text").fill("gracias")
            chat.locator("#send").click()
            chat.locator(".msg.student", has_text="gracias").wait_for()
            assert not overlap(close.bounding_box(), chat.locator("#restart").bounding_box())
            page.screenshot(path=str(SHOTS / "embed-chat-phone.png"))

            close.click()
            assert not frame_el.is_visible()
            opener.wait_for()
            page.screenshot(path=str(SHOTS / "embed-reclosed-phone.png"))

            # on a laptop the same tag gives a floating panel next to the button, which overlaps nothing in it
            page.set_viewport_size(LAPTOP)
            opener.click()
            chat.locator(".msg.student", has_text="gracias").wait_for()
            panel, button = frame_el.bounding_box(), close.bounding_box()
            assert panel is not None and button is not None and panel["width"] <= 400
            assert not overlap(panel, button)
            page.screenshot(path=str(SHOTS / "embed-open-laptop.png"))
            assert errors == []
        finally:
            ctx.close()
