"""The staff console over real HTTP (the service's app on a loopback port, a real SQLite file).

Login, sessions, CSRF, roles, headers, and nothing reachable without a login.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.helpers import Browser, Clock, add_staff, browser, build_app, escalate, logged, running

ADMIN, AGENT = "admin@itson.edu.mx", "agente@itson.edu.mx"

#: Every console URL that must not answer without a session (ticket 1 and its actions exist).
PAGES = ["/console", "/console/", "/console/inbox", "/console/tickets/1", "/console/reports", "/console/admin/staff",
         "/console/admin/canned", "/console/admin/audit", "/console/no-such-page", "/console/tickets/abc",
         "/console/account/password"]
DATA = ["/console/api/inbox", "/console/api/unread", "/console/api/tickets/1", "/console/media/x.png",
        "/console/reports/tickets.csv"]
POSTS = ["/console/tickets/1/take", "/console/tickets/1/reply", "/console/tickets/1/note",
         "/console/tickets/1/reveal", "/console/tickets/1/resolve", "/console/tickets/1/handback",
         "/console/tickets/1/reopen", "/console/logout", "/console/admin/staff", "/console/admin/canned",
         "/console/tickets/1/correct", "/console/tickets/1/reason", "/console/account/password"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: Path, kb: Any, clock: Clock) -> FastAPI:
    app = build_app(tmp_path, kb=kb, clock=clock)
    add_staff(app, ADMIN, "Ana López", role="admin")
    add_staff(app, AGENT, "Beto Ruiz", role="agent")
    return app


@pytest.fixture
def server(app: FastAPI) -> Iterator[Any]:
    with running(app) as srv:
        yield srv


@pytest.fixture
def admin(server: Any) -> Iterator[Browser]:
    with browser(server) as b:
        assert b.login(ADMIN).status_code == 303
        yield b


@pytest.fixture
def agent(server: Any) -> Iterator[Browser]:
    with browser(server) as b:
        assert b.login(AGENT).status_code == 303
        yield b


def test_nothing_is_reachable_without_a_login(app: FastAPI, server: Any) -> None:
    escalate(app)
    with httpx.Client(base_url=server.url, follow_redirects=False) as anon:
        for path in PAGES:
            r = anon.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login"), path
        for path in DATA:
            r = anon.get(path)
            assert r.status_code == 401, path
            assert "Ana" not in r.text and "12345678903" not in r.text
        for path in POSTS:
            assert anon.post(path, data={"text": "hola"}).status_code == 401, path
        # following the redirect ends on the login form, never on data
        page = anon.get("/console/tickets/1", follow_redirects=True)
        assert 'name="password"' in page.text and "López García" not in page.text


def test_security_headers_on_pages_errors_and_401(server: Any) -> None:
    with httpx.Client(base_url=server.url) as anon:
        for r in (anon.get("/console/login"), anon.get("/console/api/inbox"), anon.get("/console/static/console.css")):
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert "strict-transport-security" not in r.headers  # plain http here
        assert "<script>" not in anon.get("/console/login").text  # all JS in static files


def test_https_deployment_sets_hsts_and_secure_cookie(tmp_path: Path, kb: Any) -> None:
    app = build_app(tmp_path, kb=kb, public_base_url="https://mesa.itson.mx")
    add_staff(app, ADMIN, "Ana López", role="admin")
    with running(app) as srv, browser(srv) as b:
        assert "max-age" in b.client.get("/console/login").headers["strict-transport-security"]
        page = b.client.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        # the client will not send back a Secure cookie over http, so post the login token by hand
        r = b.client.post("/console/login", data={"email": ADMIN, "password": "una-contraseña-larga", "csrf": token},
                          headers={"Cookie": f"seguro_console_login={token}"})
        cookie = r.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    # opened over plain http://, the Secure login cookie never comes back: say to use the configured HTTPS address
    with running(app) as srv, browser(srv) as b:
        r = b.login(ADMIN)
        assert r.status_code == 403
        assert ("La consola debe abrirse por HTTPS, en la dirección configurada: https://mesa.itson.mx/console/login"
                in r.text) and "caducó" not in r.text
        # a page that was opened over HTTPS (the browser's Origin says so) and got old is the usual message
        r = b.client.post("/console/login", data={"email": ADMIN, "password": "una-contraseña-larga", "csrf": "x"},
                          headers={"Origin": "https://mesa.itson.mx"})
        assert r.status_code == 403 and "La página de inicio caducó" in r.text and "HTTPS" not in r.text


def test_login_wrong_password_then_throttled_across_workers(app: FastAPI, server: Any, tmp_path: Path, kb: Any) -> None:
    with browser(server) as b:
        assert b.login(ADMIN, "equivocada-123").status_code == 401
        for _ in range(4):
            b.login(ADMIN, "equivocada-123")
        r = b.login(ADMIN)  # the right password, but too many failures just now
        assert r.status_code == 429 and "Demasiados intentos" in r.text and int(r.headers["retry-after"]) > 0
        assert "Espera 30 s" in r.text  # five failures: the first wait, said as it is
        again = b.login(ADMIN)  # trying again while waiting does not make the wait longer
        assert again.status_code == 429 and int(again.headers["retry-after"]) <= 30
    # another worker of the service (another app on the same database) sees the same failures
    other = build_app(tmp_path, kb=kb)
    with running(other) as srv2, browser(srv2) as b2:
        assert b2.login(ADMIN).status_code == 429  # the same address, on another worker
        assert b2.login(AGENT).status_code == 303  # other accounts are not locked


@contextmanager
def browser_from(server: Any, address: str) -> Iterator[Browser]:
    """A browser on another machine: its connections come from ``address`` (any 127.x.y.z is loopback)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10, transport=transport) as client:
        yield Browser(client)


