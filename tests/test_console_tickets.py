"""Working a ticket through the console over real HTTP: inbox, take over, reply, reveal, resolve."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import select

from bot.models import Author, Conversation, Holder, Message, MessageStatus, Ticket, TicketStatus
from bot.outbox import OutboxWorker
from bot.staff_models import AuditEntry, TicketNote
from tests.conftest import VALID_CURP, VALID_NSS
from tests.e2e.helpers import TZ, Browser, Clock, add_staff, browser, build_app, escalate, logged, running, student_says

ADMIN, AGENT = "admin@itson.edu.mx", "agente@itson.edu.mx"


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
def ana(server: Any) -> Iterator[Browser]:
    with browser(server) as b:
        assert b.login(ADMIN).status_code == 303
        yield b


@pytest.fixture
def beto(server: Any) -> Iterator[Browser]:
    with browser(server) as b:
        assert b.login(AGENT).status_code == 303
        yield b


def rows(app: FastAPI, model: Any, **where: Any) -> list[Any]:
    with app.state.services.session() as session:
        stmt = select(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return list(session.exec(stmt.order_by(model.id)))


def test_inbox_lists_unassigned_first_with_filters_search_and_unread(app: FastAPI, ana: Browser, beto: Browser) -> None:
    first = escalate(app, address="+5216440000001")
    second = escalate(app, address="+5216440000002", channel="telegram")
    data = ana.client.get("/console/api/inbox").json()
    assert data["unread"] == 2 and f'href="/console/tickets/{first}"' in data["html"]
    assert ana.post(f"/console/tickets/{first}/take").status_code == 303
    html = ana.client.get("/console/inbox").text
    assert html.index("Sin asignar") < html.index("Míos")
    assert html.index(f"/console/tickets/{second}") < html.index(f"/console/tickets/{first}")
    assert f"/tickets/{second}" not in ana.client.get("/console/api/inbox?channel=whatsapp").json()["html"]
    assert f"/tickets/{first}" in ana.client.get(f"/console/api/inbox?q={VALID_NSS}").json()["html"]
    assert f"/tickets/{first}" in ana.client.get(f"/console/api/inbox?q={VALID_CURP.lower()}").json()["html"]
    assert "No hay reportes" in ana.client.get("/console/api/inbox?q=ZZZZ999").json()["html"]
    # names are found as staff type them: without accents, any case ("Ana López García")
    # ... and every word of several, in any order ("rosa valdez" finds "Rosa Elena Valdez Ruiz")
    for typed in ("lopez", "LÓPEZ", "ana lopez garcia", "ana garcía", "GARCIA  lópez ana"):
        assert f"/tickets/{first}" in ana.client.get("/console/api/inbox", params={"q": typed}).json()["html"], typed
    for typed in ("ana perez", "lopez garcias"):
        assert f"/tickets/{first}" not in ana.client.get("/console/api/inbox", params={"q": typed}).json()["html"], typed
    assert f"/tickets/{first}" not in ana.client.get("/console/api/inbox?reason=sin_vigencia").json()["html"]
    # Beto sees who holds it
    assert "Ana López" in beto.client.get("/console/api/inbox").json()["html"]


def test_take_over_reply_and_the_second_staff_member_cannot_answer(app: FastAPI, ana: Browser, beto: Browser) -> None:
    ticket = escalate(app)
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert VALID_NSS not in page and VALID_CURP not in page and "8903" in page  # masked
    assert ana.post(f"/console/tickets/{ticket}/take").status_code == 303
    notice = rows(app, Message, author=Author.SYSTEM)[-1]
    assert "Ana" in notice.text and "López" not in notice.text  # first name only
    assert rows(app, Conversation)[0].holder == Holder.STAFF
    r = ana.post(f"/console/tickets/{ticket}/reply", text="Hola, ya revisé tu caso.")
    assert r.status_code == 303
    sent = rows(app, Message, author=Author.STAFF)
    assert [m.text for m in sent] == ["Hola, ya revisé tu caso."] and sent[0].status == MessageStatus.PENDING
    # Beto: sees the holder, cannot reply nor take it without saying so
    assert "Lo atiende <strong>Ana López</strong>" in beto.client.get(f"/console/tickets/{ticket}").text
    assert beto.post(f"/console/tickets/{ticket}/reply", text="yo también").status_code == 403
    assert beto.post(f"/console/tickets/{ticket}/take").status_code == 409
    assert len(rows(app, Message, author=Author.STAFF)) == 1
    # explicit takeover is recorded, and then Ana is the one who cannot answer
    assert beto.post(f"/console/tickets/{ticket}/take", force="1").status_code == 303
    assert rows(app, AuditEntry, action="reassign")[0].detail["from_staff_id"] is not None
    told = rows(app, Message, author=Author.SYSTEM)[-1].text
    assert "Beto" in told and "ahora yo sigo con tu caso" in told  # the student knows who attends now
    assert ana.post(f"/console/tickets/{ticket}/reply", text="otra").status_code == 403
    audit_page = ana.client.get("/console/admin/audit").text
    assert "lo atendía: Ana López" in audit_page and "from_staff_id" not in audit_page
    # student messages while staff hold the chat: stored, bot silent, shown live
    bot_before = len(rows(app, Message, author=Author.BOT))
    student_says(app, "Gracias, sigo esperando")
    assert len(rows(app, Message, author=Author.BOT)) == bot_before
    assert "sigo esperando" in beto.client.get(f"/console/api/tickets/{ticket}").json()["html"]


def test_reveal_is_audited_and_notes_stay_internal(app: FastAPI, ana: Browser) -> None:
    ticket = escalate(app)
    r = ana.client.post(f"/console/tickets/{ticket}/reveal", data={"csrf": ana.csrf, "field": "nss"},
                        headers={"Accept": "application/json"})
    assert r.json() == {"field": "nss", "value": VALID_NSS}
    entry = rows(app, AuditEntry, action="reveal")[0]
    assert entry.detail == {"field": "nss"} and entry.ticket_id == ticket
    assert ana.client.post(f"/console/tickets/{ticket}/reveal", data={"csrf": ana.csrf, "field": "name"}).status_code == 400
    before = len(rows(app, Message))
    assert ana.post(f"/console/tickets/{ticket}/note", text="Revisar con IMSS").status_code == 303
    assert ana.post(f"/console/tickets/{ticket}/note", text=f"NSS {VALID_NSS} verificado").status_code == 303
    assert VALID_NSS not in ana.client.get(f"/console/tickets/{ticket}").text  # a note does not bypass revelar
    assert len(rows(app, Message)) == before
    assert "Revisar con IMSS" in ana.client.get(f"/console/tickets/{ticket}").text
    audit = ana.client.get("/console/admin/audit").text
    assert "Reveló dato" in audit and VALID_NSS not in audit


def test_resolve_tells_the_student_and_the_bot_answers_again(app: FastAPI, ana: Browser) -> None:
    ticket = escalate(app)
    ana.post(f"/console/tickets/{ticket}/take")
    assert ana.post(f"/console/tickets/{ticket}/resolve").status_code == 303
    t = rows(app, Ticket)[0]
    assert t.status == TicketStatus.RESOLVED and t.resolved_at is not None
    conv = rows(app, Conversation)[0]
    assert conv.holder == Holder.BOT and conv.state["stage"] != "ticket_open"
    assert "resuelto" in rows(app, Message, author=Author.SYSTEM)[-1].text
    handled = student_says(app, "hola")
    assert handled.replies, "the bot answers again"
    # reopen by hand
    assert ana.post(f"/console/tickets/{ticket}/reopen").status_code == 303
    assert rows(app, Ticket)[0].status == TicketStatus.OPEN


def test_a_ticket_the_bot_holds_is_resolved_without_taking_the_chat(app: FastAPI, beto: Browser) -> None:
    """After a hand-back (or a question the student settled alone) closing the case must not make
    the student read "ya estoy revisando tu caso" seconds before "tu reporte quedó resuelto"."""
    ticket = escalate(app)
    page = beto.client.get(f"/console/tickets/{ticket}").text
    assert "Resolver sin tomar el chat" in page
    before = len(rows(app, Message, author=Author.SYSTEM))
    assert beto.post(f"/console/tickets/{ticket}/resolve").status_code == 303
    assert rows(app, Ticket)[0].status == TicketStatus.RESOLVED
    told = [m.text for m in rows(app, Message, author=Author.SYSTEM)[before:]]
    assert len(told) == 1 and "resuelto" in told[0]
    assert rows(app, Conversation)[0].holder == Holder.BOT


def test_hand_back_answers_what_came_after_the_last_reply_once_and_keeps_who_worked_on_it(
        app: FastAPI, ana: Browser, beto: Browser) -> None:
    ticket = escalate(app)
    beto.post(f"/console/tickets/{ticket}/take")
    student_says(app, "gracias")  # held, and answered by the reply below
    beto.post(f"/console/tickets/{ticket}/reply", text="Ya lo estoy revisando.")
    student_says(app, "¿ya me resolvieron?")  # held after the last reply: nobody answered it
    inbound = len(rows(app, Message, direction="in"))
    before = rows(app, Message)[-1].id
    assert beto.post(f"/console/tickets/{ticket}/handback").status_code == 303
    after = [m for m in rows(app, Message) if m.id > before]
    assert after[0].author == Author.SYSTEM and after[0].text.startswith("Te regreso con el asistente automático")
    answer = " ".join(m.text for m in after[1:] if m.author == Author.BOT)
    assert f"#{ticket}* sigue abierto" in answer and "Con gusto" not in answer  # the latest message, not "gracias"
    assert len(rows(app, Message, direction="in")) == inbound  # not stored a second time
    assert {m.status for m in rows(app, Message, direction="in")} == {MessageStatus.RECEIVED}
    beto.post(f"/console/tickets/{ticket}/take")  # taken and handed back again: nothing is answered twice
    beto.post(f"/console/tickets/{ticket}/handback")
    assert rows(app, Message)[-1].author == Author.SYSTEM
    t = rows(app, Ticket)[0]
    assert t.status == TicketStatus.OPEN and t.assigned_staff_id is None  # nobody holds it: back in the queue
    assert rows(app, Conversation)[0].holder == Holder.BOT
    assert [e.action for e in rows(app, AuditEntry) if e.ticket_id] == ["take_over", "reply", "hand_back",
                                                                        "take_over", "hand_back"]
    # ...but who replied on it is not erased: the inbox, the ticket and the export say so
    inbox = ana.client.get("/console/api/inbox").json()["html"]
    assert "Sin asignar" in inbox and "Atendido por Beto Ruiz" in inbox
    assert re.search(r"<dt>Atendido por</dt><dd[^>]*>Beto Ruiz</dd>", ana.client.get(f"/console/tickets/{ticket}").text)
    lines = ana.client.get("/console/reports/tickets.csv").text.lstrip("\ufeff").splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    assert row[header.index("atendido_por")] == "Beto Ruiz"


def test_a_hold_nobody_works_on_goes_back_to_the_bot_which_answers_the_student(
        app: FastAPI, ana: Browser, clock: Clock) -> None:
    """Ana took the chat, replied and left without handing it back: after HOLD_TIMEOUT_MINUTES (30)
    without a reply or a note from her, the bot is back, says so, and answers what the student wrote."""
    outbox = OutboxWorker(app.state.services)
    ticket = escalate(app)
    ana.post(f"/console/tickets/{ticket}/take")
    assert 'id="hold-expiry"' in ana.client.get(f"/console/tickets/{ticket}").text  # she is told
    ana.post(f"/console/tickets/{ticket}/reply", text="Déjame revisarlo.")
    student_says(app, "¿ya me resolvieron?")
    clock.offset = timedelta(minutes=20)
    ana.post(f"/console/tickets/{ticket}/note", text="Revisar con el IMSS")  # a note is working on it too
    clock.offset = timedelta(minutes=49)
    assert outbox.release_expired_holds() == 0
    assert rows(app, Conversation)[0].holder == Holder.STAFF
    before = rows(app, Message)[-1].id
    clock.offset = timedelta(minutes=51)
    assert outbox.release_expired_holds() == 1
    conv, t = rows(app, Conversation)[0], rows(app, Ticket)[0]
    assert conv.holder == Holder.BOT and conv.holder_staff_id is None
    assert t.status == TicketStatus.OPEN and t.assigned_staff_id is None and t.handled_by_staff_id is not None
    after = [m for m in rows(app, Message) if m.id > before]
    assert after[0].author == Author.SYSTEM and "asistente automático" in after[0].text
    assert f"#{ticket} sigue abierto" in after[0].text and "una persona" in after[0].text
    assert f"#{ticket}* sigue abierto" in " ".join(m.text for m in after[1:] if m.author == Author.BOT)
    assert outbox.release_expired_holds() == 0  # once
    [entry] = rows(app, AuditEntry, action="hand_back")
    assert entry.staff_id is None and entry.detail["reason"] == "hold_expired"
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert 'id="take"' in page and "Atendido por" in page
    assert "por qué: nadie lo atendió a tiempo" in ana.client.get("/console/admin/audit").text


def test_without_a_configured_template_the_console_says_a_late_reply_cannot_be_delivered(
        app: FastAPI, ana: Browser, clock: Clock) -> None:
    """No TWILIO_TEMPLATE_CONTENT_SID: offering "enviar como plantilla" would promise a delivery
    that fails; staff are told before writing, and a failed reply says why."""
    ticket = escalate(app)
    ana.post(f"/console/tickets/{ticket}/take")
    clock.offset = timedelta(hours=25)
    ana.refresh_csrf()
    ana.login(ADMIN)
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert 'id="no-template"' in page and "no entregará tu respuesta" in page
    assert "Enviar como plantilla" not in page
    with app.state.services.session() as session:  # the outbox gave up on a reply: the reason shows
        message = session.exec(select(Message).where(Message.author == Author.BOT)).first()
        assert message is not None
        message.status, message.error_code = MessageStatus.FAILED, "no_template"
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert "falló</span> <span class=\"muted\">(no hay plantilla aprobada configurada" in page


def test_whatsapp_reply_after_24_hours_needs_the_template(tmp_path: Path, kb: Any, clock: Clock) -> None:
    app = build_app(tmp_path, kb=kb, clock=clock, twilio_template_content_sid="HX" + "0" * 32)
    add_staff(app, ADMIN, "Ana López", role="admin")
    with running(app) as server, browser(server) as ana:
        ana.login(ADMIN)
        _late_reply_goes_as_the_template(app, ana, clock)


def _late_reply_goes_as_the_template(app: FastAPI, ana: Browser, clock: Clock) -> None:
    ticket = escalate(app)
    ana.post(f"/console/tickets/{ticket}/take")
    clock.offset = timedelta(hours=25)
    ana.refresh_csrf()  # the session was idle for a day: log in again
    ana.login(ADMIN)
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert "plantilla aprobada" in page and "Enviar como plantilla" in page
    r = ana.post(f"/console/tickets/{ticket}/reply", text="¿Sigues con el problema?")
    assert r.status_code == 409 and "plantilla" in r.text and "¿Sigues con el problema?" in r.text
    assert ana.post(f"/console/tickets/{ticket}/reply", text="¿Sigues con el problema?", template="1").status_code == 303
    assert rows(app, Message, author=Author.STAFF)[0].template is True


def test_reports_and_csv_export(app: FastAPI, ana: Browser) -> None:
    ticket = escalate(app)
    student_says(app, "hola", address="+5216440000009")  # a conversation the bot handles alone
    ana.post(f"/console/tickets/{ticket}/take")
    ana.post(f"/console/tickets/{ticket}/reply", text="=HYPERLINK(\"x\")")
    ana.post(f"/console/tickets/{ticket}/resolve")
    page = ana.client.get("/console/reports").text
    assert "<svg" in page and "50 %" in page and "Duda general" in page
    csv = ana.client.get("/console/reports/tickets.csv")
    assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("ticket,creado,motivo") and len(lines) == 2 and "duda_general" in lines[1]
    assert VALID_NSS not in csv.text and VALID_CURP not in csv.text
    assert rows(app, AuditEntry, action="export")


def test_reports_backlog_counts_open_tickets_by_age(app: FastAPI, ana: Browser, clock: Clock) -> None:
    """Open tickets of several ages: the page answers and each lands in its age bucket."""
    ages = {"+5216440000021": 10, "+5216440000022": 9, "+5216440000023": 5, "+5216440000024": 2,
            "+5216440000025": 0}
    for address, days in ages.items():
        ticket = escalate(app, address=address)
        with app.state.services.session() as session:  # opened that many days ago
            row = session.get(Ticket, ticket)
            row.created_at = row.updated_at = clock() - timedelta(days=days, minutes=5)
            session.add(row)
            session.commit()
    page = ana.client.get("/console/reports", params={"desde": "2000-01-01"})
    assert page.status_code == 200
    counts = dict(re.findall(r'text-anchor="end">([^<]+)</text><rect [^>]*class="series-b"/>'
                             r'<text [^>]*class="value">(\d+)</text>', page.text))
    assert counts == {"&lt; 1 día": "1", "1–3 días": "1", "3–7 días": "1", "&gt; 7 días": "2"}


def test_an_urgent_report_is_marked_in_the_inbox_and_on_its_page(app: FastAPI, ana: Browser) -> None:
    """A student at the hospital while not covered was told the desk would see it first: the
    console says so where staff look first, not only inside the report's detail."""
    plain = escalate(app, address="+5216440000009")
    for text in ("sigo sin vigencia", "hace 3 semanas", f"123456 Jorge Ruiz Soto {VALID_NSS} {VALID_CURP}",
                 "estoy en urgencias del hospital y me dicen que no tengo derecho", "si"):
        handled = student_says(app, text, address="+5216440000008")
    assert handled.ticket is not None
    urgent = int(handled.ticket.id)  # type: ignore[arg-type]
    assert rows(app, Ticket, id=urgent)[0].urgent is True and rows(app, Ticket, id=plain)[0].urgent is False
    # a student who writes about the same hospital again once the report is open: still urgent
    student_says(app, "sigo en urgencias y no me atienden", address="+5216440000008")
    assert rows(app, Ticket, id=urgent)[0].urgent is True
    newest = escalate(app, address="+5216440000007")  # newer activity than the urgent one
    html = ana.client.get("/console/api/inbox").json()["html"]
    row = html[html.index(f'data-ticket="{urgent}"'):]
    assert '<span class="tag urgent">URGENTE</span>' in row[:row.index("</li>")]
    plain_row = html[html.index(f'data-ticket="{plain}"'):]
    assert "URGENTE" not in plain_row[:plain_row.index("</li>")]
    assert '<span class="tag urgent">URGENTE</span>' in ana.client.get(f"/console/tickets/{urgent}").text
    # listed first in its section, whatever is newer
    assert html.index(f'data-ticket="{urgent}"') < html.index(f'data-ticket="{newest}"') \
        < html.index(f'data-ticket="{plain}"')
    # "solo urgentes": the page's form (POSTed, like the live polling) and a URL
    page = ana.client.get("/console/inbox").text
    assert re.search(r'<input type="checkbox" name="urgent" value="1"\s*> Solo urgentes', page)
    only = ana.post("/console/inbox", urgent="1").text
    assert f'data-ticket="{urgent}"' in only and f'data-ticket="{plain}"' not in only
    assert f'data-ticket="{newest}"' not in only
    assert re.search(r'name="urgent" value="1" checked', only)  # the filter stays on
    polled = ana.post("/console/api/inbox", urgent="1").json()["html"]
    assert f'data-ticket="{urgent}"' in polled and f'data-ticket="{plain}"' not in polled
    assert f'data-ticket="{plain}"' not in ana.client.get("/console/api/inbox?urgent=1").json()["html"]
    # taken by Ana it is hers, still urgent first among hers
    ana.post(f"/console/tickets/{plain}/take")
    ana.post(f"/console/tickets/{urgent}/take")
    mine = ana.client.get("/console/api/inbox").json()["html"]
    assert mine.index("Míos") < mine.index(f'data-ticket="{urgent}"') < mine.index(f'data-ticket="{plain}"')
    csv = ana.client.get("/console/reports/tickets.csv").text.lstrip("\ufeff").splitlines()
    header = csv[0].split(",")
    urgency = {line.split(",")[0]: line.split(",")[header.index("urgente")] for line in csv[1:]}
    assert urgency == {str(plain): "no", str(urgent): "sí", str(newest): "no"}


