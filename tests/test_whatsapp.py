"""WhatsApp end to end: Twilio's signed webhooks into our app, replies out to a fake Twilio.

Both run on loopback ports with real HTTP: our app (``create_app``, its
workers included) behind the address ``http://127.0.0.1:PORT`` while
``PUBLIC_BASE_URL`` is ``https://bot.example.mx`` (as behind a proxy), and
the fake Twilio of ``tests/fakes/twilio.py``. Each pitfall of
``shared/spec/channels.md`` has a test here; every test also checks, through
the ``log_watch`` fixture, that the auth token never reached a log line.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.config import Settings
from bot.models import Conversation, Direction, InboundEvent, Message, Ticket, utcnow
from bot.storage import make_engine, session_scope
from tests.conftest import ALL_DATA, rows
from tests.fakes.server import ServerThread
from tests.fakes.twilio import (
    AUTH_TOKEN,
    DESK_NUMBERS,
    PNG_1PX,
    PUBLIC_BASE_URL,
    FakeTwilio,
    inbound_form,
    new_sid,
    post_signed,
    sign,
)
from tests.whatsapp_support import TEMPLATE_SID, LogWatch, fake_twilio, log_watch, whatsapp_settings  # noqa: F401

STUDENT = "+5216440000001"
INBOUND = "/webhooks/whatsapp"
STATUS = "/webhooks/whatsapp/status"


def wait_until(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Desk:
    """Our app as Twilio and the student see it."""

    url: str
    app: Any
    fake: FakeTwilio
    settings: Settings
    engine: Engine

    @property
    def services(self) -> Any:
        return self.app.state.services

    def say(self, body: str = "", *, sender: str = STUDENT, to: str = DESK_NUMBERS[0], sid: str | None = None,
            media: list[tuple[str, str]] | None = None, extra: dict[str, str] | None = None) -> httpx.Response:
        """The student writes; Twilio posts the signed webhook. Asserts it was acknowledged."""
        form = inbound_form(body, sender=sender, to=to, sid=sid, media=media or (), extra=extra)
        response = post_signed(self.url, INBOUND, form)
        assert response.status_code == 200, response.text
        return response

    def settled(self) -> bool:
        """Every stored event processed and every reply out of the outbox."""
        with session_scope(self.engine) as session:
            busy_in = session.exec(select(InboundEvent.id).where(
                col(InboundEvent.status).in_(("pending", "processing")))).first()
            busy_out = session.exec(select(Message.id).where(
                Message.direction == Direction.OUT, col(Message.status).in_(("pending", "sending")))).first()
        return busy_in is None and busy_out is None

    def settle(self, timeout: float = 20.0) -> None:
        time.sleep(0.1)
        wait_until(self.settled, timeout=timeout, what="the inbound queue and the outbox to drain")

    def outbound(self) -> list[Message]:
        return rows(self.engine, Message, direction=Direction.OUT)

    def events(self) -> list[InboundEvent]:
        return rows(self.engine, InboundEvent)


@contextmanager
def running_app(settings: Settings, kb: Any, fake: FakeTwilio) -> Iterator[Desk]:
    from bot.web.app import create_app

    app = create_app(settings, kb=kb)
    server = ServerThread(app).start()
    engine = make_engine(settings.database_url)
    try:
        yield Desk(url=server.url, app=app, fake=fake, settings=settings, engine=engine)
    finally:
        server.stop()
        engine.dispose()


def desk_settings(fake: FakeTwilio, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"media_dir": tmp_path / "media", "outbox_retry_base_seconds": 0.05,
                              "outbox_retry_max_seconds": 0.3}
    values.update(overrides)
    return whatsapp_settings(fake.url, tmp_path, **values)


@pytest.fixture
def desk(fake_twilio: FakeTwilio, tmp_path: Path, kb: Any) -> Iterator[Desk]:
    with running_app(desk_settings(fake_twilio, tmp_path), kb, fake_twilio) as running:
        yield running


# -- the webhook ---------------------------------------------------------------------


def test_inbound_is_stored_acknowledged_fast_with_empty_twiml_and_answered(desk: Desk) -> None:
    started = time.monotonic()
    response = desk.say("hola")
    assert time.monotonic() - started < 1.0
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text and "<Message" not in response.text

    desk.settle()
    replies = desk.fake.messages(STUDENT)
    assert replies, "the bot answered through the REST API"
    assert all(m.from_ == f"whatsapp:{DESK_NUMBERS[0]}" and m.body for m in replies)
    [event] = desk.events()
    assert event.address == f"whatsapp:{STUDENT}" and event.desk_address == f"whatsapp:{DESK_NUMBERS[0]}"
    assert event.payload["Body"] == "hola" and event.payload["WaId"] == STUDENT.lstrip("+")
    [conversation] = rows(desk.engine, Conversation)
    assert conversation.address == f"whatsapp:{STUDENT}"
    assert {m.provider_id for m in desk.outbound()} == {m.sid for m in replies}


def test_replies_go_from_the_desk_number_the_student_wrote_to(desk: Desk) -> None:
    other = "+5216440000002"
    desk.say("hola", to=DESK_NUMBERS[1])
    desk.say("hola", sender=other, to=DESK_NUMBERS[0])
    desk.settle()
    assert {m.from_ for m in desk.fake.messages(STUDENT)} == {f"whatsapp:{DESK_NUMBERS[1]}"}
    assert {m.from_ for m in desk.fake.messages(other)} == {f"whatsapp:{DESK_NUMBERS[0]}"}


def test_signature_is_checked_against_the_public_url_not_the_proxied_one(desk: Desk) -> None:
    """The app is reached at http://127.0.0.1:PORT, but Twilio signed https://bot.example.mx/…."""
    form = inbound_form("hola")
    assert post_signed(desk.url, INBOUND, form).status_code == 200
    internal = inbound_form("hola")
    refused = post_signed(desk.url, INBOUND, internal, signed_url=desk.url + INBOUND)
    assert refused.status_code == 403
    assert [e.provider_id for e in desk.events()] == [form["MessageSid"]]


