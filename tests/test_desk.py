"""bot.desk: one message end to end, with the real flows and a real SQLite file."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.desk import (
    Handled,
    find_conversation,
    hand_back,
    handle_message,
    perform_actions,
    reset_conversation,
    storable,
    take_over,
)
from bot.errors import InvalidInput, NotFound
from bot.models import Consent, Contact, Conversation, Message, Reminder, Ticket
from bot.storage import session_scope
from tests.conftest import ESCALATION_TURNS, T0, VALID_CURP, VALID_NSS, VALID_STUDENT_ID, incoming, rows

PASSWORD_MESSAGE = "no puedo entrar al CIA, mi contraseña es Tigre.Azul#2024"
SECRET = "Tigre.Azul#2024"


# --- the ordinary path ------------------------------------------------------------


def test_a_student_who_changes_their_whatsapp_name_is_shown_by_the_new_one(desk, engine):
    desk.send("hola", display_name="Ana")
    desk.send("1", display_name="Ana")
    assert [c.display_name for c in rows(engine, Contact)] == ["Ana"]
    desk.send("2", display_name="Ana María")
    assert [c.display_name for c in rows(engine, Contact)] == ["Ana María"]
    desk.send("menu")  # a message without a name keeps the one known
    assert [c.display_name for c in rows(engine, Contact)] == ["Ana María"]


def test_the_students_message_is_stored_before_the_replies_it_got(desk, engine):
    desk.send("hola")  # no actions: stored with its replies in one INSERT
    handled = desk.send("quiero hablar con una persona")  # an action: stored before it runs
    assert handled.replies
    ordered = "".join("s" if m.author == "student" else "b" for m in sorted(rows(engine, Message), key=lambda m: m.id))
    assert re.fullmatch(r"sb+sb+", ordered), ordered


def test_first_message_creates_contact_conversation_and_messages(desk, engine):
    handled = desk.send("hola", display_name="Ana", desk_address="+5216444207351")

    assert isinstance(handled, Handled)
    assert not handled.duplicate
    assert handled.replies, "the bot never stays silent"
    assert isinstance(handled.state.get("stage"), str)
    assert handled.topic == "saludo"

    (contact,) = rows(engine, Contact)
    assert (contact.channel, contact.address, contact.display_name) == ("whatsapp", "+5216440000001", "Ana")
    (conversation,) = rows(engine, Conversation)
    assert conversation.id == handled.conversation_id
    assert conversation.contact_id == contact.id
    assert conversation.holder == "bot"
    assert conversation.desk_address == "+5216444207351"
    assert conversation.state == handled.state
    assert conversation.last_inbound_at == T0

    messages = rows(engine, Message)
    assert [(m.direction, m.author) for m in messages] == [("in", "student")] + [("out", "bot")] * len(handled.replies)
    assert messages[0].topic == "saludo"
    assert [m.text for m in messages[1:]] == [r.plain() for r in handled.replies]
    assert all(m.status == "pending" for m in messages[1:])


def test_the_state_carries_over_between_messages(desk, engine):
    first = desk.send("hola")
    second = desk.send("requisitos", at=T0 + timedelta(minutes=1))
    assert second.conversation_id == first.conversation_id
    assert len(rows(engine, Conversation)) == 1
    assert rows(engine, Conversation)[0].state == second.state
    assert len(rows(engine, Message, direction="in")) == 2


def test_each_address_and_channel_is_its_own_conversation(desk, engine):
    a = desk.send("hola", address="+521111")
    b = desk.send("hola", address="+522222")
    c = desk.send("hola", address="+521111", channel="telegram")
    assert len({a.conversation_id, b.conversation_id, c.conversation_id}) == 3
    assert len(rows(engine, Contact)) == 3


def test_a_naive_time_is_refused(engine, kb):
    from flows.messages import Incoming
    from datetime import datetime

    with pytest.raises(InvalidInput), session_scope(engine) as session:
        handle_message(session=session, kb=kb, channel="console", address="x", provider_id=None,
                       message=Incoming(text="hola", at=datetime(2026, 2, 10, 10, 0)))
    assert rows(engine, Message) == []


# --- dedupe ----------------------------------------------------------------------


def test_same_provider_id_twice_is_processed_once(desk, engine):
    first = desk.send("hola", provider_id="SM0001")
    again = desk.send("hola", provider_id="SM0001")

    assert not first.duplicate and first.replies
    assert again.duplicate
    assert again.replies == []
    assert again.ticket is None
    assert again.conversation_id == first.conversation_id
    assert len(rows(engine, Message, direction="in")) == 1
    assert len(rows(engine, Message, direction="out")) == len(first.replies)


def test_duplicate_creates_no_rows_at_all(desk, engine):
    desk.send("hola", provider_id="SM0001")
    counts = {m: len(rows(engine, m)) for m in (Contact, Conversation, Message, Ticket, Reminder, Consent)}
    desk.send("otra cosa completamente distinta", provider_id="SM0001")
    assert {m: len(rows(engine, m)) for m in counts} == counts


def test_provider_ids_are_per_channel(desk, engine):
    desk.send("hola", provider_id="1", channel="telegram", address="100")
    other = desk.send("hola", provider_id="1", channel="whatsapp", address="+521")
    assert not other.duplicate
    assert len(rows(engine, Message, direction="in")) == 2


def test_concurrent_retries_of_one_message_are_processed_once(desk, engine):
    results: list[Handled] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            results.append(desk.send("hola", provider_id="SM-race"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r.duplicate for r in results) == [False] + [True] * 5
    assert len(rows(engine, Message, direction="in")) == 1
    assert len(rows(engine, Contact)) == 1


def test_a_first_message_whose_contact_exists_already_gets_a_conversation_of_that_contact(desk, engine):
    # What a worker that lost the race to create a student sees (deterministically here): the
    # contact is there, the conversation is not. The one-statement insert (PostgreSQL) inserts
    # nothing; the two-statement path makes the conversation on the existing contact.
    alone = desk.send("hola", address="+5216440009998")
    with session_scope(engine) as session:
        session.add(Contact(channel="whatsapp", address="+5216440000001", display_name="Ana"))
    handled = desk.send("hola", display_name="Ana")
    assert handled.replies == alone.replies and not handled.duplicate
    (contact,) = rows(engine, Contact, address="+5216440000001")
    (conversation,) = rows(engine, Conversation, address="+5216440000001")
    assert conversation.contact_id == contact.id and contact.display_name == "Ana"
    assert conversation.state == alone.state
    assert [m.text for m in rows(engine, Message, conversation_id=conversation.id, direction="in")] == ["hola"]


def test_first_messages_of_a_new_student_arriving_together_are_all_answered_in_one_conversation(desk, engine):
    # A first message's flow step runs before its conversation exists (the conversation is
    # inserted with its state). On PostgreSQL these race to create it: the losers drop the
    # step they ran and run it again on the winner's conversation, under its lock.
    results: list[Handled] = []
    errors: list[BaseException] = []
    alone = desk.send("hola", address="+5216440009999")

    def deliver(i: int) -> None:
        try:
            results.append(desk.send("hola", provider_id=f"SM-first-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(results) == 5 and not any(r.duplicate for r in results)
    again = desk.send("hola", address="+5216440009999")  # a greeting again: no introduction
    assert again.replies != alone.replies
    # One of them was the first (the introduction), the others came after it, in one conversation.
    assert sorted(r.replies == alone.replies for r in results) == [False, False, False, False, True]
    assert all(r.replies in (alone.replies, again.replies) for r in results)
    (conversation,) = rows(engine, Conversation, address="+5216440000001")
    assert len(rows(engine, Contact, address="+5216440000001")) == 1
    inbound = rows(engine, Message, conversation_id=conversation.id, direction="in")
    assert sorted(m.provider_id for m in inbound) == [f"SM-first-{i}" for i in range(5)]
    # Each step ran on the state the previous one left, the race's losers included.
    # (when the menu was shown, and its options, depend on which greeting came first)
    timing = ("greeted_at", "menu_at", "options")
    state = {k: v for k, v in conversation.state.items() if k not in timing}
    assert state == {**{k: v for k, v in alone.state.items() if k not in timing}, "turns": 5}
    assert conversation.last_inbound_at is not None


# --- staff holding the chat -----------------------------------------------------------


def test_bot_is_silent_while_staff_hold_the_chat_and_stores_text_redacted(desk, engine):
    from flows.entities import redact_secrets

    first = desk.send("hola")
    with session_scope(engine) as session:
        conversation = take_over(session=session, conversation_id=first.conversation_id, staff_id=7)
        assert (conversation.holder, conversation.holder_staff_id) == ("staff", 7)

    held = desk.send(PASSWORD_MESSAGE, at=T0 + timedelta(minutes=2))
    assert held.replies == []
    assert held.ticket is None
    assert held.state == first.state, "the flow did not run"

    inbound = rows(engine, Message, direction="in")
    assert inbound[-1].text == redact_secrets(PASSWORD_MESSAGE)[0]
    assert SECRET not in inbound[-1].text
    assert len(rows(engine, Message, direction="out")) == len(first.replies)

    with session_scope(engine) as session:
        conversation = hand_back(session=session, conversation_id=first.conversation_id)
        assert (conversation.holder, conversation.holder_staff_id) == ("bot", None)
    assert desk.send("hola", at=T0 + timedelta(minutes=3)).replies


def test_a_held_chat_written_to_outside_office_hours_says_when_a_person_answers_once_a_hold(desk, engine):
    """Nobody reads a held chat at night: the student is told when the desk opens, once, not at
    every message; a new hold tells again; in office hours nothing is said."""
    first = desk.send("hola")
    conversation_id = first.conversation_id

    def take() -> None:
        with session_scope(engine) as session:
            take_over(session=session, conversation_id=conversation_id, staff_id=7)

    def notices() -> list[str]:
        return [m.text for m in rows(engine, Message, author="system")]

    take()
    evening = T0.replace(hour=20)  # Tuesday 8 p.m. in Hermosillo
    assert desk.send("¿sigues ahí?", at=evening).replies == []
    desk.send("bueno, mañana te escribo", at=evening + timedelta(minutes=5))
    assert notices() == ["🕗 Ahorita estamos fuera de horario (atendemos lunes a viernes de 8:00 a.m. a 4:00 p.m.). "
                         "Ya tenemos tu mensaje: una persona de la mesa de ayuda te contesta por aquí mañana "
                         "miércoles 11 de febrero a partir de las 8:00 a.m."]
    assert [m.status for m in rows(engine, Message, direction="in")][-2:] == ["held", "held"]
    with session_scope(engine) as session:
        hand_back(session=session, conversation_id=conversation_id)
    take()  # a new hold
    desk.send("hola", at=T0 + timedelta(days=1))  # Wednesday 10 a.m.: open, nothing to say
    assert len(notices()) == 1
    desk.send("hola?", at=T0 + timedelta(days=3, hours=2))  # Friday 12 p.m.: still open
    desk.send("¿hay alguien?", at=T0 + timedelta(days=4))  # Saturday: closed, this hold's notice
    assert len(notices()) == 2 and "el lunes 16 de febrero a partir de las 8:00 a.m." in notices()[-1]


def test_a_password_is_never_stored_when_the_bot_answers(desk, engine):
    handled = desk.send(PASSWORD_MESSAGE)
    assert handled.replies
    texts = [m.text for m in rows(engine, Message)]
    assert all(SECRET not in t for t in texts)


def test_take_over_of_an_unknown_conversation(engine):
    with pytest.raises(NotFound), session_scope(engine) as session:
        take_over(session=session, conversation_id=12345, staff_id=1)


def test_reset_starts_over_and_cancels_reminders(desk, engine):
    from flows.messages import ScheduleReminder

    first = desk.send("hola")
    with session_scope(engine) as session:
        conversation = session.get(Conversation, first.conversation_id)
        contact = session.get(Contact, conversation.contact_id)
        perform_actions(session=session, conversation=conversation, contact=contact,
                        actions=[ScheduleReminder(due=T0 + timedelta(days=7))])
    with session_scope(engine) as session:
        found = find_conversation(session=session, channel="whatsapp", address="+5216440000001")
        reset_conversation(session=session, conversation_id=found.id)
    (conversation,) = rows(engine, Conversation)
    assert conversation.state is None
    assert [r.status for r in rows(engine, Reminder)] == ["cancelled"]
    assert desk.send("hola").replies


# --- actions ---------------------------------------------------------------------


def _perform(engine, conversation_id, *actions):
    with session_scope(engine) as session:
        conversation = session.get(Conversation, conversation_id)
        contact = session.get(Contact, conversation.contact_id)
        return perform_actions(session=session, conversation=conversation, contact=contact, actions=actions)


def test_open_ticket_creates_an_open_ticket_with_the_collected_data(desk, engine):
    from flows.messages import Attachment, OpenTicket, RequestHuman

    conversation_id = desk.send("hola").conversation_id
    shot = Attachment(ref="media/1", content_type="image/jpeg", name="error.jpg")
    ticket = _perform(
        engine, conversation_id,
        OpenTicket(reason="error_solicitud", description="Me sale 'error al guardar'",
                   data={"student_id": VALID_STUDENT_ID, "name": "Ana López", "nss": VALID_NSS, "curp": VALID_CURP},
                   attachments=(shot,)),
        RequestHuman(reason="error_solicitud"),
    )
    assert ticket is not None and ticket.id is not None
    (row,) = rows(engine, Ticket)
    assert (row.id, row.reason, row.status) == (ticket.id, "error_solicitud", "open")
    assert row.conversation_id == conversation_id
    assert row.data == {"student_id": VALID_STUDENT_ID, "name": "Ana López", "nss": VALID_NSS, "curp": VALID_CURP}
    assert row.description == "Me sale 'error al guardar'"
    assert row.attachments == [{"ref": "media/1", "content_type": "image/jpeg", "name": "error.jpg"}]
    assert rows(engine, Contact)[0].student_id == VALID_STUDENT_ID


def test_open_ticket_of_the_same_reason_updates_the_open_one(desk, engine):
    from flows.messages import Attachment, OpenTicket

    conversation_id = desk.send("hola").conversation_id
    first = _perform(engine, conversation_id, OpenTicket(reason="datos_erroneos", description="puse mal mi CURP",
                                                         data={"curp": VALID_CURP}))
    second = _perform(engine, conversation_id, OpenTicket(reason="datos_erroneos", description="",
                                                          data={"nss": VALID_NSS},
                                                          attachments=(Attachment(ref="m2"),)))
    other = _perform(engine, conversation_id, OpenTicket(reason="duda_general", description="otra cosa"))

    assert second.id == first.id
    assert other.id != first.id
    tickets = rows(engine, Ticket)
    assert len(tickets) == 2
    assert tickets[0].data == {"curp": VALID_CURP, "nss": VALID_NSS}
    assert tickets[0].description == "puse mal mi CURP"
    assert [a["ref"] for a in tickets[0].attachments] == ["m2"]


def test_a_resolved_ticket_is_not_reused(desk, engine):
    from flows.messages import OpenTicket

    conversation_id = desk.send("hola").conversation_id
    first = _perform(engine, conversation_id, OpenTicket(reason="duda_general", description="a"))
    with session_scope(engine) as session:
        session.get(Ticket, first.id).status = "resolved"
    again = _perform(engine, conversation_id, OpenTicket(reason="duda_general", description="b"))
    assert again.id != first.id


def test_reminders_are_replaced_and_cancelled_by_kind(desk, engine):
    from flows.messages import CancelReminders, ScheduleReminder

    conversation_id = desk.send("hola").conversation_id
    _perform(engine, conversation_id, ScheduleReminder(due=T0 + timedelta(days=5)))
    _perform(engine, conversation_id, ScheduleReminder(due=T0 + timedelta(days=6)),
             ScheduleReminder(due=T0 + timedelta(days=1), kind="other"))
    reminders = rows(engine, Reminder)
    assert [(r.kind, r.status) for r in reminders] == [
        ("vigencia_check", "cancelled"), ("vigencia_check", "pending"), ("other", "pending")]
    assert reminders[1].due_at == T0 + timedelta(days=6)

    _perform(engine, conversation_id, CancelReminders())
    assert [r.status for r in rows(engine, Reminder)] == ["cancelled", "cancelled", "pending"]


def test_record_consent(desk, engine):
    from flows.messages import RecordConsent

    conversation_id = desk.send("hola").conversation_id
    _perform(engine, conversation_id, RecordConsent(at=T0))
    (consent,) = rows(engine, Consent)
    assert (consent.kind, consent.at) == ("privacy_notice", T0)


# --- an escalation through the real flow -----------------------------------------------


def test_asking_for_a_person_ends_in_a_ticket_through_the_flow(desk, engine):
    """Walk the duda_general escalation the way a student would, answering what is asked."""
    turns = ESCALATION_TURNS
    ticket = None
    for i, text in enumerate(turns):
        handled = desk.send(text, at=T0 + timedelta(minutes=i))
        assert handled.replies, f"no reply to {text!r}"
        if handled.ticket is not None:
            ticket = handled.ticket
            break
    assert ticket is not None, "no ticket after the escalation"
    assert ticket.reason == "duda_general"
    assert ticket.status == "open"
    (row,) = rows(engine, Ticket)
    assert row.id == ticket.id
    assert row.data.get("nss") == VALID_NSS
    assert row.data.get("curp") == VALID_CURP


# --- odd input -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\x00hola\x00", "a" * 20000, "\ud83d roto", "😀" * 50])
def test_any_text_is_handled_and_stored(desk, engine, text):
    handled = desk.send(text)
    assert handled.replies
    stored = rows(engine, Message, direction="in")[0].text
    assert "\x00" not in stored
    stored.encode("utf-8")


def test_storable():
    assert storable("a\x00b") == "ab"
    assert storable("ok ñ 😀") == "ok ñ 😀"
    storable("\udc80").encode("utf-8")


def test_the_provider_id_dedupe_uses_the_stored_row(desk, engine):
    desk.send("hola", provider_id="U1", channel="telegram", address="555")
    with session_scope(engine) as session:
        message = session.exec(select(Message).where(Message.provider_id == "U1")).one()
        assert (message.channel, message.direction) == ("telegram", "in")


def test_incoming_attachments_are_kept_on_the_message(desk, engine):
    from flows.messages import Attachment

    desk.send("este es el error", attachments=(Attachment(ref="media/9", content_type="image/png"),))
    (inbound,) = rows(engine, Message, direction="in")
    assert inbound.attachments == [{"ref": "media/9", "content_type": "image/png", "name": ""}]


def test_incoming_factory_defaults():
    message = incoming("hola")
    assert message.at == T0 and message.channel == "console"


def test_a_new_ticket_tells_the_student_its_number_and_a_recent_resolved_one_is_reopened(desk, engine):
    from bot.console.auth import create_staff
    from bot.staffdesk import resolve, take_over

    first = None
    for text in ESCALATION_TURNS:
        handled = desk.send(text)
        if handled.ticket is not None:
            first = handled
            break
    assert first is not None
    number = first.ticket.id
    assert any(f"#{number}" in r.plain() for r in first.replies)

    with session_scope(engine) as session:
        staff = create_staff(session=session, email="ana@itson.edu.mx", name="Ana Ruiz", role="agent",
                             password="una-clave-larga-2026")
        take_over(session=session, kb=desk.kb, ticket_id=number, staff=staff)
        resolve(session=session, kb=desk.kb, ticket_id=number, staff=staff)

    again = None
    for text in ESCALATION_TURNS:
        handled = desk.send(text)
        if handled.ticket is not None:
            again = handled
            break
    assert again is not None and again.ticket.id == number
    assert again.ticket.status == "open"
    told = "\n".join(r.plain() for r in again.replies)
    assert "Tu número de reporte" not in told  # not announced as new
    assert f"reabrí tu reporte *#{number}*" in told  # but as the same case, reopened
    assert len(rows(engine, Ticket)) == 1


def test_a_student_asking_about_their_open_report_is_told_its_number(desk, engine):
    for i, text in enumerate(ESCALATION_TURNS):
        handled = desk.send(text, at=T0 + timedelta(minutes=i))
        if handled.ticket is not None:
            number = handled.ticket.id
            break
    else:
        raise AssertionError("no ticket after the escalation")
    later = desk.send("cual es mi numero de reporte?", at=T0 + timedelta(days=1))
    assert any(f"*#{number}* sigue abierto" in r.plain() for r in later.replies)


def test_after_the_menu_a_student_asking_about_their_open_report_is_still_told_it_is_open(desk, engine):
    """Walk-through 9: "menú" with a report open, then "¿ya me contestaron?", got "con eso no te puedo ayudar"."""
    for text in ESCALATION_TURNS:
        if desk.send(text).ticket is not None:
            break
    (ticket,) = rows(engine, Ticket)
    desk.send("menu")
    asked = desk.send("ya me contestaron?")
    said = "\n".join(r.plain() for r in asked.replies)
    assert f"Tu reporte *#{ticket.id}* sigue abierto" in said and "no te puedo ayudar" not in said


def test_a_parents_report_tells_staff_once_who_writes(desk, engine):
    """However the report is opened or added to, staff read once that a parent writes, not the student."""
    from tests.test_speaker import PARENT_DATA

    note = desk.kb.message("relative_ticket_note")
    for text in ("hola, soy mamá de un alumno de ITSON", "se equivocó en su CURP al llenar la solicitud",
                 "puso mal su fecha de nacimiento", PARENT_DATA, "sí"):
        desk.send(text)
    [ticket] = rows(engine, Ticket)
    assert ticket.description.endswith(note)
    desk.send("también le sale un error al entrar, le mando captura mañana")
    desk.send("ah y ya se está poniendo muy nervioso")
    [ticket] = rows(engine, Ticket)
    assert ticket.description.count(note) == 1 and "error al entrar" in ticket.description

    student = "+5216440000009"
    for text in ESCALATION_TURNS:
        desk.send(text, address=student)
    theirs = [t for t in rows(engine, Ticket) if t.id != ticket.id]
    assert theirs and all(note not in (t.description or "") for t in theirs)
