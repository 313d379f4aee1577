"""A message read as a topic: its answer, its step of the guide, or its report.

:func:`answer_topic` takes what the matcher understood and does what the topic asks:
the answer (with the pending question again), the guide's step it belongs to, the
waiting period, a report for the desk, or a clarifying question when the matcher is
unsure. :func:`choose` is the same for a numbered option or a button.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from flows import entities, escalation, intents, ticket_open, volunteered, waiting
from flows.context import Step, is_vague
from flows.procedure import (
    PROCEDURE_STAGES,
    STAGE_TOPIC,
    STAGES,
    TOPIC_STAGE,
    answer,
    enter,
    follow,
    offer_cases,
    question_again,
    resume_prompt,
    show_menu,
    where_label,
)
from flows.stage_reply import asks_what_if, knows_nss, says_done
from knowledge.matcher import STRONG, Match


def kb_kind(step: Step, target: str) -> str:
    """The kind of the topic an option leads to ("topic:nss" -> "answer")."""
    topic = step.kb.topics.get(target.split(":", 1)[1])
    return topic.kind if topic else ""


def choose(step: Step, target: str) -> None:
    """The student picked a numbered option (or pressed its button)."""
    if target == "guide":
        step.topic = "saludo"
        enter(step, "prereq_coverage")
    elif target == "person":
        step.topic = "duda_general"
        escalation.start(step, "duda_general")
    elif step.state.get("ticket_number") and not escalation.active(step.state) and kb_kind(step, target) == "escalation":
        # "9" (sigo sin vigencia) with a report open: it is that report, with a person already.
        step.topic = target.split(":", 1)[1]
        step.stage = "ticket_open"
        step.say(escalation.pending(step))
    elif target == "menu":
        step.topic = "saludo"
        show_menu(step, greeting=False)
    elif target.startswith("topic:"):
        topic = target.split(":", 1)[1]
        answer_topic(step, Match.certain(topic), chosen=True)


#: How long after the guide's last message a bare greeting picks the guide up where it was: a
#: student gone to get their NSS comes back days later with "hola" (then "listo"), and the
#: menu in its place dropped the step (the reply still offers the menu).
RESUME_GUIDE_WITHIN = timedelta(days=30)


#: Someone of the family is the one who needs care ("mi mamá está muy mala", "me lo cubre mi seguro").
_FAMILY = re.compile(
    r"\b(?:mi|mis) (?:mama|papa|hijo|hija|hijos|hijas|bebe|esposo|esposa|hermano|hermana|abuela|abuelo|jefa|jefe)\b"
    r".*\b(?:cubre|cubriria|atienden|atiendan|sirve|llevarl[oa]|llevarl[oa]s)\b"
    r"|\bme (?:lo|la|los|las) (?:cubre|atienden|cubriria)\b")


def _mid_procedure_hello(step: Step) -> bool:
    """A bare greeting ("hola", "buenas") within :data:`RESUME_GUIDE_WITHIN` of the guide's last message."""
    stage = STAGES.get(step.stage)
    last = step.state.get("last_at")
    if stage is None or not stage.question or not last or step.message.attachments:
        return False
    match = step.classify(step.text)
    if any(t != "saludo" and v > 0 for t, v in match.keyword_scores.items()):
        return False  # "hola, otra pregunta…": more than a greeting
    return timedelta(0) <= step.message.at - datetime.fromisoformat(last) < RESUME_GUIDE_WITHIN


def _short_follow_up(text: str) -> bool:
    """A short question of a few words ("¿cómo que ruta?", "y eso cómo?", "entonces cómo entro")."""
    words = intents.words(text)
    if not words or len(words) > 6:
        return False
    return intents.is_question(text) or any(w in intents.QUESTION_WORDS for w in words[:3])


#: "y si me enfermo", "en caso de que me pase algo": an emergency imagined, not happening.
_HYPOTHETICAL = re.compile(r"\b(?:y )?si (?:me )?(?:enfermo|enfermara|pasa algo|llego a|me pasa|tengo un accidente|me accidento)\b"
                           r"|\ben caso de (?:que )?(?:me )?(?:enferm|emergencia|accidente|pase)\w*")
