"""The console on a phone (390×844), in a real browser: a compact header, legible charts, bold text, no 404.

OUR app (``create_app``, a SQLite file) on loopback with an escalated
student; an admin logs in with Debian's Chromium at phone size and goes
through the inbox, a ticket and the reports. Screenshots go to
``tests/e2e/screenshots/console-*-phone.png`` to be looked at.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import PASSWORD, add_staff, build_app, escalate, running

from tests.e2e.browser import PHONE, SHOTS, requires_chromium

playwright_api = pytest.importorskip("playwright.sync_api")
#: The sticky header may take this much of a phone's height, at most (it was ~200 px).
MAX_HEADER = 90
#: The smallest text a chart may show on a phone, in CSS pixels (it was ~4 px).
MIN_CHART_TEXT = 11

pytestmark = requires_chromium



def check_header(page: Any, where: str) -> None:
    header = page.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] <= MAX_HEADER, f"{where}: header {header}"
    top = page.locator("header.topbar")
    items = [top.get_by_role("link", name=n) for n in ("Bandeja", "Reportes", "Respuestas", "Personal")]
    for item in [*items, top.get_by_role("button", name="Salir")]:
        box = item.bounding_box()
        assert box is not None and header["y"] <= box["y"] and box["y"] + box["height"] <= header["y"] + header["height"], \
            f"{where}: {item} outside the header"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{where}: the page scrolls sideways"


def test_console_on_a_phone(tmp_path: Path, kb: Any, chromium: Any) -> None:
    SHOTS.mkdir(exist_ok=True)
    app = build_app(tmp_path, kb=kb)
    add_staff(app, "ana@itson.edu.mx", "Ana López", role="admin")
    ticket = escalate(app)
    with running(app) as server:
        ctx = chromium.new_context(viewport=PHONE, locale="es-MX", is_mobile=True, has_touch=True)
        try:
            page = ctx.new_page()
            missing: list[str] = []
            page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/console/login")
            page.fill("input[name=email]", "ana@itson.edu.mx")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/console/inbox")

            # the inbox: the header is one compact block, the ticket right under it
            page.locator(f'.ticket-row[data-ticket="{ticket}"]').wait_for()
            check_header(page, "inbox")
            page.screenshot(path=str(SHOTS / "console-inbox-phone.png"), full_page=True)

            # a ticket: the bot's *sí* is bold, as on WhatsApp and in the web chat
            page.goto(f"{server.url}/console/tickets/{ticket}")
            bold = page.locator(".msg.author-bot .text strong", has_text="sí")
            assert bold.count() >= 1
            assert "*sí*" not in page.locator("#messages").inner_text()
            check_header(page, "ticket")
            page.screenshot(path=str(SHOTS / "console-ticket-phone.png"), full_page=True)

            # the reports: chart text as large as the page's small print; long charts scroll in their card
            page.goto(f"{server.url}/console/reports")
            check_header(page, "reports")
            sizes = page.evaluate("""() => [...document.querySelectorAll('svg.chart text')]
                .map(t => t.getBoundingClientRect().height).filter(h => h > 0)""")
            assert sizes and min(sizes) >= MIN_CHART_TEXT, f"chart text {min(sizes):.1f} px high"
            wrap = page.locator(".chart-wrap", has=page.locator("svg.bars"))
            assert wrap.evaluate("w => w.scrollWidth > w.clientWidth"), "30 days do not fit: the chart scrolls"
            wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")  # the latest days, where the student is
            for chart in page.locator("svg.hbars").all():
                box = chart.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
            page.screenshot(path=str(SHOTS / "console-reports-phone.png"), full_page=True)

            assert missing == [], f"404s: {missing}"
            assert errors == []
        finally:
            ctx.close()