def test_an_unverified_curp_is_a_short_label_with_its_reason_as_the_value(app: FastAPI, ana: Browser) -> None:
    ticket = escalate(app)
    with app.state.services.session() as session:
        row = session.get(Ticket, ticket)
        row.data = {**(row.data or {}), "curp_unverified": "sí"}
        session.add(row)
        session.commit()
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert "<dt>CURP sin verificar</dt>" in page
    assert "su último carácter no corresponde; la confirmó dos veces" in page


def test_a_reply_refused_because_a_colleague_took_the_chat_is_shown_back_not_lost(
        app: FastAPI, ana: Browser, beto: Browser) -> None:
    ticket = escalate(app)
    assert ana.post(f"/console/tickets/{ticket}/take").status_code == 303
    assert beto.post(f"/console/tickets/{ticket}/take", force="1").status_code == 303
    refused = ana.post(f"/console/tickets/{ticket}/reply", text="Carlos, el error ERR-IMSS-204 indica que…")
    assert refused.status_code == 403
    assert 'id="unsent-draft"' in refused.text and "Carlos, el error ERR-IMSS-204 indica que…" in refused.text


def test_the_audit_log_reads_in_spanish(app: FastAPI, ana: Browser) -> None:
    ticket = escalate(app)
    assert ana.post(f"/console/tickets/{ticket}/take").status_code == 303
    assert ana.post(f"/console/tickets/{ticket}/reply", text="Hola, ya revisé tu caso.").status_code == 303
    ana.client.post(f"/console/tickets/{ticket}/reveal", data={"csrf": ana.csrf, "field": "curp"})
    page = ana.client.get("/console/admin/audit").text
    assert "dato: CURP" in page and "mensaje #" in page
    for raw in ("field:", "message_id", "template:", "None", "Reasignó a sí mismo"):
        assert raw not in page, raw


