"""The conversation as a pure function: state + message + time → outcome.

:func:`advance` is the only entry point the core needs. It reads the
message in this order: a secret to redact → "menu" → the escalation being
collected → a numbered choice → the answer to the stage's question (yes/no
or a date) → a topic understood by the matcher. Whatever happens, it
answers: no input makes it raise or stay silent.
"""
from __future__ import annotations

from dataclasses import replace

import re
from datetime import date, datetime, timedelta
from typing import Any

from flows import entities, escalation, intents, report_text, ticket_open, volunteered, waiting
from flows.context import Step, is_answer_topic, is_vague
from flows.messages import FILE_NOTE, Incoming, OpenTicket, Outcome
from flows.procedure import (
    day_asked,
    office_on_day,
    PROCEDURE_STAGES,
    Stage,
    STAGE_TOPIC,
    STAGES,
    TOPIC_STAGE,
    answer,
    answers_yes,
    enter,
    follow,
    resume_prompt,
    main_menu_options,
    names_earlier_step,
    REGREET_AFTER,
    question_again,
    show_menu,
    waiting_from,
)
from knowledge.loader import KnowledgeBase
from knowledge.matcher import STRONG, Match

#: Longer messages are read only this far (a 10,000-character paste still gets an answer).
READ_LIMIT = 4000
#: Stored text is cut at this length.
STORE_LIMIT = 10000
SECRET = "[contraseña oculta]"


