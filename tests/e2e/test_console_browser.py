"""The console in a real browser: Playwright driving Debian's Chromium against the app on loopback.

A student escalates on WhatsApp (through the desk core), a staff member
logs in, sees the ticket appear without reloading, takes it over, answers,
sees the student's next message live, resolves, and the bot answers the
student again. Screenshots at laptop and phone sizes go to
``tests/e2e/screenshots/`` (gitignored) to be looked at.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.models import Author, Conversation, Holder, Message, MessageStatus
from tests.e2e.helpers import PASSWORD, add_staff, build_app, escalate, running, student_says

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent / "screenshots"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def rows(app: Any, model: Any, **where: Any) -> list[Any]:
    from sqlmodel import select

    with app.state.services.session() as session:
        stmt = select(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return list(session.exec(stmt.order_by(model.id)))


def login(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/console/inbox")
    assert "/console/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/inbox")


def test_staff_take_over_answer_resolve_in_a_browser(tmp_path: Path, kb: Any, chromium: Any) -> None:
    SHOTS.mkdir(exist_ok=True)
    app = build_app(tmp_path, kb=kb)
    add_staff(app, "ana@itson.edu.mx", "Ana López", role="admin")
    add_staff(app, "beto@itson.edu.mx", "Beto Ruiz", role="agent")
    with running(app) as server:
        base = server.url
        ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login(page, base, "ana@itson.edu.mx")
        assert page.locator(".ticket-row").count() == 0

        # a ticket appears live, with the unread count in the title
        ticket = escalate(app, channel="whatsapp")
        row = page.locator(f'.ticket-row[data-ticket="{ticket}"]')
        row.wait_for(timeout=10_000)
        page.wait_for_function("document.title.startsWith('(1)')", timeout=10_000)
        page.screenshot(path=str(SHOTS / "inbox-laptop.png"), full_page=True)

        row.locator("a").click()
        page.wait_for_url(f"**/console/tickets/{ticket}")
        assert "12345678903" not in page.content()
        page.screenshot(path=str(SHOTS / "ticket-before-laptop.png"), full_page=True)
        page.click("#take")
        page.wait_for_selector("#reply-text")
        assert rows(app, Conversation)[0].holder == Holder.STAFF

        page.fill("#reply-text", "Hola, soy Ana. Ya revisé tu solicitud y la estamos corrigiendo.")
        page.click("#reply-form button[type=submit]")
        page.wait_for_selector(".alert.ok")
        staff = rows(app, Message, author=Author.STAFF)
        assert len(staff) == 1 and staff[0].status == MessageStatus.PENDING and staff[0].channel == "whatsapp"

        # the student's next message shows up without a reload
        student_says(app, "Muchas gracias, quedo atento")
        page.locator(".msg.in .text", has_text="quedo atento").wait_for(timeout=10_000)
        page.screenshot(path=str(SHOTS / "ticket-laptop.png"), full_page=True)

        # a second staff member cannot answer: no reply box, and the server refuses a forged post
        beto_ctx = chromium.new_context(viewport=PHONE, locale="es-MX", is_mobile=True, has_touch=True)
        beto = beto_ctx.new_page()
        login(beto, base, "beto@itson.edu.mx")
        beto.screenshot(path=str(SHOTS / "inbox-phone.png"), full_page=True)
        beto.goto(f"{base}/console/tickets/{ticket}")
        assert beto.locator("#reply-text").count() == 0
        assert "Ana López" in beto.locator(".holder").inner_text()
        beto.screenshot(path=str(SHOTS / "ticket-phone.png"), full_page=True)
        csrf = beto.locator("body").get_attribute("data-csrf")
        status = beto.evaluate(
            """([url, csrf]) => fetch(url, {method: 'POST', headers: {'X-CSRF-Token': csrf},
                 body: new URLSearchParams({text: 'yo contesto'})}).then(r => r.status)""",
            [f"{base}/console/tickets/{ticket}/reply", csrf])
        assert status == 403
        assert len(rows(app, Message, author=Author.STAFF)) == 1

        # resolve: the bot answers the student again
        page.once("dialog", lambda d: d.accept())
        page.click("button:has-text('Resolver')")
        page.wait_for_selector("text=Reporte resuelto")
        assert rows(app, Conversation)[0].holder == Holder.BOT
        handled = student_says(app, "hola")
        assert handled.replies

        # admin pages render at both sizes
        page.goto(f"{base}/console/reports")
        page.screenshot(path=str(SHOTS / "reports-laptop.png"), full_page=True)
        phone_admin = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
        login(phone_admin, base, "ana@itson.edu.mx")
        phone_admin.goto(f"{base}/console/reports")
        phone_admin.screenshot(path=str(SHOTS / "reports-phone.png"), full_page=True)
        phone_admin.goto(f"{base}/console/login")
        phone_admin.screenshot(path=str(SHOTS / "login-phone.png"))
        assert not [e for e in errors if "Content Security Policy" in e], errors
        ctx.close()
        beto_ctx.close()