REOPENING = ("quiero hablar con una persona",
             "Ya me dijeron que sí, pero al guardar la solicitud me sigue saliendo que estoy de intercambio", "sí")


def test_a_ticket_the_student_reopened_says_so_with_what_they_added(app: FastAPI, ana: Browser) -> None:
    """The student wrote again about a problem Ana had resolved: the same ticket reopens, and the
    console says so where staff look first, with what the student added shown apart."""
    ticket = escalate(app)
    other = escalate(app, address="+5216440000002")
    ana.post(f"/console/tickets/{ticket}/take")
    ana.post(f"/console/tickets/{ticket}/resolve")
    inbox = ana.client.get("/console/api/inbox", params={"status": "all"}).json()["html"]
    assert "Reabierto" not in inbox  # resolved is not reopened
    for text in REOPENING:
        handled = student_says(app, text)
    assert handled.ticket is not None and handled.ticket.id == ticket

    html = ana.client.get("/console/api/inbox").json()["html"]
    row = html[html.index(f'data-ticket="{ticket}"'):]
    assert '<span class="tag reopened"' in row[:row.index("</li>")] and ">Reabierto</span>" in row[:row.index("</li>")]
    other_row = html[html.index(f'data-ticket="{other}"'):]
    assert "Reabierto" not in other_row[:other_row.index("</li>")]
    page = ana.client.get(f"/console/tickets/{ticket}").text
    head = page[page.index('<div class="conv-head">'):page.index('id="messages"')]
    assert '<span class="tag reopened">Reabierto</span>' in head
    box = page[page.index('id="reopened"'):]
    box = box[:box.index("</div>")]
    assert "volvió a escribir sobre este problema" in box and "Lo que agregó:" in box
    assert "al guardar la solicitud me sigue saliendo que estoy de intercambio" in box
    assert "Quiero saber si puedo tramitar" not in box  # only what is new, not the first story
    assert re.search(r"<dt>Reabierto</dt><dd[^>]*>[^<]+\(por el estudiante\)</dd>", page)

    # resolved again: no longer marked in the queue, but the ticket keeps its history
    ana.post(f"/console/tickets/{ticket}/take")
    ana.post(f"/console/tickets/{ticket}/resolve")
    inbox = ana.client.get("/console/api/inbox", params={"status": "all"}).json()["html"]
    assert "Reabierto" not in inbox
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert 'id="reopened"' not in page and "<dt>Reabierto</dt>" in page
    # reopened by hand: staff know it (the audit log says who), no student's news to mark
    ana.post(f"/console/tickets/{other}/resolve")
    assert ana.post(f"/console/tickets/{other}/reopen").status_code == 303
    html = ana.client.get("/console/api/inbox").json()["html"]
    other_row = html[html.index(f'data-ticket="{other}"'):]
    assert "Reabierto" not in other_row[:other_row.index("</li>")]


