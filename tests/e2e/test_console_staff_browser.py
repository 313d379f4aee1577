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
from tests.e2e.browser import LAPTOP, requires_chromium
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

