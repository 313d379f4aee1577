"""Retention, export and forget: the privacy law's access and cancellation rights.

Data is made the way the desk makes it (``handle_message`` through the
shared ``desk`` fixture), then the real commands run in a subprocess
(``seguro-bot purge`` / ``student export|forget``), plus the functions behind
them for the finer cases.
"""
from __future__ import annotations

import asyncio
import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session

from bot.inbound import enqueue
from bot.media import MediaStore
from bot.models import (
    Consent,
    Contact,
    Conversation,
    EventStatus,
    InboundEvent,
    Message,
    Ticket,
    TicketStatus,
    utcnow,
)
from bot.privacy import delete_files, find_contacts, forget, parse_age, purge, retention_loop
from bot.storage import session_scope
from tests.conftest import ESCALATION_TURNS, VALID_CURP, VALID_NSS, VALID_STUDENT_ID, Desk, rows, run_cli
from tests.fakes.twilio import PNG_1PX

ANA = "whatsapp:+5216440000001"
LUIS = "whatsapp:+5216440000002"


def escalate(desk: Desk, address: str, attachments: tuple[Any, ...] = ()) -> Ticket:
    """Walk a student to a ticket; the first message carries the attachments."""
    for i, text in enumerate(ESCALATION_TURNS):
        handled = desk.send(text, address=address, attachments=attachments if i == 0 else ())
        if handled.ticket is not None:
            return handled.ticket
    raise AssertionError("no ticket")


def age(engine: Any, days: int) -> None:
    """Make everything in the database ``days`` old."""
    past = utcnow() - timedelta(days=days)
    with session_scope(engine) as session:
        session.execute(update(Conversation).values(updated_at=past, created_at=past, last_inbound_at=past))
        session.execute(update(Message).values(created_at=past))
        session.execute(update(InboundEvent).values(received_at=past))


def resolve_all(engine: Any) -> None:
    with session_scope(engine) as session:
        session.execute(update(Ticket).values(status=TicketStatus.RESOLVED, resolved_at=utcnow()))


@pytest.fixture
def media(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media")


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "MEDIA_DIR": str(tmp_path / "media")}


def test_parse_age() -> None:
    assert parse_age("180d") == timedelta(days=180)
    assert parse_age("26w") == timedelta(days=182)
    assert parse_age("6m") == timedelta(days=180)
    assert parse_age("1y") == timedelta(days=365)
    assert parse_age("90") == timedelta(days=90)
    for bad in ("", "d", "-5d", "0d", "abc", "1.5d"):
        with pytest.raises(ValueError):
            parse_age(bad)