#: "… me siento muy mal, creo que es apendicitis": happening now, whatever "y si…" came before.
_HAPPENING = re.compile(r"\b(?:me siento|me duele|estoy (?:en|con|sangr\w*|muy|bien)|tengo (?:fiebre|mucho|un dolor|dolor"
                        r"|calentura|vomito)|creo que (?:es|me)|se (?:cayo|desmayo)|fiebre de|no puedo respirar)\b")
#: "es urgente porque …", "me urge que me contesten": a hurry about the case, not an emergency.
_IN_A_HURRY = re.compile(r"\b(?:es urgente|me urge|urge) (?:porque|xq|que me|q me|saber|que lo|q lo)\b")


#: The constancia read out as it should be: with rights, and the ITSON as the employer.
_CONSTANCIA_OK = re.compile(r"\bcon derecho\b.*\bitson\b|\bitson\b.*\bcon derecho\b")
#: ... unless the same message says otherwise.
_NOT_COVERED_WORDS = re.compile(r"\bsin derecho\b|\bno (?:me )?(?:sale|aparece|salgo|aparezco) con derecho\b|\botro patron\b")


#: "no puedo entrar al CIA", "no me deja iniciar sesión": the account, not the application (a
#: parent's "no puede entrar", "no le deja" too).
_CANT_LOG_IN = re.compile(
    r"\bno (?:puedo|me deja|me dejo|pude|he podido|puede|pudo|ha podido|le deja|le dejo) (?:entrar|ingresar|acceder|iniciar sesion|loguearme|meterme)"
    r"(?: (?:al|en el|a mi|en mi) (?:cia|cuenta|portal))?\b|\bno (?:me )?(?:acepta|reconoce) (?:mi )?(?:id|usuario)\b"
)


#: "¿ya puedo ir al doctor?", "¿ya lo puede usar?": whether the coverage can be used already.
_ALREADY_USABLE = re.compile(
    r"\bya (?:lo |la |me |se |le )?(?:puedo|puede|pueden|podre|podra) (?:ir|usar|usarlo|atender|atenderme|atenderse|consultar)\b")


#: "sigo sin poder", "ya intenté y nada", "tampoco": still locked out, after the password's answer.
_STILL_CANT = re.compile(
    r"\b(?:sigo|sigue) sin (?:poder|dejarme|dejarle|entrar)\b|\bno (?:puedo|me deja|pude|puede|le deja|pudo)\b|\bya (?:intente|lo intente|le intente)\b"
    r"|\bsigo igual\b|\btampoco\b|\bno funciona\b|\bno sirve\b|\by nada\b")


