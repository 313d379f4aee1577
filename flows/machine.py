"""The conversation as a pure function: state + message + time → outcome.

:func:`advance` is the only entry point the core needs. It reads the
message in this order: a secret to redact → "menu" → a report set aside
(:mod:`flows.paused`) → the escalation being collected
(:mod:`flows.escalation`) → a numbered choice → the answer to the stage's
question (:mod:`flows.stage_reply` for yes/no, :mod:`flows.waiting` for a
date) → a topic understood by the matcher (:mod:`flows.answering`).
Whatever happens, it answers: no input makes it raise or stay silent.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from typing import Any

from flows import (
    answering,
    entities,
    escalation,
    followups,
    intents,
    paused,
    report_core,
    report_text,
    speaker,
    stage_reply,
    ticket_open,
    volunteered,
    waiting,
)
from flows.context import Step, is_answer_topic, is_vague
from flows.messages import FILE_NOTE, Incoming, OpenTicket, Outcome
from flows.procedure import (
    PROCEDURE_STAGES,
    STAGE_TOPIC,
    STAGES,
    Stage,
    answer,
    day_asked,
    enter,
    follow,
    main_menu_options,
    office_on_day,
    question_again,
    resume_prompt,
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
    data_text = entities.letter_o_as_zero(entities.without_secret_phrases(stored[:READ_LIMIT]))
    refused = FILE_NOTE.findall(text)
    text = FILE_NOTE.sub(" ", text)
    step = Step(kb, message, st, text, data_text=FILE_NOTE.sub(" ", data_text), had_secret=had_secret)
    if had_secret:
        step.say(step.msg("password_warning"))
    if refused:
        step.say(step.msg("file_refused"))
    # "soy mamá de un alumno": the replies speak of "tu hijo(a)" from here on; "ya soy yo, el
    # alumno" back to "tu", acknowledged.
    took_over = speaker.note(st, text)
    try:
        volunteered.remember(step)
        if took_over:
            step.say(step.msg("student_takes_over"))
        if had_secret and not message.attachments and volunteered.only_the_secret(step):
            volunteered.after_secret_only(step, options)
        elif took_over and speaker.only_takes_over(text):
            _go_on(step)
        else:
            _dispatch(step, options)
    except Exception:  # noqa: BLE001 - a student must get an answer whatever breaks
        st.pop("esc", None)
        step.stage = "menu"
        step.topic = None
        step.say(step.msg("internal_error"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
    if not step.replies:
        step.say(step.msg("footer"))
    if speaker.is_relative(st):
        # Every report of a parent's conversation says so, whichever path opened it (the summary,
        # the wait's end, a doubt for a person): staff know whom they will be answering.
        note = step.msg("relative_ticket_note")
        step.actions = [dataclasses.replace(a, writer_note=note) if isinstance(a, OpenTicket) else a
                        for a in step.actions]
    if intents.written_in_english(text) and not st.get("english_noted") and not step.recalls("english_only"):
        # An exchange student writing in English: once, in English, that the answers come in
        # Spanish and how to reach a person; then the answer itself (after a password warning).
        st["english_noted"] = True
        step.say(step.msg("english_note"))
        step.replies.insert(1 if had_secret else 0, step.replies.pop())
    st["turns"] = int(st.get("turns", 0)) + 1
    st["last_at"] = message.at.isoformat()  # read by the next message (a "hola" an hour later)
    if not st.get("privacy_ack"):
        # Before the privacy notice is accepted, nothing personal is kept, asked for or not
        # (a student may volunteer an NSS in a question): the report collects it after the notice.
        stored = volunteered.without_personal_data(stored)
    return Outcome(state=st, replies=step.replies, actions=step.actions, topic=step.topic, stored_text=stored)


def _go_on(step: Step) -> None:
    """The student took over from a parent and said only that: on where the conversation was
    (the report's missing data, the guide's question), the numbered options kept."""
    step.topic = None
    if escalation.active(step.state):
        escalation.reprompt(step)
    elif STAGES.get(step.stage) and STAGES[step.stage].question:
        resume_prompt(step)
    elif step.stage == "menu":
        step.say(step.msg("ask_doubt"))


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


def _privacy_answer(step: Step) -> None:
    """ "¿qué datos guardan de mí?", "quiero que borren mis datos": what is kept, for how long,
    who sees it; a person (who can delete them) still offered."""
    step.topic = "duda_general"
    escalation.start(step, "duda_general", known=step.msg("privacy_answer"))


#: "¿ya?", "¿y ya quedó?", "¿ya estoy?": whether it is done, asked.
_IS_IT_READY = re.compile(r"^(?:y |oye |entonces )?ya(?: (?:quedo|quede|estoy|esta|salgo|sali|aparezco|estoy vigente|salio))?$")
#: "ah no espera, sí tengo", "mi mamá me tiene en su IMSS": other coverage after all.
_HAS_COVERAGE_AFTER_ALL = re.compile(
    r"\b(?:espera|perdon|me equivoque|ah no|a no|oh)\b.*\bsi (?:tengo|cuento|estoy)\b"
    r"|\b(?:mi (?:mama|papa|esposo|esposa|jefa|jefe)|mis papas) me (?:tiene|tienen|trae|traen) (?:en su|asegurad[oa])")


#: What comes after each answer in the procedure's order, for "¿y luego?" outside the guide.
_AFTER_TOPIC = {"requisitos": "nss", "nss": "registro_cia", "registro_cia": "llenado", "llenado": "espera",
                "espera": "vigencia", "vigencia": "alta_umf"}


def _next_topic(step: Step, stage: Stage | None) -> bool:
    """ "¿y luego?" right after an answer given outside the guide (an NSS checked, say): the
    procedure's next topic (not "con eso no te puedo ayudar")."""
    if (step.stage not in ("menu", "done") or len(intents.words(step.text)) > 6
            or not intents.asks_next(step.text)):
        return False  # in the guide (the wait included) each step says what follows it
    after = _AFTER_TOPIC.get(step.recent("answered", within=2) or "")
    if after is None:
        return False
    answering.choose(step, f"topic:{after}")
    return True


