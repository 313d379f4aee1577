"""The report's stages besides collecting the data: describe, consent, confirm, and the ticket.

- describe: "¿qué pasó?" / "¿cuál es tu duda?", and a doubt the desk's facts settle;
- consent: data sent before the privacy notice, kept only once it is accepted;
- confirm: the summary, accepted ("sí") or corrected ("corregir CURP …");
- the ticket opened, with what the student is told about when a person will see it.
"""
from __future__ import annotations

import re
from typing import Any

from flows import entities, intents, report_right
from flows.context import Step
from flows.messages import Attachment, OpenTicket, RecordConsent
from flows.report_core import (
    FIELDS,
    accept_typed,
    add_typed_value,
    append_description,
    aside_topic,
    ask_for_rest,
    asks_for_person,
    is_aside,
    only_courtesy,
    set_aside,
    show_summary,
    take_data,
    tells_typed_value,
    when_seen,
    with_opening,
)
from flows.report_data import NAMES_SCREENSHOT, with_surnames
from flows.report_data import read as _read
from flows.report_text import (
    ADDS,
    CORRECTION_CUE,
    CORRECTION_WORDS,
    FIELD_WORDS,
    asks_what_is_meant,
    asks_when_answered,
    describes,
    description_text,
    field_named,
    meaningful,
    name_after,
    only_asks_for_person,
    only_pleas,
    promises_screenshot,
    tells_wrong_and_right,
    typed_description,
    wrong_values_typed,
)
from knowledge.matcher import fold


def describe_step(step: Step, esc: dict[str, Any], text: str) -> bool:
    """The answer to "what went wrong?": a description, data, or a question."""
    if not text.strip() and not step.message.attachments:
        step.say(step.msg(f"ask_description_{esc['reason']}"))
        return True
    if only_asks_for_person(text) and not step.message.attachments:
        # "ASESOR!!!!" to "¿cuál es tu duda?": the person asked for again, not the doubt; the report
        # goes without it (the person asks), on to the data, never "ASESOR!!!!" as the detail.
        esc["description"] = with_opening(esc, step.msg("description_none"))
        step.say(step.msg("description_skipped"))
        ask_for_rest(step, esc, [])
        return True
    if wrong_values_typed(text) or (esc["reason"] == "datos_erroneos" and tells_wrong_and_right(text)):
        # "puse mal mi nss, puse 12345678901", "puse Jose y es José Luis" to "¿qué dato quedó
        # mal?": what was typed (and how it should be) is the mistake itself, for staff as typed.
        esc["description"] = with_opening(esc, typed_description(text))
        accept_typed(step, esc, text)
        return True
    found, problems, unknown = _read(step, esc, text)
    clean = description_text(text)
    if found or problems or unknown:
        if meaningful(clean):
            esc["description"] = with_opening(esc, clean)
            _reason_from_description(step, esc, clean)
        take_data(step, esc, found, problems, unknown)
        return True
    if step.message.attachments:
        esc["description"] = clean if meaningful(clean) else step.msg("description_attachment")
        ask_for_rest(step, esc, [])
        return True
    if promises_screenshot(text) and esc["reason"] == "error_solicitud" and describes(esc["reason"], clean, ()):
        # 'dice "El NSS ya se encuentra registrado", luego te mando la captura': what it says is the
        # detail (never dropped for the promise); the screenshot is welcome when it comes.
        esc["description"] = with_opening(esc, clean)
        step.say(step.msg("screenshot_later"))
        ask_for_rest(step, esc, [])
        return True
    if promises_screenshot(text):
        # "te mando captura", "ahorita te la mando": the screenshot is coming; wait for it.
        step.say(step.msg("screenshot_wait"))
        return True
    words = intents.words(text)
    if (esc["reason"] == "error_solicitud" and words and words[0] in ("cuando", "al", "apenas", "nomas")
            and "?" not in text and "¿" not in text):
        # "cuando le doy guardar": when the error shows, told before what it says; kept with it.
        esc["when"] = f"{esc['when']} {clean}" if esc.get("when") else clean
        step.say(step.msg("noted_when") + " " + step.msg("ask_description_error_solicitud"))
        return True
    aside = aside_topic(step, text)
    if aside and esc["reason"] == "datos_erroneos" and aside != "urgencia" and describes(esc["reason"], clean, ()):
        aside = None  # "en mi CURP" to "¿qué dato quedó mal?": the answer, not a question about the CURP
    if aside and not _tells_the_case(esc, text, aside):
        esc["aside"] = aside
        return False
    if (esc["reason"] in ("datos_erroneos", "error_solicitud", "sin_vigencia") and intents.is_question(text)
            and not describes(esc["reason"], clean, ())):
        if asks_what_is_meant(text):
            # "¿cómo que texto?": what the question asks for, in other words.
            step.say(step.msg(f"explain_description_{esc['reason']}"))
            return True
        # "¿y eso afecta en algo? ¿se cancela mi seguro?" to "¿qué dato quedó mal?": a question
        # for the person, kept for the report; what went wrong is still what the report needs.
        esc["question"] = f"{esc['question']} / {clean}" if esc.get("question") else clean
        step.say(step.msg("question_kept") + " " + step.msg("meanwhile") + " " + step.msg(f"ask_description_{esc['reason']}"))
        return True
    if not meaningful(clean) or only_pleas(clean):
        if esc["reason"] == "duda_general" and step.recalls("no_description"):
            # "no sé" twice to "¿cuál es tu duda?": the person asks; the report goes without it.
            esc["description"] = step.msg("description_none")
            step.say(step.msg("description_skipped"))
            ask_for_rest(step, esc, [])
            return True
        # "ayuda", "porfa": a plea, not what went wrong.
        step.remember("no_description")
        step.say(step.msg("description_needed") + " " + step.msg(f"ask_description_{esc['reason']}"))
        return True
    esc["description"] = with_opening(esc, clean)
    _reason_from_description(step, esc, clean)
    ask_for_rest(step, esc, [])
    return True