def answer_topic(step: Step, match: Match, *, aside: bool = False, chosen: bool = False) -> None:
    """Answer what the matcher understood, or ask when it is unsure."""
    kb = step.kb
    if match.empty:
        if step.message.attachments:
            step.topic = "error_solicitud"
            escalation.start(step, "error_solicitud")
        else:
            step.topic = "saludo"
            show_menu(step, greeting=True)
        return
    follow_up = STAGE_TOPIC.get(step.stage)
    vague = is_vague(match) or (match.topic in ("saludo", "despedida") and intents.is_question(step.text)
                                and match.keyword_scores.get(match.topic, 0.0) < STRONG)  # "ok y eso dónde"
    if follow_up and not aside and not chosen and vague and (
            _short_follow_up(step.text)
            or (intents.is_question(step.text) and step.kb.matcher.known_answer(follow_up, step.text))):
        # "¿cómo que ruta?", "¿entonces cómo entro?" right after a step's explanation: about that step.
        step.topic = follow_up
        answer(step, follow_up)
        step.say(question_again(step, STAGES[step.stage]))
        return
    if (step.had_secret and not aside and (not match.confident or match.topic == "fuera_de_tema")
            and (match.keyword_scores.get("fuera_de_tema", 0.0) < STRONG
                 or kb.matcher.known_answer("fuera_de_tema", step.text))):
        # "can u do it for me? my password is …": a password sent to get the application done,
        # the CIA's answer (it is done by the student, in the CIA), not "con eso no te puedo ayudar"
        # (nor how to recover a password they have just written).
        match = replace(match, topic="registro_cia", confident=True, also=())
    if (step.had_secret and not aside and match.topic == "error_solicitud"
            and _CANT_LOG_IN.search(" ".join(intents.words(step.text)))
            and not kb.matcher.known("error_solicitud", step.text)):
        # "no me deja entrar al cia, mi pass es … checalo": the password sent to be checked, with
        # no error quoted; getting into the CIA is the student's own account (the warning, and who
        # resets it: the CIA's topic), not an error of the application for the desk.
        match = replace(match, topic="registro_cia", confident=True, also=())
    if (not aside and is_vague(match) and intents.is_question(step.text)
            and step.recalls("answered", "urgencia", within=3)):
        # "¿y qué hago entonces?" right after the emergency's answer: about the emergency.
        match = replace(match, topic="urgencia", confident=True, also=())
    if not aside and not chosen and _vague_problem(step, match):
        # "tengo un problema con mi solicitud": which of the desk's cases it is, before any data
        # (for a person, until it is known which).
        step.topic = "duda_general"
        offer_cases(step, "which_problem")
        return
    if (match.topic == "despedida" and intents.is_question(step.text)
            and match.keyword_scores.get("despedida", 0.0) < STRONG):
        match = replace(match, confident=False)  # "ok y eso dónde": a question, not a goodbye
    if not match.confident:
        # A person is always offered last: not also as a candidate ("Hablar con una persona" twice).
        candidates = [t for t in match.candidates(4) if t != "duda_general"][:3]
        if match.domain and candidates:
            step.topic = None
            opts = [(f"topic:{t}", kb.topics[t].label) for t in candidates]
            step.say(step.msg("clarify"), opts + [("person", step.msg("menu_person"))])
            return
        match = Match("fuera_de_tema", match.score, match.ranked, match.tokens, True, match.domain)
    topic = match.topic or "fuera_de_tema"
    if (topic == "datos_erroneos" and not aside and intents.is_question(step.text)
            and entities.resaved_day(step.text, step.now) is not None):
        # "la guardé el 3 pero la corregí el 5, ¿cuándo queda?": the mistake is already fixed and
        # saved again; the question is the wait, from the last saving (not a report of a mistake).
        topic = "espera"
    if (topic == "alta_umf" and not aside and intents.is_question(step.text)
            and _ALREADY_USABLE.search(" ".join(intents.words(step.text))) and waiting.saved_within_wait(step)):
        # "¿ya puede ir al doctor mañana? lo guardó hoy": whether it is usable yet, with a save day
        # whose wait still runs: not yet; the day it should show (the wait's answer, with its date).
        topic = "espera"
    step.topic = topic
    if (not aside and step.recalls("answered", "cant_log_in", within=2) and len(intents.words(step.text)) <= 8
            and _STILL_CANT.search(" ".join(intents.words(step.text)))):
        # "sigo sin poder" right after the password's answer: still the account, not the coverage.
        step.topic = "registro_cia"
        step.remember("answered", "cant_log_in")
        step.say(step.msg("still_cant_log_in"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
        return
    if (topic in ("registro_cia", "error_solicitud") and _CANT_LOG_IN.search(" ".join(intents.words(step.text)))
            and not entities.mentions_saving(step.text)
            and (known := kb.matcher.known_answer("fuera_de_tema", "olvide mi contrasena"))):
        # "no puedo entrar al CIA", "no me deja iniciar sesión": the account's password (the
        # university's, not the desk's), not the option missing inside the CIA nor an error
        # of the application.
        step.remember("answered", "cant_log_in")
        if topic == "error_solicitud" and not aside:
            escalation.start(step, topic, known=known)  # said first; a person still one "no" away
            return
        step.say(known)  # (the topic stays the CIA's: getting into it to apply)
        if aside:
            return  # (mid-report: the caller asks its question again)
        stage = STAGES.get(step.stage)
        if stage and stage.question:
            step.say(question_again(step, stage))
        return
    if topic == "nss" and not aside and volunteered.said_nss_is_valid(step):
        # "mi NSS es 12345678903": said valid and what it is for next; neither what an NSS is
        # nor where to find one (they have it), nor a stage asking them to find one.
        answer_rest(step, match)
        resume_prompt(step)
        return
    before = len(step.replies)
    if aside and topic == "espera" and waiting.said_saved_on(step):
        # "¿cuánto tarda? la guardé el jueves" with a report open: the date, not the general wait
        # (and no step of the guide entered while a person has the case).
        waiting.say_end_aside(step)
        return
    if aside and kb.topics[topic].kind == "answer":
        # In the middle of something else: answer, and let the caller ask again.
        answer(step, topic)
        answer_rest(step, match)
        return
    if topic == "urgencia" and match.keyword_scores.get("sin_vigencia", 0.0) >= STRONG:
        # "…en urgencias y dicen que no estoy vigente": kept for the next message (the save day).
        step.remember("said_not_covered_at")
    if topic == "saludo" and not aside and _mid_procedure_hello(step):
        # "hola" in the middle of the guide, even days later: where we were, not the menu
        # (which would drop the question pending); "menú" still gets it.
        stage = STAGES[step.stage]
        step.say(step.msg("hello_again") + " " + step.msg("resume", where=where_label(step, stage)) + "\n"
                 + question_again(step, stage) + "\n" + step.msg("or_menu"))
    elif topic in ("saludo", "fuera_de_tema", "despedida") and not aside and intents.refuses_menu(step.text):
        # "no me importa tu menú", "no quiero menú": not the menu again (the greeting its word
        # resembles); a line, and a person.
        step.topic = "fuera_de_tema"
        step.say(step.msg("menu_refused"), [("person", step.msg("menu_person"))])
    elif topic == "saludo":
        show_menu(step, greeting=True)
    elif topic == "despedida":
        answer(step, "despedida")
    elif topic == "fuera_de_tema":
        known = kb.matcher.known_answer(topic, step.text)
        if known:
            step.say(known)  # "olvidé mi contraseña del CIA": where that is solved, not "no te puedo ayudar"
        else:
            answer(step, topic)
        step.say(step.msg("offer_person"), [("menu", step.msg("opt_menu")), ("person", step.msg("menu_person"))])
    elif topic == "urgencia" and not aside and (reported := _reported_too(step, match)):
        # "…me sale otro patrón, y ahorita me siento mal y necesito ir al doctor": the emergency
        # first, then the problem told with it (not left behind "¡afíliate con tiempo!").
        answer(step, "urgencia")
        if reported == "sin_vigencia":
            # At the hospital and not covered: the desk's numbers now (it may check the case
            # today), then the save day, so a report can go to it at once if the wait is over.
            step.say(step.msg("urgent_not_covered"))
        answer_topic(step, replace(match, topic=reported, also=()))
        step.topic = "urgencia"
        return
    elif topic == "urgencia" and not aside and _FAMILY.search(" ".join(intents.words(step.text))):
        # "mi mamá está muy mala, ¿me la cubre mi seguro?": the emergency first (911), then that
        # the facultativo never covers the family (domain.md).
        answer(step, "urgencia")
        step.say(step.kb.matcher.known_answer("duda_general", "cubre a mi familia") or "")
        step.remember("answered", "urgencia")
        return
    elif topic == "urgencia" and not aside and _CALLED_HELP.search(" ".join(intents.words(step.text))):
        # "ya llamamos al 911", "ya viene la ambulancia": help is on its way; no lecture again.
        step.remember("answered", "urgencia")
        step.say(step.msg("urgent_called"))
        return
    elif topic == "urgencia" and not aside and step.recalls("answered", "urgencia", within=3):
        # "¿y qué hago entonces?" right after the emergency's answer: what to do now, in steps,
        # not the same block word for word.
        step.remember("answered", "urgencia")
        step.say(step.msg("urgent_next"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
        return
    elif topic == "espera" and not (step.stage in _BEFORE_SAVING and intents.is_question(step.text)
                                    and not entities.mentions_saving(step.text)):
        waiting.espera(step)
    elif topic in ("sin_vigencia", "vigencia") and waiting.names_other_employer(step.text):
        waiting.other_employer(step)
    elif (topic == "sin_vigencia" and step.stage in _BEFORE_APPLYING and not aside
          and not entities.mentions_saving(step.text)):
        # "ya revisé y salgo sin derecho" while the requirements are checked: no other coverage,
        # so they can apply (it is not the complaint of someone who applied).
        step.say(step.msg("no_coverage_can_apply"))
        if knows_nss(step.text):
            enter(step, "cia_route")  # "no tengo seguro de nada y sí me sé mi NSS": both steps answered
        elif "nss" in intents.words(step.text) and (intents.says_not_sure(step.text) or intents.says_dont_know(step.text)):
            enter(step, "nss_lookup")  # "no tengo seguro y no sé mi NSS": how to get it, next
        elif step.stage == "prereq_nss":
            step.say(question_again(step, STAGES["prereq_nss"]))
        else:
            enter(step, "prereq_nss")
        return
    elif topic == "sin_vigencia":
        waiting.sin_vigencia(step)
    elif (topic == "duda_general" and "contacto" not in match.also and not entities.mentions_saving(step.text)
          and len(intents.words(step.text)) <= 14 and _ASKS_WHEN_OPEN.search(" ".join(intents.words(step.text)))):
        # "¿mañana domingo puedo hablar con alguien?": when the desk answers (topics.md: its
        # hours), then the way to a person, as for "¿a qué hora atienden? ¿me pasas con alguien?".
        answer(step, "contacto")
        answer_rest(step, match)
        _escalate(step, topic)
        return
    elif topic == "duda_general" and _rest(step, match):
        # "¿a qué hora atienden? ¿puedo hablar con alguien ahorita?": what the bot knows first
        # (the hours, whether it is open now), then the way to a person.
        answer_rest(step, match)
        _escalate(step, topic)
        return
    elif (topic == "duda_general" and not aside and step.stage in PROCEDURE_STAGES and STAGES[step.stage].question
          and not intents.asks_for_a_person(step.text)
          and (knowns := kb.matcher.known_all("duda_general", step.text))):
        # "¿cuánto cuesta?" in the middle of the guide: what the desk is known to say, and the
        # step's question again (the guide is not dropped for "¿con eso queda resuelta tu duda?");
        # a person is still one word away, as at every step.
        step.say("\n\n".join(k.answer for k in knowns))
        resume_prompt(step)
        return
    elif (topic == "duda_general" and not aside and step.stage != "ticket_open" and waiting.said_saved_on(step)
          and match.keyword_scores.get("sin_vigencia", 0.0) > 0):
        # "quiero hablar con una persona, guardé el viernes 13 y sigo sin vigencia": within the
        # wait, its last day first and then the person asked for; past it, the report of no
        # coverage with the day (topics.md), which a person sees.
        waiting.person_with_save_day(step)
    elif kb.topics[topic].kind == "escalation":
        _escalate(step, topic)
    elif (topic == "vigencia" and not aside and _CONSTANCIA_OK.search(" ".join(intents.words(step.text)))
          and not _NOT_COVERED_WORDS.search(" ".join(intents.words(step.text)))):
        # "me sale con derecho y de patrón ITSON, ¿así está bien?": yes, that is being covered; the
        # last step (not how to get the constancia they already have, and "¿ya apareces vigente?").
        step.say(step.msg("constancia_ok"))
        enter(step, "umf_registration")
        step.topic = "vigencia"
        return
    elif (topic in TOPIC_STAGE and step.stage in PROCEDURE_STAGES and intents.is_question(step.text)
          and (PROCEDURE_STAGES.index(TOPIC_STAGE[topic]) < PROCEDURE_STAGES.index(step.stage)
               or (topic == "vigencia" and step.stage in _BEFORE_APPLYING)
               or (topic in ("espera", "vigencia", "alta_umf") and step.stage in _BEFORE_SAVING
                   and not entities.mentions_saving(step.text)))):
        # (…and "¿cuánto tarda?" while the NSS is looked up: how long once saved, and the guide
        # stays at its step; there is no application to ask the save day of yet.)
        # (…and "¿cómo lo checo?" while the requirements are checked: how to see one's coverage,
        # not the step after applying, whose "sin derecho" would mean the wait is over.)
        # "¿qué es el NSS?" while filling in: a step already behind is answered, and the
        # procedure stays where it was (a question about a later step moves on to it).
        answer(step, topic)
        answer_rest(step, match)
        resume_prompt(step)
        return
    elif topic in TOPIC_STAGE and not aside:
        target = STAGES[TOPIC_STAGE[topic]]
        if (target.name == step.stage and target.question and target.on_no and not chosen
                and intents.reports_failure(step.text) and not asks_what_if(step.text)):
            # "no encuentro mi clínica en la lista" to "¿pudiste darte de alta?": a no, however long.
            follow(step, target.on_no)
        elif target.name == "cia_route" and not chosen and intents.reports_failure(step.text):
            # "no me aparece la opción de seguro facultativo en autoservicio": not the route again
            # as if nothing had been tried; what to check, and a person.
            step.stage = target.name
            follow(step, target.on_no)
        elif target.name == "umf_registration" and not chosen and intents.reports_failure(step.text):
            # "no me deja registrar la clínica": what usually causes it (domain.md), then whether
            # it worked; a no still reaches a person.
            step.stage = target.name
            step.say(step.msg("umf_trouble"))
            step.say(step.msg("q_umf_after_trouble"))
        elif (target.expects == "yesno" and target.on_yes == "done" and not chosen
              and not intents.is_question(step.text) and intents.words(step.text)[:1] in (["ya"], ["listo"], ["lista"])
              and says_done(target, step.text) and not intents.reports_failure(step.text)
              and not any(w in intents.QUESTION_WORDS for w in intents.words(step.text))):
            # "ya me dieron de alta en la clínica, gracias": the last step is done, not to be explained.
            follow(step, target.on_yes)
        elif (target.name == step.stage and target.question and not chosen
              and (known := kb.matcher.known_answer(topic, step.text))):
            # "no sé cuál es mi clínica" while registering at it: that, and the question again.
            step.say(known + "\n" + question_again(step, target))
        elif (target.name == step.stage and target.question and not intents.is_question(step.text) and not chosen
              and not intents.says_dont_know(step.text)):
            # News about the step the student is at ("ya salí vigente" while registering at the clinic).
            step.say(step.msg("noted") + " " + step.msg(target.question))
        else:
            if target.name == "umf_registration" and intents.tells_covered(step.text):
                step.say(step.msg("covered_news"))  # "¡ya salí vigente!": glad news first
            enter(step, target.name)
    else:
        answer(step, topic)
        answer_rest(step, match)
        if not aside:
            resume_prompt(step)
        return
    if _rest(step, match) and not chosen:
        # The other questions' answers go before the question the first one ended with.
        stage = STAGES.get(step.stage)
        ended_asking = len(step.replies) - before >= 2 and (
            "?" in step.replies[-1].text
            or (stage is not None and stage.question is not None and step.replies[-1].text == step.msg(stage.question)))
        last = step.replies.pop() if ended_asking else None
        answer_rest(step, match)
        if last is not None:
            step.replies.append(last)


#: "tengo un problema con mi solicitud", "algo salió mal con el trámite": a problem, not which.
_VAGUE_PROBLEM = re.compile(
    r"\b(?:tengo|tuve|hay|traigo|me salio|me paso) (?:un |unos |algun |otro )?(?:problema|problemas|problemita|detalle|inconveniente)s?"
    r"(?: (?:con|en) (?:mi|la|el|lo del) (?:solicitud|tramite|seguro|registro|facultativo))?$"
    r"|\balgo (?:salio|esta|anda) mal(?: con| en)? (?:mi|la|el) (?:solicitud|tramite|seguro|registro)$")


def _vague_problem(step: Step, match: Match) -> bool:
    """A problem told without what it is, and no topic named strongly."""
    if not _VAGUE_PROBLEM.search(" ".join(intents.words(step.text))):
        return False
    return not any(score >= STRONG for t, score in match.keyword_scores.items()
                   if t not in ("saludo", "despedida", "duda_general"))


#: A person asked for on a day or at an hour: "¿el sábado puedo hablar con alguien?", "¿atienden
#: mañana domingo?", "¿a qué hora puedo hablar con alguien?".
_ASKS_WHEN_OPEN = re.compile(
    r"\b(?:(?:el|los|este|manana|hoy) )?(?:sabados?|domingos?|fin de semana|fines de semana|dias? festivos?)\b"
    r"|\ba (?:que|q) hora\b|\ben (?:que|q) horario\b|\bhasta (?:que|q) hora\b"
)


def _rest(step: Step, match: Match) -> list[str]:
    """The answer topics asked in the message besides the one being handled, in order."""
    return [t for t in match.also if t != step.topic and t != match.topic
            and step.state.get("answered") != f"{t}:{step.turn}"  # (the wait's date already said it)
            and (step.kb.topics[t].kind == "answer" or t == "duda_general")]


def answer_rest(step: Step, match: Match) -> None:
    """Answer the message's other questions ("…, cuánto tarda y cómo me doy de alta?"), each once;
    one for the desk only by what it is known to answer ("¿cuánto cuesta?")."""
    rest = _rest(step, match)
    for topic in rest:
        if step.kb.topics[topic].kind == "answer":
            answer(step, topic)
        else:
            for known in step.kb.matcher.known_all(topic, step.text):
                step.say(known.answer)
    if rest and match.topic:
        # "¿y lo otro que te pregunté?" next: which questions this message had answered.
        step.remember("answered_several", ",".join(dict.fromkeys([match.topic, *rest])))


#: "ya llamamos al 911", "ya viene la ambulancia", "ya estamos en urgencias": help is on its way.
_CALLED_HELP = re.compile(
    r"\bya (?:le |les )?(?:llame|llamamos|llamaron|marque|marcamos|marcaron|hable|hablamos)\b"
    r"|\bya (?:viene|vienen|llego|llegaron|esta aqui|estan aqui) (?:la |el |los )?(?:ambulancia|paramedicos|cruz roja)\b"
    r"|\bya (?:estoy|estamos|esta|lo llevamos|la llevamos|lo llevaron|la llevaron) (?:en|a) (?:urgencias|el hospital|la clinica|la cruz roja)\b"
)


def _escalate(step: Step, reason: str) -> None:
    if step.stage == "ticket_open":
        # One case at a time: another problem told while a report is open goes to that report.
        ticket_open.add_to_ticket(step)
        return
    escalation.start(step, reason)


#: The guide's stages before the application exists: "sin derecho" there is good news.
_BEFORE_APPLYING = ("prereq_coverage", "prereq_other", "prereq_nss")
#: … and before it is saved: a question about the wait or what comes after is asked ahead.
_BEFORE_SAVING = (*_BEFORE_APPLYING, "nss_lookup", "cia_route", "filling")


def _reported_too(step: Step, match: Match) -> str | None:
    """A problem for the desk (not a mere request for a person) told clearly in the same message."""
    applied = entities.mentions_saving(step.text) or _APPLIED.search(" ".join(intents.words(step.text)))
    reported = [(score, t) for t, score in match.keyword_scores.items()
                if score >= STRONG and t != "duda_general" and step.kb.topics[t].kind == "escalation"
                and (t != "sin_vigencia" or applied)]  # "…y no tengo seguro": not a complaint of one who applied
    return max(reported)[1] if reported else None


#: Words of having applied: "hice mi solicitud", "ya me registré", "el trámite"; or of having been
#: looked up at the IMSS: "no aparece vigente", "dicen que no tiene derecho".
_APPLIED = re.compile(r"\b(?:solicitud|tramite|registre|registro|aplique|hice|hizo|hicimos|constancia|patron"
                      r"|vigente|vigencia|derecho)\b")


def urgent(step: Step) -> bool:
    """Whether the message is an emergency (urgencia named by a strong cue)."""
    match = step.classify(step.text)
    if match.topic != "urgencia" or match.keyword_scores.get("urgencia", 0.0) < STRONG:
        return False
    # "¿y mientras qué hago si me enfermo?", "es urgente porque mañana tengo consulta": a what-if
    # or a hurry, not an emergency now (answered in its turn, the report kept where it is).
    folded = " ".join(intents.words(step.text))
    return not ((_HYPOTHETICAL.search(folded) or _IN_A_HURRY.search(folded)) and not _HAPPENING.search(folded))
