"""Issue 4's "Done when", in a real browser through the real service.

Playwright drives Debian's Chromium against OUR app (``create_app`` with real
WhatsApp settings, workers on, a SQLite file) served on loopback, next to a
fake Twilio (``tests/fakes/twilio.py``). The student only ever talks through
the signed WhatsApp webhook, as Twilio posts it; what reaches the student is
read back from the fake Twilio.

A staff member logs in, sees a ticket appear live (it is opened after the page
is loaded), takes it over, answers; the fake Twilio receives the answer; the
student's next message appears on the open ticket page without a reload; the
staff member resolves and the bot answers the student again. A second staff
member cannot answer a chat someone else holds, and a logged-out request to
any console URL gets the login page or 401, never data. Screenshots at laptop
and phone sizes go to ``tests/e2e/screenshots/`` (gitignored) to be looked at.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.models import Author, Conversation, Holder, Message, Ticket
from tests.conftest import ESCALATION_TURNS, VALID_CURP, VALID_NSS, VALID_STUDENT_ID
from tests.e2e.helpers import PASSWORD, all_routes
from tests.e2e.service import STUDENT, LiveDesk, wait_until, whatsapp_desk
from tests.fakes.twilio import DESK_NUMBERS

from tests.e2e.browser import LAPTOP, PHONE, SHOTS, requires_chromium

playwright_api = pytest.importorskip("playwright.sync_api")
#: What a user waits for at most: the console polls every 3 s, the outbox twice a second.
LIVE = 15_000

pytestmark = requires_chromium



@pytest.fixture
def desk(tmp_path: Path, kb: Any) -> Iterator[LiveDesk]:
    with whatsapp_desk(tmp_path, kb) as running:
        yield running


def login(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/console/inbox")
    assert "/console/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/inbox")


def escalate_on_whatsapp(desk: LiveDesk) -> Ticket:
    """The student asks for a person through signed webhooks until the bot opens a ticket."""
    for text in ESCALATION_TURNS:
        replies = desk.converse(text)
        assert replies, f"the bot did not answer {text!r}"
        tickets = desk.tickets()
        if tickets:
            [ticket] = tickets
            return ticket
    raise AssertionError("the escalation opened no ticket")


def wait_for_sent(desk: LiveDesk, *, after: int, containing: str = "", timeout: float = 20.0) -> Any:
    """The first message to the student that the fake Twilio received after the ``after`` first ones."""
    def found() -> Any:
        return next((m for m in desk.fake.messages(STUDENT)[after:] if containing in (m.body or "")), None)

    return wait_until(found, timeout=timeout, what=f"a message to the student containing {containing!r}")


def console_urls(desk: LiveDesk, ticket_id: int) -> list[tuple[str, str]]:
    """(method, path) for every console route the app has, path parameters filled in with real values."""
    values = {"ticket_id": str(ticket_id), "ref": "x.png", "name": "console.css"}
    actions = ["take", "reply", "note", "resolve", "handback", "reopen", "reveal", "reason", "correct"]
    urls: list[tuple[str, str]] = []
    for route in all_routes(desk.app.routes):
        path = getattr(route, "path", "")
        if not path.startswith("/console") or path.startswith("/console/static") or path == "/console/login":
            continue
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method == "HEAD":
                continue
            if "{action}" in path:
                urls += [(method, path.replace("{action}", a).format(**values)) for a in actions]
            else:
                urls.append((method, re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), path)))
    return urls


def assert_no_data(text: str, where: str) -> None:
    for secret in ("Ana López", VALID_STUDENT_ID, VALID_NSS, VALID_CURP, "intercambio", "quedo atento",
                   "Reporte #", "ticket-row"):
        assert secret not in text, f"{where} leaked {secret!r} while logged out"


def test_whatsapp_student_escalates_staff_takes_over_answers_and_resolves(desk: LiveDesk, chromium: Any) -> None:
    SHOTS.mkdir(exist_ok=True)
    base = desk.url
    db_url = desk.settings.database_url
    from bot.cli_staff import add_staff as cli_add_staff

    cli_add_staff(database_url=db_url, email="ana@itson.edu.mx", name="Ana López", role="admin", password=PASSWORD)
    cli_add_staff(database_url=db_url, email="beto@itson.edu.mx", name="Beto Ruiz", role="agent", password=PASSWORD)

    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    beto_ctx = chromium.new_context(viewport=PHONE, locale="es-MX", is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))

        # -- Ana opens the inbox before anything happened --------------------------------------
        login(page, base, "ana@itson.edu.mx")
        page.locator("#inbox-rows .empty").wait_for()
        assert page.locator(".ticket-row").count() == 0
        page.evaluate("window.__sameDocument = true")

        # -- the student escalates on WhatsApp (signed webhooks) -----------------------------
        ticket = escalate_on_whatsapp(desk)
        assert ticket.reason == "duda_general"
        [conversation] = desk.rows(Conversation)
        assert conversation.channel == "whatsapp" and conversation.address == f"whatsapp:{STUDENT}"
        assert conversation.holder == Holder.BOT

        # it appears in the open inbox, with the unread count in the title, without a reload
        row = page.locator(f'.ticket-row[data-ticket="{ticket.id}"]')
        row.wait_for(timeout=LIVE)
        page.wait_for_function("document.title.startsWith('(1)')", timeout=LIVE)
        assert page.evaluate("window.__sameDocument === true"), "the inbox reloaded instead of updating live"
        assert "WhatsApp" in row.inner_text()
        page.screenshot(path=str(SHOTS / "inbox-laptop.png"), full_page=True)

        # -- Ana opens it and takes it over -------------------------------------------------------
        row.locator("a").click()
        page.wait_for_url(f"**/console/tickets/{ticket.id}")
        page.locator(".msg.in .text", has_text="intercambio").wait_for()
        assert VALID_NSS not in page.content() and VALID_CURP not in page.content(), "NSS/CURP are masked"
        page.screenshot(path=str(SHOTS / "ticket-before-laptop.png"), full_page=True)

        before = len(desk.fake.messages(STUDENT))
        page.click("#take")
        page.locator("#reply-text").wait_for()
        page.locator(".alert.ok").wait_for()
        assert desk.rows(Conversation)[0].holder == Holder.STAFF
        notice = wait_for_sent(desk, after=before, containing="soy Ana")
        assert notice.to == f"whatsapp:{STUDENT}" and notice.from_ == f"whatsapp:{DESK_NUMBERS[0]}"

        # -- Ana answers; the fake Twilio receives it for the student, from the desk number ----------
        answer = "Hola, soy Ana. Sí puedes tramitarlo estando de intercambio; te explico los pasos."
        before = len(desk.fake.messages(STUDENT))
        page.fill("#reply-text", answer)
        page.click("#reply-form button[type=submit]")
        page.locator(".alert.ok", has_text="Respuesta").wait_for()
        sent = wait_for_sent(desk, after=before, containing=answer)
        assert sent.to == f"whatsapp:{STUDENT}" and sent.from_ == f"whatsapp:{DESK_NUMBERS[0]}"
        assert sent.body == answer and sent.content_sid is None, "inside the 24 h window: free-form text"
        stored = desk.message_for(sent)
        assert stored.author == Author.STAFF and stored.channel == "whatsapp"
        # Twilio reports it delivered; the page shows it live
        assert desk.fake.status_callback(sent, "delivered", app_url=base, public_base_url=base).status_code == 200
        page.evaluate("window.__sameDocument = true")
        page.locator(f'.msg.out[data-id="{stored.id}"] .delivery.d-delivered').wait_for(timeout=LIVE)

        # -- the student's next message shows up live; the bot stays silent ------------------------
        before = len(desk.fake.messages(STUDENT))
        desk.converse("Muchas gracias, quedo atento a los pasos")
        page.locator(".msg.in .text", has_text="quedo atento").wait_for(timeout=LIVE)
        assert page.evaluate("window.__sameDocument === true"), "the ticket page reloaded instead of updating live"
        # (outside office hours the student is told, once, when a person will answer: bot.desk)
        assert all(m.body.startswith("🕗 Ahorita estamos fuera de horario") for m in desk.fake.messages(STUDENT)[before:]), \
            "the bot answered a chat a person holds"
        page.screenshot(path=str(SHOTS / "ticket-laptop.png"), full_page=True)
        page.set_viewport_size(PHONE)  # the holder's page on a phone: the reply box must fit
        page.locator("#reply-text").scroll_into_view_if_needed()
        assert page.locator("#reply-text").bounding_box()["width"] <= PHONE["width"]
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / "ticket-holder-phone.png"), full_page=True)
        page.set_viewport_size(LAPTOP)

        # -- Beto (on a phone) cannot answer the chat Ana holds ----------------------------------------
        beto = beto_ctx.new_page()
        login(beto, base, "beto@itson.edu.mx")
        beto.locator(f'.ticket-row[data-ticket="{ticket.id}"]').wait_for()
        beto.screenshot(path=str(SHOTS / "inbox-phone.png"), full_page=True)
        beto.goto(f"{base}/console/tickets/{ticket.id}")
        beto.locator(".holder").wait_for()
        assert "Ana López" in beto.locator(".holder").inner_text()
        assert beto.locator("#reply-text").count() == 0 and beto.locator("#reply-form").count() == 0
        beto.screenshot(path=str(SHOTS / "ticket-phone.png"), full_page=True)
        csrf = beto.locator("body").get_attribute("data-csrf")
        assert csrf
        forced = beto.evaluate(
            """async ([url, csrf]) => {
                 const viaHeader = await fetch(url, {method: 'POST', headers: {'X-CSRF-Token': csrf},
                                                     body: new URLSearchParams({text: 'yo contesto'})});
                 const viaForm = await fetch(url, {method: 'POST',
                                                   body: new URLSearchParams({csrf: csrf, text: 'yo contesto'})});
                 return [viaHeader.status, viaForm.status];
               }""",
            [f"{base}/console/tickets/{ticket.id}/reply", csrf])
        assert forced == [403, 403]
        desk.settle()
        assert not [m for m in desk.fake.messages(STUDENT) if "yo contesto" in (m.body or "")]
        assert [m.text for m in desk.rows(Message, author=Author.STAFF)] == [answer]  # Ana's answer only
        assert desk.rows(Conversation)[0].holder == Holder.STAFF

        # -- Ana resolves; the student is told, and the bot answers again -------------------------------
        before = len(desk.fake.messages(STUDENT))
        page.once("dialog", lambda d: d.accept())
        page.click("button:has-text('Resolver')")
        page.locator(".alert.ok", has_text="Reporte resuelto").wait_for()
        wait_for_sent(desk, after=before, containing="quedó resuelto")
        assert desk.rows(Conversation)[0].holder == Holder.BOT
        assert desk.tickets()[0].status == "resolved"

        replies = desk.converse("hola, otra pregunta: ¿cuánto cuesta el seguro?")
        assert replies, "the bot did not answer after the chat was resolved"
        for reply in replies:
            assert reply.to == f"whatsapp:{STUDENT}" and reply.from_ == f"whatsapp:{DESK_NUMBERS[0]}"
            assert desk.message_for(reply).author == Author.BOT

        # -- admin pages at both sizes ------------------------------------------------------------------
        page.goto(f"{base}/console/reports")
        page.screenshot(path=str(SHOTS / "reports-laptop.png"), full_page=True)
        phone_admin = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        try:
            admin_page = phone_admin.new_page()
            login(admin_page, base, "ana@itson.edu.mx")
            admin_page.goto(f"{base}/console/reports")
            admin_page.screenshot(path=str(SHOTS / "reports-phone.png"), full_page=True)
        finally:
            phone_admin.close()

        # -- logging out ends the session --------------------------------------------------------------------
        page.goto(f"{base}/console/inbox")
        page.click("form.logout button[type=submit]")
        page.wait_for_url("**/console/login**")
        page.screenshot(path=str(SHOTS / "login-laptop.png"))
        page.goto(f"{base}/console/tickets/{ticket.id}")
        assert "/console/login" in page.url
        assert page.evaluate(f"fetch('{base}/console/api/tickets/{ticket.id}').then(r => r.status)") == 401
        assert not [e for e in errors if "Content Security Policy" in e or e.startswith("pageerror")], errors

        # -- nothing of the console without a login ------------------------------------------------------------
        assert_logged_out_gets_nothing(desk, chromium, ticket.id)
    finally:
        ctx.close()
        beto_ctx.close()


def assert_logged_out_gets_nothing(desk: LiveDesk, chromium: Any, ticket_id: int) -> None:
    urls = console_urls(desk, ticket_id)
    paths = {p for _, p in urls}
    assert {f"/console/tickets/{ticket_id}", f"/console/api/tickets/{ticket_id}", "/console/inbox",
            "/console/api/inbox", "/console/reports", "/console/reports/tickets.csv",
            f"/console/tickets/{ticket_id}/reply"} <= paths, paths
    with httpx.Client(base_url=desk.url, follow_redirects=False, timeout=10) as anon:
        for method, path in urls:
            response = anon.request(method, path, data={"text": "hola", "csrf": "x"} if method == "POST" else None)
            where = f"{method} {path}"
            if response.status_code in (302, 303, 307):
                assert response.headers["location"].startswith("/console/login"), where
                landing = anon.get(response.headers["location"])
                assert landing.status_code == 200 and 'name="password"' in landing.text, where
            else:
                assert response.status_code == 401, (where, response.status_code)
            assert_no_data(response.text, where)
    # and in a browser with no session: every page ends on the login form
    anon_ctx = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = anon_ctx.new_page()
        for method, path in urls:
            if method != "GET":
                continue
            response = page.goto(desk.url + path)
            body = page.content()
            assert "/console/login" in page.url or (response is not None and response.status == 401), path
            assert_no_data(body, f"browser GET {path}")
            if "/api/" not in path and "." not in path.rsplit("/", 1)[-1]:
                assert page.locator("input[name=password]").count() == 1, path
        page.screenshot(path=str(SHOTS / "login-phone.png"))
    finally:
        anon_ctx.close()


def ana_holds_the_ticket(desk: LiveDesk, ctx: Any, ticket_id: int) -> Any:
    """Ana (an admin account made here) logged in, on the ticket's page, holding its chat."""
    from bot.cli_staff import add_staff as cli_add_staff

    cli_add_staff(database_url=desk.settings.database_url, email="ana@itson.edu.mx", name="Ana López",
                  role="admin", password=PASSWORD)
    page = ctx.new_page()
    login(page, desk.url, "ana@itson.edu.mx")
    page.goto(f"{desk.url}/console/tickets/{ticket_id}")
    page.click("#take")
    page.locator("#reply-text").wait_for()
    return page