def _reason_from_description(step: Step, esc: dict[str, Any], clean: str) -> None:
    """ "quiero hablar con una persona", then "mi solicitud dice error de datos del trabajador":
    the case is an error in the application (or a mistake in it), filed as such for the desk's
    filters, not as a general doubt."""
    if esc["reason"] != "duda_general":
        return
    match = step.classify(clean)
    if match.confident and match.topic in ("error_solicitud", "datos_erroneos"):
        esc["reason"] = match.topic


def answered_as_the_doubt(step: Step) -> bool:
    """After the answer to a question asked where "¿cuál es tu duda?" was awaited: whether that
    question was the doubt itself, so that the answer may settle it and no person is needed.

    "Quiero hablar con alguien" → "¿cuál es tu duda?" → "¿cómo saco mi vigencia?": the bot
    knows that one; the student is asked whether it settles the doubt, not asked for the
    doubt again as if nothing had been said.
    """
    esc = step.state.get("esc") or {}
    if step.stage != "escalation_describe" or esc.get("reason") != "duda_general" or esc.get("description"):
        return False
    esc["answered"] = True
    return True


#: "no gracias", "no, así está bien": nothing more needed (a polite no that settles it).
_NO_THANKS = re.compile(r"^no\s+(?:gracias|muchas gracias|asi esta bien|ya no|nada mas|es todo)\b")


#: "ya te dije, …", "ya te lo había dicho": the doubt was told already (not a yes for its "ya").
_ALREADY_SAID = re.compile(r"^(?:pues |pero |oye )?(?:ya )?(?:te |se )?(?:lo )?(?:dije|habia dicho|comente|conte|escribi)\b")