def advance(state: dict[str, Any] | None, message: Incoming, kb: KnowledgeBase) -> Outcome:
    """One step of the conversation. Pure: no I/O, the time comes in ``message.at``."""
    st: dict[str, Any] = dict(state or {})
    st.setdefault("stage", "menu")
    options = st.pop("options", None) or {}
    raw = (message.text or "").replace("\x00", "")
    if message.button_label and raw.strip() not in options:
        raw = message.button_label  # a button of an earlier menu: what it said, not its number
    stored, had_secret = entities.redact_secrets(raw[:STORE_LIMIT])
    text = stored[:READ_LIMIT].replace(SECRET, " ")
    data_text = entities.without_secret_phrases(stored[:READ_LIMIT])
    refused = FILE_NOTE.findall(text)
    text = FILE_NOTE.sub(" ", text)
    step = Step(kb, message, st, text, data_text=FILE_NOTE.sub(" ", data_text), had_secret=had_secret)
    if had_secret:
        step.say(step.msg("password_warning"))
    if refused:
        step.say(step.msg("file_refused"))
    try:
        volunteered.remember(step)
        if had_secret and not message.attachments and volunteered.only_the_secret(step):
            volunteered.after_secret_only(step, options)
        else:
            _dispatch(step, options)
    except Exception:  # noqa: BLE001 - a student must get an answer whatever breaks
        st.pop("esc", None)
        step.stage = "menu"
        step.topic = None
        step.say(step.msg("internal_error"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
    if not step.replies:
        step.say(step.msg("footer"))
    st["turns"] = int(st.get("turns", 0)) + 1
    st["last_at"] = message.at.isoformat()  # read by the next message (a "hola" an hour later)
    if not st.get("privacy_ack"):
        # Before the privacy notice is accepted, nothing personal is kept, asked for or not
        # (a student may volunteer an NSS in a question): the report collects it after the notice.
        stored = volunteered.without_personal_data(stored)
    return Outcome(state=st, replies=step.replies, actions=step.actions, topic=step.topic, stored_text=stored)


def remind(state: dict[str, Any] | None, kb: KnowledgeBase, at: datetime) -> Outcome:
    """The reminder at the end of the waiting period: "¿ya apareces vigente?"."""
    st: dict[str, Any] = dict(state or {})
    st.pop("options", None)
    step = Step(kb, Incoming(text="", at=at), st, "")
    end = date.fromisoformat(st["waiting_end"]) if st.get("waiting_end") else step.today
    key = "reminder" if end >= step.today else "reminder_after"
    step.say(step.msg(key, end=step.date_es(end)))
    step.stage = "checking_coverage"
    return Outcome(state=st, replies=step.replies, actions=[], topic=None, stored_text="")


def _names_subject(stage: Stage, words: list[str]) -> bool:
    """Whether the words are about the stage's own step ("ya me di de alta en la clínica"),
    not only a "ya" of another step ("ya la saqué y salgo con derecho")."""
    joined = " " + " ".join(words)
    return any(f" {cue}" in joined for cue in stage.subject)


def _says_done(stage: Stage, text: str) -> bool:
    """Whether a clause of the message says the stage's step is done ("ya salí vigente y ya me
    di de alta en la clínica": the second one), not only a step before it."""
    for clause in re.split(r"[,;.]+|\s+y\s+", text):
        words = intents.words(clause)
        if words[:1] in (["ya"], ["listo"], ["lista"]) and answers_yes(stage, words) and _names_subject(stage, words):
            return True
    return False


#: Acknowledgements: "understood", not "done".
_ACKS = frozenset({"ok", "okey", "okay", "oki", "va", "sale", "vale", "ok gracias", "va gracias", "entendido", "de acuerdo"})


def _reports_a_problem(step: Step) -> bool:
    """Whether a message of a few words names a problem for the desk ("no, me salió error")."""
    if len(intents.words(step.text)) < 3:
        return False
    match = step.classify(step.text)
    return bool(match.confident and match.topic and step.kb.topics[match.topic].kind == "escalation"
                and match.keyword_scores.get(match.topic, 0.0) >= STRONG and match.topic != "duda_general")


def _asked_as_dont_know(step: Step, stage: Stage) -> bool:
    if not stage.asked_as_dont_know or not (intents.is_question(step.text) or intents.says_not_sure(step.text)):
        return False  # ("no sé, cómo lo checo": not sure, and how to find out)
    match = step.classify(step.text)
    return match.topic in stage.asked_as_dont_know


def _follow_up_known(step: Step, stage: Stage | None) -> bool:
    """ "¿osea no puedo tener los dos?" right after the answer about other insurance: a question
    the bot would not understand alone, which a fact of the topic just answered settles; that
    fact, and the question pending again (not "no alcancé a entender la fecha")."""
    topic = step.recent("answered", within=2)
    if not topic or topic not in step.kb.topics or not intents.is_question(step.text):
        return False
    match = step.classify(step.text)
    if not is_vague(match):
        return False
    known = step.kb.matcher.known_answer(topic, step.text)
    day = day_asked(step) if topic == "contacto" else None
    if day is not None:
        known = office_on_day(step, day)  # "¿y el 17?" after "¿atienden el 16 de marzo?"
    if not known:
        return False
    step.topic = topic
    step.remember("answered", topic)
    step.say(known)
    if stage and stage.question:
        step.say(question_again(step, stage))
    return True


def _short_follow_up(text: str) -> bool:
    """A short question of a few words ("¿cómo que ruta?", "y eso cómo?", "entonces cómo entro")."""
    words = intents.words(text)
    if not words or len(words) > 6:
        return False
    return intents.is_question(text) or any(w in intents.QUESTION_WORDS for w in words[:3])


def _dispatch(step: Step, options: dict[str, str]) -> None:
    text = step.text
    if intents.is_menu_command(text):
        if step.stage == "escalation_confirm" and not step.state["esc"].get("menu_warned"):
            # "menú" on the summary of a report with all its data: it is one "sí" from being
            # sent; asked once before it is dropped.
            step.state["esc"]["menu_warned"] = True
            step.topic = None
            step.say(step.msg("confirm_menu_warning"))
            return
        if escalation.active(step.state):
            step.say(step.msg("escalation_paused"))
            _pause_report(step)
        step.state.pop("esc", None)
        step.topic = "saludo"
        show_menu(step, greeting=True)
        return
    folded = " ".join(intents.words(text))
    paused = None if escalation.active(step.state) else step.state.get("paused_esc")
    # "ok, sí acepto" right after saying no to the privacy notice (that one message only).
    accepts_now = bool(paused and paused.pop("on_yes", False)
                       and (intents.yes_no(text) is True
                            or (_ACCEPTS.search(text.casefold()) and intents.yes_no(text) is not False)))
    if paused and (accepts_now or _RESUME.search(folded)):
        # "quiero seguir con mi reporte", "¿y mi reporte?": the report set aside, where it was.
        paused = step.state.pop("paused_esc")
        step.state["esc"], step.stage = paused["esc"], paused["stage"]
        step.state["esc"]["started_at"] = step.now.isoformat()  # taken up again: not stale any more
        step.topic = None
        step.say(step.msg("report_resumed"))
        escalation.reprompt(step)
        return
    if _RESUME.search(folded) and escalation.active(step.state):
        # "retomar mi reporte" while it is being collected: it is right here.
        step.topic = None
        step.say(step.msg("report_resumed"))
        escalation.reprompt(step)
        return
    if ((_RESUME.search(folded) or _ASKS_STATUS.search(folded)) and not escalation.active(step.state)
            and not step.state.get("paused_esc") and not step.state.get("ticket_number")
            and step.stage != "ticket_open"):
        # "retomar mi reporte", "mi número de reporte es el 5" with none here: said so, and a person.
        step.topic = None
        step.say(step.msg("no_report_here"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
        return
    if intents.holds(text) and not step.message.attachments:
        # "espera", "ahí voy": whatever was asked stays asked.
        step.topic = None
        step.say(step.msg("hold_ack"))
        return
    if (escalation.active(step.state) and step.state["esc"].get("answered") and step.stage == "escalation_describe"
            and _new_case(step) and step.classify(text).topic != "duda_general"):
        # "sigo sin vigencia, la guardé ayer" to "¿con eso queda resuelta tu duda?": a case of its
        # own (its own questions, its own rules), not the doubt for a person.
        step.state.pop("esc")
        step.stage = "menu"
    if escalation.active(step.state) and escalation.stale(step) and _new_case(step):
        # Days later, a question or another problem: the old report is set aside (said so), and
        # the message is read on its own.
        esc = step.state["esc"]
        _pause_report(step)
        step.state.pop("esc")
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("stale_report_dropped"))
    if escalation.active(step.state) and _changes_mind(step):
        return
    if escalation.active(step.state) and _corrects_date_of_report(step):
        return
    if escalation.active(step.state):
        if escalation.handle(step):
            return
        if "esc" in step.state:
            # A question in the middle: answered, and the report stays where it was.
            stage, esc = step.stage, step.state["esc"]
            match = step.classify(text)
            _topic(step, match, aside=True)
            step.stage, step.state["esc"] = stage, esc
            if escalation.answered_as_the_doubt(step):
                step.say(step.msg("doubt_answered"))
            elif step.topic == "urgencia":
                # An emergency in the middle of a report: no data asked for right after it.
                step.say(step.msg("report_after_emergency"))
            else:
                escalation.reprompt(step)
            return
        step.stage = "menu"  # the report ended with nothing reported yet ("hola" after a known answer)
    if step.stage == "ticket_open" and step.message.attachments:
        reason = str(step.state.get("ticket_reason") or "duda_general")
        step.act(OpenTicket(reason=reason, description=report_text.description_text(text),
                            attachments=step.message.attachments))
        step.say(step.msg("ticket_updated"))
        return
    numbers = [int(k) for k in options if k.isdigit()]
    key = intents.option_key(text, last=max(numbers) if numbers and len(numbers) == len(options) else None)
    if key and key in options:
        _choose(step, options[key])
        return
    several = intents.option_keys(text) if not key else []
    if several and all(k in options for k in several):
        answers = [k for k in several if options[k].startswith("topic:") and _kb_kind(step, options[k]) == "answer"]
        others = [k for k in several if k not in answers]
        if len(others) <= 1:
            # "3 y 6": each answer in the order asked, and the last one leads on as if chosen
            # alone; "3 y 11": the answer, then the person (or the guide) it asked for.
            lead = others[0] if others else answers.pop()
            for k in answers:
                answer(step, options[k].split(":", 1)[1])
            _choose(step, options[lead])
            return
    if key and options and intents.bare_number(text) and all(k.isdigit() for k in options):
        # "12" to a menu of 11: no such option (not "con eso no te puedo ayudar").
        step.topic = None
        step.say(step.msg("option_out_of_range", n=len(options)))
        return
    stage = STAGES.get(step.stage)
    if volunteered.only_an_id(step, stage):
        return
    if _follow_up_known(step, stage):
        return
    if len(intents.words(text)) <= 10 and _ASKS_IF_BOT.search(" ".join(intents.words(text))):
        # "¿eres un bot?", "¿hablo con alguien de verdad?": what answers, and the way to a person.
        step.topic = "saludo"
        if stage and stage.question:
            step.say(step.msg("bot_identity") + "\n" + question_again(step, stage))
        else:
            step.say(step.msg("bot_identity"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
        return
    if (step.stage == "cia_route" and step.recalls("cia_help_turn", within=3) and intents.reports_failure(text)
            and not entities.mentions_saving(text) and not {"vigencia", "vigente", "imss"} & set(intents.words(text))):
        # "sigue sin salir" right after what to check when the option is missing: the option,
        # still missing (a person next), not a missing coverage.
        step.topic = None
        follow(step, "!cia_help")
        return
    if not options and not (stage and stage.expects == "date"):
        # No numbered question pending: a number is the main menu's option (a first "1" too).
        main = {str(i): target for i, (target, _) in enumerate(main_menu_options(step), start=1)}
        number = intents.bare_number(text)
        if number in main:
            _choose(step, main[number])
            return
    if (step.stage in ("prereq_nss", "nss_lookup") and not intents.is_question(text)
            and step.kb.matcher.known_answer("nss", text)):
        # "no, pero tengo el de mi mamá" to "¿ya conoces tu NSS?": theirs is needed, and how to get it.
        step.topic = "nss"
        if step.stage == "nss_lookup":  # how to get it was just said: the known answer, the question again
            step.say(step.kb.matcher.known_answer("nss", text) or "")
            enter(step, "nss_lookup", show_answer=False)
        else:
            enter(step, "nss_lookup")  # the known answer comes with the topic's own
        return
    if stage and stage.expects == "date" and _urgent(step):
        # "oye, ¿y si tengo una emergencia ahorita?": the emergency first ("ahorita" is no date).
        match = step.classify(text)
        _topic(step, match, aside=True)
        step.stage = stage.name
        step.say(step.msg("resume_saved_date"))
        return
    if stage and stage.expects == "date" and waiting.answer_save_date(step):
        return
    if intents.will_do_soon(text) and not (stage and stage.question) and step.classify(text).topic == "despedida":
        # "okis gracias, luego les escribo si tengo otra duda, bye": a goodbye.
        step.topic = "despedida"
        answer(step, "despedida")
        return
    if intents.will_do_soon(text):
        # "ahorita lo hago", "ahorita no tengo tiempo": nothing to answer yet; a question stays open.
        step.topic = None
        step.say(step.msg("waiting_for_you" if stage and stage.question else "whenever_you_want"))
        return
    if stage and stage.expects == "yesno":
        if stage.not_yet_waits and (intents.not_checked_yet(text) or intents.not_tried_yet(text)
                                    or (stage.bare_not_yet_waits and intents.bare_not_yet(text))):
            # "todavía no la he revisado", "todavía no lo intento": not a "no" (that opens a
            # report), a reason to try first.
            step.topic = None
            step.say(step.msg("check_first" if stage.name == "checking_coverage" else "try_first")
                     + " " + question_again(step, stage))
            return
        if stage.dont_know and (intents.says_not_sure(text) and len(intents.words(text)) <= 4
                                or _asked_as_dont_know(step, stage)):
            # "no sé" / "nose": not a no; what helps them find out, and the question again.
            step.topic = None
            if step.recalls("dont_know_at", stage.name):
                # Said again: the help was given; go on, and they check the constancia meanwhile.
                step.forget("dont_know_at")
                step.say(step.msg("dont_know_go_on"))
                follow(step, stage.on_no)
                return
            step.remember("dont_know_at", stage.name)  # counts for the next message only
            answer(step, stage.dont_know)
            step.say(question_again(step, stage))
            return
        if stage.ok_is_ack and " ".join(intents.words(text)) in _ACKS:
            step.topic = None  # "ok" to "escríbeme *listo* cuando lo tengas": understood, not done
            step.say(step.msg("waiting_for_you"))
            return
        said = intents.yes_no(text)
        if said is None and intents.says_partly(text):
            said = False  # "más o menos" to "¿pudiste darte de alta?": not done, what a no gets
        if said is None and stage.not_sure_is_no and intents.says_not_sure(text):
            said = False  # "no sé cuál es" to "¿ya conoces tu NSS?"
        if said is False and not stage.not_yet_waits and _reports_a_problem(step):
            said = None  # "no, me salió error" to "¿ya guardaste?": the error, not a "not yet"
        if said is False and _asks_an_earlier_step(step, stage):
            said = None  # "no me acuerdo de mi NSS" to "¿ya estás en Solicitud Seguro?": the NSS
        if said is None and stage.yes_topic and intents.no_longer(text):
            said = False  # "antes sí pero ya no": no other coverage now
        if said is None and intents.long_yes(text) and _names_subject(stage, intents.words(text)):
            # "ya la saqué y sí salgo con derecho y con el ITSON": a yes told at length.
            said = True
        if said is True and " pero " in f" {' '.join(intents.words(text))} " and _reports_a_problem(step):
            said = None  # "ya la guardé pero me equivoqué en un dato": the mistake, not only the yes
        if said is False or (said is True and answers_yes(stage, intents.words(text))):
            target = stage.on_yes if said else stage.on_no
            saved = entities.parse_date(text, step.now) if said and target in STAGES and STAGES[target].expects == "date" else None
            if saved is not None and saved <= step.today:
                # "ya la guardé hoy", "sí, ayer en la noche": the day asked next is already said.
                step.topic = None
                waiting_from(step, saved, purpose="espera")
                return
            follow(step, target)
            if target and STAGE_TOPIC.get(target) and len(intents.words(text)) >= 4:
                match = step.classify(text)
                if match.confident and match.topic == STAGE_TOPIC[target]:
                    # "¡ya lo tengo! ahora, ¿dónde hago la solicitud?": the yes, and the question
                    # the step it leads to answers.
                    step.topic = match.topic
            return
        if said is True and not intents.is_question(text) and names_earlier_step(stage, intents.words(text)):
            # "sí, ya estoy vigente" to "¿pudiste darte de alta en tu clínica?": good news about
            # the step before; this one's question stays.
            step.topic = None
            step.say(step.msg("noted") + " " + question_again(step, stage))
            return
        if said is None and stage.yes_topic and not intents.is_question(text):
            match = step.classify(text)
            if match.confident and match.topic == stage.yes_topic:
                step.topic = match.topic
                follow(step, stage.on_yes)
                return
        if said is True and len(intents.words(text)) < 3 and stage.question:
            # "ya entré" to "¿ya guardaste tu solicitud?": good news about a step before, same question.
            step.topic = None
            step.say(step.msg("noted") + " " + question_again(step, stage))
            return
    if (stage and stage.question and step.stage in PROCEDURE_STAGES and step.stage != "waiting_period"
            and intents.asks_next(text) and not waiting.names_a_topic(step)):
        # "ok gracias, ¿y luego qué sigue?" in the guide: this step is what follows; shown again
        # (not a goodbye for the "gracias").
        step.topic = None
        enter(step, step.stage)
        return
    if step.stage == "waiting_period" and waiting.asks_about_the_wait(step):
        # "¿y no se puede antes?", "osea el 16", "¿y si el 16 no sale qué hago?" while waiting.
        waiting.about_the_wait(step)
        return
    if step.stage == "waiting_period" and step.state.get("saved_on") and waiting.corrects_saved_date(step):
        return
    if step.stage == "waiting_period" and step.state.get("waiting_end") and (
            (intents.asks_next(text) and not waiting.names_a_topic(step)) or waiting.repeats_saved_date(step)):
        waiting.next_step(step)
        return
    umf = STAGES["umf_registration"]
    if (step.stage in ("waiting_period", "checking_coverage") and not intents.is_question(text)
            and not intents.reports_failure(text) and _says_done(umf, text)):
        # "ya salí vigente y ya me di de alta en la clínica": the last step too; the end.
        step.topic = "alta_umf"
        step.stage = umf.name
        follow(step, umf.on_yes)
        return
    if step.stage == "waiting_period" and waiting.is_over(step) and (
            intents.yes_no(text) is not None or intents.long_yes(text)):
        # Past the last day, "sí" / "no" / "ya revisé y sí salgo con derecho" answer the
        # question the reminder asks ("¿ya apareces vigente?").
        step.stage = "checking_coverage"
        _dispatch(step, options)
        return
    if intents.wants_guide(text):
        _choose(step, "guide")
        return
    if report_text.asks_about_privacy(text) and not escalation.active(step.state) and step.stage != "ticket_open":
        # "¿qué datos guardan de mí?", "quiero que borren mis datos": what is kept, for how long,
        # who sees it; a person (who can delete them) still offered.
        step.topic = "duda_general"
        escalation.start(step, "duda_general", known=step.msg("privacy_answer"))
        return
    if (step.state.get("ticket_number") and not escalation.active(step.state) and step.stage != "ticket_open"
            and (step.stage == "menu" or _new_problem(step))):
        # After "menú", or a step of the guide since, a report still open: what is said goes to
        # it, not to a second one.
        step.stage = "ticket_open"
    if step.stage == "ticket_open" and ticket_open.follow_up(step, lambda m: _topic(step, m, aside=True)):
        return
    if (step.stage != "ticket_open" and step.state.get("ticket_number") and intents.asks_about_reply(text)
            and not escalation.active(step.state)):
        # "¿ya me contestaron?" after "menú": the report is still open, whatever the menu did.
        step.topic = None
        step.say(escalation.pending(step))
        return
    if step.stage == "nss_lookup" and "correo" in intents.words(text) and intents.is_question(text):
        # "ya lo pedí, ¿cuánto tarda en llegar el correo?": the NSS's e-mail, not the application's wait.
        step.topic = "nss"
        step.say(step.msg("nss_mail") + " " + question_again(step, STAGES["nss_lookup"]))
        return
    if intents.asks_which_email(text):
        # "me pide confirmar mi correo, ¿cuál pongo?": the student's own, always the same one
        # (domain.md: the IMSS e-mail stays tied to the CURP and NSS), not the desk's.
        match = step.classify(text)
        step.topic = (match.topic if match.topic in ("alta_umf", "llenado", "nss", "vigencia", "registro_cia")
                      else "alta_umf" if step.stage == "umf_registration" else "llenado")
        step.say(step.msg("which_email"))
        resume_prompt(step)
        return
    if not (stage and stage.expects) and step.turn >= 1 and intents.closes(text):
        # "no", "no gracias" to "¿Algo más?" (no question of a stage pending): a goodbye.
        step.topic = "despedida"
        answer(step, "despedida")
        return
    if (not (stage and stage.expects) and step.stage not in ("ticket_open", "waiting_period")
            and step.turn >= 1 and intents.yes_no(text) is True and len(intents.words(text)) <= 2):
        # "sí" to "¿Algo más?": the menu, to say what else.
        step.topic = "saludo"
        show_menu(step, greeting=False)
        return
    match = step.classify(text)
    _topic(step, match)


def _kb_kind(step: Step, target: str) -> str:
    """The kind of the topic an option leads to ("topic:nss" -> "answer")."""
    topic = step.kb.topics.get(target.split(":", 1)[1])
    return topic.kind if topic else ""


def _choose(step: Step, target: str) -> None:
    """The student picked a numbered option (or pressed its button)."""
    if target == "guide":
        step.topic = "saludo"
        enter(step, "prereq_coverage")
    elif target == "person":
        step.topic = "duda_general"
        escalation.start(step, "duda_general")
    elif step.state.get("ticket_number") and not escalation.active(step.state) and _kb_kind(step, target) == "escalation":
        # "9" (sigo sin vigencia) with a report open: it is that report, with a person already.
        step.topic = target.split(":", 1)[1]
        step.stage = "ticket_open"
        step.say(escalation.pending(step))
    elif target == "menu":
        step.topic = "saludo"
        show_menu(step, greeting=False)
    elif target.startswith("topic:"):
        topic = target.split(":", 1)[1]
        _topic(step, Match(topic, 9.0, [(topic, 9.0)], [topic], confident=True, domain=True), chosen=True)


def _mid_procedure_hello(step: Step) -> bool:
    """A bare greeting ("hola", "buenas") within the hour of the guide's last message."""
    stage = STAGES.get(step.stage)
    last = step.state.get("last_at")
    if stage is None or not stage.question or not last or step.message.attachments:
        return False
    match = step.classify(step.text)
    if any(t != "saludo" and v > 0 for t, v in match.keyword_scores.items()):
        return False  # "hola, otra pregunta…": more than a greeting
    return timedelta(0) <= step.message.at - datetime.fromisoformat(last) < REGREET_AFTER


def _topic(step: Step, match: Match, *, aside: bool = False, chosen: bool = False) -> None:
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
    if follow_up and not aside and not chosen and is_vague(match) and _short_follow_up(step.text):
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
        match = replace(match, topic="registro_cia", confident=True, secondary=None)
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
    step.topic = topic
    if topic == "nss" and not aside and volunteered.said_nss_is_valid(step):
        # "mi NSS es 12345678903": said valid and what it is for next; neither what an NSS is
        # nor where to find one (they have it), nor a stage asking them to find one.
        if match.secondary and match.secondary != topic:
            answer(step, match.secondary)
        resume_prompt(step)
        return
    before = len(step.replies)
    if aside and kb.topics[topic].kind == "answer":
        # In the middle of something else: answer, and let the caller ask again.
        answer(step, topic)
        if match.secondary and match.secondary != topic:
            answer(step, match.secondary)
        return
    if topic == "urgencia" and match.keyword_scores.get("sin_vigencia", 0.0) >= STRONG:
        # "…en urgencias y dicen que no estoy vigente": kept for the next message (the save day).
        step.remember("said_not_covered_at")
    if topic == "saludo" and not aside and _mid_procedure_hello(step):
        # "hola" in the middle of the guide, within the hour: where we were, not the menu
        # (which would drop the question pending); "menú" still gets it.
        stage = STAGES[step.stage]
        step.say(step.msg("hello_again") + " " + step.msg("resume", where=stage.label) + "\n"
                 + question_again(step, stage) + "\n" + step.msg("or_menu"))
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
        _topic(step, replace(match, topic=reported, secondary=None))
        step.topic = "urgencia"
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
    elif topic == "espera":
        waiting.espera(step)
    elif topic in ("sin_vigencia", "vigencia") and waiting.names_other_employer(step.text):
        waiting.other_employer(step)
    elif (topic == "sin_vigencia" and step.stage in _BEFORE_APPLYING and not aside
          and not entities.mentions_saving(step.text)):
        # "ya revisé y salgo sin derecho" while the requirements are checked: no other coverage,
        # so they can apply (it is not the complaint of someone who applied).
        step.say(step.msg("no_coverage_can_apply"))
        if "nss" in intents.words(step.text) and (intents.says_not_sure(step.text) or intents.says_dont_know(step.text)):
            enter(step, "nss_lookup")  # "no tengo seguro y no sé mi NSS": how to get it, next
        elif step.stage == "prereq_nss":
            step.say(question_again(step, STAGES["prereq_nss"]))
        else:
            enter(step, "prereq_nss")
        return
    elif topic == "sin_vigencia":
        waiting.sin_vigencia(step)
    elif (topic == "duda_general" and match.secondary and match.secondary != topic
          and kb.topics[match.secondary].kind == "answer"):
        # "¿a qué hora atienden? ¿puedo hablar con alguien ahorita?": what the bot knows first
        # (the hours, whether it is open now), then the way to a person.
        answer(step, match.secondary)
        _escalate(step, topic)
        return
    elif kb.topics[topic].kind == "escalation":
        _escalate(step, topic)
    elif (topic in TOPIC_STAGE and step.stage in PROCEDURE_STAGES and intents.is_question(step.text)
          and (PROCEDURE_STAGES.index(TOPIC_STAGE[topic]) < PROCEDURE_STAGES.index(step.stage)
               or (topic == "vigencia" and step.stage in _BEFORE_APPLYING))):
        # (…and "¿cómo lo checo?" while the requirements are checked: how to see one's coverage,
        # not the step after applying, whose "sin derecho" would mean the wait is over.)
        # "¿qué es el NSS?" while filling in: a step already behind is answered, and the
        # procedure stays where it was (a question about a later step moves on to it).
        answer(step, topic)
        if match.secondary and match.secondary != topic:
            answer(step, match.secondary)
        resume_prompt(step)
        return
    elif topic in TOPIC_STAGE and not aside:
        target = STAGES[TOPIC_STAGE[topic]]
        if (target.name == step.stage and target.question and target.on_no and not chosen
                and intents.reports_failure(step.text)):
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
              and _says_done(target, step.text) and not intents.reports_failure(step.text)
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
        if match.secondary:
            answer(step, match.secondary)
        if not aside:
            resume_prompt(step)
        return
    if match.secondary and match.secondary != topic and not chosen and kb.topics[match.secondary].kind == "answer":
        # The second question's answer goes before the question the first one ended with.
        ended_asking = len(step.replies) - before >= 2 and "?" in step.replies[-1].text
        last = step.replies.pop() if ended_asking else None
        answer(step, match.secondary)
        if last is not None:
            step.replies.append(last)


#: "¿eres un bot?", "¿hablo con una persona o con una máquina?", "¿eres humano?".
_ASKS_IF_BOT = re.compile(
    r"\bquien (?:me )?(?:contesta|responde|escribe)\b"
    r"|\b(?:eres|sos|estoy hablando con|hablo con) (?:un |una )?(?:bot|robot|maquina|humano|humana|persona real|persona o"
    r"|ia|inteligencia artificial|chatbot|contestadora automatica|asistente virtual|alguien de verdad|persona de verdad)\b"
    r"|\bare you (?:a )?(?:bot|robot|human|real)\b"
)
#: "ya llamamos al 911", "ya viene la ambulancia", "ya estamos en urgencias": help is on its way.
_CALLED_HELP = re.compile(
    r"\bya (?:le |les )?(?:llame|llamamos|llamaron|marque|marcamos|marcaron|hable|hablamos)\b"
    r"|\bya (?:viene|vienen|llego|llegaron|esta aqui|estan aqui) (?:la |el |los )?(?:ambulancia|paramedicos|cruz roja)\b"
    r"|\bya (?:estoy|estamos|esta|lo llevamos|la llevamos|lo llevaron|la llevaron) (?:en|a) (?:urgencias|el hospital|la clinica|la cruz roja)\b"
)


#: "mejor no, primero …", "ah no, …": the student turns away from the report.
_TURNS_AWAY = re.compile(r"^(?:ah |oh |ay )?(?:mejor no|no mejor|ah no|no no|mejor primero|primero quiero)\b")


def _changes_mind(step: Step) -> bool:
    """ "mejor no, primero quiero saber cuánto tarda": the report is set aside and the question
    answered (the student can start it again any time)."""
    if not (_TURNS_AWAY.match(" ".join(intents.words(step.text))) or report_text.cancels(step.text)):
        return False  # ("no quiero reporte, solo dime dónde saco mi NSS": called off, and asked)
    match = step.classify(step.text)
    if not is_answer_topic(step, match):
        return False
    esc = step.state.pop("esc")
    step.stage = esc.get("return_stage") or "menu"
    step.say(step.msg("escalation_cancelled"))
    _topic(step, match)
    return True


def _corrects_date_of_report(step: Step) -> bool:
    """ "no, fue el 5 de agosto" while the data of a "sin vigencia" report is collected (the
    report came from the day given before): the waiting period is computed again, and within
    it there is no report (topics.md)."""
    esc = step.state["esc"]
    if esc.get("reason") != "sin_vigencia" or not step.state.get("saved_on"):
        return False
    if entities.find_nss_candidates(step.text) or entities.find_student_id_candidates(step.text):
        return False
    saved = entities.parse_date(step.text, step.now) or entities.parse_answer_date(step.text, step.now)[0]
    if (saved is None or saved > step.today or saved.isoformat() == step.state["saved_on"] or intents.bare_number(step.text)
            or len(intents.words(step.text)) > 8):
        return False
    before = esc
    step.topic = None
    step.say(step.msg("date_corrected"))
    # The report being collected stays in the state while the wait is computed again: past the
    # wait, the new report keeps what was given (and the notice is not shown twice); within it,
    # there is no report.
    waiting_from(step, saved, purpose="sin_vigencia")
    if step.state.get("esc") is before:
        step.state.pop("esc")
    return True


def _escalate(step: Step, reason: str) -> None:
    if step.stage == "ticket_open":
        # One case at a time: another problem told while a report is open goes to that report.
        ticket_open.add_to_ticket(step)
        return
    escalation.start(step, reason)


#: The guide's stages before the application exists: "sin derecho" there is good news.
_BEFORE_APPLYING = ("prereq_coverage", "prereq_other", "prereq_nss")


#: "retomar mi reporte", "seguir con el reporte", "¿y mi reporte?": the report set aside, back.
_RESUME = re.compile(r"\b(?:retom\w*|segui\w*|continu\w*|termin\w*|y)\s+(?:con\s+)?(?:mi|el)\s+reporte\b"
                     r"|^(?:y\s+)?mi reporte\b|\bmi (?:numero de )?reporte es\b|\bno mejor si quiero (?:reportarlo|el reporte)\b"
                     r"|\bsi (?:lo|la) quiero (?:mandar|enviar|levantar)\b|\bmejor si (?:lo |la )?(?:mando|envio|mandalo|envialo)\b")
#: "¿ya me resolvieron?", "¿qué pasó con mi reporte?": a report's progress asked for.
_ASKS_STATUS = re.compile(
    r"^(?:y )?ya me (?:resolvieron|contestaron|respondieron|atendieron|revisaron|corrigieron)\b"
    r"|\b(?:que paso|como va|como vamos|avance|novedades?) (?:con |de )?(?:mi|el) (?:reporte|folio|caso|ticket)\b"
    r"|\bmi (?:numero de )?(?:folio|ticket) es\b"
)
#: "sí acepto", "ok acepto el aviso".
_ACCEPTS = re.compile(r"\bacepto\b")


def _pause_report(step: Step) -> None:
    """Keep the report being collected, set aside by "menú" or by a new case days later, for
    "retomar mi reporte" to bring back."""
    esc = step.state.get("esc")
    if esc and (esc.get("data") or esc.get("description")) and not esc.get("answered"):
        step.state["paused_esc"] = {"esc": esc, "stage": step.stage}


def _asks_an_earlier_step(step: Step, stage: Stage) -> bool:
    """A "no …" of several words that names a step behind this one clearly ("no me acuerdo de
    mi NSS" at the CIA step): that step's matter, not this question's no."""
    if len(intents.words(step.text)) < 4 or stage.name not in PROCEDURE_STAGES:
        return False
    match = step.classify(step.text)
    target = TOPIC_STAGE.get(match.topic or "")
    return bool(match.confident and target in PROCEDURE_STAGES
                and PROCEDURE_STAGES.index(target) < PROCEDURE_STAGES.index(stage.name)
                and match.keyword_scores.get(match.topic or "", 0.0) >= STRONG)


def _new_problem(step: Step) -> bool:
    """A problem for the desk told clearly (an escalation topic's strong cue), not a question."""
    match = step.classify(step.text)
    return bool(match.confident and match.topic and step.kb.topics[match.topic].kind == "escalation"
                and match.keyword_scores.get(match.topic, 0.0) >= STRONG)


def _new_case(step: Step) -> bool:
    """A message that is a topic of its own (a question, another problem), with no data in it."""
    text = step.text
    if entities.find_nss_candidates(text) or entities.find_curp_candidates(text) or entities.find_student_id_candidates(text):
        return False
    match = step.classify(text)
    return bool(match.confident and match.topic and match.topic not in ("saludo", "despedida", "fuera_de_tema")
                and match.keyword_scores.get(match.topic, 0.0) >= STRONG)


def _reported_too(step: Step, match: Match) -> str | None:
    """A problem for the desk (not a mere request for a person) told clearly in the same message."""
    applied = entities.mentions_saving(step.text) or _APPLIED.search(" ".join(intents.words(step.text)))
    reported = [(score, t) for t, score in match.keyword_scores.items()
                if score >= STRONG and t != "duda_general" and step.kb.topics[t].kind == "escalation"
                and (t != "sin_vigencia" or applied)]  # "…y no tengo seguro": not a complaint of one who applied
    return max(reported)[1] if reported else None


#: Words of having applied: "hice mi solicitud", "ya me registré", "el trámite".
_APPLIED = re.compile(r"\b(?:solicitud|tramite|registre|aplique|hice|constancia|patron)\b")


def _urgent(step: Step) -> bool:
    """Whether the message is an emergency (urgencia named by a strong cue)."""
    match = step.classify(step.text)
    return match.topic == "urgencia" and match.keyword_scores.get("urgencia", 0.0) >= STRONG