#: "ya que esté activo", "cuando ya salga vigente": the coverage's next step is asked about.
_ONCE_COVERED = re.compile(r"\b(?:activo|activa|vigente|vigencia|asegurado|asegurada|cubierto|cubierta)\b")


def _previous_steps() -> dict[str, str]:
    """The guide's step before each one (for "regresa al paso anterior"), read from the stages'
    own links: the first step, in the guide's order, whose yes or no leads to it (the offer of
    the guide is no step to go back to)."""
    previous: dict[str, str] = {}
    for name, stage in STAGES.items():
        if name == "offer_guide":
            continue
        for target in (stage.on_yes, stage.on_no):
            if target in STAGES and target not in ("menu", "done") and target not in previous:
                previous[target] = name
    return previous


_PREVIOUS_STEP = _previous_steps()


#: The topic a step of the guide is about, for "¿y eso dónde?" there (its answer's topic, or the
#: topic of what it asks: the NSS, the wait, the coverage).
_WHERE_TOPIC = {**STAGE_TOPIC, "prereq_coverage": "otro_seguro", "prereq_nss": "nss",
                "waiting_saved_date": "espera", "waiting_period": "vigencia"}


_APPLIES = re.compile(r"\b(?:tramito|tramita|tramitan|tramitarlo|solicito|solicita|solicitan|solicitarlo|pido|pide|piden|pedirlo"
                      r"|lo saco|lo saca|lo sacan|sacarlo|lo hago|lo hace|lo hacen|me afilio|se afilia|me inscribo|se inscribe)\b")