def test_the_students_data_come_in_one_order_and_say_where_the_student_was(app: FastAPI, ana: Browser) -> None:
    """The data came in the order the student happened to give them (CURP before the name on one
    ticket, after it on the next), and the stage read "(venía de: en el menú)"."""
    first = escalate(app)
    second = escalate(app, address="+5216440000002")
    with app.state.services.session() as session:  # the same data, added in other orders
        one, two = session.get(Ticket, first), session.get(Ticket, second)
        one.data = {"curp": VALID_CURP, "nss_unverified": "sí", "student_id": "00000123456", "name": "Ana López",
                    "nss": VALID_NSS, "zeta": "x", "email": "ana@itson.edu.mx"}
        two.data = {"email": "ana@itson.edu.mx", "zeta": "x", "nss": VALID_NSS, "name": "Ana López",
                    "student_id": "00000123456", "nss_unverified": "sí", "curp": VALID_CURP}
        session.add_all([one, two])
        session.commit()
    orders = []
    for ticket in (first, second):
        page = ana.client.get(f"/console/tickets/{ticket}").text
        orders.append(re.findall(r"<dt>([^<]+)</dt>", page))
        assert "venía de" not in page
        assert re.search(r"<dt>Etapa del trámite</dt><dd>Esperando a la mesa de ayuda</dd>", page)
        assert re.search(r"<dt>Antes del reporte</dt><dd[^>]*>En el menú principal \(aún no empezaba la guía "
                         r"del trámite\)</dd>", page)
    assert orders[0] == orders[1]
    assert orders[0][:7] == ["Nombre", "ID ITSON", "NSS", "NSS sin verificar", "CURP", "Correo", "zeta"]


