"""A report set aside and brought back: "menú" in the middle, a new case days later, "cancelar".

:func:`pause_report` keeps the report being collected; :func:`handle` brings it back
("retomar mi reporte", "ok, sí acepto" right after a no to the privacy notice) or says
there is none here ("¿ya me resolvieron?" with no report in this chat).
"""
from __future__ import annotations

import re

from flows import escalation, intents, report_text
from flows.context import Step

#: "retomar mi reporte", "seguir con el reporte", "¿y mi reporte?": the report set aside, back.
_RESUME = re.compile(r"\b(?:retom\w*|segui\w*|continu\w*|termin\w*|y)\s+(?:con\s+)?(?:mi|el)\s+reporte\b"
                     r"|^(?:y\s+)?mi reporte\b|\bmi (?:numero de )?reporte es\b|\bno mejor si quiero (?:reportarlo|el reporte)\b"
                     r"|\bsi (?:lo|la) quiero (?:mandar|enviar|levantar)\b|\bmejor si (?:lo |la )?(?:mando|envio|mandalo|envialo)\b"
                     # "no espera, sí mándalo", "siempre sí": the cancel taken back
                     r"|\b(?:si |ya )?(?:mandalo|envialo|mandala|enviala)\b|\bsiempre si\b")


#: "¿ya me resolvieron?", "¿qué pasó con mi reporte?": a report's progress asked for.
_ASKS_STATUS = re.compile(
    r"^(?:y )?ya me (?:resolvieron|contestaron|respondieron|atendieron|revisaron|corrigieron)\b"
    r"|\b(?:que paso|como va|como vamos|avance|novedades?) (?:con |de )?(?:mi|el) (?:reporte|folio|caso|ticket)\b"
    r"|\bmi (?:numero de )?(?:folio|ticket) es\b"
)


#: "sí acepto", "ok acepto el aviso".
_ACCEPTS = re.compile(r"\bacepto\b")


def pause_report(step: Step) -> None:
    """Keep the report being collected, set aside by "menú" or by a new case days later, for
    "retomar mi reporte" to bring back."""
    esc = step.state.get("esc")
    if esc and (esc.get("data") or esc.get("description")) and not esc.get("answered"):
        step.state["paused_esc"] = {"esc": esc, "stage": step.stage}


def handle(step: Step) -> bool:
    """ "retomar mi reporte", "ok, sí acepto" right after a no to the notice, "¿ya me resolvieron?":
    the report set aside brought back, or said there is none here (True when handled)."""
    text = step.text
    folded = " ".join(intents.words(text))
    aside = None if escalation.active(step.state) else step.state.get("paused_esc")
    if aside and report_text.asks_to_delete(text):
        # "borra mis datos" after "cancelar": the report set aside goes, with what it held (it
        # would otherwise come back with "retomar mi reporte", or with the next report).
        step.state.pop("paused_esc")
        step.state.pop("known", None)
        step.topic = None
        step.say(step.msg("report_deleted"))
        return True
    # "ok, sí acepto" right after saying no to the privacy notice (that one message only).
    accepts_now = bool(aside and aside.pop("on_yes", False)
                       and (intents.yes_no(text) is True
                            or (_ACCEPTS.search(text.casefold()) and intents.yes_no(text) is not False)))
    asks_status = bool(_ASKS_STATUS.search(folded))
    if aside and (accepts_now or _RESUME.search(folded) or asks_status):
        # "quiero seguir con mi reporte", "¿y mi reporte?": the report set aside, where it was;
        # "¿ya me resolvieron?" about it: first that it was never sent (nobody has it).
        aside = step.state.pop("paused_esc")
        step.state["esc"], step.stage = aside["esc"], aside["stage"]
        step.state["esc"]["started_at"] = step.now.isoformat()  # taken up again: not stale any more
        step.topic = None
        step.say(step.msg("report_not_sent_resumed" if asks_status and not accepts_now else "report_resumed"))
        escalation.reprompt(step)
        return True
    if _RESUME.search(folded) and escalation.active(step.state) and not report_text.SEND_AS_IT_IS.search(folded):
        # "retomar mi reporte" while it is being collected: it is right here.
        step.topic = None
        step.say(step.msg("report_resumed"))
        escalation.reprompt(step)
        return True
    if ((_RESUME.search(folded) or _ASKS_STATUS.search(folded)) and not escalation.active(step.state)
            and not step.state.get("paused_esc") and not step.state.get("ticket_number")
            and step.stage != "ticket_open"):
        # "retomar mi reporte", "mi número de reporte es el 5" with none here: said so, and a person.
        step.topic = None
        step.say(step.msg("no_report_here"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
        return True
    return False