def test_export_holds_everything_about_the_student_and_nobody_else(desk: Desk, media: MediaStore, env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    shot = media.attachment(PNG_1PX, name="captura.png")
    escalate(desk, ANA, (shot,))
    escalate(desk, LUIS)
    with session_scope(desk.engine) as session:
        enqueue(session=session, channel="whatsapp", provider_id="SMpending", address=ANA, desk_address=None,
                payload={"Body": "hola otra vez"})

    result = run_cli("student", "export", "--channel", "whatsapp", "--address", "+52 1 644 000 0001", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [c["address"] for c in data["contacts"]] == [ANA]
    assert {m["conversation_id"] for m in data["messages"]} == {data["conversations"][0]["id"]}
    (ticket,) = data["tickets"]
    assert ticket["data"]["nss"] == VALID_NSS and ticket["data"]["curp"] == VALID_CURP
    assert data["consents"] and data["inbound_events"][0]["payload"]["Body"] == "hola otra vez"
    assert data["files"] == [{"ref": shot.ref, "stored": True, "size": len(PNG_1PX)}]
    assert LUIS not in result.stdout

    out = tmp_path / "ana.json"
    by_id = run_cli("student", "export", "--student-id", VALID_STUDENT_ID, "--output", str(out), env=env)
    assert by_id.returncode == 0, by_id.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(json.loads(out.read_text())["contacts"]) == 2  # both used the same ID in the tests' data
    assert VALID_NSS not in by_id.stderr


def test_export_of_an_unknown_student_or_without_who_fails_cleanly(env: dict[str, str], engine: Any) -> None:
    assert run_cli("student", "export", "--channel", "telegram", "--address", "42", env=env).returncode == 1
    assert run_cli("student", "export", env=env).returncode == 2
    assert run_cli("student", "export", "--channel", "telegram", env=env).returncode == 2
    wrong_channel = run_cli("student", "export", "--channel", "foo", "--address", "x", env=env)
    assert wrong_channel.returncode == 2 and "--channel is one of" in wrong_channel.stderr
    for output in ("/nonexistent/dir/x.json", "/tmp"):
        bad = run_cli("student", "export", "--nss", VALID_NSS, "-o", output, env=env)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--output" in bad.stderr, bad.stderr


def test_forget_asks_first_then_anonymises_everything_files_included(desk: Desk, media: MediaStore,
                                                                     env: dict[str, str]) -> None:
    shot = media.attachment(PNG_1PX, name="captura.png")
    escalate(desk, ANA, (shot,))
    escalate(desk, LUIS)
    with session_scope(desk.engine) as session:
        enqueue(session=session, channel="whatsapp", provider_id="SMana", address=ANA, desk_address=None,
                payload={"Body": VALID_NSS})

    declined = run_cli("student", "forget", "--channel", "whatsapp", "--address", ANA, input="n\n", env=env)
    assert declined.returncode == 1 and "nothing changed" in declined.stderr
    assert media.path(shot.ref) is not None

    done = run_cli("student", "forget", "--channel", "whatsapp", "--address", ANA, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["contacts"] == 1 and report["tickets"] == 1 and report["files"] == 1
    assert media.path(shot.ref) is None

    ana = next(c for c in rows(desk.engine, Contact) if c.id == 1)
    assert ana.address == "anon-1" and ana.display_name is None and ana.student_id is None
    conversation = rows(desk.engine, Conversation, contact_id=ana.id)[0]
    assert conversation.address.startswith("anon-") and conversation.state is None
    assert rows(desk.engine, Message, conversation_id=conversation.id) == []
    (ticket,) = rows(desk.engine, Ticket, contact_id=ana.id)
    assert ticket.data == {} and ticket.description == "" and ticket.attachments == []
    assert ticket.status == TicketStatus.RESOLVED, "reports keep the count, nobody works an empty ticket"
    assert [e for e in rows(desk.engine, InboundEvent) if e.address == ANA] == []
    assert rows(desk.engine, Consent, contact_id=ana.id), "the acknowledgement stays, anonymously"
    # Luis is untouched
    luis = rows(desk.engine, Contact, address=LUIS)
    assert luis and rows(desk.engine, Ticket, contact_id=luis[0].id)[0].data["nss"] == VALID_NSS
    again = run_cli("student", "export", "--channel", "whatsapp", "--address", ANA, env=env)
    assert again.returncode == 1


def test_forget_keeps_a_file_another_student_also_sent(desk: Desk, media: MediaStore) -> None:
    shot = media.attachment(PNG_1PX, name="captura.png")
    escalate(desk, ANA, (shot,))
    escalate(desk, LUIS, (shot,))
    with session_scope(desk.engine) as session:
        report = forget(session, find_contacts(session, channel="whatsapp", address=ANA))
    with session_scope(desk.engine) as session:
        delete_files(session, media, report)
    assert report.files == 0 and media.path(shot.ref) is not None


def test_purge_anonymises_only_closed_conversations_past_retention(desk: Desk, media: MediaStore,
                                                                   env: dict[str, str]) -> None:
    shot = media.attachment(PNG_1PX, name="captura.png")
    escalate(desk, ANA, (shot,))          # old, resolved → purged
    escalate(desk, LUIS)                  # old, ticket still open → kept
    resolve_all(desk.engine)
    with session_scope(desk.engine) as session:
        session.execute(update(Ticket).where(Ticket.contact_id == 2).values(status=TicketStatus.OPEN))
        enqueue(session=session, channel="webchat", provider_id="old-done", address="web-x", desk_address=None,
                payload={"text": VALID_NSS})
        enqueue(session=session, channel="webchat", provider_id="old-pending", address="web-y", desk_address=None,
                payload={"text": "hola"})
        session.execute(update(InboundEvent).where(InboundEvent.provider_id == "old-done")
                        .values(status=EventStatus.DONE))
    age(desk.engine, 200)
    desk.send("hola", address="whatsapp:+5216440000003")  # recent → kept

    result = run_cli("purge", "--older-than", "180d", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["conversations"] == 1 and report["tickets"] == 1 and report["files"] == 1
    assert media.path(shot.ref) is None
    kept = {c.address for c in rows(desk.engine, Conversation)}
    assert LUIS in kept and "whatsapp:+5216440000003" in kept and ANA not in kept
    assert {e.provider_id for e in rows(desk.engine, InboundEvent)} >= {"old-pending"}
    assert "old-done" not in {e.provider_id for e in rows(desk.engine, InboundEvent)}
    # idempotent
    again = json.loads(run_cli("purge", "--older-than", "180d", env=env).stdout)
    assert again["conversations"] == 0 and again["tickets"] == 0
    assert run_cli("purge", "--older-than", "soon", env=env).returncode == 2


def test_a_conversation_held_by_staff_is_never_purged(desk: Desk) -> None:
    escalate(desk, ANA)
    resolve_all(desk.engine)
    with session_scope(desk.engine) as session:
        session.execute(update(Conversation).values(holder="staff"))
    age(desk.engine, 400)
    with Session(desk.engine) as session:
        report = purge(session, older_than=timedelta(days=180))
        session.commit()
    assert report.conversations == 0


def test_the_server_applies_retention_in_the_background(tmp_path: Path, desk: Desk, db_url: str) -> None:
    from bot.web.services import build_services
    from tests.service_support import settings_for

    escalate(desk, ANA)
    resolve_all(desk.engine)
    age(desk.engine, 40)
    services = build_services(settings_for(tmp_path, database_url=db_url, retention_days=30))

    async def run_once() -> None:
        task = asyncio.create_task(retention_loop(services, first_delay=0, interval=3600))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if not [c for c in rows(desk.engine, Conversation) if c.address == ANA]:
                break
        task.cancel()

    asyncio.run(run_once())
    services.engine.dispose()
    assert [c.address for c in rows(desk.engine, Conversation)] == ["anon-1"]


def test_media_types_are_read_from_the_bytes_not_the_name(media: MediaStore) -> None:
    from bot.media import MediaRejected

    for disguised in (b"<html><script>alert(1)</script>", b"<svg onload=alert(1)>", b"MZ\x90\x00binary",
                      b"#!/bin/sh\nrm -rf /"):
        with pytest.raises(MediaRejected):
            media.save(disguised, name="captura.png")
    stored = media.save(PNG_1PX, name="documento.pdf")
    assert stored.content_type == "image/png" and stored.ref.endswith(".png")
    for ref in ("../etc/passwd", "..", ".hidden", "a/b.png", "a\\b.png", ""):
        assert media.path(ref) is None
    assert not str(media.root.resolve()).startswith(str((Path(__file__).parents[1] / "bot" / "web" / "static").resolve()))


@pytest.mark.parametrize("days,running", [(180, True), (0, False)])
def test_the_app_runs_the_retention_task_unless_switched_off(tmp_path: Path, days: int, running: bool) -> None:
    from fastapi.testclient import TestClient

    from bot.web.app import create_app
    from tests.service_support import settings_for

    app = create_app(settings_for(tmp_path, retention_days=days), workers=False)
    with TestClient(app) as client:
        async def task_names() -> set[str]:
            return {t.get_name() for t in asyncio.all_tasks()}

        assert ("retention" in client.portal.call(task_names)) is running  # type: ignore[union-attr]


# --- finding the student: absurd ages, Mexican numbers, other sessions by NSS or CURP -----------------


@pytest.mark.parametrize("typed", ["99999y", "999999999999d", "9" * 40 + "w", "36501d"])
def test_purge_refuses_an_absurd_age_cleanly(env: dict[str, str], typed: str) -> None:
    result = run_cli("purge", "--older-than", typed, env=env)
    assert result.returncode == 2 and "age too large" in result.stderr and "at most 100 years" in result.stderr
    assert "Traceback" not in result.stderr and "Overflow" not in result.stderr
    assert parse_age("100y") == timedelta(days=36500)


@pytest.mark.parametrize("stored, typed", [
    ("whatsapp:+5216445550003", "+526445550003"),
    ("whatsapp:+5216445550003", "whatsapp:+526445550003"),
    ("whatsapp:+5216445550003", "644 555 0003"),
    ("whatsapp:+526445550003", "+52 1 644 555 0003"),
    ("whatsapp:+526445550003", "whatsapp:+5216445550003"),
    ("whatsapp:+526445550003", "+52 (644) 555-0003"),
])
def test_export_finds_a_mexican_number_with_or_without_the_1(desk: Desk, env: dict[str, str], stored: str,
                                                             typed: str) -> None:
    desk.send("hola", address=stored)
    desk.send("hola", address="whatsapp:+5216445550009")  # somebody else
    result = run_cli("student", "export", "--channel", "whatsapp", "--address", typed, env=env)
    assert result.returncode == 0, result.stderr
    assert [c["address"] for c in json.loads(result.stdout)["contacts"]] == [stored]


def test_export_and_forget_by_nss_or_curp_include_the_students_other_sessions(desk: Desk, env: dict[str, str],
                                                                              tmp_path: Path) -> None:
    from bot.channels.webchat import address_for

    laptop, phone = address_for("a" * 32), address_for("b" * 32)
    escalate_web = [t for t in ESCALATION_TURNS]
    for text in escalate_web:  # the whole escalation on the laptop: NSS and CURP in the ticket's data
        desk.send(text, address=laptop, channel="webchat")
    # typed on the phone before any privacy notice: not kept, so nothing of it to export or forget
    desk.send(f"hola, mi curp es {VALID_CURP.lower()}", address=phone, channel="webchat")
    desk.send("hola", address=address_for("c" * 32), channel="webchat")  # another student
    escalate(desk, ANA)  # gave the same NSS and CURP on WhatsApp

    by_curp = run_cli("student", "export", "--curp", VALID_CURP, "--output", str(tmp_path / "a.json"), env=env)
    assert by_curp.returncode == 0, by_curp.stderr
    data = json.loads((tmp_path / "a.json").read_text())
    assert sorted(c["address"] for c in data["contacts"]) == sorted([laptop, ANA])
    assert "contacts included:" in by_curp.stderr and "(by CURP)" in by_curp.stderr
    assert {i["channel"] for i in data["included"]} == {"webchat", "whatsapp"}
    phone_texts = [m.text for m in rows(desk.engine, Message) if m.conversation_id in {
        c.id for c in rows(desk.engine, Conversation) if c.address == phone}]
    assert phone_texts and not any(VALID_CURP.lower() in t.lower() for t in phone_texts)
    assert VALID_CURP not in by_curp.stderr, "the terminal shows ids, not the data"

    by_nss = run_cli("student", "export", "--nss", VALID_NSS, env=env)
    assert by_nss.returncode == 0, by_nss.stderr
    assert sorted(c["address"] for c in json.loads(by_nss.stdout)["contacts"]) == sorted([laptop, ANA])

    both = run_cli("student", "export", "--channel", "webchat", "--address", "b" * 32, "--nss", VALID_NSS, env=env)
    included = {i["contact"]: i["found_by"] for i in json.loads(both.stdout)["included"]}
    assert sorted(included.values()) == [["NSS"], ["NSS"], ["address"]]

    done = run_cli("student", "forget", "--curp", VALID_CURP, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["contacts"] == 2 and sorted(i["found_by"] for i in report["included"]) == [["CURP"]] * 2
    assert "webchat contact" in done.stderr and "whatsapp contact" in done.stderr
    assert run_cli("student", "export", "--curp", VALID_CURP, env=env).returncode == 1
    assert run_cli("student", "export", "--channel", "webchat", "--address", "c" * 32, env=env).returncode == 0

    assert run_cli("student", "export", "--nss", "123", env=env).returncode == 2
    assert run_cli("student", "export", "--curp", "NOTACURP", env=env).returncode == 2