def test_typing_a_reply_keeps_the_hold_without_telling_the_student(app: FastAPI, ana: Browser, beto: Browser,
                                                                   clock: Clock) -> None:
    """Ana spent a long while writing a careful answer: the chat went back to the bot under her
    fingers. The page's typing ping (at most every 30 s) is working on the chat, as a reply is."""
    outbox = OutboxWorker(app.state.services)
    ticket = escalate(app)
    ana.post(f"/console/tickets/{ticket}/take")
    messages, audited = len(rows(app, Message)), len(rows(app, AuditEntry))
    clock.offset = timedelta(minutes=25)
    r = ana.client.post(f"/console/api/tickets/{ticket}/typing", headers={"X-CSRF-Token": ana.csrf,
                                                                          "Accept": "application/json"})
    assert r.status_code == 200 and r.json() == {"held": True}
    # Beto, who does not hold it, keeps nothing alive; without the CSRF token nothing happens
    assert beto.client.post(f"/console/api/tickets/{ticket}/typing",
                            headers={"X-CSRF-Token": beto.csrf}).json() == {"held": False}
    assert ana.client.post(f"/console/api/tickets/{ticket}/typing").status_code == 403
    assert len(rows(app, Message)) == messages  # the student is told nothing
    assert len(rows(app, AuditEntry)) == audited  # and the audit log records actions, not keystrokes
    clock.offset = timedelta(minutes=54)  # 54 min after taking it, 29 after typing
    assert outbox.release_expired_holds() == 0
    assert rows(app, Conversation)[0].holder == Holder.STAFF
    clock.offset = timedelta(minutes=56)
    assert outbox.release_expired_holds() == 1
    assert ana.client.post(f"/console/api/tickets/{ticket}/typing",
                           headers={"X-CSRF-Token": ana.csrf}).json() == {"held": False}  # gone: not taken back
    assert rows(app, Conversation)[0].holder == Holder.BOT


#: An NSS and a CURP whose check digits fail (the student confirmed them twice: kept *sin verificar*).
WRONG_NSS, WRONG_CURP = "12345678901", VALID_CURP[:-1] + "7"


