"""A parent writing for the student ("soy mamá de un alumno"): who is speaking, and what they read.

The detector (flows/speaker.py) is checked on its own, then the real machine is driven turn by turn
as a parent would write (tests/test_machine.py style), and the desk's ticket number through
``seguro-bot simulate`` (the number is worded in bot/desk.py, not in the flows).
"""
from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows import speaker
from flows.machine import remind
from flows.messages import OpenTicket
from knowledge.loader import ROOT, check, load
from tests.conftest import ESCALATION_TURNS, VALID_CURP, VALID_NSS, jsonl, parse_output, run_cli
from tests.test_machine import Chat as MachineChat

TZ = ZoneInfo("America/Hermosillo")
KB = load()
PARENT_DATA = f"ID 234567, se llama Juan Pérez López, NSS {VALID_NSS}, CURP {VALID_CURP}"


class Chat(MachineChat):
    """tests/test_machine.py's conversation, and whether the bot takes the writer for a parent."""

    @property
    def relative(self) -> bool:
        return speaker.is_relative(self.state)


# --- who is writing -----------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "soy mamá de un alumno de ITSON",
    "Hola, soy la mamá de Diego",
    "soy su papá",
    "mi hijo no sabe su NSS",
    "es para mi hija",
    "le escribo por mi hijo",
    "Buenas tardes, escribo de parte de mi hija",
    "¿cuál es el NSS de mi hija?",
    "mi hija estudia en el ITSON y no le sale vigente",
    "mi hijo ya guardó su solicitud el lunes",
    "¿dónde tiene que hacer mi hijo la solicitud?",
    "mi hija estudia en itson guaymas y la tengo en mi seguro del imss como beneficiaria",
])
def test_a_parent_writing_for_the_student_is_a_relative(text: str) -> None:
    assert speaker.speaks_for_student(text) is True


@pytest.mark.parametrize("text", [
    # a student talking about their family
    "mi mamá me dijo que tenía que sacar el seguro",
    "mi papá trabaja y tengo IMSS por él",
    "mi mamá me tiene en su IMSS",
    "soy madre de familia y estudio en el ITSON",
    # the student's own child
    "¿el seguro cubre a mi hijo?",
    "puedo meter a mi hijo al seguro facultativo?",
    "mi hijo está enfermo, ¿lo cubre mi seguro?",
    "¿puedo usar el seguro para mi hija?",
    "cubre a mis hijos?",
    "¿es para mi hijo también?",
    # nothing said about who writes
    "hola",
    "me equivoqué en mi CURP",
])
def test_a_student_mentioning_family_is_not_a_relative(text: str) -> None:
    assert speaker.speaks_for_student(text) is None


@pytest.mark.parametrize("text", ["ya soy yo, el alumno", "soy el estudiante", "soy alumna del ITSON"])
def test_the_student_saying_it_is_them(text: str) -> None:
    assert speaker.speaks_for_student(text) is False


@pytest.mark.parametrize("text", ["es para mi hija", "le escribo por mi hijo", "soy su papá",
                                  "Buenas tardes, soy la mamá de Diego"])
def test_a_parent_who_only_says_who_writes_gets_the_greeting(text: str) -> None:
    chat = Chat()
    out = chat.say(text)
    assert out.topic == "saludo" and chat.relative
    assert "trámite del seguro del IMSS de tu hijo(a)" in chat.text
    assert "no te puedo ayudar" not in chat.text and "Correo:" not in chat.text


@pytest.mark.parametrize("text", ["soy mamá de un alumno, ¿cuánto tarda?", "le escribo por mi hijo, ¿a qué hora abren?",
                                  "mi hijo no sabe su NSS"])
def test_a_parent_who_asks_something_gets_the_answer_not_the_greeting(text: str) -> None:
    assert speaker.speaks_for_student(text) and not speaker.only_announces(text)


def test_note_keeps_the_relative_until_the_student_says_it_is_them() -> None:
    state: dict[str, Any] = {}
    speaker.note(state, "soy mamá de un alumno")
    assert speaker.is_relative(state)
    speaker.note(state, "¿cuánto tarda?")  # says nothing about who writes: kept
    assert speaker.is_relative(state)
    speaker.note(state, "ya soy yo, el alumno")
    assert not speaker.is_relative(state) and "relative" not in state


# --- what a parent reads ------------------------------------------------------------------


