"""What a student sends unasked: an NSS, a CURP, a student ID, a password.

Part of the conversation (:mod:`flows.machine` dispatches here). Valid data
is remembered once the privacy notice is accepted (before it, it is masked
in what is stored); an NSS or CURP sent alone is checked; a message that is
only a password gets the warning and the pending question again.
"""
from __future__ import annotations

import re
from datetime import date

from flows import entities, escalation, intents
from flows.context import Step
from flows.procedure import (
    STAGES,
    Stage,
    answers_yes,
    follow,
    offer_cases,
    resume_prompt,
)
from knowledge.matcher import STRONG


def without_personal_data(stored: str) -> str:
    """A message for a report sent before the privacy notice is accepted is kept
    with its name, NSS, CURP and student ID masked: declining the notice ("no
    guardé tus datos") stays true."""
    name = entities.find_name(stored)
    if name:
        stored = re.sub(r"\s+".join(re.escape(w) for w in name.split()), "[nombre]", stored, flags=re.IGNORECASE)
    if any(ch.isdigit() for ch in stored) or entities.find_curp_candidates(stored):
        return entities.mask_personal(stored)
    return stored


def remember(step: Step) -> None:
    """Keep valid IDs, NSS and CURP the student mentions, so nobody asks twice.

    Only once the student has accepted the privacy notice: before it, data
    is taken only by the escalation, which asks first.
    """
    if not step.state.get("privacy_ack"):
        return
    known = step.state.setdefault("known", {})
    for value in entities.find_student_id_candidates(step.text)[-1:]:
        known["student_id"] = value
    for value in entities.find_nss_candidates(step.text):
        if entities.nss_problem(value) is None:
            known["nss"] = value
    for value in entities.find_curp_candidates(step.text):
        if entities.curp_problem(value) is None:
            known["curp"] = value.upper()
    if not known:
        step.state.pop("known")


def only_the_secret(step: Step) -> bool:
    """Whether a message with a password says nothing else to act on: no words left, or,
    outside a report, a few words that are neither the answer to a yes-or-no question
    pending nor a question of a topic ("ya me acordé, es …")."""
    rest = step.data_text or ""
    words = intents.words(rest)
    if not words:
        return True
    if escalation.active(step.state) or len(words) > 4:
        return False
    stage = STAGES.get(step.stage)
    if stage and stage.expects == "yesno":
        said = intents.yes_no(rest)
        if said is False or (said is True and answers_yes(stage, words)):
            return False  # "sí, es …": the answer to the question, read as the dispatch reads it
    match = step.classify(rest)
    return not match.confident or match.topic in (None, "fuera_de_tema", "saludo")


def after_secret_only(step: Step, options: dict[str, str]) -> None:
    """The message was only a password: the warning, then back to where we were."""
    if options:
        step.state["options"] = options
    if escalation.active(step.state):
        escalation.reprompt(step)
    else:
        resume_prompt(step)


#: The stages that ask whether the student knows their NSS: sending it is a yes.
_ASKS_FOR_NSS = ("prereq_nss", "nss_lookup")


#: "¿está bien o está mal?", "no sé si lo copié bien", "¿es válido?": the student asks to have it checked.
_ASKS_IF_RIGHT = re.compile(
    r"\b(?:esta|estara|es|son|sera)\s+(?:bien|mal|correct[oa]s?|valid[oa]s?)\b|\bsi\s+(?:lo|la)\s+"
    r"(?:copie|escribi|puse|anote|tengo)\s+bien\b|\b(?:me\s+lo|me\s+la)\s+(?:checas|revisas|validas)\b|"
    r"\bsi\s+(?:es|esta)\s+(?:correct[oa]|bien|valid[oa])\b|\bsirve\b"
    # "este es mi nss … creo", "no estoy segura si es este": a number sent unsure, to be checked
    r"|\bcreo\b|\bno\s+(?:estoy|toy)\s+segur[oa]\b|\bme\s+parece\b|\bno\s+se\s+si\b|\bsi\s+no\s+me\s+equivoco\b")
#: "puse mal mi NSS …": a mistake told, which its report handles, not a number to check.
_TELLS_A_MISTAKE = re.compile(
    r"\b(?:puse|meti|escribi|capture|teclee|anote)\s+mal\b|\bme\s+equivoque\b|\bse\s+equivoco\b|"
    r"\ben\s+la\s+solicitud\b|\bya\s+(?:la\s+)?guarde\b")


