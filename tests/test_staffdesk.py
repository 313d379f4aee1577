"""The staff service functions against a real SQLite file: atomic claims, reopening, resolving."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot import staffdesk
from bot.console import auth
from bot.models import Conversation, Holder, Message, Ticket, TicketStatus, utcnow
from bot.staff_models import AuditEntry, StaffUser
from bot.storage import session_scope
from tests import dbs
from tests.conftest import ESCALATION_TURNS, T0, Desk, rows


def _staff(engine: Engine, email: str, name: str, role: str = "agent") -> StaffUser:
    with session_scope(engine) as session:
        return auth.create_staff(session=session, email=email, name=name, role=role, password="una-contraseña-larga")


def _ticket(desk: Desk, address: str = "+5216440000001") -> int:
    for text in ESCALATION_TURNS:
        handled = desk.send(text, address=address)
        if handled.ticket is not None:
            return int(handled.ticket.id)
    raise AssertionError("no ticket")


def test_two_staff_claiming_at_once_one_wins(engine: Engine, desk: Desk) -> None:
    ticket = _ticket(desk)
    people = [_staff(engine, f"p{i}@itson.edu.mx", f"Persona {i}") for i in range(4)]
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []

    def claim(person: StaffUser) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                staffdesk.take_over(session=session, kb=desk.kb, ticket_id=ticket, staff=person)
            outcomes.append("won")
        except staffdesk.DeskActionError:
            outcomes.append("lost")

    threads = [threading.Thread(target=claim, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    assert len(rows(engine, AuditEntry, action="take_over")) == 1
    conv = rows(engine, Conversation)[0]
    assert conv.holder == Holder.STAFF and rows(engine, Ticket)[0].assigned_staff_id == conv.holder_staff_id
    assert rows(engine, Ticket)[0].status == TicketStatus.ASSIGNED


def test_a_hold_nobody_works_on_is_released_by_exactly_one_worker(engine: Engine, desk: Desk) -> None:
    """Every worker's outbox looks for expired holds: the student must be told once, answered once."""
    ticket = _ticket(desk)
    ana = _staff(engine, "ana@itson.edu.mx", "Ana López")
    with session_scope(engine) as session:
        staffdesk.take_over(session=session, kb=desk.kb, ticket_id=ticket, staff=ana, now=T0)
    desk.send("¿ya me resolvieron?", at=T0 + timedelta(minutes=1))
    conversation_id = rows(engine, Conversation)[0].id
    later = T0 + timedelta(minutes=31)
    with session_scope(engine) as session:  # still worked on within the timeout: kept
        assert staffdesk.expired_holds(session, cutoff=T0 - timedelta(minutes=1)) == []
        assert staffdesk.expired_holds(session, cutoff=later - timedelta(minutes=30)) == [conversation_id]
    workers = 4
    barrier = threading.Barrier(workers)
    outcomes: list[bool] = []

    def release() -> None:
        barrier.wait()
        with session_scope(engine) as session:
            outcomes.append(staffdesk.expire_hold(session=session, kb=desk.kb, conversation_id=conversation_id,
                                                  cutoff=later - timedelta(minutes=30), now=later))

    threads = [threading.Thread(target=release) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False] * (workers - 1) + [True]
    conversation = rows(engine, Conversation)[0]
    assert conversation.holder == Holder.BOT and conversation.holder_staff_id is None
    told = [m.text for m in rows(engine, Message, author="system") if "asistente automático" in m.text]
    assert told == [desk.kb.message("desk_hold_expired", number=ticket)]
    assert f"Tu reporte #{ticket} sigue abierto" in told[0]
    answers = [m for m in rows(engine, Message, author="bot") if m.id > max(m.id for m in rows(engine, Message, author="system"))]
    assert answers and f"#{ticket}" in answers[0].text  # "¿ya me resolvieron?" answered, once
    assert [e.detail for e in rows(engine, AuditEntry, action="hand_back")] == [
        {"reason": "hold_expired", "from_staff_id": ana.id}]
    assert rows(engine, Ticket)[0].status == TicketStatus.OPEN


def test_reopen_recent_within_days_only(engine: Engine, desk: Desk) -> None:
    ticket = _ticket(desk)
    ana = _staff(engine, "ana@itson.edu.mx", "Ana López", "admin")
    with session_scope(engine) as session:
        staffdesk.take_over(session=session, kb=desk.kb, ticket_id=ticket, staff=ana)
        staffdesk.resolve(session=session, kb=desk.kb, ticket_id=ticket, staff=ana)
    conv_id = rows(engine, Conversation)[0].id
    with session_scope(engine) as session:
        late = staffdesk.reopen_recent(session=session, conversation_id=conv_id, reason="duda_general",
                                       now=utcnow() + staffdesk.REOPEN_WITHIN + timedelta(hours=1))
        assert late is None
        assert staffdesk.reopen_recent(session=session, conversation_id=conv_id, reason="sin_vigencia") is None
        again = staffdesk.reopen_recent(session=session, conversation_id=conv_id, reason="duda_general")
        assert again is not None and again.id == ticket and again.status == TicketStatus.OPEN
    assert rows(engine, AuditEntry, action="reopen")[0].detail == {"by": "student"}