#: "¿y eso dónde lo saco?", "¿y ese número dónde lo consigo?": a thing the answer named, obtained.
_GETS_THAT = re.compile(r"\b(?:eso|ese|esa|ese numero)\b.*\b(?:saco|saca|sacan|sacarlo|consigo|consigue|encuentro|encuentra"
                        r"|busco|busca|veo|ve|localizo|localiza)\b")


def _where_follow_up(step: Step, stage: Stage | None) -> bool:
    """ "¿y eso dónde?", "¿en qué página?" right after an answer (or at a step of the guide): where
    that is done, in one line with its link, not the whole answer again (nor "no te entendí")."""
    if not intents.asks_only_where(step.text):
        return False
    topic = step.recent("answered", within=2) or _WHERE_TOPIC.get(step.stage)
    folded = " ".join(intents.words(step.text))
    if topic == "requisitos" and _GETS_THAT.search(folded):
        topic = "nss"  # "¿y eso dónde lo saco?" after the requirements: of the two, the one obtained
    elif topic in ("urgencia", "otro_seguro", "espera", "sin_vigencia", "requisitos") and _APPLIES.search(folded):
        topic = "registro_cia"  # "¿y dónde lo tramito?" after the emergency's answer: the application
    elif topic in ("espera", "sin_vigencia"):
        topic = "vigencia"  # "¿y dónde checo eso?" after the wait: where the coverage is seen
    key = f"where_{topic}"
    if not topic or key not in step.kb.messages:
        return False
    step.topic = topic
    step.remember("answered", topic)
    step.say(step.msg(key))
    if stage and stage.question:
        step.say(question_again(step, stage))
    return True


#: "¿y lo otro que te pregunté?", "¿y lo demás?": a question of the last message, felt unanswered.
_THE_OTHER = re.compile(r"\b(?:y )?(?:lo|la|el) otr[ao] (?:que|q|k) (?:te )?(?:pregunte|dije|puse|escribi)\b"
                        r"|^(?:y )?(?:lo demas|lo otro|las otras|la otra pregunta|lo que te pregunte)$")


def _asks_for_the_other(step: Step, stage: Stage | None) -> bool:
    """Right after a message of several questions: which ones were answered, and the way to ask
    the missing one again (not the last answer word for word)."""
    if not _THE_OTHER.search(" ".join(intents.words(step.text))):
        return False
    several = step.recent("answered_several", within=2)
    topics = [t for t in (several or step.recent("answered", within=2) or "").split(",") if t in step.kb.topics]
    if not topics:
        return False
    step.topic = None
    labels = ", ".join(f"*{step.kb.topics[t].label}*" for t in topics)
    step.say(step.msg("the_other_asked", topics=labels))
    if stage and stage.question:
        step.say(question_again(step, stage))
    return True