#: "… pero tengo otra pregunta": another question coming.
_ANOTHER = re.compile(r"\b(?:otra|una) (?:pregunta|duda|cosa)\b")


def settle_doubt(step: Step, esc: dict[str, Any], text: str) -> bool:
    """The reply to "¿con eso queda resuelta tu duda?": yes or thanks ends the report unsent,
    no asks for what is still missing; anything else is read as the doubt (False)."""
    verdict = intents.yes_no(text)
    folded = " ".join(intents.words(text))
    if _ALREADY_SAID.match(folded) or (entities.find_student_id_candidates(text) or entities.find_nss_candidates(text)
                                       or entities.find_curp_candidates(text)):
        # "234567 Juan … 43159901230 …" (the data for the person) or "ya te dije, tengo dos NSS":
        # not settled; the first question is the doubt, and the rest is read as usual.
        esc.pop("answered", None)
        if esc.get("held"):
            esc["description"] = esc.pop("held")
        return False
    if verdict is None and intents.is_question(text) and len(intents.words(text)) <= 8:
        # "¿y a mi esposa?", "¿y cubre a mis hijos?": a follow-up the desk's facts answer too
        # (read with the first question when it leans on it), and the same question again.
        matcher = step.kb.matcher
        known = matcher.known_answer(esc["reason"], text)
        if known is None and folded.startswith("y ") and _leans_on_first(step, esc, text):
            known = matcher.known_answer(esc["reason"], f"{esc.get('held') or ''} {text}")
        if known:
            step.say(known)
            step.say(step.msg("doubt_answered"))
            return True
        # "sí, pero ¿cubre lentes o dentista?": a question the desk's facts do not answer; it is
        # the doubt for a person, and the student is told so before the data is asked for.
        step.say(step.msg("doubt_unknown_to_person"))
        return False
    if verdict is None and only_courtesy(step, text) == "despedida" or _NO_THANKS.match(folded):
        verdict = True  # "gracias", "no gracias, así está bien": settled
    if verdict is None or len(intents.words(text)) > 6:
        return False
    esc.pop("answered", None)
    if verdict and _ANOTHER.search(folded):
        # "sí, pero tengo otra pregunta": settled, and a new one coming.
        step.state.pop("esc", None)
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("ask_doubt"))
        return True
    if verdict:
        step.state.pop("esc", None)
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("doubt_settled"))
    elif esc.get("held"):
        # The known answer did not settle it: the first question is the doubt for the person.
        esc["description"] = esc.pop("held")
        step.say(step.msg("doubt_to_person"))
        ask_for_rest(step, esc, [])
    else:
        step.say(step.msg("doubt_not_settled"))
    return True


def _leans_on_first(step: Step, esc: dict[str, Any], text: str) -> bool:
    """ "¿y a mi esposa?" after "¿cubre a mis hijos?": no topic of its own ("¿y cuánto tarda?" has)."""
    match = step.classify(text)
    return not match.confident or match.topic in (esc["reason"], "fuera_de_tema")


def _tells_the_case(esc: dict[str, Any], text: str, topic: str) -> bool:
    """Whether a message that names a topic is the case itself, asked for by "¿cuál es tu duda?".

    A statement of several words tells the case ("es sobre mi clínica, me asignaron una muy
    lejos y quiero cambiarla"); so does the same topic a second time, after its answer did
    not settle it ("ya te dije, quiero cambiar mi clínica"). A question is answered first.
    """
    if topic == "urgencia":
        return False  # an emergency is answered first, whatever else the report is about
    if esc.get("aside") == topic:
        return True
    return not intents.is_question(text) and len(intents.words(text)) >= 6