def _unverified(app: FastAPI, ticket: int) -> None:
    with app.state.services.session() as session:
        row = session.get(Ticket, ticket)
        row.data = {**(row.data or {}), "nss": WRONG_NSS, "nss_unverified": "sí", "curp": WRONG_CURP,
                    "curp_unverified": "sí"}
        session.add(row)
        session.commit()


def test_staff_correct_an_unverified_nss_and_curp_which_then_show_as_verified(app: FastAPI, ana: Browser) -> None:
    """A correction typed in the console is checked as the bot checks it: a valid one replaces the
    value and the *sin verificar* mark goes; the old one stays masked in the conversation; the
    values are in no log and not in the audit log (the field's name only)."""
    ticket = escalate(app)
    _unverified(app, ticket)
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert "<dt>NSS sin verificar</dt>" in page and "<dt>CURP sin verificar</dt>" in page
    with logged() as lines:
        r = ana.post(f"/console/tickets/{ticket}/correct", field="nss", value="1234 5678 903")
        assert r.status_code == 303 and r.headers["location"].endswith("?m=nss")
        page = ana.client.get(r.headers["location"]).text
        r = ana.post(f"/console/tickets/{ticket}/correct", field="curp", value=f" {VALID_CURP[:9]}\u200b{VALID_CURP[9:].lower()}")
        assert r.status_code == 303
        page = ana.client.get(r.headers["location"]).text
    assert "CURP corregida: es válida" in page
    assert "sin verificar" not in page.split("<h2>Datos del estudiante</h2>")[1].split("</dl>")[0]
    assert "•••••••8903" in page and VALID_NSS not in page and VALID_CURP not in page
    [row] = rows(app, Ticket, id=ticket)
    assert row.data["nss"] == VALID_NSS and row.data["curp"] == VALID_CURP
    assert not {"nss_unverified", "curp_unverified"} & set(row.data)
    # the old values, typed by the student in the chat, are still masked there
    student_says(app, f"les repito mi nss {WRONG_NSS}")
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert WRONG_NSS not in page and "•••••••8901" in page and "_replaced" not in page
    for value in (VALID_NSS, "1234 5678 903", VALID_CURP, VALID_CURP.lower(), WRONG_NSS, WRONG_CURP):
        assert not [line for line in lines if value in line], value
    entries = rows(app, AuditEntry, action="correct_data")
    assert [e.detail for e in entries] == [{"field": "nss", "op": "corrected"}, {"field": "curp", "op": "corrected"}]
    audit = ana.client.get("/console/admin/audit", params={"action": "correct_data"}).text
    assert "Corrigió dato" in audit and "dato: NSS, corregido" in audit and VALID_NSS not in audit


@pytest.mark.parametrize(("field", "value", "why"), [
    ("nss", "12345678901", "Ese NSS no es válido: su último dígito (el verificador) no corresponde"),
    ("nss", "1234567890", "El NSS debe tener 11 dígitos"),
    ("nss", "1234567890A", "El NSS lleva solo números"),
    ("curp", VALID_CURP[:-1] + "1", "Esa CURP no es válida: su último carácter (el verificador) no corresponde"),
    ("curp", VALID_CURP[:-2], "La CURP debe tener 18 caracteres"),
    ("curp", "BOXW311320HNERXN09", "la fecha de nacimiento que lleva no existe"),
])
def test_an_invalid_correction_is_refused_in_spanish_and_the_old_value_stays(
        app: FastAPI, ana: Browser, field: str, value: str, why: str) -> None:
    ticket = escalate(app)
    before = rows(app, Ticket, id=ticket)[0].data
    with logged() as lines:
        r = ana.post(f"/console/tickets/{ticket}/correct", field=field, value=value)
    assert r.status_code == 400
    error = re.search(r'id="correct-error">([^<]+)<', r.text)
    assert error and why in error.group(1) and "No se guardó" in error.group(1), r.text[-2000:]
    assert f'value="{value}"' in r.text, "what staff typed is still in the box"
    assert re.search(r'<details class="correct-data" id="correct-data" open>', r.text)
    assert rows(app, Ticket, id=ticket)[0].data == before
    assert not rows(app, AuditEntry, action="correct_data")
    assert not [line for line in lines if value in line]


def test_only_nss_and_curp_are_corrected_and_only_with_the_csrf_token(app: FastAPI, ana: Browser) -> None:
    ticket = escalate(app)
    before = rows(app, Ticket, id=ticket)[0].data
    r = ana.post(f"/console/tickets/{ticket}/correct", field="name", value="Otra Persona")
    assert r.status_code == 400 and "Solo se pueden corregir el NSS y la CURP" in r.text
    r = ana.client.post(f"/console/tickets/{ticket}/correct", data={"field": "nss", "value": VALID_NSS})
    assert r.status_code == 403
    assert rows(app, Ticket, id=ticket)[0].data == before


def test_a_student_correcting_an_unverified_nss_after_the_report_clears_the_mark(app: FastAPI, ana: Browser) -> None:
    """The bot's own correction path (``corregir NSS …`` with the report sent) merges the new value
    into the ticket: the flag about the old value went with it."""
    ticket = escalate(app)
    _unverified(app, ticket)
    student_says(app, f"me equivoqué, el correcto es {VALID_NSS}")
    [row] = rows(app, Ticket, id=ticket)
    assert row.data["nss"] == VALID_NSS and "nss_unverified" not in row.data
    assert row.data["curp_unverified"] == "sí", "the CURP was not corrected: its mark stays"
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert "<dt>NSS sin verificar</dt>" not in page and "<dt>CURP sin verificar</dt>" in page
    assert WRONG_NSS not in page


def _history(page: str) -> list[str]:
    card = page.split('id="history"')[1].split("</section>")[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip()
            for item in re.findall(r"<li[^>]*>(.*?)</li>", card, re.S)]