def _follow_up_known(step: Step, stage: Stage | None) -> bool:
    """ "¿osea no puedo tener los dos?" right after the answer about other insurance: a question
    the bot would not understand alone, which a fact of the topic just answered settles; that
    fact, and the question pending again (not "no alcancé a entender la fecha")."""
    topic = step.recent("answered", within=2)
    if not topic or topic not in step.kb.topics:
        return False
    n = len(intents.words(step.text))
    if topic == "contacto" and n <= 6 and (day := day_asked(step)) is not None:
        # "¿y el martes?", "¿y el 17?" after the desk's hours on a day: that other day.
        step.topic = topic
        step.remember("answered", topic)
        step.say(office_on_day(step, day))
        if stage and stage.question:
            step.say(question_again(step, stage))
        return True
    match = step.classify(step.text)
    known = step.kb.matcher.known_answer(topic, step.text)
    if not intents.is_question(step.text) and not (known and n <= 8 and (is_vague(match) or match.topic == "fuera_de_tema")):
        # A statement only when a fact of that topic names it and nothing else would read it
        # ("pero ella ya no trabaja ahí" after the other-insurance answer).
        return False
    if (not is_vague(match) and not (match.topic == "despedida" and "?" in step.text)
            and not (known and n <= (10 if match.topic == "fuera_de_tema" else 8))):
        # ("gracias, ¿y lo de pagar?": thanks, and a question after them). A short question that
        # a fact of the topic just answered names is about it, whatever it resembles alone
        # ("¿o sea que no me atienden?" after the emergency's answer, not the desk's hours).
        return False
    if not known and (known := step.kb.matcher.known_answer("duda_general", step.text)):
        topic = "duda_general"  # "¿y lo de pagar?" after other answers: what the desk is known to say
    if not known:
        return False
    step.topic = topic
    step.remember("answered", topic)
    step.say(known)
    if stage and stage.question:
        step.say(question_again(step, stage))
    return True


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
            paused.pause_report(step)
        step.state.pop("esc", None)
        step.topic = "saludo"
        show_menu(step, greeting=True)
        return
    if paused.handle(step):
        return
    if step.stage == "menu" and not escalation.active(step.state) and speaker.only_announces(text):
        # "es para mi hija", "soy la mamá de Diego": nothing asked yet; the greeting, in the words
        # for a parent (not "con eso no te puedo ayudar", nor the contact card for "le escribo").
        step.topic = "saludo"
        show_menu(step, greeting=True)
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
        paused.pause_report(step)
        step.state.pop("esc")
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("stale_report_dropped"))
    if (escalation.active(step.state) or step.stage == "ticket_open") and answering.urgent(step):
        # An emergency in the middle of a report, or with one open: the emergency first (911),
        # whatever the report was waiting for; the report stays where it was.
        stage, esc = step.stage, step.state.get("esc")
        answering.answer_topic(step, step.classify(text), aside=True)
        step.stage = stage
        not_covered = step.classify(text).keyword_scores.get("sin_vigencia", 0.0) >= STRONG
        if esc is not None and stage == "escalation_describe" and not_covered:
            # "…está internado y no sale vigente" asked for the doubt: that is the case to tell;
            # it is the report's description, marked urgent, and the report goes on.
            step.state["esc"] = esc
            esc.pop("aside", None)
            esc["description"] = report_core.with_opening(esc, "URGENTE: " + report_text.description_text(text))
            esc["urgent"] = True
            step.say(step.msg("report_marked_urgent"))
            report_core.ask_for_rest(step, esc, [])
        elif esc is not None and (esc.get("reason") == "sin_vigencia" or not_covered):
            # At the hospital while the report of no coverage is being made: that is why it is
            # needed now. Marked urgent for staff, the desk's numbers, and the report goes on.
            step.state["esc"] = esc
            report_core.append_description(esc, "URGENTE: " + report_text.description_text(text))
            esc["urgent"] = True
            step.say(step.msg("report_marked_urgent"))
            escalation.reprompt(step)
        elif esc is not None:
            step.state["esc"] = esc
            step.say(step.msg("report_after_emergency"))
        else:  # the open report gets it too: staff see what happened
            reason = str(step.state.get("ticket_reason") or "duda_general")
            urgent = not_covered or reason == "sin_vigencia"  # as in a report being made (above)
            detail = report_text.description_text(text)
            step.act(OpenTicket(reason=reason, description=f"URGENTE: {detail}" if urgent else detail,
                                urgent=urgent))
            step.say(step.msg("ticket_updated"))
        return
    if escalation.active(step.state) and _changes_mind(step):
        return
    if escalation.active(step.state) and _corrects_date_of_report(step):
        return
    if escalation.active(step.state) and waiting.doubt_is_no_coverage(step):
        return
    if escalation.active(step.state):
        if escalation.handle(step):
            return
        if "esc" in step.state:
            # A question in the middle: answered, and the report stays where it was.
            stage, esc = step.stage, step.state["esc"]
            match = step.classify(text)
            answering.answer_topic(step, match, aside=True)
            step.stage, step.state["esc"] = stage, esc
            if escalation.answered_as_the_doubt(step):
                step.say(step.msg("doubt_answered"))
            elif step.topic == "urgencia" and answering.urgent(step):
                # An emergency in the middle of a report: no data asked for right after it.
                step.say(step.msg("report_after_emergency"))
            else:
                escalation.reprompt(step)
            return
        step.stage = "menu"  # the report ended with nothing reported yet ("hola" after a known answer)
    if step.stage == "ticket_open" and not step.message.attachments and ticket_open.corrects_data(step):
        return
    if step.stage == "ticket_open" and step.message.attachments:
        reason = str(step.state.get("ticket_reason") or "duda_general")
        step.act(OpenTicket(reason=reason, description=report_text.description_text(text),
                            attachments=step.message.attachments))
        step.say(step.msg("ticket_updated"))
        return
    numbers = [int(k) for k in options if k.isdigit()]
    key = intents.option_key(text, last=max(numbers) if numbers and len(numbers) == len(options) else None)
    if key and key in options:
        answering.choose(step, options[key])
        return
    several = intents.option_keys(text) if not key else []
    if several and all(k in options for k in several):
        answers = [k for k in several if options[k].startswith("topic:") and answering.kb_kind(step, options[k]) == "answer"]
        others = [k for k in several if k not in answers]
        if len(others) <= 1:
            # "3 y 6": each answer in the order asked, and the last one leads on as if chosen
            # alone; "3 y 11": the answer, then the person (or the guide) it asked for.
            lead = others[0] if others else answers.pop()
            for k in answers:
                answer(step, options[k].split(":", 1)[1])
            answering.choose(step, options[lead])
            return
    if key and options and intents.bare_number(text) and all(k.isdigit() for k in options):
        # "12" to a menu of 11: no such option (not "con eso no te puedo ayudar").
        step.topic = None
        step.say(step.msg("option_out_of_range", n=len(options)))
        return
    stage = STAGES.get(step.stage)
    if volunteered.asks_if_covered_with_data(step):
        step.topic = "vigencia"
        answering.answer_topic(step, Match.certain("vigencia"))
        return
    if volunteered.only_an_id(step, stage):
        return
    if volunteered.report_data_unasked(step):
        return
    if _where_follow_up(step, stage):
        return
    if _asks_for_the_other(step, stage):
        return
    if _follow_up_known(step, stage):
        return
    if followups.resolve(step, stage):
        return
    if _next_topic(step, stage):
        return
    if _about_the_bot(step, stage):
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
            answering.choose(step, main[number])
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
    if (stage and stage.expects == "date" and report_text.asks_about_privacy(text)
            and not entities.mentions_date(text)):
        _privacy_answer(step)  # "quiero que borren mis datos" to "¿qué día la guardaste?": not a date
        return
    if stage and stage.expects == "date" and intents.asks_next(text) and not entities.mentions_date(text):
        # "ok, ¿y ya que esté activo qué sigue?" to "¿qué día la guardaste?": what follows the
        # wait, then the day again (not "no alcancé a entender la fecha").
        step.topic = "alta_umf" if _ONCE_COVERED.search(" ".join(intents.words(text))) else "espera"
        step.say(step.msg("next_waiting_saved_date"))
        step.say(step.msg("resume_saved_date"))
        return
    if stage and stage.expects == "date" and answering.urgent(step):
        # "oye, ¿y si tengo una emergencia ahorita?": the emergency first ("ahorita" is no date).
        match = step.classify(text)
        answering.answer_topic(step, match, aside=True)
        step.stage = stage.name
        step.say(step.msg("resume_saved_date"))
        return
    if stage and stage.question and stage.expects != "date" and intents.continues(text):
        # "ok sigamos con la solicitud" after a question on the side: the step's question again,
        # not a "sí" to it, a goodbye, nor the guide from its start.
        step.topic = None
        step.say(step.msg("go_on") + " " + question_again(step, stage))
        return
    if stage and stage.expects == "date" and stage_reply.asks_what_it_is(text):
        # "no entendí" to "¿qué día guardaste tu solicitud?": not a "not yet"; what is asked, and why.
        step.topic = None
        step.say(step.msg("saved_date_explained") + "\n" + question_again(step, stage))
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
    if stage and stage.expects == "yesno" and stage_reply.reply(step, stage, text):
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
    if step.stage in ("waiting_period", "checking_coverage") and waiting.names_other_employer(text):
        # "ya me aparece con derecho pero el último patrón dice otra empresa": not the facultativo
        # (ITSON must be the last employer); the desk solves it, whatever day of the wait it is.
        waiting.other_employer(step)
        return
    umf = STAGES["umf_registration"]
    if (step.stage in ("waiting_period", "checking_coverage") and not intents.is_question(text)
            and not {"como", "donde", "cuando", "cual"} & set(intents.words(text))  # "…, ¿cómo me doy de alta?"
            and not intents.reports_failure(text) and stage_reply.says_done(umf, text)):
        # "ya salí vigente y ya me di de alta en la clínica": the last step too; the end.
        step.topic = "alta_umf"
        step.stage = umf.name
        follow(step, umf.on_yes)
        return
    if step.stage in ("waiting_period", "checking_coverage") and intents.tells_covered(text):
        # "¡ya salí vigente!" before the last day (coverage often shows early), "ya entré y dice
        # vigente, ¿y luego?" when asked to check: the last step.
        step.topic = "alta_umf"
        step.say(step.msg("covered_news"))
        enter(step, "umf_registration")
        return
    if step.stage == "waiting_period" and waiting.is_over(step) and _IS_IT_READY.match(" ".join(intents.words(text))) and (
            "?" in text or "¿" in text):
        # "¿ya?" the day after the last one: the student asks, nothing is answered yet; the wait
        # is over, so the constancia and its question (a "no" then is the report).
        step.topic = "vigencia"
        waiting.ask_coverage_after_the_wait(step)
        return
    if step.stage == "waiting_period" and waiting.is_over(step) and (
            intents.yes_no(text) is not None or intents.long_yes(text)):
        # Past the last day, "sí" / "no" / "ya revisé y sí salgo con derecho" answer the
        # question the reminder asks ("¿ya apareces vigente?").
        step.stage = "checking_coverage"
        _dispatch(step, options)
        return
    if step.stage == "waiting_period" and waiting.bare_yes(step):
        return
    if (step.stage in ("prereq_nss", "nss_lookup", "cia_route", "filling")
            and _HAS_COVERAGE_AFTER_ALL.search(" ".join(intents.words(text)))
            and not entities.mentions_saving(text)):
        # "ah no espera, sí tengo, mi mamá me tiene en su IMSS" after saying no other coverage: the
        # requirement answered again, as a yes (not the earlier "no" kept).
        step.stage = "prereq_coverage"
        follow(step, STAGES["prereq_coverage"].on_yes)
        return
    if intents.goes_back(text) and step.stage in _PREVIOUS_STEP:
        # "regresa al paso anterior", "atrás": the guide's step before this one, shown again.
        step.topic = None
        enter(step, _PREVIOUS_STEP[step.stage])
        return
    if intents.wants_guide(text):
        answering.choose(step, "guide")
        return
    if report_text.asks_about_privacy(text) and not escalation.active(step.state) and step.stage != "ticket_open":
        _privacy_answer(step)
        return
    if (step.state.get("ticket_number") and not escalation.active(step.state) and step.stage != "ticket_open"
            and (step.stage == "menu" or _new_problem(step))):
        # After "menú", or a step of the guide since, a report still open: what is said goes to
        # it, not to a second one.
        step.stage = "ticket_open"
    if step.stage == "ticket_open" and waiting.open_doubt_is_no_coverage(step):
        return
    if step.stage == "ticket_open" and ticket_open.follow_up(step, lambda m: answering.answer_topic(step, m, aside=True)):
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
    answering.answer_topic(step, match)