def consent_step(step: Step, esc: dict[str, Any], text: str) -> bool:
    """The answer to "¿aceptas el aviso de privacidad?"."""
    pending = esc.get("pending") or {}
    found, problems, unknown = _read(step, esc, text)
    said = intents.yes_no(text)
    if said is True or found:
        # Sending more data after the notice accepts it too.
        esc.pop("pending", None)
        merged = {**(pending.get("data") or {}), **found}
        step.state["privacy_ack"] = True
        step.act(RecordConsent(at=step.message.at))
        step.say(step.msg("privacy_thanks"))
        take_data(step, esc, merged, [*(pending.get("problems") or []), *problems],
                bool(pending.get("nss_unknown")) or unknown)
        return True
    if said is False:
        # Nothing personal kept ("no guardé tus datos"): what they sent before the notice goes;
        # the case itself waits, for "ok, sí acepto" a moment later.
        esc.pop("pending", None)
        # Brought back, it asks for the data again; sending it accepts the notice (shown already).
        set_aside(step, esc, stage="escalation_collect", on_yes=True)
        step.state.pop("esc", None)
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("privacy_refused"))
        return True
    if is_aside(step, text):
        return False
    clean = description_text(text)
    if esc.get("description") is None and meaningful(clean) and len(intents.words(clean)) >= 3:
        # "puse mal mi fecha de nacimiento": what went wrong, told before the notice is answered.
        esc["description"] = with_opening(esc, clean)
        step.say(step.msg("description_noted") + " " + step.msg("privacy_consent_again"))
        return True
    step.say(step.msg("privacy_consent_again"))
    return True


#: "sí, pero agrégale que ya fui al IMSS…", "ponle también que…": more for the detail (the words
#: asking for it are taken off what is added).
_ADD_VERB = re.compile(r"^\W*(?:s[ií]|ok|va|sale)?[\s,]*(?:pero|y)?\s*(?:agr[eé]gale|agrega|agregues|an[oó]tale|anota|ponle|pon"
                       r"|a[ñn]ade|aum[eé]ntale)\b(?:\s+tambi[eé]n)?(?:\s+que)?\s*", re.IGNORECASE)


#: "por si necesitan hablarme, mi cel …": a phone number given to be called on.
_CONTACT_GIVEN = re.compile(r"\b(?:mi cel|mi celular|mi numero|mi telefono|mi whats|hablarme|llamarme|marcarme|contactarme"
                            r"|me pueden (?:llamar|marcar|hablar)|soy su (?:papa|mama|padre|madre|tutor|tutora))\b")