def test_mask_keeps_only_the_last_four() -> None:
    assert staffdesk.mask("12345678903") == "•••••••8903"
    assert staffdesk.mask("abc") == "•••"


def test_staff_cli_add_list_disable(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli_staff import staff_app

    monkeypatch.setenv("DATABASE_URL", dbs.database_url(tmp_path, 'cli.db'))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(staff_app, ["add", "Ana@ITSON.edu.mx", "--name", "Ana López", "--role", "admin",
                                  "--password-stdin"], input="una-contraseña-larga\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(staff_app, ["add", "x@itson.edu.mx", "--name", "X", "--password-stdin"], input="corta\n")
    assert r.exit_code == 1
    r = runner.invoke(staff_app, ["add", "ana@itson.edu.mx", "--name", "Otra", "--password-stdin"],
                      input="una-contraseña-larga\n")
    assert r.exit_code == 1
    listing = runner.invoke(staff_app, ["list"]).output
    assert "ana@itson.edu.mx" in listing and "admin" in listing and "activa" in listing
    assert "una-contraseña" not in listing and "$argon2" not in listing
    assert runner.invoke(staff_app, ["disable", "ana@itson.edu.mx"]).exit_code == 0
    assert "desactivada" in runner.invoke(staff_app, ["list"]).output
    assert runner.invoke(staff_app, ["disable", "nadie@itson.edu.mx"]).exit_code == 1


def test_staff_cli_says_which_database_and_fails_in_one_line(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An account written to the wrong DATABASE_URL cannot log in anywhere: say where it went; and an
    unreachable or outdated database is one line (exit 2), like `db current` or `purge`, not a traceback."""
    from sqlalchemy import text

    from bot.cli import _safe_url
    from bot.cli_staff import staff_app
    from bot.storage import make_engine

    url = dbs.database_url(tmp_path, 'where.db')
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(staff_app, ["add", "ana@itson.edu.mx", "--name", "Ana López", "--password-stdin"],
                      input="una-contraseña-larga\n")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"Cuenta creada: ana@itson.edu.mx (agent) en {_safe_url(url)}"
    r = runner.invoke(staff_app, ["disable", "ana@itson.edu.mx"])
    assert r.output.strip() == f"Cuenta desactivada: ana@itson.edu.mx en {_safe_url(url)}"

    # the schema of an older version (revision 0004): run `db upgrade` first
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    finally:
        engine.dispose()
    for command in (["list"], ["enable", "ana@itson.edu.mx"]):
        r = runner.invoke(staff_app, command)
        assert r.exit_code == 2, (command, r.output)
        assert r.output.startswith(f"seguro-bot: cannot use database {_safe_url(url)}: "), r.output
        assert "seguro-bot db upgrade" in r.output and "Traceback" not in r.output

    # nothing listens on port 1; the password is never shown
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://seguro:pw-secreto@127.0.0.1:1/seguro_bot")
    r = runner.invoke(staff_app, ["add", "beto@itson.edu.mx", "--name", "Beto", "--password-stdin"],
                      input="una-contraseña-larga\n")
    assert r.exit_code == 2
    [line] = r.output.splitlines()
    assert line.startswith("seguro-bot: cannot open database postgresql+psycopg://seguro:***@127.0.0.1:1/seguro_bot: ")
    assert "pw-secreto" not in r.output


def test_staff_cli_enables_again_and_sets_a_new_password(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli_staff import staff_app

    monkeypatch.setenv("DATABASE_URL", dbs.database_url(tmp_path, 'cli2.db'))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(staff_app, ["add", "ana@itson.edu.mx", "--name", "Ana López", "--password-stdin"],
                         input="una-contraseña-larga\n").exit_code == 0
    assert runner.invoke(staff_app, ["disable", "ana@itson.edu.mx"]).exit_code == 0
    assert runner.invoke(staff_app, ["enable", "ana@itson.edu.mx"]).exit_code == 0
    assert "activa" in runner.invoke(staff_app, ["list"]).output
    assert runner.invoke(staff_app, ["passwd", "ana@itson.edu.mx", "--password-stdin"], input="corta\n").exit_code == 1
    for weak, why in (("4412345678", "solo números"), ("ANA@itson.edu.mx", "el correo ni el nombre de la cuenta")):
        r = runner.invoke(staff_app, ["passwd", "ana@itson.edu.mx", "--password-stdin"], input=weak + "\n")
        assert r.exit_code == 1 and why in r.output, (weak, r.output)
    r = runner.invoke(staff_app, ["add", "beto@itson.edu.mx", "--name", "Beto", "--password-stdin"],
                      input="12345678901234\n")
    assert r.exit_code == 1 and "no puede ser solo números" in r.output
    r = runner.invoke(staff_app, ["passwd", "ana@itson.edu.mx", "--password-stdin"], input="otra-contraseña-larga\n")
    assert r.exit_code == 0, r.output
    assert runner.invoke(staff_app, ["passwd", "nadie@itson.edu.mx", "--password-stdin"],
                         input="otra-contraseña-larga\n").exit_code == 1
    from bot.storage import make_engine
    engine = make_engine(dbs.database_url(tmp_path, 'cli2.db'))
    try:
        with session_scope(engine) as session:
            assert auth.login(session=session, email="ana@itson.edu.mx", password="otra-contraseña-larga",
                              ip="127.0.0.1").staff is not None
    finally:
        engine.dispose()


def test_disabling_an_account_gives_its_chats_back_to_the_bot(engine: Engine, desk: Desk) -> None:
    """Nobody would answer a chat a disabled account holds, and the bot stays silent while staff
    hold it: disabling hands those chats back, the tickets stay open for someone else."""
    ticket = _ticket(desk)
    beto = _staff(engine, "beto@itson.edu.mx", "Beto Soto")
    with session_scope(engine) as session:
        staffdesk.take_over(session=session, kb=desk.kb, ticket_id=ticket, staff=beto)
        staffdesk.reply(session=session, ticket_id=ticket, staff=beto, text="Lo reviso y te digo.",
                        now=T0 + timedelta(minutes=5))
    assert desk.send("hola? ya me resolvieron?").replies == []  # held: the bot is silent
    with session_scope(engine) as session:
        staff = auth.set_active(session=session, email="beto@itson.edu.mx", active=False)
        assert staffdesk.release_chats_of(session=session, kb=desk.kb, staff=staff) == 1
    conv = rows(engine, Conversation)[0]
    assert conv.holder == Holder.BOT and conv.holder_staff_id is None
    [kept] = rows(engine, Ticket)
    assert kept.status == TicketStatus.OPEN and kept.assigned_staff_id is None
    assert kept.handled_by_staff_id == beto.id  # who worked on it survives the account
    assert desk.send("hola?").replies  # the bot answers again


def test_passwords_are_argon2_and_never_stored_in_clear(engine: Engine) -> None:
    _staff(engine, "ana@itson.edu.mx", "Ana López")
    stored = rows(engine, StaffUser)[0].password_hash
    assert stored.startswith("$argon2id$") and "una-contraseña-larga" not in stored


def test_what_the_student_is_told_when_staff_act_is_the_knowledge_bases_text(engine: Engine, desk: Desk,
                                                                             tmp_path: Any) -> None:
    """Staff reword the take-over and resolve notices in messages.yaml, without touching Python."""
    import shutil
    from pathlib import Path

    from knowledge.loader import load

    root = tmp_path / "knowledge"
    shutil.copytree(Path(staffdesk.__file__).resolve().parent.parent / "knowledge", root,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    messages = root / "messages.yaml"
    text = messages.read_text(encoding="utf-8")
    text = text.replace('desk_taken: "👋 Hola, soy {name}', 'desk_taken: "🙋 Buen día, te atiende {name}. Soy')
    text = text.replace('desk_resolved: "✅ Tu reporte #{number} quedó resuelto.',
                        'desk_resolved: "✅ Cerramos tu reporte #{number}.')
    messages.write_text(text, encoding="utf-8")
    edited = load(root)
    ticket = _ticket(desk)
    ana = _staff(engine, "ana@itson.edu.mx", "Ana López")
    with session_scope(engine) as session:
        staffdesk.take_over(session=session, kb=edited, ticket_id=ticket, staff=ana)
        staffdesk.resolve(session=session, kb=edited, ticket_id=ticket, staff=ana)
    told = [m.text for m in rows(engine, Message, author="system")]
    assert told[0].startswith("🙋 Buen día, te atiende Ana. Soy de la mesa de ayuda")
    assert told[1].startswith(f"✅ Cerramos tu reporte #{ticket}.")


def test_a_parent_is_told_about_their_childs_case_when_staff_act(engine: Engine, desk: Desk) -> None:
    from tests.test_speaker import PARENT_DATA

    ticket = None
    for text in ("hola, soy mamá de un alumno de ITSON", "se equivocó en su CURP al llenar la solicitud",
                 "puso mal su fecha de nacimiento", PARENT_DATA, "sí"):
        handled = desk.send(text)
        ticket = handled.ticket.id if handled.ticket is not None else ticket
    assert ticket is not None
    ana = _staff(engine, "ana@itson.edu.mx", "Ana López")
    with session_scope(engine) as session:
        staffdesk.take_over(session=session, kb=desk.kb, ticket_id=ticket, staff=ana)
        staffdesk.hand_back(session=session, kb=desk.kb, ticket_id=ticket, staff=ana)
        staffdesk.take_over(session=session, kb=desk.kb, ticket_id=ticket, staff=ana)
        staffdesk.resolve(session=session, kb=desk.kb, ticket_id=ticket, staff=ana)
    told = [m.text for m in rows(engine, Message, author="system")]
    assert told[0].endswith("Ya estoy revisando el caso de tu hijo(a); te contesto por aquí.")
    assert f"El reporte #{ticket} de tu hijo(a) sigue abierto" in told[1]
    assert told[3].startswith(f"✅ El reporte #{ticket} de tu hijo(a) quedó resuelto.")
    assert not any("Tu reporte" in t or "tu caso" in t for t in told)