def _about_the_bot(step: Step, stage: Stage | None) -> bool:
    """ "¿eres un bot?", "¿hablo con alguien de verdad?", "do you speak english?": what answers
    here, and the way to a person (a question pending is asked again)."""
    text = step.text
    folded = " ".join(intents.words(text))
    if len(intents.words(text)) <= 12 and _ASKS_ENGLISH.search(folded):
        step.topic = "saludo"
        step.remember("english_only")
        step.say(step.msg("english_only"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
        return True
    if (len(intents.words(text)) > 10 or not _ASKS_IF_BOT.search(folded)
            or step.classify(_ASKS_IF_BOT.sub(" ", folded)).keyword_scores.get("fuera_de_tema", 0.0) >= STRONG):
        return False  # ("¿eres chatgpt? cuéntame un chiste": off-topic)
    step.topic = "saludo"
    if stage and stage.question:
        step.say(step.msg("bot_identity") + "\n" + question_again(step, stage))
    else:
        step.say(step.msg("bot_identity"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
    return True


#: "do you speak english?", "¿hablas inglés?".
_ASKS_ENGLISH = re.compile(r"\b(?:do you|can you|you) speak english\b|\bin english\b|\bhablas? ingles\b|\ben ingles\b")
#: "¿eres un bot?", "¿hablo con una persona o con una máquina?", "¿eres humano?".
_ASKS_IF_BOT = re.compile(
    r"\bquien (?:me )?(?:contesta|responde|escribe)\b"
    r"|\b(?:eres|sos|estoy hablando con|hablo con) (?:un |una )?(?:bot|robot|maquina|humano|humana|persona real|persona o"
    r"|ia|inteligencia artificial|chatbot|contestadora automatica|asistente virtual|alguien de verdad|persona de verdad)\b"
    r"|\bare you (?:a )?(?:bot|robot|human|real)\b|\beres (?:el |un )?chat ?gpt\b|\beres (?:una )?ia\b"
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
    answering.answer_topic(step, match)
    return True


#: "fue hoy", "era hoy", "la mandé hoy": today said as the save day.
_SAYS_THE_DAY = re.compile(r"\b(?:fue|era|es) (?:el |la |en )?(?:hoy|ahorita|este dia)\b|^(?:no )?(?:hoy|fue hoy)$")


def _corrects_date_of_report(step: Step) -> bool:
    """ "no, fue el 5 de agosto" while the data of a "sin vigencia" report is collected (the
    report came from the day given before): the waiting period is computed again, and within
    it there is no report (topics.md)."""
    esc = step.state["esc"]
    if esc.get("reason") != "sin_vigencia" or not step.state.get("saved_on"):
        return False
    if entities.find_nss_candidates(step.text) or entities.find_student_id_candidates(step.text):
        return False
    if intents.is_question(step.text) or report_text.asks_when_answered(step.text):
        return False  # "¿cuándo me contestan? mañana es sábado": a question, not another save day
    saved = entities.parse_date(step.text, step.now) or entities.parse_answer_date(step.text, step.now)[0]
    if saved == step.today and not (entities.mentions_saving(step.text) or intents.yes_no(step.text) is False
                                    or _SAYS_THE_DAY.search(" ".join(intents.words(step.text)))):
        return False  # "ahorita te los paso", "hoy no traigo mi CURP": now, not the day it was saved
    if (saved is None or saved > step.today or saved.isoformat() == step.state["saved_on"] or intents.bare_number(step.text)
            or len(intents.words(step.text)) > (12 if entities.mentions_saving(step.text) else 8)):
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