def test_someone_guessing_elsewhere_cannot_lock_the_real_user_out(server: Any) -> None:
    with browser_from(server, "127.0.0.2") as attacker, browser_from(server, "127.0.0.3") as ana:
        for _ in range(5):
            assert attacker.login(ADMIN, "adivinando-123").status_code == 401
        guessed = attacker.login(ADMIN)  # even the right password: this address is slowed down
        assert guessed.status_code == 429 and "Demasiados intentos" in guessed.text
        # Ana, at her own desk, logs in with her password while the attacker waits
        assert ana.login(ADMIN).status_code == 303
        assert ana.client.get("/console/inbox").status_code == 200
        # and a mistyped password of hers is just that, not a lock-out
        with browser_from(server, "127.0.0.3") as again:
            assert again.login(ADMIN, "me-equivoque-1").status_code == 401
            assert again.login(ADMIN).status_code == 303


def test_one_address_trying_many_accounts_is_slowed_down(server: Any) -> None:
    with browser_from(server, "127.0.0.4") as sprayer, browser_from(server, "127.0.0.5") as beto:
        for i in range(20):  # four tries at each of five addresses: under the per-account limit
            assert sprayer.login(f"persona{i % 5}@itson.edu.mx", "Primavera2024").status_code == 401
        r = sprayer.login(AGENT, "Primavera2024")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert sprayer.login(AGENT).status_code == 429, "throttled before the password is even checked"
        assert beto.login(AGENT).status_code == 303