def test_a_signature_over_the_url_with_its_default_port_is_accepted(desk: Desk) -> None:
    """Twilio signs ``https://host/…`` or ``https://host:443/…`` depending on its side; both are the same URL."""
    form = inbound_form("hola")
    with_port = PUBLIC_BASE_URL.replace("bot.example.mx", "bot.example.mx:443") + INBOUND
    assert post_signed(desk.url, INBOUND, form, signed_url=with_port).status_code == 200
    other_port = PUBLIC_BASE_URL.replace("bot.example.mx", "bot.example.mx:8443") + INBOUND
    assert post_signed(desk.url, INBOUND, inbound_form("hola"), signed_url=other_port).status_code == 403
    assert [e.provider_id for e in desk.events()] == [form["MessageSid"]]


def test_the_webhooks_answer_errors_as_the_rest_of_the_api_does(desk: Desk) -> None:
    """The webhooks are plain routes (bot.channels.base.WebhookRoute); what a caller sees of their errors is
    still the API's JSON ``detail`` (an engineer reading Twilio's debugger sees why), and only POST is served."""
    refused = post_signed(desk.url, INBOUND, inbound_form("hola"), token="not-our-token")
    assert (refused.status_code, refused.json()) == (403, {"detail": "bad signature"})
    unsigned = post_signed(desk.url, STATUS, {"MessageSid": "SM1", "MessageStatus": "read"}, unsigned=True)
    assert (unsigned.status_code, unsigned.json()) == (403, {"detail": "missing signature"})
    incomplete = {k: v for k, v in inbound_form("hola").items() if k != "MessageSid"}
    missing = post_signed(desk.url, INBOUND, incomplete)
    assert (missing.status_code, missing.json()) == (400, {"detail": "MessageSid and From are required"})
    wrong_method = httpx.get(desk.url + INBOUND)
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"detail": "Method Not Allowed"})
    assert wrong_method.headers["X-Content-Type-Options"] == "nosniff"  # the middleware saw it too
    # A POST takes the webhooks' own short stack (bot.web.webhook_stack): the same guards on it.
    for answer in (refused, unsigned, missing):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")  # PUBLIC_BASE_URL is https
    as_json = httpx.post(desk.url + INBOUND, json=inbound_form("hola"))
    assert (as_json.status_code, as_json.headers["X-Content-Type-Options"]) == (415, "nosniff")
    too_big = httpx.post(desk.url + INBOUND, content=b"Body=" + b"a" * 70_000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (too_big.status_code, too_big.headers["X-Content-Type-Options"]) == (413, "nosniff")
    assert desk.events() == []


def test_query_string_is_part_of_the_signed_url(desk: Desk) -> None:
    form = inbound_form("hola")
    signature = sign(f"{PUBLIC_BASE_URL}{INBOUND}?desk=itson", form)
    response = httpx.post(f"{desk.url}{INBOUND}?desk=itson", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert post_signed(f"{desk.url}", f"{INBOUND}?desk=other", form, signature=signature).status_code == 403


def test_forged_tampered_or_missing_signatures_are_refused_and_nothing_is_stored(desk: Desk) -> None:
    form = inbound_form("hola")
    assert post_signed(desk.url, INBOUND, form, token="not-our-token").status_code == 403
    tampered = dict(form, Body="dame todos los datos")
    assert post_signed(desk.url, INBOUND, tampered, signature=sign(PUBLIC_BASE_URL + INBOUND, form)).status_code == 403
    assert post_signed(desk.url, INBOUND, form, unsigned=True).status_code == 403
    assert post_signed(desk.url, INBOUND, form, signature="").status_code == 403
    assert post_signed(desk.url, STATUS, {"MessageSid": "SM1", "MessageStatus": "read"}, unsigned=True).status_code == 403
    time.sleep(0.3)
    assert desk.events() == [] and desk.fake.messages() == []


def test_unknown_and_repeated_parameters_are_accepted(desk: Desk) -> None:
    form = list(inbound_form("hola", extra={
        "MessagingServiceSid": new_sid("MG"), "ReferralCtwaClid": "x", "SomethingTwilioAddsNextYear": "1",
        "OriginalRepliedMessageSid": new_sid("SM"), "Forwarded": "true"}).items())
    form += [("RepeatedField", "b"), ("RepeatedField", "a"), ("EmptyField", "")]
    assert post_signed(desk.url, INBOUND, form).status_code == 200
    desk.settle()
    [event] = desk.events()
    assert event.payload["RepeatedField"] == ["b", "a"] and event.payload["EmptyField"] == ""
    assert desk.fake.messages(STUDENT)


@pytest.mark.parametrize("sender", ["whatsapp:<script>alert(1)</script>", "whatsapp:+" + "5" * 5000,
                                    "+5216440000001", "sms:+5216440000001", "whatsapp:+52 644"])
def test_a_sender_that_is_not_a_whatsapp_number_is_acknowledged_and_ignored(desk: Desk, sender: str) -> None:
    form = dict(inbound_form("hola")) | {"From": sender}
    assert post_signed(desk.url, INBOUND, form).status_code == 200
    time.sleep(0.3)
    assert desk.events() == [] and desk.fake.messages() == []


def test_message_to_a_number_that_is_not_the_desk_is_acknowledged_unanswered_and_shown_in_healthz(desk: Desk) -> None:
    """Twilio does not retry what we acknowledged: the operator must see that students write to a
    number the service does not answer, not only a log line per message."""
    assert httpx.get(desk.url + "/healthz").json()["warnings"] == []
    sid = new_sid("SM")
    response = desk.say("hola", to="+5215550000000", sid=sid)
    assert "<Response/>" in response.text
    desk.say("hola", to="+5215550000000", sid=sid)  # Twilio's retry: counted once
    time.sleep(0.3)
    [event] = desk.events()
    assert event.status == "failed" and event.desk_address == "whatsapp:+5215550000000"
    assert desk.fake.messages() == [] and rows(desk.engine, Conversation) == []
    [warning] = httpx.get(desk.url + "/healthz").json()["warnings"]
    assert warning.startswith("whatsapp: 1 message(s) in the last 24 h were sent to whatsapp:+5215550000000")
    assert "TWILIO_WHATSAPP_NUMBERS" in warning


def test_messages_to_a_number_added_later_are_answered_once_requeued(fake_twilio: FakeTwilio, tmp_path: Path,
                                                                    kb: Any) -> None:
    """A sender added in Twilio before it was added here: its students were acknowledged and kept
    waiting. Once the number is configured, `seguro-bot whatsapp requeue-unrouted` gets them
    answered, from that number, except a student attended on another number since and a message
    older than a day."""
    from typer.testing import CliRunner

    from bot.cli import app as cli

    added = "+5215550000000"
    fake_twilio.senders.add(f"whatsapp:{added}")  # the sender exists in Twilio
    other, old = "+5216440000002", "+5216440000003"
    before = desk_settings(fake_twilio, tmp_path)
    with running_app(before, kb, fake_twilio) as desk:
        desk.say("hola, donde saco mi nss?", to=added)
        desk.say("hola", sender=other, to=added)
        desk.say("hola", sender=other, to=DESK_NUMBERS[0])  # attended there since
        desk.say("hola", sender=old, to=added)
        desk.settle()
        with session_scope(desk.engine) as session:  # the last one was written two days ago
            event = session.exec(select(InboundEvent).where(InboundEvent.address == f"whatsapp:{old}")).one()
            event.received_at = utcnow() - timedelta(days=2)
        assert desk.fake.messages(STUDENT) == [] and desk.fake.messages(old) == []
        answered_other = len(desk.fake.messages(other))
        assert answered_other > 0

    numbers = ",".join((*DESK_NUMBERS, added))
    after = desk_settings(fake_twilio, tmp_path, twilio_whatsapp_numbers=numbers)
    env = {"DATABASE_URL": after.database_url, "TWILIO_WHATSAPP_NUMBERS": numbers}
    with running_app(after, kb, fake_twilio) as desk:
        dry = CliRunner().invoke(cli, ["whatsapp", "requeue-unrouted", "--dry-run"], env=env)
        assert dry.exit_code == 0, dry.output
        assert "whatsapp:+5215550000000: 1 message(s) would be put back" in dry.output
        time.sleep(0.6)  # a poll of the running service: nothing was put back
        assert desk.fake.messages(STUDENT) == []
        result = CliRunner().invoke(cli, ["whatsapp", "requeue-unrouted"], env=env)
        assert result.exit_code == 0, result.output
        assert "whatsapp:+5215550000000: 1 message(s) put back in the queue" in result.output
        assert "1 message(s) left: the student wrote to a number that is answered since" in result.output
        replies = wait_until(lambda: desk.fake.messages(STUDENT), what="the requeued message answered")
        desk.settle()
        replies = desk.fake.messages(STUDENT)
        assert {m.from_ for m in replies} == {f"whatsapp:{added}"}
        assert any("localizaci" in m.body.lower() for m in replies), [m.body for m in replies]
        assert len(desk.fake.messages(other)) == answered_other and desk.fake.messages(old) == []
        assert httpx.get(desk.url + "/healthz").json()["warnings"] == []
        again = CliRunner().invoke(cli, ["whatsapp", "requeue-unrouted"], env=env)
        assert "put back" not in again.output  # once


def test_desk_numbers_configured_in_another_form_are_answered_from_the_number_twilio_named(
        fake_twilio: FakeTwilio, tmp_path: Path, kb: Any) -> None:
    """Configured as +52 … (no old mobile "1") and as a bare 10-digit number, while Twilio writes
    To=whatsapp:+521…: every message used to be dropped as sent to "another" number."""
    settings = desk_settings(fake_twilio, tmp_path, twilio_whatsapp_numbers="+52 644 420 7351, 6441617836")
    other = "+5216440000002"
    with running_app(settings, kb, fake_twilio) as desk:
        desk.say("hola", to=DESK_NUMBERS[0])
        desk.say("hola", sender=other, to=DESK_NUMBERS[1])
        desk.settle()
        # From is the sender as Twilio knows it (the fake refuses any other form with 63007)
        assert {m.from_ for m in desk.fake.messages(STUDENT)} == {f"whatsapp:{DESK_NUMBERS[0]}"}
        assert {m.from_ for m in desk.fake.messages(other)} == {f"whatsapp:{DESK_NUMBERS[1]}"}
        assert desk.fake.rejected == []
        assert httpx.get(desk.url + "/healthz").json()["warnings"] == []


def test_in_a_database_outage_webhooks_get_503_with_one_traceback_and_their_retries_are_answered(
        desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    """Twilio retries a 5xx; the log must not get a traceback per webhook while the database restarts."""
    forms = [inbound_form(f"hola {i}", sender=f"+52164400001{i:02d}") for i in range(6)]
    good = desk.services.engine
    desk.services.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")  # nothing listens on 1
    try:
        with caplog.at_level("INFO", logger="bot.web.middleware"):
            during = [post_signed(desk.url, INBOUND, form) for form in forms]
    finally:
        desk.services.engine.dispose()
        desk.services.engine = good
    assert [r.status_code for r in during] == [503] * 6
    assert during[0].headers["retry-after"] == "5" and "unavailable" in during[0].text
    logged = [r for r in caplog.records if r.name == "bot.web.middleware"]
    assert len(logged) == 1 and logged[0].exc_info, [r.getMessage() for r in logged]
    assert logged[0].getMessage().startswith("database unreachable (OperationalError) on POST /webhooks/whatsapp")
    for form in forms:  # Twilio's retries, the database back
        assert post_signed(desk.url, INBOUND, form).status_code == 200
    desk.settle()
    assert all(desk.fake.messages(form["From"].removeprefix("whatsapp:")) for form in forms)


def test_a_long_database_outage_is_summed_up_in_the_log(desk: Desk, caplog: pytest.LogCaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.web import middleware

    monkeypatch.setattr(middleware, "OUTAGE_LOG_SECONDS", 0.3)  # the log's pace, not its behaviour
    good = desk.services.engine
    desk.services.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    try:
        with caplog.at_level("INFO", logger="bot.web.middleware"):
            started, codes = time.monotonic(), []
            while time.monotonic() - started < 0.8:
                codes.append(post_signed(desk.url, INBOUND, inbound_form("hola")).status_code)
    finally:
        desk.services.engine.dispose()
        desk.services.engine = good
    assert set(codes) == {503}
    logged = [r for r in caplog.records if r.name == "bot.web.middleware"]
    assert logged[0].exc_info and all(not r.exc_info for r in logged[1:])
    sums = [r.getMessage() for r in logged[1:]]
    assert sums and all(m.startswith("database still unreachable (OperationalError): ") for m in sums), sums
    counted = sum(int(m.split(": ")[1].split()[0]) for m in sums)
    assert 0 < counted <= len(codes) - 1 and len(logged) < len(codes)


def test_missing_message_sid_is_a_bad_request(desk: Desk) -> None:
    form = inbound_form("hola")
    del form["MessageSid"]
    assert post_signed(desk.url, INBOUND, form).status_code == 400
    assert desk.events() == []


def test_a_retried_message_sid_is_processed_once(desk: Desk) -> None:
    sid = new_sid("SM")
    desk.say("hola", sid=sid)
    desk.settle()
    first_round = len(desk.fake.messages(STUDENT))
    assert first_round >= 1
    # Twilio retries (e.g. after a timeout on its side), once late and twice at the same time.
    desk.say("hola", sid=sid)
    threads = [threading.Thread(target=desk.say, args=("hola",), kwargs={"sid": sid}) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)
    desk.settle()
    assert len(desk.fake.messages(STUDENT)) == first_round
    assert len(desk.events()) == 1
    assert len(rows(desk.engine, Message, direction=Direction.IN)) == 1


def stored_anywhere(engine: Engine, *values: str) -> list[tuple[str, str]]:
    """(table, value) for every value found in any row of any table."""
    from sqlalchemy import text as sql
    from sqlmodel import SQLModel

    found = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(sql(f'SELECT * FROM "{table.name}"')):
                dump = repr(tuple(row))
                found += [(table.name, v) for v in values if v in dump]
    return found


def test_a_password_is_never_stored_not_even_in_the_raw_webhook_and_the_student_is_warned(desk: Desk) -> None:
    desk.say("hola, no me deja entrar al cia, mi contraseña es Cajeme2024!")
    desk.settle()
    replies = " ".join(m.body or "" for m in desk.fake.messages(STUDENT)).lower()
    assert "contraseña" in replies and "nadie" in replies  # the warning: nobody at ITSON will ask for it
    assert stored_anywhere(desk.engine, "Cajeme2024") == []
    assert stored_anywhere(desk.engine, "contraseña oculta"), "the search does read the rows"
    (event,) = desk.events()
    assert "[contraseña oculta]" in event.payload["Body"]
    assert event.payload["MessageSid"].startswith("SM")  # ids are kept as Twilio sent them


def test_data_sent_before_a_declined_privacy_notice_is_kept_nowhere(desk: Desk) -> None:
    from tests.conftest import VALID_CURP, VALID_NSS

    desk.say(f"me equivoqué en mi CURP. Mi ID es 00000654321, me llamo María Gómez Ruiz, "
             f"NSS {VALID_NSS} y CURP {VALID_CURP}")
    desk.settle()
    assert "privacidad" in " ".join(m.body or "" for m in desk.fake.messages(STUDENT)).lower()
    desk.say("no acepto")
    desk.settle()
    told = (desk.fake.messages(STUDENT)[-1].body or "").lower()
    assert "no guardé" in told
    assert stored_anywhere(desk.engine, VALID_NSS, VALID_CURP, "00000654321") == []


# -- media -----------------------------------------------------------------------------


def test_screenshot_only_message_is_attached_to_the_conversation_and_the_ticket(desk: Desk) -> None:
    """The error_solicitud escalation, the screenshot sent as a media-only message (empty Body)."""
    shot = desk.fake.add_media("ME" + "1" * 32, PNG_1PX, "image/png")
    desk.say("me sale un error al enviar la solicitud del seguro")
    desk.settle()
    desk.say("", media=[(shot, "image/png")])
    desk.settle()
    assert any("archivo" in (m.body or "") for m in desk.fake.messages(STUDENT)[-1:])
    desk.say(ALL_DATA)
    desk.settle()
    desk.say("sí")
    desk.settle()

    [ticket] = rows(desk.engine, Ticket)
    assert ticket.reason == "error_solicitud"
    [attachment] = ticket.attachments
    assert attachment["content_type"] == "image/png"
    assert (desk.settings.media_dir / attachment["ref"]).read_bytes() == PNG_1PX
    media_message = [m for m in rows(desk.engine, Message, direction=Direction.IN) if m.attachments]
    assert [m.attachments[0]["ref"] for m in media_message] == [attachment["ref"]]
    assert all(authorised for _, authorised in desk.fake.media_requests)
    assert [p for p, _ in desk.fake.media_requests][:2] == [f"/media/ME{'1' * 32}", f"/media-content/ME{'1' * 32}"]


def test_oversized_or_unsupported_media_is_refused_politely(desk: Desk) -> None:
    big = desk.fake.add_media("big", PNG_1PX + b"\0" * (6 * 1024 * 1024), "image/png")
    vcard = desk.fake.add_media("card", b"BEGIN:VCARD\nEND:VCARD\n", "text/vcard")
    desk.say("hola")
    desk.settle()
    before = len(desk.fake.messages(STUDENT))
    desk.say("", media=[(big, "image/png"), (vcard, "text/vcard")])
    desk.settle()
    [_, refused] = rows(desk.engine, Message, direction=Direction.IN)
    assert refused.attachments == []
    assert refused.text.count("[archivo no aceptado") == 2
    assert len(desk.fake.messages(STUDENT)) > before, "the student is answered, not left hanging"
    assert not (desk.settings.media_dir).exists() or not any(desk.settings.media_dir.iterdir())


def test_media_download_failure_is_retried_until_the_file_arrives(desk: Desk) -> None:
    shot = desk.fake.add_media("flaky", PNG_1PX, "image/png")
    desk.fake.fail_media_next(2, 503)
    desk.say("", media=[(shot, "image/png")])
    desk.settle(timeout=30)
    [message] = rows(desk.engine, Message, direction=Direction.IN)
    assert len(message.attachments) == 1


def test_a_file_that_never_arrives_does_not_leave_the_student_unanswered(desk: Desk) -> None:
    from bot.inbound import MEDIA_ATTEMPTS

    shot = desk.fake.add_media("gone", PNG_1PX, "image/png")
    desk.fake.fail_media_next(1000, 503)
    desk.say("me sale este error al guardar", media=[(shot, "image/png")])
    desk.settle(timeout=30)
    [message] = rows(desk.engine, Message, direction=Direction.IN)
    assert message.attachments == [] and "[archivo no disponible]" in message.text
    assert desk.fake.messages(STUDENT), "the student got an answer"
    (event,) = desk.events()
    assert event.status == "done" and event.attempts == MEDIA_ATTEMPTS
    desk.fake.recover()
    desk.say("hola")  # and the conversation goes on
    desk.settle()
    assert len(rows(desk.engine, Message, direction=Direction.IN)) == 2


# -- status callbacks ------------------------------------------------------------------


def test_status_callbacks_update_the_message_and_never_regress(desk: Desk) -> None:
    desk.say("hola")
    desk.settle()
    sent = desk.fake.messages(STUDENT)[-1]

    def status() -> str:
        [message] = [m for m in desk.outbound() if m.provider_id == sent.sid]
        return message.status

    assert status() == "sent"
    for callback, expected in [("delivered", "delivered"), ("sent", "delivered"), ("read", "read"),
                               ("delivered", "read"), ("failed", "read")]:
        response = desk.fake.status_callback(sent, callback, app_url=desk.url)
        assert response.status_code == 200
        assert status() == expected, f"after {callback}"
    unknown = dict(vars(sent), sid=new_sid("SM"))
    from tests.fakes.twilio import Sent

    assert desk.fake.status_callback(Sent(**unknown), "delivered", app_url=desk.url).status_code == 200


def test_undelivered_status_is_recorded_with_its_error_code(desk: Desk) -> None:
    desk.say("hola")
    desk.settle()
    sent = desk.fake.messages(STUDENT)[-1]
    assert desk.fake.status_callback(sent, "undelivered", error_code="63024", app_url=desk.url).status_code == 200
    [message] = [m for m in desk.outbound() if m.provider_id == sent.sid]
    assert (message.status, message.error_code) == ("undelivered", "63024")


# -- the 24-hour window ------------------------------------------------------------------


def test_63016_makes_the_outbox_resend_as_a_template(desk: Desk) -> None:
    desk.fake.close_window(STUDENT)
    desk.say("hola")
    desk.settle()
    delivered = desk.fake.messages(STUDENT)
    assert delivered and all(m.content_sid == TEMPLATE_SID and m.body is None for m in delivered)
    assert {r["code"] for r in desk.fake.rejected} == {63016}
    assert all(m.template and m.status == "sent" for m in desk.outbound())
    texts = [json.loads(m.content_variables or "{}")["1"] for m in delivered]
    assert all(texts)


def test_63016_reported_late_by_the_status_callback_resends_as_a_template(desk: Desk) -> None:
    """Twilio usually accepts the free-form message (201) and reports 63016 in the failed callback."""
    desk.say("hola")
    desk.settle()
    sent = desk.fake.messages(STUDENT)[-1]
    assert sent.content_sid is None
    assert desk.fake.status_callback(sent, "failed", error_code="63016", app_url=desk.url).status_code == 200
    [*_, resent] = desk.fake.wait_for(len(desk.fake.messages(STUDENT)) + 1, to=STUDENT, timeout=5)
    assert resent.content_sid == TEMPLATE_SID
    assert json.loads(resent.content_variables or "{}")["1"]


def test_a_staff_reply_after_24_hours_goes_as_a_template(desk: Desk) -> None:
    from bot.outbox import queue_message

    desk.say("hola")
    desk.settle()
    before = len(desk.fake.messages(STUDENT))
    with session_scope(desk.engine) as session:
        conversation = session.exec(select(Conversation)).one()
        conversation.last_inbound_at = utcnow() - timedelta(hours=25)
        session.add(conversation)
        queue_message(session=session, conversation_id=conversation.id,
                      text="Hola Ana, ya revisamos tu caso: tu alta quedó registrada.")
    desk.services.notify_outbox()
    [*_, late] = desk.fake.wait_for(before + 1, to=STUDENT)
    assert late.content_sid == TEMPLATE_SID and late.body is None
    assert json.loads(late.content_variables or "{}") == {"1": "Hola Ana, ya revisamos tu caso: tu alta quedó registrada."}
    assert late.from_ == f"whatsapp:{DESK_NUMBERS[0]}"
    assert desk.fake.rejected == [], "the outbox knew the window was closed; no 63016 round trip"


# -- failures of Twilio ------------------------------------------------------------------


def test_429_and_5xx_are_retried_until_twilio_recovers_and_delivered_once(desk: Desk) -> None:
    desk.fake.fail_next(2, status=500)
    desk.fake.fail_next(2, status=429, retry_after="1")
    desk.fake.fail_next(1, status=503)
    desk.say("hola")
    desk.settle(timeout=30)
    delivered = desk.fake.messages(STUDENT)
    outbound = desk.outbound()
    assert delivered and len(delivered) == len(outbound)
    assert sorted(m.sid for m in delivered) == sorted(m.provider_id for m in outbound)
    assert desk.fake.attempts == len(delivered) + 5
    assert all(m.status == "sent" for m in outbound)


def test_a_failing_send_is_delivered_once_after_a_restart(fake_twilio: FakeTwilio, tmp_path: Path, kb: Any) -> None:
    settings = desk_settings(fake_twilio, tmp_path, outbox_max_attempts=10_000)
    fake_twilio.fail_next(10_000, status=500)
    with running_app(settings, kb, fake_twilio) as first:
        first.say("hola")
        wait_until(lambda: fake_twilio.attempts >= 3, what="the outbox to try and fail")
    assert fake_twilio.messages() == []
    fake_twilio.recover()
    with running_app(settings, kb, fake_twilio) as second:
        second.settle(timeout=30)
        delivered = fake_twilio.messages(STUDENT)
        outbound = second.outbound()
        assert delivered and len(delivered) == len(outbound)
        assert sorted(m.sid for m in delivered) == sorted(m.provider_id for m in outbound)


def test_no_log_line_carries_the_auth_token(desk: Desk, log_watch: LogWatch) -> None:
    """Forged requests, failed sends and media downloads all log; none of it shows the token."""
    post_signed(desk.url, INBOUND, inbound_form("hola"), token="forged")
    desk.fake.fail_next(1, status=500)
    shot = desk.fake.add_media("logme", PNG_1PX)
    desk.say("", media=[(shot, "image/png")])
    desk.settle()
    assert log_watch.lines
    assert not log_watch.containing(AUTH_TOKEN)


# -- messages with nothing to read -------------------------------------------------------


@pytest.mark.parametrize("kind, extra", [
    ("location", {"MessageType": "location", "Latitude": "27.4863", "Longitude": "-109.9408",
                  "Address": "Antonio Caso 2266, Ciudad Obregón"}),
    ("sticker", {"MessageType": "sticker"}),
])
def test_a_message_with_no_text_and_no_media_gets_a_sensible_reply(desk: Desk, kind: str, extra: dict[str, str]) -> None:
    """A location or a sticker arrives with an empty Body and NumMedia=0: the student is answered, once."""
    desk.say("hola")
    desk.settle()
    before = len(desk.fake.messages(STUDENT))
    desk.say("", extra=extra)
    desk.settle()
    replies = desk.fake.messages(STUDENT)[before:]
    assert replies, f"a {kind} got no answer"
    assert all(m.from_ == f"whatsapp:{DESK_NUMBERS[0]}" and m.body for m in replies)
    # nothing to read, so the bot offers what it can do (the menu) rather than guessing or escalating
    [menu] = replies
    assert "¿En qué te ayudo?" in menu.body and "1. Hacer el trámite paso a paso" in menu.body
    assert "11. Hablar con una persona" in menu.body
    [_, received] = rows(desk.engine, Message, direction=Direction.IN)
    assert received.text == "" and received.attachments == []
    assert rows(desk.engine, Ticket) == [] and desk.fake.media_requests == []
    # and the conversation goes on from there: the student picks an option by its number
    desk.say("2")
    desk.settle()
    [answer, *_] = desk.fake.messages(STUDENT)[before + 1:]
    assert answer.body.startswith(desk.services.kb.topics["requisitos"].answers[0].strip()[:40])


@pytest.mark.parametrize("intake_first", [0.0, 0.8])
def test_in_a_burst_of_webhooks_the_process_acknowledges_them_before_it_answers_more_students(
        fake_twilio: FakeTwilio, tmp_path: Path, kb: Any, intake_first: float) -> None:
    """INTAKE_FIRST_SECONDS (bot/intake.py): while a burst of webhooks waits to be stored, the process answers no
    new message (0: it goes on as if there were none). The burst's writes are held here, so it lasts as the test says."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.inbound import enqueue
    from bot.intake import BURST, Intake
    from tests.test_intake import HeldWrite

    early = "+5216440000099"
    with running_app(desk_settings(fake_twilio, tmp_path, intake_first_seconds=intake_first), kb,
                     fake_twilio) as desk:
        held = HeldWrite(desk.engine)
        desk.services.intake = Intake(held, stored=desk.services.notify_inbound)
        with ThreadPoolExecutor(BURST) as pool:
            burst = [pool.submit(desk.say, "hola", sender=f"+52164400001{i:02d}") for i in range(BURST)]
            wait_until(lambda: desk.services.intake.waiting == BURST)
            with session_scope(desk.engine) as session:  # stored before the burst (or by another worker)
                form = inbound_form("hola", sender=early)
                enqueue(session=session, channel="whatsapp", provider_id=form["MessageSid"],
                        address=f"whatsapp:{early}", desk_address=f"whatsapp:{DESK_NUMBERS[0]}", payload=form)
            desk.services.notify_inbound()
            if intake_first:
                time.sleep(0.4)
                assert desk.fake.messages(early) == []  # the burst is acknowledged first
            else:
                wait_until(lambda: desk.fake.messages(early))
            held.release.set()
            assert all(answer.result().status_code == 200 for answer in burst)
        desk.settle()
        assert desk.fake.messages(early)
        assert all(desk.fake.messages(f"+52164400001{i:02d}") for i in range(BURST))
