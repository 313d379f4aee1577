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


NARROW = {"width": 375, "height": 740}


def test_wide_tables_scroll_inside_their_card_on_a_narrow_phone_and_say_so(tmp_path: Path, kb: Any,
                                                                          chromium: Any) -> None:
    """At 375 px the staff table (long names and e-mails, a column of actions) was cut at the card's
    edge with nothing saying there was more: phones hide scrollbars. It scrolls in its card, a line
    above it says so, and no page of the console scrolls sideways."""
    from tests.e2e.browser import LAPTOP

    SHOTS.mkdir(exist_ok=True)
    app = build_app(tmp_path, kb=kb)
    add_staff(app, "ana.lopez.garcia@itson.edu.mx", "Ana López García", role="admin")
    add_staff(app, "roberto.ruiz.sotomayor@itson.edu.mx", "Roberto Ruiz Sotomayor", role="agent")
    ticket = escalate(app)
    with running(app) as server:
        ctx = chromium.new_context(viewport=NARROW, locale="es-MX", is_mobile=True, has_touch=True)
        try:
            page = ctx.new_page()
            page.goto(f"{server.url}/console/login")
            page.fill("input[name=email]", "ana.lopez.garcia@itson.edu.mx")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/console/inbox")
            for path in ("inbox", f"tickets/{ticket}", "admin/staff", "admin/audit", "admin/canned", "reports"):
                page.goto(f"{server.url}/console/{path}")
                widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")
                assert max(widths) <= NARROW["width"], f"{path}: the page scrolls sideways ({widths})"

            page.goto(f"{server.url}/console/admin/staff")
            wrap = page.locator(".table-wrap")
            box = wrap.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"]
            assert wrap.evaluate("w => w.scrollWidth > w.clientWidth"), "the table is wider than its card"
            hint = page.locator(".scroll-hint")
            assert hint.is_visible() and "Desliza la tabla" in hint.inner_text()
            assert hint.bounding_box()["y"] < box["y"]  # type: ignore[index]  # read before the table
            page.screenshot(path=str(SHOTS / "console-staff-375.png"), full_page=True)
            # slid to its end, the last column (the actions) is on the screen
            wrap.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
            action = page.get_by_role("button", name="desactivar").last
            edge = action.bounding_box()
            assert edge is not None and 0 <= edge["x"] and edge["x"] + edge["width"] <= NARROW["width"]
            assert max(page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")) \
                <= NARROW["width"]
            page.screenshot(path=str(SHOTS / "console-staff-375-slid.png"), full_page=True)

            # a window wide enough: no hint
            page.set_viewport_size(LAPTOP)
            page.wait_for_function("() => document.querySelector('.scroll-hint').hidden")
        finally:
            ctx.close()