def test_a_parent_from_hello_to_the_report_reads_about_their_child() -> None:
    chat = Chat()
    chat.say("hola, soy mamá de un alumno de ITSON")
    assert chat.relative
    assert "trámite del seguro del IMSS de tu hijo(a)" in chat.text

    out = chat.say("mi hijo no sabe su NSS")
    assert out.topic == "nss"
    assert "El *NSS (Número de Seguridad Social)* de tu hijo(a)" in chat.text
    assert "Tu *NSS" not in chat.text
    assert "Cuando tu hijo(a) ya tenga su NSS" in chat.text

    out = chat.say("¿y dónde hace la solicitud?")
    assert out.topic == "registro_cia"
    assert "Tu hijo(a) tiene que hacer la solicitud" in chat.text
    assert "La solicitud la haces tú" not in chat.text

    out = chat.say("se equivocó en su CURP al llenar la solicitud")
    assert out.topic == "datos_erroneos"
    assert "Si tu hijo(a) se equivocó al llenar su solicitud" in chat.text
    assert "CURP de tu hijo(a) solo para atender su caso" in chat.text  # the privacy notice
    assert "usará tu ID" not in chat.text
    assert "Para levantar el reporte de tu hijo(a) necesito: su *ID de estudiante*" in chat.text

    chat.say(PARENT_DATA)
    assert chat.state is not None and chat.state["stage"] == "escalation_confirm"
    assert "Revisa los datos de tu hijo(a), por favor:" in chat.text
    assert "Revisa tus datos" not in chat.text
    assert "Juan Pérez López" in chat.text and VALID_CURP in chat.text

    out = chat.say("sí")
    tickets = [a for a in out.actions if isinstance(a, OpenTicket)]
    assert len(tickets) == 1 and tickets[0].reason == "datos_erroneos"
    assert tickets[0].data["name"] == "Juan Pérez López"
    assert tickets[0].writer_note == KB.message("relative_ticket_note")  # staff know who writes
    assert "El reporte de tu hijo(a) quedó registrado" in chat.text

    chat.state = {**chat.state, "ticket_number": 7}  # what the desk stores once the ticket exists
    chat.say("¿ya le resolvieron?")
    assert "El reporte *#7* de tu hijo(a) sigue abierto" in chat.text


def test_a_parent_asked_for_the_data_one_by_one() -> None:
    chat = Chat()
    chat.say("le escribo por mi hijo, le sale un error al guardar la solicitud")
    chat.say("dice que el NSS no es válido")
    assert "Va, lo agregué al detalle del reporte de tu hijo(a)" in chat.text
    assert "necesito: su *ID de estudiante*" in chat.text and "tu *ID de estudiante*" not in chat.text
    chat.say("234567")
    chat.say("Juan Pérez López")
    assert "Me falta su NSS y su CURP." in chat.text
    chat.say(VALID_NSS)
    assert "¿Cuál es la CURP de tu hijo(a)? (18 caracteres)" in chat.text


def test_a_parent_who_does_not_have_the_nss_nor_the_curp_at_hand() -> None:
    chat = Chat()
    chat.say("escribo de parte de mi hija, quedó mal su nombre en la solicitud")
    chat.say("le faltó un apellido")
    chat.say("234567, Ana López García")
    assert "Me falta su NSS y su CURP." in chat.text
    chat.say("no lo sabe")  # a parent's "no sé": the NSS goes as unknown, not "no te entendí"
    assert "El NSS de tu hijo(a) se consulta en línea" in chat.text
    assert "¿Cuál es la CURP de tu hijo(a)?" in chat.text
    chat.say("no la tiene a la mano")
    assert "La CURP de tu hijo(a) se consulta gratis" in chat.text
    chat.say("no la tiene")
    assert "Va, seguimos sin su CURP" in chat.text
    assert "Revisa los datos de tu hijo(a)" in chat.text and "(no lo sabe)" in chat.text