def confirm_step(step: Step, esc: dict[str, Any], text: str) -> bool:
    """The answer to the summary: send it, or correct something."""
    addition = _ADD_VERB.sub("", text, count=1)
    if (addition != text and len(intents.words(addition)) >= 2
            and not (entities.find_nss_candidates(text) or entities.find_curp_candidates(text))):
        # "sí, pero agrégale que ya fui al IMSS y me dijeron que con ustedes": the detail grows,
        # and the summary is shown again before anything is sent.
        append_description(esc, description_text(addition))
        step.topic = None
        step.say(step.msg("added_to_description"))
        show_summary(step, esc)
        return True
    if tells_typed_value(esc, text):
        add_typed_value(step, esc, text)
        show_summary(step, esc)
        return True
    said = intents.yes_no(text)
    field = field_named(text)
    if said is None and field is None:
        # "Sí, todo es correcto. Le agradecería que me avisaran por aquí.": the yes of its first clause.
        first = re.split(r"[,.;!]", text, maxsplit=1)[0]
        if first.strip() != text.strip() and intents.yes_no(first) is True and not intents.is_question(text):
            said = True
    if said is True and field is None and not CORRECTION_CUE.search(" ".join(intents.words(text))):
        # "ya lo encontré, es 02039912346" reads as a yes: new data updates the summary instead.
        found, problems, _unknown = _read(step, esc, text)
        found.pop("name", None)
        changed = {k: v for k, v in found.items() if esc["data"].get(k) != v}
        if not (changed or problems):
            open_ticket(step, esc)
            return True
        if changed:
            step.say(step.msg("fixed"))
        take_data(step, esc, changed, problems, False)
        return True
    if esc["data"].get("name") and field in ("name", None) and (swap := _name_word_swap(text)) and (
            field == "name" or _in_the_name(esc, swap)):
        # "mi apellido es Sotelo no Sotello": one word of the name, not the whole name asked again.
        _fix_name_word(step, esc, *swap)
        return True
    if field in FIELDS:
        # "no, el nombre está mal, es María Fernanda Gómez Ruiz": the new value may come along.
        before = esc["data"].pop(field, None)
        if field == "name":
            # "mi nombre lleva acento, es Luis Ángel Soto Muñoz": the name is what follows "es".
            text = name_after(text) or text
        found, problems, unknown = _read(step, esc, text, expecting=[field], correcting=True)
        if field == "name" and before and "name" in found:
            found["name"] = with_surnames(found["name"], before, text)
        if field in found:
            step.say(step.msg("fixed"))
        elif problems and before and field in ("nss", "curp", "student_id"):
            # "corrige el nss es 1234567890" (10 digits): the new one is wrong, the one sent before
            # stays until a valid one comes (it is not dropped for a typo).
            esc["data"][field] = before
            for problem in problems:
                step.say(problem)
            step.say(step.msg("kept_previous"))
            show_summary(step, esc)
            return True
        else:
            esc["fixing"] = field
            if field == "name" and before:
                esc["name_before"] = before  # "me faltó un apellido", then "Ruiz Meza": completed
        take_data(step, esc, found, problems, unknown)
        return True
    found, problems, unknown = _read(step, esc, text)
    found.pop("name", None)  # a name without its field named is not a correction
    if found and not problems and not unknown and all(esc["data"].get(k) == v for k, v in found.items()):
        # The same value sent again: nothing was corrected, and saying so would confuse.
        step.say(step.msg("same_data"))
        show_summary(step, esc)
        return True
    if found or problems or unknown:
        if found:
            step.say(step.msg("fixed"))
        take_data(step, esc, found, problems, unknown)
        return True
    if field == "description":
        rest = [w for w in intents.words(text) if w not in CORRECTION_WORDS and w not in FIELD_WORDS["description"]
                and w not in ("el", "la", "mi", "es", "y", "corregir", "de")]
        if len(rest) >= 3:
            if ADDS.search(" ".join(intents.words(text))):
                # "también sale abajo otro mensaje: …": more detail, the first stays.
                append_description(esc, description_text(text))
                step.say(step.msg("added_to_description"))
            else:
                esc["description"] = description_text(text)
                step.say(step.msg("fixed"))
            show_summary(step, esc)
            return True
        esc["fixing"] = "description"
        step.stage = "escalation_collect"
        step.say(step.msg("ask_description_fix"))
        return True
    if step.message.attachments:
        step.say(step.msg("attachment_received"))
        show_summary(step, esc)
        return True
    if said is False:
        step.say(step.msg("ask_which_fix"))
        return True
    folded = " ".join(intents.words(text))
    contact = _CONTACT_GIVEN.search(folded) and report_right.value_in("telefono", text)
    if (CORRECTION_CUE.search(folded) or _RIGHT_VALUE.search(folded) or entities.EMAIL.search(text) or contact) and len(folded.split()) >= 3:
        # "el correo lo puse mal", "el correo correcto es …@gmail.com": something the summary
        # has no line for goes to the detail; so does a phone to call ("soy su papá, mi cel …"),
        # kept whole for staff (the detail masks phone numbers in free text).
        addition = description_text(text) + (f" ({step.msg('contact_phone_note')}: {contact})" if contact else "")
        append_description(esc, addition)
        step.say(step.msg("added_to_description"))
        show_summary(step, esc)
        return True
    if asks_when_answered(text):
        # "antes de enviarlo, ¿cuánto tardan en contestar?": when a person sees it once sent.
        step.say(step.msg("confirm_reply_when") + " " + when_seen(step))
        step.say(step.msg("confirm_again"))
        return True
    if asks_for_person(step):
        # "quiero hablar con una persona": sending the report is how one gets the case.
        step.say(step.msg("confirm_is_for_person"))
        return True
    if NAMES_SCREENSHOT.search(folded) and (intents.is_question(text) or promises_screenshot(text)):
        # "¿te mando captura de la constancia?": yes, here, before or after sending.
        step.say(step.msg("screenshot_welcome"))
        step.say(step.msg("confirm_again"))
        return True
    spelled = _spelled_name(esc, text)
    if spelled is not None:
        # "Peña con ñ", "Gámez con acento": the name as spelled (or as it already is).
        if not spelled:  # "gamez con acento", typed without it: the name as it goes, asked for
            esc["data"].pop("name")
            esc["fixing"] = "name"
            step.stage = "escalation_collect"
            step.say(step.msg("name_spell_it"))
            return True
        changed = spelled != esc["data"]["name"]
        esc["data"]["name"] = spelled
        step.say(step.msg("name_spelled_fixed" if changed else "name_spelled_same", name=spelled))
        if changed:
            show_summary(step, esc)
        else:
            step.say(step.msg("confirm_again"))
        return True
    if is_aside(step, text):
        return False
    step.say(step.msg("confirm_not_understood"))
    return True


