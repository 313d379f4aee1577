"""While a report is open: what the student writes about it, and what goes to the ticket.

Part of the conversation (:mod:`flows.machine` calls :func:`follow_up` in the
``ticket_open`` stage): the report is with a person, so nothing here starts a
second one or a step of the procedure; more detail goes to the same ticket,
questions about it are answered, a question the bot knows is answered aside.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from flows import entities, escalation, intents, report_text
from flows.context import Step, is_answer_topic, is_vague
from flows.messages import OpenTicket
from flows.procedure import office_closed_now
from flows.report_data import NAMES_SCREENSHOT
from flows.report_data import read as read_data
from knowledge.matcher import Match


def add_to_ticket(step: Step, note: str | None = None, reply: str = "ticket_updated") -> None:
    """The message goes to the open ticket (after ``note`` for staff), and the student is told."""
    folded = " ".join(intents.words(step.text))
    if (reply == "ticket_updated" and not step.message.attachments and NAMES_SCREENSHOT.search(folded)
            and len(folded.split()) <= 7 and not _TELLS_MORE.search(folded)
            and not intents.reports_failure(step.text)):
        # "te mando captura de la constancia": nothing came with it yet; where to send it.
        step.topic = None
        step.say(step.msg("screenshot_welcome"))
        return
    reason = str(step.state.get("ticket_reason") or "duda_general")
    text = report_text.description_text(step.text)
    step.act(OpenTicket(reason=reason, description=f"{note}: {text}" if note else text,
                        attachments=step.message.attachments))
    step.topic = None
    step.say(step.msg(reply))


#: "…, dice que el NSS no corresponde": more of the case comes with the screenshot's mention.
_TELLS_MORE = re.compile(r"\b(?:dice|dicen|sale|salen|aparece|marca|pone)\b")


#: "nadie me contesta", "ya pasaron 3 días y nada": the open report has waited too long.
_WAITED_TOO_LONG = re.compile(
    r"\b(?:nadie (?:me )?(?:contesta|responde|hace caso|ha contestado|ha respondido|contesto|respondio|dijo nada)"
    r"|no me (?:contesto|respondio|dijeron nada) nadie|no me (?:han )?(?:contestado|respondido)"
    r"|no me (?:contestan|responden|hacen caso)|sigo esperando|ya pasaron \w+ dias? y (?:nada|nadie|no)"
    r"|otra vez a esperar|son unos inutiles|que inutiles|pesimo servicio|que mal servicio|ya me tienen harto|ya me tienen harta)\b"
)


def _asks_for_person_only(text: str) -> bool:
    """ "quiero hablar con una persona", "asesor": a person asked for, and nothing else said."""
    return len([w for w in intents.words(text) if w not in report_text.PERSON_WORDS]) <= 2


#: "borra mis datos", "eliminen mi información": deletion asked for.
#: "¿a dónde la mando?", "¿se las envío?", "¿puedo mandar foto?": how to send one.
_SEND_WORDS = re.compile(r"\b(?:mand\w*|envi\w*|pas\w*|subo|subir|adjunt\w*|donde)\b")
_BARE_NO = re.compile(r"^(?:ya no|mejor no|nel|no)(?: gracias)?$")
_DELETE = re.compile(r"\b(?:borr|elimin|quit)\w*\b")


#: "ya me contestaron", "ya quedó", "ya salí vigente": the open report is solved, said as news.
_SOLVED = re.compile(
    r"\bya (?:(?:me|lo|la|le|se) ){0,2}(?:contestaron|respondieron|resolvieron|atendieron|arreglaron|corrigieron|solucionaron"
    r"|quedo|quedo todo|se arreglo|se soluciono|se resolvio|se corrigio|sali vigente|salgo vigente|aparezco vigente"
    r"|estoy vigente|me dejo guardar|pude guardar|pude guardarla|la pude guardar|me salio vigente)\b"
    r"|\bya (?:me )?(?:sale|aparece) (?:vigente|con derecho)\b"
)


#: "pero no me resolvieron", "sigo igual", "todavía no queda", "me dijeron que ya quedó pero no":
#: still not solved, whatever good news the message starts with.
_NOT_SOLVED = re.compile(
    r"\b(?:no|nada|aun no|todavia no|nunca) (?:me |lo |la )?(?:resolvieron|solucionaron|arreglaron|corrigieron"
    r"|ha quedado|han resuelto|han arreglado|queda|quedo|se arreglo|se soluciono|sirvio|funciono)\b"
    r"|\bsigo (?:igual|con el mismo|con lo mismo)\b|\bsigue (?:igual|el mismo)\b"
    r"|\bpero no (?:es cierto|es asi|me sale|me aparece|salgo|aparezco|sigo igual)\b|\bpero no$|\bpero no sigo\b"
    r"|\bpero sigo\b|\bno ha quedado\b"
)


#: "¿ya quedó?", "¿ya está?": whether the open report is done.
_IS_IT_DONE = re.compile(r"^(?:y )?(?:(?:mi|el) reporte )?ya (?:quedo|esta|lo arreglaron|lo corrigieron|salio"
                         r"|se (?:guardo|envio|mando|registro|levanto)|llego|les llego)\b")


#: "corregir NSS", "me equivoqué en el NSS que te di", "el bueno es …": a datum of the report corrected.
_CORRECTS = re.compile(
    r"\b(?:corregir|corrige|corrijan|corrijo|correccion|cambiar|cambia|cambien|me equivoque|estaba mal|esta mal|"
    r"(?:el|la) (?:bueno|buena|correcto|correcta) es|era|perdon)\b"
)
#: The report's data a student may correct after it is sent, by the words that name it.
_FIXABLE = ("nss", "curp")


def corrects_data(step: Step) -> bool:
    """With the report sent: a corrected NSS or CURP goes into the ticket's data (checked first; a
    wrong one is said back, never added as it is), and "corregir NSS" asks for the right one.

    Why: staff work from the ticket's data; a correction left only in the chat (masked in the
    detail, as all personal data in free text is) would have them call the IMSS with the old one.
    """
    text = step.text
    words = intents.words(text)
    folded = " ".join(words)
    nss = entities.find_nss_candidates(text)
    curp = entities.find_curp_candidates(text)
    asked = step.recent("ticket_fix", within=2)
    if not nss and not curp:
        field = report_text.field_named(text)
        if field in _FIXABLE and _CORRECTS.search(folded) and len(words) <= 8:
            step.topic = None
            step.remember("ticket_fix", field)
            step.say(step.msg(f"ticket_fix_ask_{field}"))
            return True
        return False
    if not (asked or _CORRECTS.search(folded) or len(words) <= 3):
        return False  # "¿mi CURP … está bien?" with more to it: read as usual
    # Read as a report reads its data (the same checks, the same messages for a wrong one).
    found, problems, _unknown = read_data(step, {"data": {}}, text)
    data = {field: found[field] for field in _FIXABLE if field in found}
    step.topic = None
    if problems and not data:
        step.remember("ticket_fix", "nss" if nss else "curp")
        step.say("\n".join(problems) + "\n" + step.msg("ticket_fix_retry"))
        return True
    labels = " y ".join(step.msg(f"ticket_fix_label_{f}") for f in data)
    reason = str(step.state.get("ticket_reason") or "duda_general")
    step.act(OpenTicket(reason=reason, description=step.msg("ticket_fix_note", fields=labels), data=data))
    for problem in problems:
        step.say(problem)
    step.say(step.msg("ticket_fix_done", fields=labels))
    return True


#: "¿ya no ocupan revisar mi reporte?", "¿entonces ya lo cierran?": about the report itself.
_ABOUT_THE_REPORT = re.compile(r"\b(?:reporte|revisar|revisarlo|revisen|cierran|cerrar|cierren|ocupan|hacer algo|hago algo)\b")


def _told_as_news(text: str) -> bool:
    """Whether a clause of its own says the report is solved ("ya me lo corrigieron, gracias. ¿…?"),
    not the question whether it is ("¿ya me resolvieron?")."""
    for clause in re.split(r"(?<=[.!?,;])", text):
        folded = " ".join(intents.words(clause))
        if folded and _SOLVED.search(folded) and not intents.is_question(clause) and not _IS_IT_DONE.search(folded):
            return True
    return False


def _answer_with_the_news(step: Step, match: Match, answer_aside: Callable[[Match], None]) -> None:
    """The question that came with "ya quedó": the desk's known answer, or the bot's own."""
    topic = match.also[0] if match.topic in ("despedida", "saludo") and match.also else match.topic
    if topic and step.kb.topics[topic].kind == "escalation":
        known = step.kb.matcher.known_answer(topic, step.text)
        if known:
            step.say(known)
            step.topic = topic
    elif topic and topic not in ("despedida", "saludo", "fuera_de_tema") and is_answer_topic(step, match):
        answer_aside(match)


def follow_up(step: Step, answer_aside: Callable[[Match], None]) -> bool:
    """While a report is open: calling it off, asking about it, or telling more for it."""
    text = step.text
    words = intents.words(text)
    folded = " ".join(words)
    privacy = report_text.asks_about_privacy(text)
    if privacy and _DELETE.search(folded):
        # "ya no quiero el reporte, borra mis datos": the person who has the case is asked to.
        add_to_ticket(step, note=step.msg("ticket_delete_note"), reply="ticket_delete_asked")
        return True
    if report_text.cancels(text) and not _BARE_NO.match(folded):  # "ya no" alone: nothing more, not "call it off"
        add_to_ticket(step, note=step.msg("ticket_cancel_note"), reply="ticket_cancel_asked")
        return True
    if privacy:
        step.topic = None
        step.say(step.msg("privacy_answer"))  # "¿quién ve mis datos?": the report stays as it is
        return True
    match = step.classify(text)
    if (NAMES_SCREENSHOT.search(folded) and not step.message.attachments and len(words) <= 12
            and intents.is_question(text) and _SEND_WORDS.search(folded)):
        # "¿y la captura a dónde la mando?": here, as a photo, and it goes to the open report
        # (not "con eso no te puedo ayudar").
        step.topic = None
        step.say(step.msg("screenshot_welcome"))
        return True
    if _WAITED_TOO_LONG.search(folded):
        # "ya pasaron 3 días y nadie me contesta": sorry, the case is flagged again for the
        # person who has it, and the desk's direct lines are given.
        if step.hours.is_open(step.now):
            add_to_ticket(step, note=step.msg("ticket_overdue_note"), reply="ticket_overdue")
        else:
            # A rest day, a weekend, after hours: nobody can act on a reminder now nor answer the
            # phones; when the desk opens again, with the note waiting for them.
            add_to_ticket(step, note=step.msg("ticket_overdue_note"), reply="ticket_overdue_closed")
            step.say(office_closed_now(step, about="desk"))
        return True
    if _NOT_SOLVED.search(folded):
        # "ya me contestaron pero no me resolvieron, sigo igual", "todavía no queda": the person
        # who has the case is told it is not solved (never the good news its first words resemble).
        add_to_ticket(step, note=step.msg("ticket_not_solved_note"), reply="ticket_not_solved_ack")
        return True
    if _SOLVED.search(folded):
        # "gracias, ya me contestaron", "ya quedó, ya salí vigente": good news; the person who
        # has the case is told, to close it.
        if not intents.is_question(text):
            add_to_ticket(step, note=step.msg("ticket_solved_note"), reply="ticket_solved_ack")
            step.remember("told_solved")
            return True
        if _told_as_news(text):
            # "ya me lo corrigieron, gracias. otra cosa, ¿mi hermana también puede usarlo?": the
            # news, then the question asked with it (not the goodbye alone).
            add_to_ticket(step, note=step.msg("ticket_solved_note"), reply="ticket_solved_ack")
            step.remember("told_solved")
            _answer_with_the_news(step, match, answer_aside)
            return True
    if step.recalls("told_solved", within=3) and intents.is_question(text) and _ABOUT_THE_REPORT.search(folded):
        # "entonces ya no ocupan revisarlo, ¿verdad?" after saying it is solved: yes, nothing to do.
        step.topic = None
        step.say(step.msg("ticket_solved_confirmed"))
        return True
    greets = match.topic == "saludo" and len(words) <= 4 and not any(w in intents.QUESTION_WORDS for w in words)
    if greets or intents.asks_about_reply(text) or (intents.is_question(text) and _IS_IT_DONE.search(folded)):
        # "hola" days later, "¿ya quedó?": the report is still open, and when a person sees it.
        step.topic = "saludo" if greets else None
        step.say((step.msg("report_welcome_back_open") + " " if greets else "") + escalation.pending(step))
        return True
    if intents.yes_no(text) is True and len(words) <= 2:
        step.topic = None  # "va", "ok": an acknowledgement
        step.say(step.msg("ticket_ack"))
        return True
    if match.confident and match.topic and step.kb.topics[match.topic].kind == "escalation":
        known = step.kb.matcher.known_answer(match.topic, text) if intents.is_question(text) else None
        if known:
            # "¿y el seguro cubre a mi hijo?": the desk's facts answer it; the report stays as it is.
            step.topic = match.topic
            step.say(known)
            return True
        if match.topic == "duda_general" and _asks_for_person_only(text):
            # "quiero hablar con una persona": the report is already with one.
            step.topic = "duda_general"
            step.say(escalation.pending(step))
            return True
        # "sigo sin vigencia", "también me sale otro patrón": the same case, or more of it; it goes
        # to the open report, not to a second one (the person who has it sees it there).
        add_to_ticket(step)
        step.topic = match.topic
        return True
    if intents.is_question(text) and is_answer_topic(step, match):
        # "¿cómo reviso mi vigencia?": answered, and the report stays open (no step of the
        # procedure is entered while a person has the case).
        answer_aside(match)
        return True
    if is_vague(match) and not intents.is_question(text) and len(words) >= 3 and intents.yes_no(text) is None:
        # "también intenté en otra compu y sale igual": more for the person who has the case.
        add_to_ticket(step)
        return True
    return False