def test_a_parent_through_the_guide_step_by_step() -> None:
    chat = Chat()
    chat.say("es para mi hija")
    chat.say("1")
    assert "¿tu hijo(a) ya tiene servicio médico por otro lado?" in chat.text
    chat.say("no")
    assert "¿Tu hijo(a) ya conoce su Número de Seguridad Social (NSS)?" in chat.text
    chat.say("sí")
    assert "Tu hijo(a) tiene que hacer la solicitud" in chat.text
    chat.say("sí")
    assert "Así llena tu hijo(a) su solicitud" in chat.text and "Escribe tu *NSS*" not in chat.text
    chat.say("sí")
    assert "¿Qué día guardó tu hijo(a) su solicitud?" in chat.text
    chat.say("hoy")
    assert chat.state is not None and chat.state["stage"] == "waiting_period"
    assert "Si tu hijo(a) guardó su solicitud el martes 10 de febrero" in chat.text


def test_a_parent_within_the_waiting_period() -> None:
    chat = Chat()
    out = chat.say("es para mi hija, ya guardó su solicitud el lunes, ¿cuánto tarda?", "2026-02-10T10:00")
    assert out.topic == "espera" and chat.relative
    assert "Si tu hijo(a) guardó su solicitud el lunes 9 de febrero, su vigencia debe verse" in chat.text
    assert "*lunes 16 de febrero*" in chat.text
    assert "Si guardaste tu solicitud" not in chat.text
    chat.say("¿y no se puede antes?", "2026-02-10T10:05")
    assert "pueden revisar su constancia cuando quieran" in chat.text and "tu vigencia" not in chat.text
    reminder = remind(chat.state, KB, datetime(2026, 2, 16, 9, 0, tzinfo=TZ))
    said = "\n".join(r.plain() for r in reminder.replies)
    assert "solicitud del Seguro Facultativo de tu hijo(a)" in said and "¿Ya aparece vigente?" in said


def test_a_parent_asking_about_privacy_reads_about_their_childs_data() -> None:
    chat = Chat()
    chat.say("soy papá de una alumna")
    chat.say("¿qué datos guardan?")
    assert "Los datos de tu hijo(a) (ID, nombre, NSS y CURP)" in chat.text
    assert "Tus datos (ID" not in chat.text


def test_once_the_student_takes_over_the_bot_speaks_to_them_again() -> None:
    chat = Chat()
    chat.say("soy mamá de un alumno, ¿qué es el NSS?")
    assert "de tu hijo(a)" in chat.text
    chat.say("ya soy yo, el alumno")
    assert not chat.relative
    chat.say("¿dónde saco mi NSS?")
    assert "🔢 Tu *NSS (Número de Seguridad Social)*" in chat.text
    assert "de tu hijo(a)" not in chat.text


@pytest.mark.parametrize("first", [
    "mi mamá me dijo que tenía que sacar el seguro, ¿qué necesito?",
    "mi papá trabaja y tengo IMSS por él",
    "¿el seguro cubre a mi hijo?",
])
def test_a_student_who_mentions_family_still_reads_tu(first: str) -> None:
    chat = Chat()
    chat.say(first)
    assert not chat.relative
    chat.say("¿dónde saco mi NSS?")
    assert "🔢 Tu *NSS (Número de Seguridad Social)*" in chat.text
    assert "tu hijo(a)" not in chat.text


def test_the_student_alone_reads_exactly_what_they_read_before() -> None:
    chat = Chat()
    chat.say("me equivoqué en mi CURP")
    assert KB.privacy_notice() in chat.text and "Para levantar tu reporte necesito" in chat.text
    assert "tu hijo(a)" not in chat.text


# --- the ticket number, worded by the desk (through `seguro-bot simulate`) -------------------


