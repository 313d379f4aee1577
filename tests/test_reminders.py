"""Reminders: sent on their day, in office hours, once; the student's answer continues the flow.

The service runs with a movable clock (:class:`tests.service_support.Clock`):
the student talks on 10 February 2026 (a Tuesday), the waiting period ends
on the 17th, and the clock is moved there to let the outbox send the reminder.
"""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.desk import take_over
from bot.models import Conversation, Message, Reminder, ReminderStatus
from tests.conftest import rows
from tests.service_support import (
    Clock,
    FakeProvider,
    HttpChannel,
    provider_server,
    running_app,
    session_id,
    settings_for,
    wait_until,
)

TZ = ZoneInfo("America/Hermosillo")
SAVED_DAY = datetime(2026, 2, 10, 10, 0, tzinfo=TZ)  # Tuesday
DUE_DAY = datetime(2026, 2, 17, 10, 0, tzinfo=TZ)  # last day of the waiting period, office hours
NEXT_DAY = datetime(2026, 2, 18, 10, 0, tzinfo=TZ)


class WebStudent:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)
        self.session = session_id()
        self.seen = 0

    def say(self, text: str) -> list[dict]:
        body = self.client.post("/chat/api/messages", json={"session": self.session, "text": text}).json()
        self.seen = max([self.seen, *(m["id"] for m in body["messages"])])
        return body["messages"]

    def poll(self) -> list[dict]:
        body = self.client.get("/chat/api/messages", params={"after": self.seen},
                               headers={"X-Chat-Session": self.session}).json()
        self.seen = max([self.seen, *(m["id"] for m in body["messages"])])
        return body["messages"]


@pytest.fixture
def clock():
    return Clock(SAVED_DAY)


@pytest.fixture
def service(tmp_path, clock):
    with running_app(settings_for(tmp_path), clock=clock) as (server, services):
        yield server, services


def _start_waiting(student: WebStudent, services) -> Reminder:
    student.say("hola")
    student.say("6")  # "Ya guardé, ¿cuánto tarda?"
    student.say("lo guardé hoy")
    (reminder,) = rows(services.engine, Reminder)
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.due_at.astimezone(TZ).date() == DUE_DAY.date()
    return reminder


def _state(services) -> dict:
    (conversation,) = rows(services.engine, Conversation)
    return conversation.state or {}


def test_a_due_reminder_is_sent_once_in_office_hours_and_yes_leads_to_the_clinic(service, clock):
    server, services = service
    student = WebStudent(server.url)
    _start_waiting(student, services)
    assert student.poll() == []

    clock.set(DUE_DAY)
    (reminder_message,) = wait_until(student.poll)
    expected = services.kb.message("reminder", end="martes 17 de febrero")
    assert reminder_message["from"] == "bot" and reminder_message["text"] == expected
    assert _state(services)["stage"] == "checking_coverage"
    assert rows(services.engine, Reminder)[0].status == ReminderStatus.SENT
    time.sleep(1.2)  # several worker turns later: still once
    assert student.poll() == []
    assert sum(m.text == expected for m in rows(services.engine, Message)) == 1

    replies = student.say("sí")
    assert replies
    assert _state(services)["stage"] == "umf_registration"


def test_not_covered_after_the_reminder_opens_the_sin_vigencia_ticket_collection(service, clock):
    server, services = service
    student = WebStudent(server.url)
    _start_waiting(student, services)

    clock.set(NEXT_DAY)  # the service was down on the 17th: the reminder goes out the next morning
    wait_until(student.poll)
    assert _state(services)["stage"] == "checking_coverage"
    assert student.say("no")
    state = _state(services)
    assert state.get("esc", {}).get("reason") == "sin_vigencia", state


def test_a_reminder_due_outside_office_hours_waits_for_the_next_opening(service, clock):
    server, services = service
    student = WebStudent(server.url)
    _start_waiting(student, services)

    clock.set(datetime(2026, 2, 17, 17, 30, tzinfo=TZ))  # due this morning, but the desk closed at 16:00
    time.sleep(1.2)
    assert student.poll() == []
    assert rows(services.engine, Reminder)[0].status == ReminderStatus.PENDING
    assert services.outbox is not None and services.outbox.send_due_reminders() == 0

    clock.set(datetime(2026, 2, 18, 8, 1, tzinfo=TZ))  # Wednesday, just opened
    assert wait_until(student.poll)
    assert rows(services.engine, Reminder)[0].status == ReminderStatus.SENT


def test_a_whatsapp_reminder_goes_as_a_template_through_the_students_channel(tmp_path, clock):
    with provider_server(FakeProvider()) as provider:
        channel = HttpChannel("whatsapp", provider)
        with running_app(settings_for(tmp_path), channels={"whatsapp": channel}, clock=clock) as (server, services):
            for n, text in enumerate(["hola", "6", "lo guardé hoy"]):
                httpx.post(server.url + "/webhooks/whatsapp",
                           json={"id": f"SM{n}", "from": "whatsapp:+5216440000001",
                                 "to": "whatsapp:+5216444207351", "text": text})
                wait_until(lambda n=n: len(rows(services.engine, Message, direction="in")) == n + 1)
            wait_until(lambda: rows(services.engine, Reminder))
            wait_until(lambda: all(m.status == "sent" for m in rows(services.engine, Message, direction="out")))
            before = len(provider.accepted)
            assert all(not a["template"] for a in provider.accepted)

            clock.set(DUE_DAY)
            wait_until(lambda: len(provider.accepted) > before)
            reminder = provider.accepted[-1]
            assert reminder["template"] is True
            assert reminder["variables"] == {"1": reminder["text"]}
            assert reminder["to"] == "whatsapp:+5216440000001"
            assert reminder["from"] == "whatsapp:+5216444207351"


def test_no_reminder_in_a_chat_held_by_staff(service, clock):
    server, services = service
    student = WebStudent(server.url)
    _start_waiting(student, services)
    (conversation,) = rows(services.engine, Conversation)
    with services.session() as session:
        take_over(session=session, conversation_id=conversation.id, staff_id=7)

    clock.set(DUE_DAY)
    wait_until(lambda: rows(services.engine, Reminder)[0].status != ReminderStatus.PENDING)
    assert rows(services.engine, Reminder)[0].status == ReminderStatus.CANCELLED
    assert student.poll() == []