def test_a_reason_the_bot_changes_is_in_the_tickets_history(app: FastAPI, ana: Browser) -> None:
    """The report open for another doubt became the missing coverage on the student's words: the
    reason changed with no trace (staff saw a «Sin vigencia» ticket they had read as a doubt)."""
    at = datetime(2026, 2, 20, 10, 0, tzinfo=TZ)
    ticket = escalate(app, at=at)
    student_says(app, "ya pasaron 10 dias y no me sale vigente, la guarde el 5 de febrero", at=at + timedelta(minutes=5))
    [row] = rows(app, Ticket)
    assert row.id == ticket and row.reason == "sin_vigencia"
    [entry] = rows(app, AuditEntry, action="reason_change")
    assert entry.ticket_id == ticket and entry.staff_id is None
    assert entry.detail == {"from_reason": "duda_general", "to_reason": "sin_vigencia"}
    history = _history(ana.client.get(f"/console/tickets/{ticket}").text)
    assert history[0].endswith("· El bot Abrió el reporte: Duda general"), history
    [change] = [h for h in history if "motivo" in h]
    assert re.fullmatch(r"\d+ \w{3} \d\d:\d\d · El bot, por lo que escribió el estudiante Cambió el motivo de "
                        r"«Duda general» a «Sin vigencia»", change), change
    audit = ana.client.get("/console/admin/audit", params={"action": "reason_change"}).text
    assert "Cambió el motivo" in audit and "de: Duda general, a: Sin vigencia" in audit


def test_staff_change_a_tickets_reason_and_the_history_says_who_from_what_to_what(
        app: FastAPI, ana: Browser, beto: Browser) -> None:
    ticket = escalate(app)
    assert beto.post(f"/console/tickets/{ticket}/take").status_code == 303
    r = beto.post(f"/console/tickets/{ticket}/reason", reason="datos_erroneos")
    assert r.status_code == 303 and r.headers["location"].endswith("?m=reason")
    page = beto.client.get(r.headers["location"]).text
    assert "Motivo cambiado; quedó en el historial del reporte." in page
    assert "Datos erróneos" in page.split('class="muted small">')[1].split("</p>")[0]  # the header says it
    history = _history(page)
    assert history[0].endswith("Abrió el reporte: Duda general")
    assert history[-1].endswith("· Beto Ruiz Cambió el motivo de «Duda general» a «Datos erróneos»"), history
    assert rows(app, Ticket, id=ticket)[0].reason == "datos_erroneos"
    assert rows(app, Conversation)[0].state["ticket_reason"] == "datos_erroneos"
    [entry] = rows(app, AuditEntry, action="reason_change")
    assert entry.staff_id is not None and entry.detail == {"from_reason": "duda_general", "to_reason": "datos_erroneos"}
    # refused: the same reason, one that does not exist; nothing recorded
    r = ana.post(f"/console/tickets/{ticket}/reason", reason="datos_erroneos")
    assert r.status_code == 400 and "El reporte ya tiene ese motivo." in r.text
    assert ana.post(f"/console/tickets/{ticket}/reason", reason="otra_cosa").status_code == 400
    assert ana.client.post(f"/console/tickets/{ticket}/reason", data={"reason": "sin_vigencia"}).status_code == 403
    assert len(rows(app, AuditEntry, action="reason_change")) == 1
    # the student's later words still go to this very ticket (the conversation follows the reason)
    assert beto.post(f"/console/tickets/{ticket}/handback").status_code == 303
    student_says(app, f"me equivoqué, el correcto es {VALID_NSS}")
    assert [t.id for t in rows(app, Ticket)] == [ticket]


#: Another valid NSS and CURP: what staff correct the student's to.
OTHER_NSS, OTHER_CURP = "98765432103", "GOMA020315MSRRRN03"


def test_a_later_report_by_the_same_student_carries_the_data_staff_corrected(app: FastAPI, ana: Browser) -> None:
    """The bot keeps the student's checked data for their next report (``known``): a correction in
    the console replaced it on the ticket only, so the next report brought back the wrong NSS."""
    first = escalate(app)
    for name, value in (("nss", OTHER_NSS), ("curp", OTHER_CURP)):
        assert ana.post(f"/console/tickets/{first}/correct", field=name, value=value).status_code == 303
    assert rows(app, Conversation)[0].state["known"]["nss"] == OTHER_NSS
    assert ana.post(f"/console/tickets/{first}/resolve").status_code == 303
    student_says(app, "quiero hablar con una persona")
    review = "\n".join(r.text for r in student_says(app, "Me sale un error al guardar mi solicitud del seguro").replies)
    assert f"NSS: {OTHER_NSS}" in review and f"CURP: {OTHER_CURP}" in review, review  # what the student checks
    assert VALID_NSS not in review and VALID_CURP not in review
    second = student_says(app, "sí").ticket
    assert second is not None and second.id != first
    assert second.data["nss"] == OTHER_NSS and second.data["curp"] == OTHER_CURP
    page = ana.client.get(f"/console/tickets/{second.id}").text
    assert "•••••••2103" in page and "CURP sin verificar" not in page and "NSS sin verificar" not in page


def _details(page: str, details_id: str) -> str:
    return page.split(f'id="{details_id}"')[1].split("</details>")[0]