#: "el correo correcto es …", "la buena es …", "debe ser …": the right value of something.
_RIGHT_VALUE = re.compile(r"\b(?:correct[oa]|buen[oa]) (?:es|era|seria)\b|\b(?:debe|deberia|tenia que) ser\b")

_W = r"([A-Za-zÁÉÍÓÚÜÑáéíóúüñ]{2,})"
#: "es Sotelo no Sotello", "Sotelo, no Sotello" (right, wrong); "puse Sotello pero es Sotelo",
#: "el que puse fue Sotello" (wrong, right — the right one may be missing).
_RIGHT_NOT_WRONG = re.compile(rf"\b{_W}\s*,?\s+(?:y\s+)?no\s+(?:es\s+|era\s+|con\s+)?{_W}\s*[.!]?\s*$")
_WRONG_BUT_RIGHT = re.compile(
    rf"\b(?:puse|escribi|escribí|puso|sale|aparece|fue)\s+{_W}(?:\s*,?\s+(?:pero|y)\s+(?:el (?:bueno|correcto) )?"
    rf"(?:es|era|debe ser|deberia ser|debería ser)\s+{_W})?\s*[.!]?\s*$", re.IGNORECASE)
_NOT_NAME_WORDS = {"mi", "el", "la", "es", "no", "pero", "apellido", "nombre", "si", "que", "bien", "mal", "asi"}


def _name_word_swap(text: str) -> tuple[str, str | None] | None:
    """(right, wrong) of one word of the name the message corrects; wrong may be None ("el
    apellido que puse fue Sotello": only what was typed), right "" when only the wrong one is said."""
    m = _RIGHT_NOT_WRONG.search(text)
    if m and fold(m.group(1)) not in _NOT_NAME_WORDS and fold(m.group(2)) not in _NOT_NAME_WORDS:
        return m.group(1), m.group(2)
    m = _WRONG_BUT_RIGHT.search(text)
    if m and fold(m.group(1)) not in _NOT_NAME_WORDS:
        return (m.group(2) or ""), m.group(1)
    return None


def _in_the_name(esc: dict[str, Any], swap: tuple[str, str | None]) -> bool:
    """Whether a word of the swap is a word of the name ("puse Sotello pero es Sotelo", no field named)."""
    name = {fold(w) for w in esc["data"]["name"].split()}
    return bool(swap[0] and swap[1]) and (fold(swap[0]) in name or fold(swap[1] or "") in name)