def test_login_needs_its_csrf_token_and_rejects_open_redirects(server: Any) -> None:
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/console/login", data={"email": ADMIN, "password": "una-contraseña-larga", "csrf": "x"})
        assert r.status_code == 403
        page = c.get("/console/login?next=https://evil.example/x")
        assert "evil" not in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post("/console/login", data={"email": ADMIN, "password": "una-contraseña-larga", "csrf": token,
                                           "next": "//evil.example/"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console/inbox"


def test_session_rotates_at_login_and_dies_at_logout(server: Any) -> None:
    with browser(server) as b:
        b.login(ADMIN)
        first = b.client.cookies.get("seguro_console")
        b.login(ADMIN)
        second = b.client.cookies.get("seguro_console")
        assert first and second and first != second
        with httpx.Client(base_url=server.url, follow_redirects=False) as thief:
            assert thief.get("/console/api/unread", headers={"Cookie": f"seguro_console={first}"}).status_code == 401
            assert thief.get("/console/api/unread", headers={"Cookie": f"seguro_console={second}"}).status_code == 200
            assert b.post("/console/logout").status_code == 303
            assert thief.get("/console/api/unread", headers={"Cookie": f"seguro_console={second}"}).status_code == 401


def test_session_expires_when_idle(admin: Browser, clock: Clock) -> None:
    assert admin.client.get("/console/api/unread").status_code == 200
    clock.offset = timedelta(hours=3)
    assert admin.client.get("/console/api/unread").status_code == 401


def test_a_session_in_use_outlives_the_idle_timeout(admin: Browser, clock: Clock) -> None:
    """Staff working all morning stay logged in: each request moves the idle timer."""
    for minutes in range(0, 5 * 60, 90):
        clock.offset = timedelta(minutes=minutes)
        assert admin.client.get("/console/api/unread").status_code == 200, minutes
    clock.offset += timedelta(hours=2, minutes=1)
    assert admin.client.get("/console/api/unread").status_code == 401


def test_state_changes_need_the_csrf_token(app: FastAPI, admin: Browser) -> None:
    ticket = escalate(app)
    r = admin.client.post(f"/console/tickets/{ticket}/take", data={})
    assert r.status_code == 403
    r = admin.client.post(f"/console/tickets/{ticket}/take", data={"csrf": "forged"})
    assert r.status_code == 403
    r = admin.client.post(f"/console/tickets/{ticket}/take", headers={"X-CSRF-Token": admin.csrf,
                                                                      "Accept": "application/json"})
    assert r.status_code == 200 and r.json()["ok"] == "taken"


def test_agents_cannot_reach_admin_pages(agent: Browser) -> None:
    for path in ("/console/reports", "/console/admin/staff", "/console/admin/canned", "/console/admin/audit"):
        assert agent.client.get(path).status_code == 403, path
    assert agent.client.get("/console/reports/tickets.csv").status_code == 403
    assert agent.post("/console/admin/staff", op="add", email="x@y.mx", name="X", role="admin",
                      password="0123456789ab").status_code == 403
    assert "Reportes" not in agent.client.get("/console/inbox").text


def test_disabling_from_the_console_gives_the_accounts_chats_back_to_the_bot(app: FastAPI, admin: Browser,
                                                                              agent: Browser) -> None:
    from bot.models import Conversation, Holder

    ticket = escalate(app)
    assert agent.post(f"/console/tickets/{ticket}/take").status_code == 303
    assert admin.post("/console/admin/staff", op="disable", email=AGENT).status_code == 303
    with app.state.services.session() as session:
        conversation = session.get(Conversation, 1)
        assert conversation is not None and conversation.holder == Holder.BOT
    assert "Lo atiende" not in admin.client.get(f"/console/tickets/{ticket}").text


def test_admin_manages_staff_and_canned_responses(admin: Browser, server: Any) -> None:
    r = admin.post("/console/admin/staff", op="add", email="Carla@ITSON.edu.mx", name="Carla Soto", role="agent",
                   password="otra-contraseña-larga")
    assert r.status_code == 303
    assert "carla@itson.edu.mx" in admin.client.get("/console/admin/staff").text
    assert admin.post("/console/admin/staff", op="add", email="d@itson.edu.mx", name="D", role="agent",
                      password="corta").status_code == 400
    with browser(server) as carla:
        assert carla.login("carla@itson.edu.mx", "otra-contraseña-larga").status_code == 303
        admin.post("/console/admin/staff", op="disable", email="carla@itson.edu.mx")
        assert carla.client.get("/console/api/unread").status_code == 401  # disabling ends the session
    assert admin.post("/console/admin/canned", op="save", title="Pedir captura",
                      body="¿Me mandas una captura del error?").status_code == 303
    assert "Pedir captura" in admin.client.get("/console/admin/canned").text


WEAK = {"0123456789": "no puede ser solo números", "2026-02-10-2026": None,
        "aaaaaaaaaaaa": "un mismo carácter repetido", "corta": "al menos 10 caracteres"}


def test_weak_passwords_are_refused_where_an_account_gets_one_with_a_spanish_reason(admin: Browser) -> None:
    """Ten characters were enough: "0123456789" and the e-mail itself were accepted."""
    for password, why in [*WEAK.items(), ("carla.soto@itson.edu.mx", "el correo ni el nombre de la cuenta"),
                          ("carla.soto", "el correo ni el nombre de la cuenta"), ("Carla Soto", "el correo ni el nombre de la cuenta")]:
        r = admin.post("/console/admin/staff", op="add", email="carla.soto@itson.edu.mx", name="Carla Soto",
                       role="agent", password=password)
        if why is None:  # digits with dashes is not "only digits"
            assert r.status_code == 303, password
            admin.post("/console/admin/staff", op="disable", email="carla.soto@itson.edu.mx")
            continue
        assert r.status_code == 400, password
        error = re.search(r'<p class="alert error" role="alert">([^<]+)</p>', r.text)
        assert error and error.group(1).startswith("La contraseña") and why in error.group(1), password
    page = admin.client.get("/console/admin/staff").text
    assert "no solo números, ni el correo ni el nombre" in page  # said before typing, too


def test_an_admin_resets_a_colleagues_password_and_it_is_audited(admin: Browser, agent: Browser, server: Any) -> None:
    page = admin.client.get("/console/admin/staff").text
    assert page.count("cambiar contraseña") == 1  # Beto's row; not her own
    r = admin.post("/console/admin/staff", op="password", email=AGENT, password="9081726354")
    assert r.status_code == 400 and "no puede ser solo números" in r.text
    r = admin.post("/console/admin/staff", op="password", email=AGENT, password="agente@itson.edu.mx")
    assert r.status_code == 400 and "el correo ni el nombre de la cuenta" in r.text
    assert agent.client.get("/console/api/unread").status_code == 200  # refused: nothing changed
    r = admin.post("/console/admin/staff", op="password", email=AGENT, password="nueva-clave-de-beto")
    assert r.status_code == 303 and r.headers["location"].endswith("m=password")
    assert "Contraseña cambiada; las sesiones abiertas de esa cuenta se cerraron" in \
        admin.client.get(r.headers["location"]).text
    assert agent.client.get("/console/api/unread").status_code == 401  # his sessions ended
    with browser(server) as beto:
        assert beto.login(AGENT).status_code == 401  # the old one no longer works
        assert beto.login(AGENT, "nueva-clave-de-beto").status_code == 303
        # an agent cannot reset anyone's
        assert beto.post("/console/admin/staff", op="password", email=ADMIN, password="otra-clave-larga").status_code == 403
    r = admin.post("/console/admin/staff", op="password", email=ADMIN, password="otra-clave-larga")
    assert r.status_code == 400 and "Tu propia contraseña no se cambia aquí" in r.text
    r = admin.post("/console/admin/staff", op="password", email="nadie@itson.edu.mx", password="otra-clave-larga")
    assert r.status_code == 400 and "No existe la cuenta" in r.text
    audit = admin.client.get("/console/admin/audit", params={"action": "staff_password"}).text
    assert audit.count("Cambió la contraseña de otra cuenta</td>") == 1 and "cuenta: Beto Ruiz" in audit
    assert "nueva-clave-de-beto" not in audit


def test_media_only_for_staff_and_typed_by_content(app: FastAPI, admin: Browser, server: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    stored = app.state.services.media.save(png, name="captura.txt")
    r = admin.client.get(f"/console/media/{stored.ref}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content == png
    assert "sandbox" in r.headers["content-security-policy"]
    assert admin.client.get("/console/media/..%2Fconsole.db").status_code in (401, 404)
    assert admin.client.get("/console/media/nope.png").status_code == 404
    with httpx.Client(base_url=server.url) as anon:
        assert anon.get(f"/console/media/{stored.ref}").status_code == 401


def test_messages_show_whatsapp_bold_and_student_markup_stays_text(app: FastAPI, admin: Browser) -> None:
    from tests.e2e.helpers import student_says

    ticket = escalate(app)
    student_says(app, "<script>alert(1)</script> *<b>urgente</b>* gracias")
    page = admin.client.get(f"/console/tickets/{ticket}").text
    bot = [t for t in re.findall(r'author-bot".*?<div class="text">(.*?)</div>', page, re.S) if "sí" in t]
    assert bot and any("<strong>sí</strong>" in t for t in bot), "the bot's *sí* is shown bold"
    assert "*sí*" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <strong>&lt;b&gt;urgente&lt;/b&gt;</strong> gracias" in page
    # the live update of the open ticket page renders the same way
    poll = admin.client.get(f"/console/api/tickets/{ticket}").json()["html"]
    assert "<strong>sí</strong>" in poll and "<script>alert" not in poll


def test_pages_have_a_favicon_that_is_served(server: Any, admin: Browser) -> None:
    with httpx.Client(base_url=server.url) as anon:
        for path, client in (("/console/login", anon), ("/console/inbox", admin.client), ("/chat", anon)):
            page = client.get(path).text
            href = re.search(r'<link rel="icon" href="([^"]+)"', page)
            assert href, path
            url = href.group(1) if href.group(1).startswith("/") else "/" + href.group(1)
            icon = anon.get(url)
            assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml"), path
            assert icon.text.startswith("<svg")
        assert anon.get("/favicon.ico").status_code == 200


def test_inbox_filters_by_age_and_status(app: FastAPI, admin: Browser) -> None:
    """Tickets opened 10 and 5 days, 2 days, 12 hours and 1 hour ago; one taken, one resolved."""
    from bot.models import Ticket

    opened: dict[str, int] = {}
    services = app.state.services
    for name, age in (("10d", timedelta(days=10)), ("5d", timedelta(days=5)), ("2d", timedelta(days=2)),
                      ("12h", timedelta(hours=12)), ("1h", timedelta(hours=1))):
        ticket_id = escalate(app, address=f"+52164400001{len(opened):02d}")
        with services.session() as session:  # the ticket was opened that long ago
            ticket = session.get(Ticket, ticket_id)
            ticket.created_at = ticket.updated_at = services.now() - age
        opened[name] = ticket_id
    assert admin.post(f"/console/tickets/{opened['2d']}/take").status_code == 303  # assigned to Ana
    assert admin.post(f"/console/tickets/{opened['12h']}/take").status_code == 303
    assert admin.post(f"/console/tickets/{opened['12h']}/resolve").status_code == 303

    def listed(**filters: str) -> set[str]:
        """The tickets the inbox shows for these filters, POSTed as the page's form and polling do."""
        html = admin.client.post("/console/api/inbox", data={"csrf": admin.csrf, **filters}).json()["html"]
        ids = {int(i) for i in re.findall(r'data-ticket="(\d+)"', html)}
        return {name for name, ticket in opened.items() if ticket in ids}

    everything = set(opened)
    assert listed() == everything - {"12h"}, "by default: what is still pending"
    assert listed(status="active") == everything - {"12h"}
    assert listed(status="open") == {"10d", "5d", "1h"}
    assert listed(status="assigned") == {"2d"}
    assert listed(status="resolved") == {"12h"}
    assert listed(status="all") == everything
    assert listed(status="all", age="24h") == {"12h", "1h"}
    assert listed(status="all", age="3d") == {"2d", "12h", "1h"}
    assert listed(status="all", age="old3d") == {"10d", "5d"}
    assert listed(status="all", age="old7d") == {"10d"}
    assert listed(age="24h") == {"1h"}, "age and status together"
    assert listed(status="open", age="old3d") == {"10d", "5d"}
    assert listed(status="assigned", age="old7d") == set()
    assert listed(status="nonsense", age="forever") == everything - {"12h"}, "unknown values fall back to the default"

    # the page itself keeps the chosen filters selected and shows the ages as staff read them
    page = admin.client.post("/console/inbox", data={"csrf": admin.csrf, "status": "all", "age": "old3d"}).text
    assert '<option value="old3d" selected>' in page and '<option value="all" selected>' in page
    assert "hace 10 días" in page and "hace 5 días" in page and "hace 1 h" not in page


def _value(page: str, name: str) -> str | None:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page.split('id="add-staff"')[1])
    return found.group(1) if found else None


def test_a_refused_new_account_keeps_what_was_typed_but_never_the_password(admin: Browser) -> None:
    """The form came back empty after an error: the name and e-mail had to be typed again."""
    r = admin.post("/console/admin/staff", op="add", email="carla.soto@itson.edu.mx", name="Carla Soto Ruiz",
                   role="admin", password="0123456789")
    assert r.status_code == 400
    assert "no puede ser solo números" in re.search(r'id="add-error">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    assert _value(r.text, "name") == "Carla Soto Ruiz" and _value(r.text, "email") == "carla.soto@itson.edu.mx"
    assert re.search(r'<option value="admin" selected>', r.text)
    assert "0123456789" not in r.text, "a password is never sent back"
    assert re.search(r'name="password"[^>]*autofocus', r.text.split('id="add-staff"')[1])
    # a duplicate too: the e-mail stays, so staff see which one exists
    r = admin.post("/console/admin/staff", op="add", email=AGENT, name="Beto Otra Vez", role="agent",
                   password="otra-contraseña-larga")
    assert r.status_code == 400 and "Ya existe una cuenta" in r.text and _value(r.text, "email") == AGENT
    assert "otra-contraseña-larga" not in r.text
    # after a success the form is empty again
    page = admin.client.get("/console/admin/staff").text
    assert _value(page, "name") == "" and 'id="add-error"' not in page


def test_a_refused_colleague_password_opens_its_form_again_with_the_reason(admin: Browser) -> None:
    r = admin.post("/console/admin/staff", op="password", email=AGENT, password="9081726354")
    assert r.status_code == 400
    assert re.search(r'<details class="reset-password" open>\s*<summary[^>]*>[^<]*</summary>\s*<form[^>]*>\s*'
                     r'<input[^>]*><input[^>]*><input type="hidden" name="email" value="agente@itson.edu.mx">\s*'
                     r'<p class="alert error small reset-error">La contraseña no puede ser solo números', r.text)
    assert "9081726354" not in r.text


def test_a_refused_canned_response_keeps_its_title_and_text(admin: Browser) -> None:
    r = admin.post("/console/admin/canned", op="save", title="Pedir captura", body="   ")
    assert r.status_code == 400
    assert "Escribe un título y el texto" in re.search(r'id="canned-error">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    assert 'value="Pedir captura"' in r.text
    assert admin.post("/console/admin/canned", op="save", title="Pedir captura",
                      body="¿Me mandas una captura?").status_code == 303
    page = admin.client.get("/console/admin/canned").text
    item = re.search(r'name="id" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    r = admin.post("/console/admin/canned", op="save", id=item, title=" ", body="¿Me mandas una captura del error?")
    assert r.status_code == 400 and "¿Me mandas una captura del error?" in r.text  # the edit, not the stored text
    assert "¿Me mandas una captura?</textarea>" not in r.text


NEW_PASSWORD = "Pitic-soporte-2026"


def _own_error(r: Any) -> str:
    found = re.search(r'id="password-error">([^<]+)<', r.text)
    return found.group(1) if found else ""


def test_staff_change_their_own_password_and_their_other_sessions_end(agent: Browser, server: Any) -> None:
    """An agent had no way to change a password an admin gave them (or that leaked)."""
    page = agent.client.get("/console/account/password")
    assert page.status_code == 200 and "Cambiar mi contraseña" in page.text
    assert '<a href="/console/account/password"' in agent.client.get("/console/inbox").text  # in the header
    with browser(server) as other_tab:
        assert other_tab.login(AGENT).status_code == 303
        with logged() as lines:
            refused = [
                (dict(current="no-es-la-mia-123", new=NEW_PASSWORD, repeat=NEW_PASSWORD), "La contraseña actual no es correcta"),
                (dict(current="una-contraseña-larga", new=NEW_PASSWORD, repeat=NEW_PASSWORD + "x"), "no coinciden"),
                (dict(current="una-contraseña-larga", new="6441234567", repeat="6441234567"), "no puede ser solo números"),
                (dict(current="una-contraseña-larga", new="Beto.Ruiz.", repeat="Beto.Ruiz."), "ni el nombre de la cuenta"),
                (dict(current="una-contraseña-larga", new="una-contraseña-larga", repeat="una-contraseña-larga"),
                 "distinta de la actual"),
            ]
            for form, why in refused:
                r = agent.post("/console/account/password", **form)
                assert r.status_code == 400 and why in _own_error(r), (form, r.text[-1500:])
                for value in form.values():
                    assert f'value="{value}"' not in r.text, "a password is never sent back"
            r = agent.post("/console/account/password", current="una-contraseña-larga", new=NEW_PASSWORD,
                           repeat=NEW_PASSWORD)
            assert r.status_code == 303 and r.headers["location"] == "/console/account/password?m=ok"
        page = agent.client.get(r.headers["location"])  # this browser: still in, with a new session
        assert page.status_code == 200 and "Contraseña cambiada" in page.text
        assert other_tab.client.get("/console/api/unread").status_code == 401  # the other one ended
    with browser(server) as fresh:
        assert fresh.login(AGENT).status_code == 401
        assert fresh.login(AGENT, NEW_PASSWORD).status_code == 303
    for secret in ("no-es-la-mia-123", NEW_PASSWORD, "6441234567", "una-contraseña-larga"):
        assert not [line for line in lines if secret in line], secret


def test_changing_ones_password_is_audited_without_it_and_needs_the_csrf_token(admin: Browser, agent: Browser) -> None:
    r = agent.client.post("/console/account/password",
                          data={"current": "una-contraseña-larga", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert r.status_code == 403
    assert agent.post("/console/account/password", current="una-contraseña-larga", new=NEW_PASSWORD,
                      repeat=NEW_PASSWORD).status_code == 303
    audit = admin.client.get("/console/admin/audit", params={"action": "own_password"}).text
    assert audit.count("Cambió su contraseña</td>") == 1 and "Beto Ruiz" in audit and NEW_PASSWORD not in audit
    # the admin's own row on Personal points there
    r = admin.post("/console/admin/staff", op="password", email=ADMIN, password="otra-clave-larga")
    assert r.status_code == 400 and "usa «Mi contraseña»" in r.text


def test_guessing_the_current_password_from_an_open_session_is_throttled(agent: Browser) -> None:
    """A session left open on a shared computer is no faster way to guess the password."""
    for i in range(5):
        r = agent.post("/console/account/password", current=f"adivinanza-{i}-x", new=NEW_PASSWORD, repeat=NEW_PASSWORD)
        assert r.status_code == 400
    r = agent.post("/console/account/password", current="una-contraseña-larga", new=NEW_PASSWORD, repeat=NEW_PASSWORD)
    assert r.status_code == 429 and "Demasiados intentos" in _own_error(r) and r.headers["Retry-After"]