def _simulate(tmp_path: Path, turns: list[str]) -> list[dict[str, Any]]:
    stdin = jsonl(*({"conversation": "c", "text": t, "at": f"2026-02-10T10:{i:02d}:00-07:00"}
                    for i, t in enumerate(turns)))
    proc = run_cli("simulate", "-", input=stdin, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return parse_output(proc.stdout)


def test_a_parent_gets_their_childs_report_number(tmp_path: Path) -> None:
    out = _simulate(tmp_path, [
        "hola, soy mamá de un alumno de ITSON",
        "mi hijo no sabe su NSS",
        "se equivocó en su CURP al llenar la solicitud",
        "puso mal su fecha de nacimiento",
        PARENT_DATA,
        "sí",
        "también le sale un error al entrar",
    ])
    assert "El *NSS (Número de Seguridad Social)* de tu hijo(a)" in out[1]["replies"][0]
    opened = out[5]
    assert opened["ticket"] == {"id": opened["ticket"]["id"], "reason": "datos_erroneos", "status": "open"}
    number = opened["ticket"]["id"]
    said = "\n".join(opened["replies"])
    assert f"El número de reporte de tu hijo(a) es el *#{number}*." in said
    assert "Tu número de reporte" not in said
    assert "Lo agregué al reporte de tu hijo(a)" in "\n".join(out[6]["replies"])


def test_a_student_still_gets_their_own_report_number(tmp_path: Path) -> None:
    out = _simulate(tmp_path, ESCALATION_TURNS)
    opened = next(o for o in out if o.get("ticket"))
    assert f"Tu número de reporte es el *#{opened['ticket']['id']}*." in "\n".join(opened["replies"])


# --- the variants are data staff edit: `seguro-bot knowledge check` guards them --------------


def _knowledge_copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__", "tests"))
    return root


def test_check_flags_a_relative_wording_without_its_message(tmp_path: Path) -> None:
    root = _knowledge_copy(tmp_path)
    with (root / "messages.yaml").open("a", encoding="utf-8") as f:
        f.write('\nno_such_message_relative: "Hola"\nticket_number_relative_typo_relative: "x"\n'
                'ticket_updated_relative: "Lo agregué al reporte #{number} de tu hijo(a)"\n')
    problems = [str(p) for p in check(root)]
    assert any("no_such_message_relative" in p and "'no_such_message'" in p for p in problems), problems
    assert any("ticket_updated_relative" in p and "number" in p for p in problems), problems
    assert check(_knowledge_copy(tmp_path / "clean")) == []


def test_check_flags_a_relative_answer_with_a_message_missing(tmp_path: Path) -> None:
    root = _knowledge_copy(tmp_path)
    path = root / "topics" / "llenado.yaml"
    text = path.read_text(encoding="utf-8")
    cut = text.index("answer_relative:")
    second = text.index("  - |", text.index("  - |", cut) + 1)  # drop its second message
    end = text.index("\nsources:", second)
    path.write_text(text[:second] + text[end + 1:], encoding="utf-8")
    problems = [str(p) for p in check(root)]
    assert any("llenado" in p and "answer_relative has 1 messages and answer 2" in p for p in problems), problems


# --- the known answers, the follow-ups and the rest of what a parent reads -------------------


def test_a_parent_reads_the_known_answers_and_the_social_answers_about_their_child() -> None:
    chat = Chat()
    chat.say("soy mamá de un alumno")
    chat.say("¿qué es el CIA?")  # a known answer of registro_cia
    assert "el portal de alumnos donde tu hijo(a) hace la solicitud" in chat.text
    assert "Entras en" not in chat.text and "con tu ID" not in chat.text
    chat.say("¿cuánto cuesta?")  # a known answer of duda_general, in the middle of the guide
    assert "tu hijo(a) no paga" in chat.text and "no te cuesta" not in chat.text
    chat.say("¿y la beca?")
    assert "el NSS de tu hijo(a)" in chat.text and "tu NSS" not in chat.text
    chat.say("gracias")
    assert "Mucho éxito con el trámite de tu hijo(a)" in chat.text and "con tu trámite" not in chat.text


def test_a_parent_reads_a_follow_up_about_their_child() -> None:
    chat = Chat()
    chat.say("soy papá de una alumna")
    chat.say("¿cómo reviso su vigencia?")
    chat.say("¿y qué le tiene que salir ahí?")  # the third person, read as "¿qué me tiene que salir?"
    assert "En su constancia, tu hijo(a) tiene que salir *con derecho al servicio médico*" in chat.text
    assert "En tu constancia tienes" not in chat.text


def test_a_parent_through_an_emergency() -> None:
    chat = Chat()
    chat.say("soy mamá de un alumno")
    out = chat.say("es una emergencia")
    assert out.topic == "urgencia"
    assert "911" in chat.text and "Si tu hijo(a) no cuenta con el servicio médico (vigente)" in chat.text
    assert "¡afíliate con tiempo!" not in chat.text
    chat.say("¿y qué hago?")
    assert "Para saber si tu hijo(a) ya está vigente, saquen su constancia" in chat.text
    assert "haz la solicitud" not in chat.text
    chat.say("ya llamamos al 911")
    assert "ayudarte con el seguro de tu hijo(a)" in chat.text


def test_a_parent_reads_the_clinic_trouble_and_the_other_employer_about_their_child() -> None:
    kb_says = {key: KB.message(key, relative=True) for key in ("umf_trouble", "other_employer", "waiting_then",
                                                                "coverage_not_seen_here", "correction_noted")}
    assert "Tu hijo(a) todavía no está vigente" in kb_says["umf_trouble"]
    assert "Si en la constancia de tu hijo(a) aparece otro patrón" in kb_says["other_employer"]
    assert "revisar su *constancia de vigencia de derechos*" in kb_says["waiting_then"]
    assert "la vigencia de tu hijo(a)" in kb_says["coverage_not_seen_here"]
    assert "en el reporte de tu hijo(a) lo que puso" in kb_says["correction_noted"]
    for text in kb_says.values():
        assert " tu CURP" not in text and "tu constancia" not in text and "guardaste" not in text
    chat = Chat()
    chat.say("soy mamá de un alumno")
    chat.say("¿cómo se da de alta en su clínica?")
    chat.say("no le deja darse de alta")
    assert "Tu hijo(a) todavía no está vigente" in chat.text or "el alta de tu hijo(a)" in chat.text


@pytest.mark.parametrize("turns,theirs", [
    (["soy mamá de un alumno", "¿qué es el CIA?"], "el portal de alumnos donde haces la solicitud"),
    (["soy mamá de un alumno", "ya soy yo, el alumno", "¿cuánto cuesta?"], "no te cuesta nada"),
    (["mi mamá me dijo que tenía que sacar el seguro", "¿qué es el CIA?"], "Entras en"),
    (["mi mamá me dijo que tenía que sacar el seguro", "gracias"], "Mucho éxito con tu trámite"),
])
def test_the_student_still_reads_the_known_answers_in_tu(turns: list[str], theirs: str) -> None:
    chat = Chat()
    for text in turns:
        chat.say(text)
    if turns[0].startswith("soy mamá") and len(turns) == 2:
        assert theirs not in chat.text  # the parent, for contrast
        return
    assert theirs in chat.text and "tu hijo(a)" not in chat.text


def test_check_flags_a_relative_wording_of_a_follow_up_answered_by_another_topic(tmp_path: Path) -> None:
    root = _knowledge_copy(tmp_path)
    path = root / "topics" / "llenado.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("    then: espera\n", "    then: espera\n    answer_relative: Tu hijo(a) espera\n", 1)
    path.write_text(text, encoding="utf-8")
    problems = [str(p) for p in check(root)]
    assert any("llenado" in p and "answer_relative without an answer" in p for p in problems), problems


def test_every_known_answer_a_parent_can_reach_has_its_parent_wording() -> None:
    """Each known answer and follow-up that speaks of the student's own steps in the second person
    ("tu NSS", "entras", "guardaste") has an ``answer_relative``."""
    second_person = re.compile(r"\b(?:tu (?:nss|curp|solicitud|constancia|clínica|id)|entras|guardaste|estás vigente"
                               r"|apareces)\b")
    missing = [(t.id, k.when[0]) for t in KB.topics.values() for k in (*t.known, *t.follow_ups)
               if k.answer and not k.answer_relative and second_person.search(k.answer.lower())]
    assert missing == []


# --- the student taking over from the parent -------------------------------------------------


def test_the_student_taking_over_in_the_middle_of_a_report_is_greeted_and_the_report_goes_on() -> None:
    chat = Chat()
    chat.say("le escribo por mi hijo, le sale un error al guardar la solicitud")
    chat.say("dice que el NSS no es válido")
    out = chat.say("ya soy yo, el alumno")
    assert not chat.relative and out.topic is None
    assert out.replies[0].plain() == KB.message("student_takes_over") == "¡Hola! 🙂 Va, sigo contigo."
    assert "me falta tu ID de estudiante, tu nombre completo, tu NSS y tu CURP" in chat.text
    assert "tu hijo(a)" not in chat.text and "¡Gracias!" not in chat.text
    assert chat.state is not None and chat.state["stage"] == "escalation_collect"
    chat.say("234567")
    assert "Me falta tu nombre completo, tu NSS y tu CURP." in chat.text


def test_the_student_taking_over_with_more_to_say_gets_the_greeting_and_the_answer() -> None:
    chat = Chat()
    chat.say("es para mi hija")
    chat.say("1")
    chat.say("no")
    chat.say("ya soy yo, la alumna")  # at the guide's question: said again, to the student
    assert "¡Hola! 🙂 Va, sigo contigo." in chat.text and "no te puedo ayudar" not in chat.text
    assert "¿Ya conoces tu Número de Seguridad Social (NSS)?" in chat.text and "tu hijo(a)" not in chat.text
    chat = Chat()
    chat.say("soy mamá de un alumno")
    out = chat.say("ya soy yo, el alumno. ¿qué es el NSS?")
    assert out.topic == "nss" and out.replies[0].plain() == "¡Hola! 🙂 Va, sigo contigo."
    assert "🔢 Tu *NSS (Número de Seguridad Social)*" in chat.text and "tu hijo(a)" not in chat.text


@pytest.mark.parametrize("turns", [
    ["soy el estudiante", "¿qué es el NSS?"],  # never a parent: nothing to acknowledge
    ["mi mamá me dijo que tenía que sacar el seguro", "ya soy yo, el alumno"],
])
def test_a_student_who_never_was_a_parent_gets_no_greeting(turns: list[str]) -> None:
    chat = Chat()
    for text in turns:
        chat.say(text)
        assert "Va, sigo contigo" not in chat.text


# --- what a parent tells of the student, in the third person, read as a student's own words ---


@pytest.mark.parametrize("first,third", [
    ("¿cómo la lleno?", "¿cómo la llena?"),
    ("¿cómo lo lleno?", "¿cómo lo llena?"),
    ("ya me registré", "ya se registró"),
    ("puse mal mi curp", "puso mal su curp"),
    ("me sale un error", "le sale un error"),
    ("me aparece sin derecho", "le aparece sin derecho"),
    ("no me deja entrar al cia", "no le deja entrar al cia"),
    ("no me deja darme de alta en la clinica", "no le deja darse de alta en la clinica"),
    ("sigo sin vigencia", "sigue sin vigencia"),
    ("no encuentro mi nss", "no encuentra su nss"),
    ("tengo imss por mi trabajo", "tiene imss por su trabajo"),
    ("la guardé el lunes, cuánto tarda", "la guardó el lunes, cuánto tarda"),
])
def test_the_third_person_is_read_as_the_first(first: str, third: str) -> None:
    mine, theirs = KB.matcher.classify(first), KB.matcher.classify(third)
    assert (theirs.topic, theirs.confident) == (mine.topic, mine.confident)


def test_how_to_fill_it_in_asked_of_the_student_is_the_form_not_where_to_apply() -> None:
    assert KB.matcher.classify("¿cómo la llena?").topic == "llenado"
    chat = Chat()
    chat.say("soy mamá de un alumno")
    chat.say("¿dónde hace la solicitud?")
    out = chat.say("¿cómo lo llena?")
    assert out.topic == "llenado" and "Así llena tu hijo(a) su solicitud" in chat.text


@pytest.mark.parametrize("said", ["ya la llenó", "ya la guardó", "sí, ya la guardó", "ya le dio guardar"])
def test_a_parent_telling_the_form_is_done_moves_the_guide_on(said: str) -> None:
    chat = Chat()
    for text in ("es para mi hija", "1", "no", "sí", "sí"):
        chat.say(text)
    assert chat.state is not None and chat.state["stage"] == "filling"
    chat.say(said)
    assert chat.state["stage"] == "waiting_saved_date"
    assert "¿Qué día guardó tu hijo(a) su solicitud?" in chat.text


def test_a_parent_telling_the_student_cannot_log_in_gets_the_accounts_answer() -> None:
    chat = Chat()
    chat.say("es para mi hija")
    chat.say("no le deja entrar al CIA")
    assert "La contraseña del CIA y del correo del ITSON de tu hijo(a)" in chat.text
    assert "Qué mal que le salga un error" not in chat.text


def test_check_flags_a_keyword_holding_a_third_person_phrase(tmp_path: Path) -> None:
    root = _knowledge_copy(tmp_path)
    path = root / "topics" / "llenado.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  strong: [", "  strong: [ya la guardo bien, ", 1), encoding="utf-8")
    problems = [str(p) for p in check(root)]
    assert any("llenado" in p and "'ya la guardo'" in p and "'ya la guarde'" in p for p in problems), problems