def test_resolving_shows_its_confirmation_when_a_live_update_sees_the_change_first(desk: LiveDesk,
                                                                                    chromium: Any) -> None:
    """The server has resolved the ticket, but its answer reaches the browser only after a poll has
    seen the change (a loaded server): the page must not reload over the answer, or Ana is never told
    that the report was resolved."""
    import time

    ticket = escalate_on_whatsapp(desk)
    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    try:
        page = ana_holds_the_ticket(desk, ctx, ticket.id)

        def slow_answer(route: Any) -> None:
            answer = route.fetch()  # the server resolves the ticket now
            time.sleep(4.5)  # longer than a poll (3 s): the page's poll sees it resolved first
            route.fulfill(response=answer)

        page.route("**/resolve", slow_answer)
        page.once("dialog", lambda d: d.accept())
        page.click("button:has-text('Resolver')")
        page.locator(".alert.ok", has_text="Reporte resuelto").wait_for(timeout=LIVE)
        assert desk.tickets()[0].status == "resolved"
    finally:
        ctx.close()


def test_logged_out_under_a_half_written_reply_comes_back_to_the_ticket_with_the_draft(desk: LiveDesk,
                                                                                      chromium: Any) -> None:
    """The session ends while Ana types (logged out elsewhere, or idle): the poll's 401 takes her to
    the login, and logging in again brings her back to the ticket with what she had written."""
    ticket = escalate_on_whatsapp(desk)
    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    try:
        page = ana_holds_the_ticket(desk, ctx, ticket.id)
        page.fill("#reply-text", "Hola, ya revisé tu caso y")
        with httpx.Client(base_url=desk.url) as other:  # the same session, ended from another tab
            cookie = {c["name"]: c["value"] for c in ctx.cookies()}["seguro_console"]
            csrf = page.locator("body").get_attribute("data-csrf")
            other.post("/console/logout", data={"csrf": csrf}, headers={"Cookie": f"seguro_console={cookie}"})
        page.wait_for_url(re.compile(r".*/console/login\?ended=1&next="), timeout=LIVE)
        assert page.get_by_text("Tu sesión terminó").is_visible()  # why the login, and the draft is kept
        page.fill("input[name=email]", "ana@itson.edu.mx")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{desk.url}/console/tickets/{ticket.id}", timeout=LIVE)
        assert page.input_value("#reply-text") == "Hola, ya revisé tu caso y"
    finally:
        ctx.close()


