"""The ``seguro-bot simulate`` contract (../shared/spec/simulate.md), through the real console script."""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import time

from bot.models import Conversation, Message
from bot.storage import make_engine
from tests import dbs
from tests.conftest import ESCALATION_TURNS, VALID_CURP, VALID_NSS, jsonl, parse_output, rows, run_cli, seguro_bot

RESULT_KEYS = {"conversation", "topic", "state", "replies", "ticket"}


def _assert_result(line: dict, conversation: str) -> None:
    assert set(line) == RESULT_KEYS, line
    assert line["conversation"] == conversation
    assert line["topic"] is None or isinstance(line["topic"], str)
    assert isinstance(line["state"], str) and line["state"]
    assert isinstance(line["replies"], list) and line["replies"], "the bot never stays silent"
    assert all(isinstance(r, str) and r for r in line["replies"])
    assert line["ticket"] is None or set(line["ticket"]) == {"id", "reason", "status"}


def test_one_output_line_per_input_line_and_bad_lines_do_not_stop_the_run(tmp_path):
    stdin = jsonl(
        {"conversation": "c1", "text": "hola", "at": "2026-02-10T10:00:00-07:00"},   # 1
        "",                                                                          # 2 blank: an error line
        "esto no es json",                                                           # 3
        {"conversation": "c1", "text": "requisitos", "at": "2026-02-10T10:01:00-07:00"},  # 4
        "[1, 2, 3]",                                                                 # 5 not an object
        {"conversation": 5, "text": "hola"},                                         # 6 conversation not a string
        {"conversation": "c2"},                                                      # 7 no text
        {"conversation": "c2", "text": "hola", "channel": "sms"},                    # 8 unknown channel
        {"conversation": "c2", "text": "hola", "at": "mañana"},                      # 9 bad date
        "   ",                                                                       # 10 blank: an error line
        {"conversation": "c2", "text": "hola", "channel": "telegram", "at": "2026-02-10T17:00:00Z"},  # 11
        '{"conversation": "c3", "text": "hola"',                                     # 12 truncated JSON
        {"conversation": "c3", "text": "¿qué onda? 😀"},                             # 13 no "at": now
    )
    proc = run_cli("simulate", "-", input=stdin, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = parse_output(proc.stdout)
    assert len(out) == 13

    by_line = dict(zip(range(1, 14), out))
    _assert_result(by_line[1], "c1")
    assert by_line[1]["topic"] == "saludo"
    assert by_line[1]["ticket"] is None
    _assert_result(by_line[4], "c1")
    _assert_result(by_line[11], "c2")
    _assert_result(by_line[13], "c3")
    for n in (2, 3, 5, 6, 7, 8, 9, 10, 12):
        assert by_line[n]["line"] == n
        assert isinstance(by_line[n]["error"], str) and by_line[n]["error"]
        assert not (RESULT_KEYS - {"conversation"}) & set(by_line[n])
    for n in (7, 8, 9):
        assert by_line[n]["conversation"] == "c2"
    assert "blank" in by_line[2]["error"] and "conversation" not in by_line[2]


def test_stdout_is_compact_utf8_json_lines_only(tmp_path):
    proc = run_cli("simulate", "-", input=jsonl({"conversation": "canción-ñ", "text": "hola"}, "no json"),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("{") and line.endswith("}") for line in lines)
    assert '"conversation":"canción-ñ"' in lines[0]
    json.loads(lines[1])


def test_reads_a_file_argument(tmp_path):
    script = tmp_path / "chat.jsonl"
    script.write_text(jsonl({"conversation": "f", "text": "hola"}, {"conversation": "f", "text": "gracias"}),
                      encoding="utf-8")
    proc = run_cli("simulate", str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = parse_output(proc.stdout)
    assert [o["conversation"] for o in out] == ["f", "f"]


def test_each_run_starts_with_a_fresh_database(tmp_path):
    stdin = jsonl({"conversation": "c1", "text": "hola", "at": "2026-02-10T10:00:00-07:00"},
                  {"conversation": "c1", "text": "requisitos", "at": "2026-02-10T10:01:00-07:00"})
    first = parse_output(run_cli("simulate", "-", input=stdin, cwd=tmp_path).stdout)
    second = parse_output(run_cli("simulate", "-", input=stdin, cwd=tmp_path).stdout)
    assert first == second
    assert not list(tmp_path.glob("*.db")), "no database left in the working directory"


def test_db_option_keeps_the_conversation(tmp_path):
    url = dbs.database_url(tmp_path, 'kept.db')
    for text in ("hola", "requisitos"):
        proc = run_cli("simulate", "-", "--db", url, input=jsonl({"conversation": "c1", "text": text}), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    engine = make_engine(url)
    try:
        assert len(rows(engine, Conversation)) == 1
        assert [m.text for m in rows(engine, Message, direction="in")] == ["hola", "requisitos"]
    finally:
        engine.dispose()


def test_a_replayed_transcript_is_stored_dated_as_it_happened(tmp_path):
    """simulate --db into a database staff open in the console: the conversation, its messages and its
    report carry the transcript's times, not the minute it was replayed."""
    from datetime import datetime, timezone

    from bot.models import Ticket

    url = dbs.database_url(tmp_path, 'replay.db')
    turns = ["me equivoque en mi curp al llenar la solicitud", "puse mal mi fecha de nacimiento",
             f"ID 00000123456, Ana Ruiz Soto, NSS {VALID_NSS}, CURP {VALID_CURP}", "si"]
    stdin = jsonl(*({"conversation": "c1", "text": t, "at": f"2026-02-10T10:0{i}:00-07:00"} for i, t in enumerate(turns)))
    proc = run_cli("simulate", "-", "--db", url, input=stdin, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert parse_output(proc.stdout)[-1]["ticket"] is not None
    engine = make_engine(url)
    try:
        def utc(stored: datetime) -> datetime:
            return stored if stored.tzinfo else stored.replace(tzinfo=timezone.utc)

        first, last = datetime(2026, 2, 10, 17, 0, tzinfo=timezone.utc), datetime(2026, 2, 10, 17, 3, tzinfo=timezone.utc)
        [conversation] = rows(engine, Conversation)
        assert utc(conversation.created_at) == first and utc(conversation.updated_at) == last
        assert [utc(m.created_at).minute for m in rows(engine, Message, direction="in")] == [0, 1, 2, 3]
        assert {utc(m.created_at) for m in rows(engine, Message, direction="out")} <= {
            first.replace(minute=i) for i in range(4)}
        [ticket] = rows(engine, Ticket)
        assert utc(ticket.created_at) == last
    finally:
        engine.dispose()


def test_any_text_gets_an_answer_and_never_crashes_the_run(tmp_path):
    texts = ["", " ", "a" * 100_000, "\x00", "\ud83d", "{}", '{"text": 1}', "🙂" * 1000, "DROP TABLE message;",
             "\n\n", "null"]
    stdin = jsonl(*({"conversation": f"w{i}", "text": t} for i, t in enumerate(texts)))
    proc = run_cli("simulate", "-", input=stdin, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = parse_output(proc.stdout)
    assert len(out) == len(texts)
    for i, line in enumerate(out):
        assert line["conversation"] == f"w{i}"
        assert "error" in line or line["replies"], line


def test_each_line_is_answered_as_soon_as_it_is_processed(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "DATABASE_URL"))}
    proc = subprocess.Popen([*seguro_bot(), "simulate", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, cwd=tmp_path, env=env)
    try:
        assert proc.stdin and proc.stdout
        proc.stdin.write(jsonl({"conversation": "live", "text": "hola"}).encode())
        proc.stdin.flush()
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        line = b""
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            if selector.select(timeout=1):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                line += chunk
        assert line.endswith(b"\n"), "no output before stdin was closed"
        assert json.loads(line)["conversation"] == "live"
    finally:
        proc.stdin.close()
        proc.wait(60)
    assert proc.returncode == 0


def test_an_escalation_shows_its_ticket(tmp_path):
    turns = ESCALATION_TURNS
    stdin = jsonl(*({"conversation": "t1", "text": t, "at": f"2026-02-10T10:{i:02d}:00-07:00"}
                    for i, t in enumerate(turns)))
    proc = run_cli("simulate", "-", input=stdin, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = parse_output(proc.stdout)
    tickets = [o["ticket"] for o in out if o.get("ticket")]
    assert tickets, out
    assert isinstance(tickets[0]["id"], int)
    assert tickets[0]["reason"] == "duda_general"
    assert tickets[0]["status"] == "open"


def test_an_open_doubt_becomes_the_missing_coverage_with_its_save_day(tmp_path):
    turns = [*ESCALATION_TURNS, "ya pasaron 10 dias y no me sale vigente, la guarde el 5 de febrero"]
    stdin = jsonl(*({"conversation": "t1", "text": t, "at": f"2026-02-20T10:{i:02d}:00-07:00"}
                    for i, t in enumerate(turns)))
    proc = run_cli("simulate", "-", input=stdin, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = parse_output(proc.stdout)
    opened = next(o["ticket"] for o in out if o.get("ticket"))
    assert opened["reason"] == "duda_general"
    last = out[-1]
    assert last["ticket"] == {**opened, "reason": "sin_vigencia"}  # the same ticket, its reason changed
    said = "\n".join(last["replies"])
    assert "sigues sin vigencia" in said and "jueves 5 de febrero" in said and "*jueves 12 de febrero*" in said
    assert "Perdón por la espera" not in said