def test_a_parent_through_the_wait_then_the_student_in_simulate(tmp_path: Path) -> None:
    turns = ["es para mi hija, la guardó el viernes 30 de enero", "¿y por qué hasta el 9 si son 5 días?", "¿y luego?",
             "ya soy yo, la alumna", "¿y por qué hasta el 9 si son 5 días?"]
    stdin = jsonl(*({"conversation": "p", "text": t, "at": f"2026-02-03T10:{i:02d}:00-07:00"} for i, t in enumerate(turns)))
    proc = run_cli("simulate", "-", input=stdin, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = [" ".join(o["replies"]) for o in parse_output(proc.stdout)]
    assert "Si tu hijo(a) guardó su solicitud el viernes 30 de enero" in out[0]  # «la guardó», understood
    assert "desde el día siguiente a que tu hijo(a) guardó (viernes 30 de enero): 3, 4, 5, 6 y 9 de febrero" in out[1]
    assert "por eso su fecha queda en el *lunes 9 de febrero*" in out[1] and "guardaste" not in out[1]
    assert "revisar su *constancia de vigencia de derechos*" in out[2] and "darse de alta en su clínica" in out[2]
    assert out[3].startswith("¡Hola! 🙂 Va, sigo contigo.")
    assert "a que guardaste (viernes 30 de enero)" in out[4] and "tu fecha queda" in out[4]


def test_a_parent_in_the_middle_of_a_report_reads_of_their_childs_report() -> None:
    chat = Chat()
    chat.say("le escribo por mi hijo, le sale un error al guardar la solicitud")
    chat.say("dice que el NSS no es válido")
    chat.say("¿cuánto cuesta?")  # an aside: answered, then the report goes on
    assert "tu hijo(a) no paga" in chat.text
    assert "el reporte de tu hijo(a)" in chat.text and "tu reporte" not in chat.text
    assert KB.message("resume_escalation", relative=True) == "Sigamos con el reporte de tu hijo(a):"
    chat.say("cancelar")
    assert "dejé el reporte de tu hijo(a) sin enviar" in chat.text and "dejé tu reporte" not in chat.text


@pytest.mark.parametrize("said", ["ya lo tiene", "ya lo encontró", "ya lo sacó", "ya le llegó"])
def test_a_parent_telling_the_student_has_the_nss_moves_the_guide_on(said: str) -> None:
    chat = Chat()
    for text in ("es para mi hija", "1", "no", "no"):
        chat.say(text)
    assert chat.state is not None and chat.state["stage"] == "nss_lookup"
    chat.say(said)
    assert chat.state["stage"] == "cia_route" and "Tu hijo(a) tiene que hacer la solicitud" in chat.text


@pytest.mark.parametrize("steps,where", [
    (["1", "no"], "¿Seguimos con el NSS de tu hijo(a)?"),
    (["1", "no", "sí", "sí"], "¿Seguimos con el llenado de su solicitud?"),
])
def test_a_parent_asking_aside_in_the_guide_is_asked_to_go_on_with_their_childs_step(steps: list[str], where: str) -> None:
    chat = Chat()
    chat.say("es para mi hija")
    for text in steps:
        chat.say(text)
    chat.say("¿cuánto tarda?")
    assert where in chat.text and "tu NSS?" not in chat.text and "de tu solicitud?" not in chat.text
    student = Chat()
    for text in ["hola", *steps, "¿cuánto tarda?"]:
        student.say(text)
    assert where.replace("el NSS de tu hijo(a)", "tu NSS").replace("su solicitud", "tu solicitud") in student.text


def test_a_parent_asking_to_delete_their_childs_data_gets_it_done() -> None:
    chat = Chat()
    chat.say("soy mamá de un alumno")
    chat.say("se equivocó en su CURP al llenar la solicitud")
    chat.say("puso mal la fecha")
    chat.say(PARENT_DATA)
    assert chat.state is not None and chat.state["stage"] == "escalation_confirm"
    chat.say("¿para qué quieren sus datos?")  # a privacy question, in the third person
    assert "Los datos de tu hijo(a) (ID, nombre, NSS y CURP)" in chat.text and "No te entendí" not in chat.text
    chat.say("mejor borra sus datos")
    assert "Dejé el reporte de tu hijo(a) sin enviar y borré los datos" in chat.text
    assert chat.state.get("esc") is None and not [a for a in chat.last.actions if isinstance(a, OpenTicket)]