def test_the_students_data_stay_readable_beside_a_long_flag(desk: LiveDesk, chromium: Any) -> None:
    """A CURP kept as unverified added a row whose label took the whole card: every value was
    squeezed into a column one character wide (staff could not read the very CURP to check)."""
    from bot.models import Ticket

    ticket = escalate_on_whatsapp(desk)
    with desk.services.session() as session:
        row = session.get(Ticket, ticket.id)
        row.data = {**(row.data or {}), "curp_unverified": "sí", "nss_unverified": "sí"}
        session.add(row)
        session.commit()
    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    try:
        page = ana_holds_the_ticket(desk, ctx, ticket.id)
        widths = page.eval_on_selector_all(".data dd", "els => els.map(e => e.getBoundingClientRect().width)")
        card = page.eval_on_selector(".data", "e => e.getBoundingClientRect().width")
        assert widths and min(widths) >= card * 0.5, (widths, card)
        assert page.get_by_text("su último carácter no corresponde; la confirmó dos veces").is_visible()
    finally:
        ctx.close()


def test_a_canned_response_goes_in_at_the_cursor_set_apart_from_the_words_around_it(desk: LiveDesk,
                                                                                     chromium: Any) -> None:
    from bot.staff_models import CannedResponse

    with desk.services.session() as session:
        session.add(CannedResponse(title="Pedir captura", body="¿Me puedes mandar una captura?"))
        session.commit()
    ticket = escalate_on_whatsapp(desk)
    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    try:
        page = ana_holds_the_ticket(desk, ctx, ticket.id)
        chip = page.locator("[data-insert]").first
        canned = chip.get_attribute("data-insert")
        assert canned
        page.fill("#reply-text", "Saludos, Ana.")
        page.eval_on_selector("#reply-text", "e => { e.focus(); e.setSelectionRange(0, 0); }")
        chip.click()
        assert page.input_value("#reply-text") == f"{canned} Saludos, Ana."  # at the start, not the end
        page.fill("#reply-text", "Hola María.")
        page.eval_on_selector("#reply-text", "e => { e.focus(); e.setSelectionRange(e.value.length, e.value.length); }")
        chip.click()
        assert page.input_value("#reply-text") == f"Hola María. {canned}"  # not glued to the last word
    finally:
        ctx.close()