#: "¿ya estoy activa?", "¿me checas si ya salgo vigente?": whether the student is covered, asked.
_ASKS_IF_COVERED = re.compile(
    r"\b(?:ya\s+)?(?:estoy|estare|quede|salgo|sali|aparezco|tengo|quedo|sigo)\s+(?:activ[oa]|vigente|asegurad[oa]"
    r"|dad[oa]\s+de\s+alta|el\s+seguro|con\s+derecho)\b"
    r"|\b(?:me\s+)?(?:checas|revisas|ves|puedes\s+checar|puedes\s+revisar|puedes\s+ver)\s+si\b"
    # "…, ¿ya quedé?", "¿ya estoy o no?": the question alone at the end of the data
    r"|\bya\s+(?:quede|quedo|estoy|sali|salgo|aparezco|estoy\s+list[oa]|me\s+dieron\s+de\s+alta)(?:\s+o\s+no)?$")
#: "me checas si ya estoy activa porfa": asked as a request, without a question mark.
_CHECK_REQUEST = re.compile(r"\b(?:checas|revisas|checar|revisar|ver|verificar|verificas)\s+si\b")


_ANOTHER_QUESTION = re.compile(r"\b(?:como|donde|cuando|cual|cuanto|cuantos|que hago|que sigue|y luego|y ahora)\b")


def asks_if_covered_with_data(step: Step) -> bool:
    """ "mi curp es … y mi nss …, ¿ya estoy activa?": the bot cannot see the coverage, the student
    can, with those very data: what is wrong with them, if anything, and that it is not seen here
    (True; how to check, the constancia, comes next), not the clinic's step nor a report."""
    text = step.text
    nss = entities.find_nss_candidates(text)
    curp = entities.find_curp_candidates(text)
    if not (nss or curp) or entities.find_student_id_candidates(text):
        return False
    rest = text
    for value in curp:
        rest = re.sub(re.escape(value), " ", rest, flags=re.IGNORECASE)
    folded = " ".join(intents.words(re.sub(r"\d", " ", rest)))
    if not (intents.is_question(text) or _CHECK_REQUEST.search(folded)):
        return False
    if (not _ASKS_IF_COVERED.search(folded) or _TELLS_A_MISTAKE.search(folded) or len(folded.split()) > 16
            or _ANOTHER_QUESTION.search(folded)):
        return False  # ("ya salí vigente, ¿cómo me asigno consultorio?": news, and another question)
    for value in nss[:1]:
        if (problem := entities.nss_problem(value)) is not None:
            step.say(step.msg(f"nss_{problem}", value=_shown(step, value), n=len(value)))
    for value in curp[:1]:
        if entities.curp_problem(value) is not None:
            _said_curp_verdict(step, value)
    step.say(step.msg("coverage_not_seen_here"))
    return True  # the caller answers how to check (flows.answering)


