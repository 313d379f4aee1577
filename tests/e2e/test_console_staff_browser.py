"""What staff do beyond answering, in a real browser: correcting a student's NSS or CURP, forms
that keep what was typed when the server refuses it, changing one's own password, and a
ticket's history.

OUR app (``create_app``, the test database) on loopback with an escalated student; Debian's
Chromium at laptop size.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.models import Ticket
from tests.conftest import VALID_CURP, VALID_NSS
from tests.e2e.browser import LAPTOP, SHOTS, requires_chromium
from tests.e2e.helpers import PASSWORD, add_staff, build_app, escalate, logged, running

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = requires_chromium

ADMIN = "ana@itson.edu.mx"
WRONG_NSS = "12345678901"


@pytest.fixture
def desk(tmp_path: Path, kb: Any) -> Iterator[tuple[Any, Any]]:
    app = build_app(tmp_path, kb=kb)
    add_staff(app, ADMIN, "Ana López", role="admin")
    with running(app) as server:
        yield app, server


@pytest.fixture
def page(desk: tuple[Any, Any], chromium: Any) -> Iterator[Any]:
    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    errors: list[str] = []
    try:
        tab = ctx.new_page()
        tab.on("pageerror", lambda e: errors.append(str(e)))
        login(tab, desk[1].url, ADMIN)
        yield tab
        assert not errors, errors
    finally:
        ctx.close()


def login(tab: Any, base: str, email: str, password: str = PASSWORD) -> None:
    tab.goto(f"{base}/console/login")
    tab.fill("input[name=email]", email)
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base}/console/inbox")


def data_panel(tab: Any) -> str:
    return str(tab.locator("dl.data").inner_text())


def test_staff_correct_an_unverified_nss_and_a_wrong_one_is_refused(desk: tuple[Any, Any], page: Any) -> None:
    app, server = desk
    ticket = escalate(app)
    with app.state.services.session() as session:
        row = session.get(Ticket, ticket)
        row.data = {**(row.data or {}), "nss": WRONG_NSS, "nss_unverified": "sí"}
        session.add(row)
        session.commit()
    page.goto(f"{server.url}/console/tickets/{ticket}")
    assert "NSS sin verificar" in data_panel(page)
    with logged() as lines:
        # a wrong one: refused, with why, and what was typed is still in the box
        page.click("#correct-data summary")
        page.select_option("#correct-data select[name=field]", "nss")
        page.fill("#correct-data input[name=value]", "12345678902")
        page.click("#correct-data button:has-text('Guardar corrección')")
        error = page.locator("#correct-error")
        error.wait_for()
        assert "Ese NSS no es válido" in error.inner_text() and "se quedó el NSS que tenía" in error.inner_text()
        assert page.input_value("#correct-data input[name=value]") == "12345678902"
        assert "NSS sin verificar" in data_panel(page) and "•••••••8901" in data_panel(page)
        # the right one, typed as it is printed: verified
        page.fill("#correct-data input[name=value]", "1234-5678-903")
        page.click("#correct-data button:has-text('Guardar corrección')")
        page.locator(".alert.ok", has_text="NSS corregido").wait_for()
    panel = data_panel(page)
    assert "sin verificar" not in panel and "•••••••8903" in panel and VALID_NSS not in panel
    page.click("form.reveal-form:has(input[value=nss]) button")
    page.wait_for_function("() => !document.querySelector('[data-field=nss]').textContent.includes('•')")
    assert page.locator("[data-field=nss]").inner_text().strip() == VALID_NSS
    for value in (VALID_NSS, "1234-5678-903", "12345678902", VALID_CURP):
        assert not [line for line in lines if value in line], value


def test_a_refused_new_account_keeps_the_name_and_email_but_not_the_password(desk: tuple[Any, Any],
                                                                            page: Any) -> None:
    server = desk[1]
    page.goto(f"{server.url}/console/admin/staff")
    form = page.locator("#add-staff")
    form.locator("input[name=name]").fill("Carla Soto Ruiz")
    form.locator("input[name=email]").fill("carla.soto@itson.edu.mx")
    form.locator("select[name=role]").select_option("admin")
    form.locator("input[name=password]").fill("6441234567")
    form.locator("button:has-text('Crear cuenta')").click()
    page.locator("#add-error").wait_for()
    assert "no puede ser solo números" in page.locator("#add-error").inner_text()
    assert page.get_by_role("alert").first.is_visible()  # at the top of the page too
    form = page.locator("#add-staff")
    assert form.locator("input[name=name]").input_value() == "Carla Soto Ruiz"
    assert form.locator("input[name=email]").input_value() == "carla.soto@itson.edu.mx"
    assert form.locator("select[name=role]").input_value() == "admin"
    assert form.locator("input[name=password]").input_value() == ""
    assert page.evaluate("document.activeElement.name") == "password"  # where to type again
    form.locator("input[name=password]").fill("Cajeme-soporte-26")
    form.locator("button:has-text('Crear cuenta')").click()
    page.locator(".alert.ok", has_text="Cambios guardados").wait_for()
    assert page.locator("td", has_text="carla.soto@itson.edu.mx").is_visible()
    assert page.locator("#add-staff input[name=name]").input_value() == ""


def test_a_refused_canned_response_keeps_what_was_typed(desk: tuple[Any, Any], page: Any) -> None:
    server = desk[1]
    page.goto(f"{server.url}/console/admin/canned")
    new = page.locator("form:has(h2:has-text('Nueva respuesta'))")
    new.locator("input[name=title]").fill("Pedir captura")
    new.locator("textarea[name=body]").fill("   ")
    new.locator("button:has-text('Agregar')").click()
    page.locator("#canned-error").wait_for()
    assert "Escribe un título y el texto" in page.locator("#canned-error").inner_text()
    new = page.locator("form:has(h2:has-text('Nueva respuesta'))")
    assert new.locator("input[name=title]").input_value() == "Pedir captura"


def test_staff_change_their_own_password_from_the_header(desk: tuple[Any, Any], page: Any) -> None:
    server = desk[1]
    new = "Yaqui-mesa-ayuda-26"
    with logged() as lines:
        page.locator("header.topbar").get_by_role("link", name="Mi contraseña").click()
        page.wait_for_url(f"{server.url}/console/account/password")
        form = page.locator("#own-password")
        assert page.evaluate("document.activeElement.name") == "current"
        form.locator("input[name=current]").fill("no-es-la-mia-123")
        form.locator("input[name=new]").fill(new)
        form.locator("input[name=repeat]").fill(new)
        form.get_by_role("button", name="Cambiar mi contraseña").click()
        page.locator("#password-error", has_text="La contraseña actual no es correcta").wait_for()
        for name in ("current", "new", "repeat"):  # passwords are never filled back in
            assert page.locator(f"#own-password input[name={name}]").input_value() == ""
        form = page.locator("#own-password")
        form.locator("input[name=current]").fill(PASSWORD)
        form.locator("input[name=new]").fill(new)
        form.locator("input[name=repeat]").fill(new + "!")
        form.get_by_role("button", name="Cambiar mi contraseña").click()
        page.locator("#password-error", has_text="no coinciden").wait_for()
        form = page.locator("#own-password")
        form.locator("input[name=current]").fill(PASSWORD)
        form.locator("input[name=new]").fill(new)
        form.locator("input[name=repeat]").fill(new)
        form.get_by_role("button", name="Cambiar mi contraseña").click()
        page.locator(".alert.ok", has_text="Contraseña cambiada").wait_for()
        page.goto(f"{server.url}/console/inbox")  # still logged in here
        assert page.url == f"{server.url}/console/inbox"
        page.get_by_role("button", name="Salir").click()
        page.wait_for_url("**/console/login")
        page.fill("input[name=email]", ADMIN)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.locator(".alert.error", has_text="Correo o contraseña incorrectos").wait_for()
        login(page, server.url, ADMIN, new)
    for secret in (new, new + "!", "no-es-la-mia-123", PASSWORD):
        assert not [line for line in lines if secret in line], secret


def test_staff_change_a_tickets_reason_and_see_it_in_its_history(desk: tuple[Any, Any], page: Any) -> None:
    app, server = desk
    ticket = escalate(app)
    page.goto(f"{server.url}/console/tickets/{ticket}")
    history = page.locator("#history li")
    assert history.count() == 1 and "Abrió el reporte: Duda general" in history.first.inner_text()
    page.click("#change-reason summary")
    page.select_option("#change-reason select[name=reason]", "sin_vigencia")
    page.click("#change-reason button:has-text('Guardar motivo')")
    page.locator(".alert.ok", has_text="Motivo cambiado").wait_for()
    assert "Sin vigencia" in page.locator(".conv-head").inner_text()
    last = page.locator("#history li").last.inner_text()
    assert "Ana López" in last and "Cambió el motivo de «Duda general» a «Sin vigencia»" in last
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-ticket-history-laptop.png"), full_page=True)


def test_an_agent_sees_why_a_colleagues_chat_and_a_resolved_ticket_are_not_theirs_to_change(
        desk: tuple[Any, Any], page: Any, chromium: Any) -> None:
    """On a chat a colleague holds, only the holder or an admin corrects the data or changes the
    reason; a resolved ticket's data are corrected after reopening it. The agent's open page
    follows when the colleague takes the chat, and says so where the forms were."""
    app, server = desk
    ticket = escalate(app)
    add_staff(app, "beto@itson.edu.mx", "Beto Ruiz", role="agent")
    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    try:
        beto = ctx.new_page()
        login(beto, server.url, "beto@itson.edu.mx")
        beto.goto(f"{server.url}/console/tickets/{ticket}")
        beto.click("#correct-data summary")
        assert beto.locator("#correct-data button:has-text('Guardar corrección')").is_visible()
        page.goto(f"{server.url}/console/tickets/{ticket}")
        page.click("#take")
        page.locator(".alert.ok", has_text="Tomaste el chat").wait_for()
        # Beto's page reloads by itself (the chat changed hands) and says why in the forms' place
        beto.locator(".holder", has_text="Lo atiende Ana López").wait_for(timeout=10000)
        beto.click("#correct-data summary")
        assert beto.locator("#correct-blocked").inner_text() == (
            "Este chat lo atiende Ana López: solo esa persona o un administrador puede corregir sus datos.")
        assert beto.locator("#correct-data form").count() == 0
        beto.click("#change-reason summary")
        assert "solo esa persona o un administrador puede cambiar el motivo" in beto.locator("#reason-blocked").inner_text()
        # resolved: the admin is told to reopen it to correct the data, and may still change the reason
        page.once("dialog", lambda d: d.accept())
        page.click("button:has-text('Resolver')")
        page.locator(".alert.ok", has_text="Reporte resuelto").wait_for()
        page.click("#correct-data summary")
        assert page.locator("#correct-blocked").inner_text() == "Este reporte ya está resuelto: reábrelo para corregir sus datos."
        page.click("#change-reason summary")
        assert page.locator("#change-reason button:has-text('Guardar motivo')").is_visible()
        beto.locator("text=Reporte resuelto").first.wait_for(timeout=10000)
        beto.click("#change-reason summary")
        assert "solo un administrador puede cambiar su motivo" in beto.locator("#reason-blocked").inner_text()
        SHOTS.mkdir(exist_ok=True)
        beto.screenshot(path=str(SHOTS / "console-resolved-reason-agent-laptop.png"), full_page=True)
    finally:
        ctx.close()


def test_a_note_that_cannot_be_saved_stays_in_the_note_box(desk: tuple[Any, Any], page: Any) -> None:
    """Saving an internal note failed (the session ended in another tab, or the note was refused):
    its text came back in the reply box, one click from being sent to the student."""
    app, server = desk
    ticket = escalate(app)
    url = f"{server.url}/console/tickets/{ticket}"
    page.goto(url)
    page.click("#take")
    page.locator(".alert.ok", has_text="Tomaste el chat").wait_for()
    # refused (only spaces): said above the note box; neither box changes
    page.fill("#reply-text", "Hola, ya reviso tu caso.")
    page.fill("#note-text", "   ")
    page.click("#note-form button:has-text('Guardar nota')")
    page.locator("#note-error", has_text="La nota está vacía.").wait_for()
    assert page.input_value("#reply-text") == "Hola, ya reviso tu caso."
    # the session ends in another tab while the note is written: after logging in again, the note
    # is in the note box and the reply in the reply box
    note = "Llamó a la mesa: su NSS lo tramitó en la clínica 1.\nPide que le escriban mañana."
    page.fill("#note-text", note)
    other = page.context.new_page()
    other.goto(f"{server.url}/console/inbox")
    other.get_by_role("button", name="Salir").click()
    other.wait_for_url("**/console/login")
    other.close()
    page.click("#note-form button:has-text('Guardar nota')")
    page.wait_for_url("**/console/login?ended=1**")
    assert "Tu sesión terminó" in page.locator(".alert").first.inner_text()
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url)
    assert page.input_value("#note-text") == note
    assert page.input_value("#reply-text") == "Hola, ya reviso tu caso."
    page.click("#note-form button:has-text('Guardar nota')")
    page.locator(".alert.ok", has_text="Nota interna guardada.").wait_for()
    assert page.locator(".note .text").last.inner_text() == note
    assert page.input_value("#note-text") == ""


def test_a_full_note_with_line_breaks_is_saved_whole(desk: tuple[Any, Any], page: Any) -> None:
    app, server = desk
    ticket = escalate(app)
    page.goto(f"{server.url}/console/tickets/{ticket}")
    note = "\n".join(["x" * 99] * 40)  # what the box allows: 4000 characters, a line break counted as one
    page.fill("#note-text", note)
    assert page.input_value("#note-text") == note
    page.click("#note-form button:has-text('Guardar nota')")
    page.locator(".alert.ok", has_text="Nota interna guardada.").wait_for()
    with app.state.services.session() as session:
        from bot.staff_models import TicketNote
        from sqlmodel import select
        assert [n.text for n in session.exec(select(TicketNote))] == [note]


def test_a_colleagues_actions_appear_in_the_open_tickets_history_without_reloading(
        desk: tuple[Any, Any], page: Any, chromium: Any) -> None:
    """The page's live refresh covered the conversation only: the Historial (and the notes) of a
    ticket open on one screen stayed as they were while a colleague worked on it."""
    app, server = desk
    ticket = escalate(app)
    add_staff(app, "beto@itson.edu.mx", "Beto Ruiz", role="agent")
    url = f"{server.url}/console/tickets/{ticket}"
    page.goto(url)
    page.evaluate("window.notReloaded = true")
    assert page.locator("#history li").count() == 1
    ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
    try:
        beto = ctx.new_page()
        login(beto, server.url, "beto@itson.edu.mx")
        beto.goto(url)
        beto.fill("#note-text", "Le llamé y no contestó.")
        beto.click("#note-form button:has-text('Guardar nota')")
        beto.locator(".alert.ok", has_text="Nota interna guardada.").wait_for()
        beto.click("#change-reason summary")
        beto.select_option("#change-reason select[name=reason]", "sin_vigencia")
        beto.click("#change-reason button:has-text('Guardar motivo')")
        beto.locator(".alert.ok", has_text="Motivo cambiado").wait_for()
    finally:
        ctx.close()
    # Ana's page, untouched, follows within a poll or two
    page.locator("#history li", has_text="Cambió el motivo de «Duda general» a «Sin vigencia»").wait_for(timeout=10000)
    items = [page.locator("#history li").nth(i).inner_text() for i in range(page.locator("#history li").count())]
    assert "Abrió el reporte: Duda general" in items[0]
    assert "Beto Ruiz" in items[1] and "Nota interna" in items[1]
    assert "Beto Ruiz" in items[2] and "Cambió el motivo de «Duda general» a «Sin vigencia»" in items[2]
    assert page.locator(".note .text").inner_text() == "Le llamé y no contestó."
    assert page.locator("#ticket-reason").inner_text() == "Sin vigencia"  # the header follows too
    assert page.evaluate("window.notReloaded === true"), "the page was reloaded"
    # and what Ana writes meanwhile is not touched by the refresh
    page.fill("#note-text", "Revisar mañana")
    page.wait_for_timeout(3500)
    assert page.input_value("#note-text") == "Revisar mañana"


def test_the_login_page_opened_over_http_says_to_use_https_before_a_try(tmp_path: Path, kb: Any,
                                                                         chromium: Any) -> None:
    """PUBLIC_BASE_URL is https, so the console's cookies are Secure: over http:// no login can work.
    The page used to say so only after a failed try; the browser's own address decides (a proxy's
    forwarded scheme may be wrong), so a page opened over HTTPS never shows it."""
    app = build_app(tmp_path, kb=kb, public_base_url="https://mesa.itson.mx")
    with running(app) as server:
        ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
        try:
            tab = ctx.new_page()
            tab.goto(f"{server.url}/console/login")
            alert = tab.locator("#https-needed")
            alert.wait_for(state="visible")
            assert "La consola debe abrirse por HTTPS" in alert.inner_text()
            assert alert.locator("a").get_attribute("href") == "https://mesa.itson.mx/console/login"
        finally:
            ctx.close()
    (tmp_path / "plain").mkdir()
    plain = build_app(tmp_path / "plain", kb=kb)  # an http:// deployment: nothing to say
    with running(plain) as server:
        ctx = chromium.new_context(viewport=LAPTOP, locale="es-MX")
        try:
            tab = ctx.new_page()
            tab.goto(f"{server.url}/console/login")
            assert tab.locator("#https-needed").count() == 0
        finally:
            ctx.close()