def _fix_name_word(step: Step, esc: dict[str, Any], right: str, wrong: str | None) -> None:
    """The name's wrong word replaced when the summary has it; otherwise the name is already the
    right one and the mistake is the application's: what was typed and what is right go to the
    detail (staff correct the application with it). The summary is shown again."""
    words = esc["data"]["name"].split()
    at = [i for i, w in enumerate(words) if wrong and fold(w) == fold(wrong)]
    if at and right:
        words[at[0]] = right[:1].upper() + right[1:]
        esc["data"]["name"] = " ".join(words)
        step.say(step.msg("fixed"))
    else:
        line = step.msg("name_typed_note", typed=wrong or "?", right=right or esc["data"]["name"])
        append_description(esc, line)
        step.say(step.msg("added_to_description"))
    show_summary(step, esc)


#: "… con ñ", "… con acento", "… lleva tilde": how a word of the name is spelled.
_SPELLING = re.compile(r"\bcon (?:ñ|n|acento|acentos|tilde|tildes)\b|\blleva (?:ñ|acento|tilde)\b", re.IGNORECASE)


def _spelled_name(esc: dict[str, Any], text: str) -> str | None:
    """The name with a word as the student spells it ("Gámez con acento" on "Gamez"), or the name
    as it is when it already has that spelling; "" when neither has it ("gamez con acento":
    where the accent goes is for the student to write); None when the message is not about that."""
    name = esc["data"].get("name")
    if not name or not _SPELLING.search(text) or len(text.split()) > 8:
        return None
    words = name.split()
    for said in re.findall(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+", text):
        plain = fold(said)
        for i, word in enumerate(words):
            if fold(word) == plain and len(plain) > 2:
                if said.lower() != plain:  # carries the accent or ñ asked for
                    words[i] = said[:1].upper() + said[1:].lower()
                elif word.lower() == fold(word):
                    return ""
                return " ".join(words)
    return None


def open_ticket(step: Step, esc: dict[str, Any]) -> None:
    data = {k: v for k, v in esc["data"].items() if v}
    if esc.get("nss_unknown") and "nss" not in data and not esc.get("nss_refused"):
        data["nss_unknown"] = "sí"
    if esc.get("id_missing") and "student_id" not in data:
        data["student_id_missing"] = "sí"
    if esc.get("curp_unknown") and "curp" not in data:
        data["curp_unknown"] = "sí"  # not at hand (a foreigner's "no tengo CURP" is curp_missing)
    elif esc.get("curp_missing") and "curp" not in data and not esc.get("curp_refused"):
        data["curp_missing"] = "sí"
    for field in ("nss", "curp"):
        if esc.get(f"{field}_unverified") and data.get(field) == esc[f"{field}_unverified"]:
            data[f"{field}_unverified"] = "sí"  # its check digit does not match; the student sent it twice
    for field in ("nss", "curp"):
        if esc.get(f"{field}_refused") and field not in data:
            data[f"{field}_refused"] = "sí"  # not given by choice (not "does not know" / "has none")
    attachments = tuple(Attachment(a["ref"], a["content_type"], a.get("name", "")) for a in esc["attachments"])
    description = esc.get("description") or ""
    step.act(OpenTicket(reason=esc["reason"], description=description, data=data,
                        attachments=attachments, urgent=bool(esc.get("urgent"))))
    # Kept for a later report: only checked data (an NSS sent twice unverified is not reused unflagged).
    step.state["known"] = {k: v for k, v in esc["data"].items()
                           if k in FIELDS and v not in (esc.get("nss_unverified"), esc.get("curp_unverified"))}
    step.state["ticket_reason"] = esc["reason"]
    step.state["ticket_at"] = step.today.isoformat()
    step.state["return_stage"] = esc.get("return_stage") or "menu"
    step.state.pop("esc", None)
    step.stage = "ticket_open"
    step.say(step.msg("ticket_opened") + " " + when_seen(step))