def only_an_id(step: Step, stage: Stage | None) -> bool:
    """A message that is just an NSS or a CURP ("12345678903", "ya lo encontré, es …"):
    checked, and the procedure goes on (to "¿ya conoces tu NSS?", a valid NSS is a yes)."""
    nss = entities.find_nss_candidates(step.text)
    curp = entities.find_curp_candidates(step.text)
    if len(nss) + len(curp) != 1:
        return False
    if stage is not None and stage.expects == "date" and entities.mentions_date(
            re.sub(re.escape(curp[0]), " ", step.text, flags=re.IGNORECASE) if curp else step.text):
        return False  # "el 5 de octubre, mi curp es …": the day asked for comes first
    rest = step.text
    for value in curp:
        rest = re.sub(re.escape(value), " ", rest, flags=re.IGNORECASE)
    rest = re.sub(r"\d", " ", rest)  # after the CURP, whose digits are inside it
    words = intents.words(rest)
    folded = " ".join(words)
    # "mi nss es …, ¿está bien o está mal? es que no sé si lo copié bien": a check asked for.
    asks_check = bool(_ASKS_IF_RIGHT.search(folded)) and not _TELLS_A_MISTAKE.search(folded)
    if len(words) > (16 if asks_check else 6 if curp and "curp" in words else 4):  # "mi curp es …, ¿está bien?"
        return False
    if words and not asks_check:
        match = step.classify(rest)
        about_the_curp = bool(curp) and match.topic == "nss" and "curp" in words
        if match.confident and match.topic not in (None, "fuera_de_tema", "saludo") and not about_the_curp:
            return False  # "puse mal mi NSS …", "mi NSS es …": the topic's own handling
        # ("mi curp es …, ¿está bien?": the CURP is what the student asks about, not the NSS)
    step.topic = "nss" if asks_check and nss else None  # a question about the NSS; else data given
    if curp:
        if _said_curp_verdict(step, curp[0]):
            resume_prompt(step)
        return True
    value = nss[0]
    problem = entities.nss_problem(value)
    if problem is not None:
        step.say(step.msg(f"nss_{problem}", value=_shown(step, value), n=len(value)))
        tries = step.state["bad_nss_tries"] = int(step.state.get("bad_nss_tries", 0)) + 1
        if tries >= 2:
            # Again a number that does not check out: where to read it, and a person, not a loop.
            step.say(step.msg("nss_still_invalid"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
        return True
    step.state.pop("bad_nss_tries", None)
    in_procedure = stage is not None and bool(stage.question)
    # Outside the procedure, what the NSS is for next; inside it, the procedure says that.
    step.say(step.msg("nss_valid_short" if in_procedure else "nss_valid", value=_shown(step, value)))
    step.remember("answered", "nss")  # "¿y luego?" next: the application (machine._next_topic)
    if stage is not None and stage.name in _ASKS_FOR_NSS:
        follow(step, stage.on_yes)
    else:
        resume_prompt(step)
    return True


def said_nss_is_valid(step: Step) -> bool:
    """Check an NSS the student sent unasked and say what is wrong with it, or that it is valid
    (then True)."""
    candidates = entities.find_nss_candidates(step.data_text if step.data_text is not None else step.text)
    if len(candidates) != 1:
        return False
    value = candidates[0]
    problem = entities.nss_problem(value)
    if problem is None:
        step.state.pop("bad_nss_tries", None)
        step.say(step.msg("nss_valid", value=_shown(step, value)))
    else:
        step.state["bad_nss_tries"] = int(step.state.get("bad_nss_tries", 0)) + 1
        step.say(step.msg(f"nss_{problem}", value=_shown(step, value), n=len(value)))
    curp = entities.find_curp_candidates(step.text)
    if len(curp) == 1:
        _said_curp_verdict(step, curp[0])  # "mi nss es … y mi curp …": both checked, not only the first
    return problem is None


def _said_curp_verdict(step: Step, value: str) -> bool:
    """Say whether a CURP is well written (True) or what is wrong with it."""
    problem = entities.curp_problem(value)
    shown = _shown(step, value)
    step.say(step.msg("curp_valid", value=shown) if problem is None
             else step.msg(f"curp_{problem}", value=shown, n=len(value)))
    return problem is None


def _shown(step: Step, value: str) -> str:
    """An NSS or CURP as the reply repeats it: masked until the privacy notice is accepted, since
    replies are kept like the student's own message (whose copy is masked then too)."""
    # Masked with "•", not "*": WhatsApp and the chats read "*…*" as bold (and "12*********"
    # turned the rest of the sentence bold).
    return value if step.state.get("privacy_ack") else entities.mask_personal(value).replace("*", "•")


def report_data_unasked(step: Step) -> bool:
    """ "00000334455, Jesús …, 12345678903, PELJ…": the data of a report, sent when none is being
    made (a student back days later, or sure they need one). While the wait runs, its last day
    (no report yet); otherwise which case it is, to start the right one."""
    if escalation.active(step.state) or step.state.get("ticket_number"):
        return False
    text = step.text
    # The student ID marks a report's data ("mi NSS es … y mi CURP …" alone asks to check them).
    if (not entities.find_student_id_candidates(text) or intents.is_question(text)
            or not (entities.find_nss_candidates(text) or entities.find_curp_candidates(text))):
        return False
    match = step.classify(text)
    if match.confident and match.keyword_scores.get(match.topic or "", 0.0) >= STRONG and match.topic not in (
            "fuera_de_tema", "saludo", "despedida"):
        return False  # "me equivoqué en mi CURP, mis datos: …": that report, with them
    step.topic = None
    end = step.state.get("waiting_end")
    if step.stage == "waiting_period" and end and date.fromisoformat(end) >= step.today:
        step.say(step.msg("data_while_waiting", end=step.date_es(date.fromisoformat(end))))
        return True
    offer_cases(step, "data_which_case")
    return True