def test_typing_a_reply_keeps_the_hold_with_one_ping_every_30_seconds_at_most(desk: LiveDesk, chromium: Any) -> None:
    """Ana writes a long answer: the chat must not go back to the bot while she types, and the page
    must not call the server at every keystroke, nor send the student anything."""
    from datetime import timedelta

    from bot.cli_staff import add_staff as cli_add_staff
    from bot.models import utcnow

    ticket = escalate_on_whatsapp(desk)
    cli_add_staff(database_url=desk.settings.database_url, email="ana@itson.edu.mx", name="Ana López",
                  role="admin", password=PASSWORD)
    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    try:
        page = ctx.new_page()
        page.clock.install()  # the page's own clock, to move it past the 30 s
        pings: list[str] = []
        page.on("request", lambda r: pings.append(r.method) if r.url.endswith(f"/api/tickets/{ticket.id}/typing") else None)
        login(page, desk.url, "ana@itson.edu.mx")
        page.goto(f"{desk.url}/console/tickets/{ticket.id}")
        page.click("#take")
        page.locator("#reply-text").wait_for()
        assert "mientras escribes aquí el chat sigue siendo tuyo" in page.locator("#hold-expiry").inner_text()
        sent = len(desk.fake.messages(STUDENT))
        long_ago = utcnow() - timedelta(minutes=20)
        with desk.services.session() as session:  # her last reply was 20 minutes ago
            conversation = session.get(Conversation, ticket.conversation_id)
            conversation.staff_active_at = long_ago
            session.add(conversation)
            session.commit()

        page.type("#reply-text", "Hola Ana, ya revisé tu caso con el IMSS y", delay=15)
        wait_until(lambda: desk.rows(Conversation)[0].staff_active_at > long_ago + timedelta(minutes=19),
                   what="the hold kept alive")
        page.wait_for_timeout(500)
        assert pings == ["POST"]  # one ping for the whole sentence
        page.clock.fast_forward(31_000)
        page.type("#reply-text", " te cuento", delay=15)
        page.type("#note-text", "Llamé al IMSS", delay=15)  # a note being written counts too
        page.wait_for_timeout(500)
        assert pings == ["POST", "POST"]
        assert page.input_value("#reply-text").endswith("te cuento")  # nothing was sent or cleared
        assert desk.rows(Message, author=Author.STAFF) == []
        assert len(desk.fake.messages(STUDENT)) == sent
        assert desk.rows(Conversation)[0].holder == Holder.STAFF
    finally:
        ctx.close()