def test_on_a_chat_a_colleague_holds_only_the_holder_or_an_admin_corrects_data_or_changes_the_reason(
        app: FastAPI, ana: Browser, beto: Browser) -> None:
    ticket = escalate(app)
    assert ana.post(f"/console/tickets/{ticket}/take").status_code == 303
    before = rows(app, Ticket, id=ticket)[0]
    # Beto's page says why in place of the forms
    page = beto.client.get(f"/console/tickets/{ticket}").text
    held = "Este chat lo atiende Ana López: solo esa persona o un administrador puede"
    assert f"{held} corregir sus datos." in _details(page, "correct-data")
    assert "Guardar corrección" not in _details(page, "correct-data")
    assert f"{held} cambiar el motivo." in _details(page, "change-reason")
    assert "Guardar motivo" not in _details(page, "change-reason")
    # and a form sent from a page opened before Ana took the chat is refused, said where it was sent
    r = beto.post(f"/console/tickets/{ticket}/correct", field="nss", value=OTHER_NSS)
    assert r.status_code == 403
    assert re.search(r'<details class="correct-data" id="correct-data" open>', r.text)
    assert f"{held} corregir sus datos." in re.search(r'id="correct-error">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    r = beto.post(f"/console/tickets/{ticket}/reason", reason="sin_vigencia")
    assert r.status_code == 403
    assert re.search(r'<details class="correct-data" id="change-reason" open>', r.text)
    assert f"{held} cambiar el motivo." in re.search(r'id="reason-error">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    after = rows(app, Ticket, id=ticket)[0]
    assert (after.data, after.reason) == (before.data, before.reason)
    assert not rows(app, AuditEntry, action="correct_data") and not rows(app, AuditEntry, action="reason_change")
    # the holder may
    assert ana.post(f"/console/tickets/{ticket}/correct", field="nss", value=OTHER_NSS).status_code == 303
    # Beto takes the chat over (explicitly, recorded): now he may, and Ana, an admin, still may
    assert beto.post(f"/console/tickets/{ticket}/take", force="1").status_code == 303
    assert beto.post(f"/console/tickets/{ticket}/reason", reason="sin_vigencia").status_code == 303
    assert ana.post(f"/console/tickets/{ticket}/correct", field="curp", value=OTHER_CURP).status_code == 303
    assert ana.post(f"/console/tickets/{ticket}/reason", reason="datos_erroneos").status_code == 303
    row = rows(app, Ticket, id=ticket)[0]
    assert (row.data["nss"], row.data["curp"], row.reason) == (OTHER_NSS, OTHER_CURP, "datos_erroneos")


def test_a_resolved_tickets_data_are_corrected_after_reopening_it_and_its_reason_changed_by_an_admin_only(
        app: FastAPI, ana: Browser, beto: Browser) -> None:
    ticket = escalate(app)
    assert beto.post(f"/console/tickets/{ticket}/resolve").status_code == 303
    reopen = "Este reporte ya está resuelto: reábrelo para corregir sus datos."
    admins = "Este reporte ya está resuelto: solo un administrador puede cambiar su motivo"
    # an agent: neither, and the page says so
    page = beto.client.get(f"/console/tickets/{ticket}").text
    assert reopen in _details(page, "correct-data") and "Guardar corrección" not in _details(page, "correct-data")
    assert admins in _details(page, "change-reason") and "Guardar motivo" not in _details(page, "change-reason")
    r = beto.post(f"/console/tickets/{ticket}/reason", reason="sin_vigencia")
    assert r.status_code == 403 and admins in re.search(r'id="reason-error">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    # an admin: no correction either (reopen it first)...
    page = ana.client.get(f"/console/tickets/{ticket}").text
    assert reopen in _details(page, "correct-data")
    r = ana.post(f"/console/tickets/{ticket}/correct", field="nss", value=OTHER_NSS)
    assert r.status_code == 409 and reopen in re.search(r'id="correct-error">([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    assert rows(app, Ticket, id=ticket)[0].data["nss"] == VALID_NSS
    assert not rows(app, AuditEntry, action="correct_data")
    # ...but the reason, for the statistics; the ticket stays resolved and the history says it
    assert "el cambio cuenta en las estadísticas" in _details(page, "change-reason")
    r = ana.post(f"/console/tickets/{ticket}/reason", reason="sin_vigencia")
    assert r.status_code == 303
    page = ana.client.get(r.headers["location"]).text
    assert _history(page)[-1].endswith("· Ana López Cambió el motivo de «Duda general» a «Sin vigencia»")
    row = rows(app, Ticket, id=ticket)[0]
    assert (row.reason, row.status) == ("sin_vigencia", TicketStatus.RESOLVED)
    # reopened, anyone may correct it again
    assert beto.post(f"/console/tickets/{ticket}/reopen").status_code == 303
    assert beto.post(f"/console/tickets/{ticket}/correct", field="nss", value=OTHER_NSS).status_code == 303


def test_a_refused_note_goes_back_in_the_note_box_never_in_the_reply_box(app: FastAPI, ana: Browser) -> None:
    """Without the page's script (the form posted as is): a note over the limit was cut silently,
    and a refused one came back as the reply's draft, one click from being sent to the student."""
    ticket = escalate(app)
    assert ana.post(f"/console/tickets/{ticket}/take").status_code == 303
    long_note = "El estudiante llamó por teléfono. " * 125  # 4250 characters
    r = ana.post(f"/console/tickets/{ticket}/note", text=long_note)
    assert r.status_code == 400
    assert re.search(r'id="note-error">La nota es muy larga \(máximo 4000 caracteres\); no se guardó.<', r.text)
    note_box = re.search(r'<textarea name="text" id="note-text"[^>]*>([^<]*)</textarea>', r.text)
    reply_box = re.search(r'<textarea name="text" id="reply-text"[^>]*>([^<]*)</textarea>', r.text)
    assert note_box and note_box.group(1) == long_note
    assert reply_box and reply_box.group(1) == ""
    assert not rows(app, TicketNote)
    # a full box whose line breaks the browser sends as CRLF is saved whole, with its line breaks
    full = "\r\n".join(["x" * 99] * 40)  # 4000 characters as the box counts them, 4039 as sent
    assert ana.post(f"/console/tickets/{ticket}/note", text=full).status_code == 303
    assert [n.text for n in rows(app, TicketNote)] == [full.replace("\r\n", "\n")]
