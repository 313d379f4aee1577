"""The stages of the procedure, declared as data, and what entering each says.

The procedure of the guide, in order: prerequisites (other coverage? NSS?)
→ the CIA route → filling and saving → the waiting period → checking
coverage → registering at the UMF → done. Each stage may ask one question;
:data:`STAGES` says what a yes or a no (or a date) to it leads to, so the
diagram in flows/README.md can be read off this table.
"""
from __future__ import annotations

import re

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flows import entities, escalation, intents
from flows.context import Step
from flows.messages import CancelReminders, ScheduleReminder

#: Hour of the day (campus time) at which reminders go out: inside office hours.
REMINDER_TIME = time(9, 0)


@dataclass(frozen=True)
class Stage:
    """One stage: the question it asks and where each answer leads.

    ``expects`` is "yesno", "date" or None (the stage asks nothing).
    ``on_yes``/``on_no`` name the next stage, or a special handler of
    :data:`SPECIAL` (prefixed with "!").
    """

    name: str
    question: str | None = None
    expects: str | None = None
    on_yes: str | None = None
    on_no: str | None = None
    label: str = ""
    #: Word stems of what the question is about. A longer "ya …" answers
    #: yes only when it is about that ("ya me di de alta" to "¿pudiste darte
    #: de alta?"); "ya salí vigente" to it says something else.
    subject: tuple[str, ...] = ()
    #: The topic whose answer helps a student who does not know ("no sé" to "¿ya tienes
    #: servicio médico?": how to check it); the question is asked again after it.
    dont_know: str | None = None
    #: A statement of this topic answers yes ("tengo ISSSTE por mi mamá" to "¿ya tienes
    #: servicio médico por otro lado?").
    yes_topic: str | None = None
    #: Questions of these topics, asked here, mean "how do I find out?" ("¿cómo sé si tengo?" to
    #: "¿ya tienes servicio médico?" is not about checking the new coverage): ``dont_know``'s answer.
    asked_as_dont_know: tuple[str, ...] = ()
    #: "Todavía no" here means "I have not looked / tried yet", not "no": the no of this
    #: question opens a report, which would be premature.
    not_yet_waits: bool = False
    #: Even a bare "todavía no" means "not tried yet" ("¿pudiste darte de alta?"; to "¿ya
    #: apareces vigente?" it is a no).
    bare_not_yet_waits: bool = False
    #: "No sé cuál es" is a no here ("¿ya conoces tu NSS?").
    not_sure_is_no: bool = False
    #: The question asks to be told when something is done ("escríbeme *listo*"): "ok" is
    #: only an acknowledgement.
    ok_is_ack: bool = False


STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("menu"),
    Stage("offer_guide", "q_offer_guide", "yesno", "prereq_coverage", "menu", "la guía paso a paso",
          ("gui", "quiero", "paso", "empez", "ayud", "dale")),
    Stage("prereq_coverage", "q_prereq_coverage", "yesno", "prereq_other", "prereq_nss", "los requisitos",
          ("tengo", "imss", "issste", "seguro", "servicio", "trabaj", "papa", "mama", "pemex", "sedena", "semar",
           "cuento", "tiene", "derecho", "asegur", "afili"), "otro_seguro", "otro_seguro", ("vigencia",)),
    Stage("prereq_other", "q_prereq_other", "yesno", "prereq_nss", "menu", "los requisitos",
          ("segu", "tramit", "sin derecho", "solicit", "continu", "sigamos"), "otro_seguro"),
    Stage("prereq_nss", "q_prereq_nss", "yesno", "cia_route", "nss_lookup", "tu NSS",
          ("nss", "numero", "conozco", "tengo", "lo se", "me lo se", "sabe", "conoce", "tiene"), not_sure_is_no=True),
    Stage("nss_lookup", "q_nss_lookup", "yesno", "cia_route", "!nss_help", "tu NSS",
          ("nss", "numero", "tengo", "encontre", "saque", "llego", "lleg", "consegui",
           "tiene", "encontro", "saco", "consiguio"), ok_is_ack=True),  # a parent's "ya lo tiene", "ya lo sacó" too
    Stage("cia_route", "q_cia_route", "yesno", "filling", "!cia_help", "la solicitud en el CIA",
          ("estoy", "entre", "solicitud seguro", "encontre", "ahi", "aparece", "veo", "abri", "dentro", "explica",
           "llen", "cia", "pantalla", "entro", "encontro")),
    Stage("filling", "q_filling", "yesno", "waiting_saved_date", "!filling_wait", "el llenado de tu solicitud",
          ("guard", "mande", "envie", "hice", "llene", "lleno", "termine", "quedo", "solicitud"), ok_is_ack=True),
    Stage("waiting_saved_date", "q_saved_date", "date", None, None, "la fecha en que guardaste tu solicitud"),
    Stage("waiting_period"),
    Stage("checking_coverage", "q_checking", "yesno", "umf_registration", "!not_covered", "revisar tu vigencia",
          ("vigen", "derecho", "aparezco", "aparece", "sale", "sali", "salgo", "activ", "patron", "itson",
           "constancia", "cubiert", "asegur"), "vigencia", not_yet_waits=True),
    Stage("umf_registration", "q_umf", "yesno", "done", "!umf_problem", "tu alta en la clínica",
          ("alta", "clinica", "umf", "registr", "consultorio", "pude", "inscrib", "quede en", "asign"),
          not_yet_waits=True, bare_not_yet_waits=True, ok_is_ack=True),
    Stage("done"),
    Stage("ticket_open"),
)}

#: The stages of the procedure, in order: a question about another topic
#: asked in one of them is answered there, and the procedure resumes.
PROCEDURE_STAGES = (
    "offer_guide", "prereq_coverage", "prereq_other", "prereq_nss", "nss_lookup", "cia_route", "filling",
    "waiting_saved_date", "waiting_period", "checking_coverage", "umf_registration",
)
#: Words that finish any "ya …" answer whatever the question: "ya quedó", "ya lo hice".
DONE_WORDS = ("si", "quedo", "listo", "hice", "hecho", "termine", "pude", "esta", "ya mero", "claro", "ok")


def answers_yes(stage: Stage, text_words: list[str]) -> bool:
    """Whether a yes of several words is about the stage's own question.

    "sí", "ya", "ya quedó", "claro que sí" always are; "ya salí vigente"
    to "¿pudiste darte de alta en tu clínica?" is not: it is news about
    another step, for the matcher to read.
    """
    rest = [w for w in text_words if w not in ("ya", "y", "pues", "bueno", "oye", "la", "lo", "el", "me", "mi")]
    joined = " " + " ".join(text_words) + " "
    cues = (*stage.subject, *DONE_WORDS)
    if len(text_words) < 3 or not rest:
        # "ya entré" to "¿ya guardaste tu solicitud?" is a step behind, not a yes.
        return not _other_step(stage, joined, cues)
    if _other_step(stage, joined, stage.subject):
        # "sí, ya estoy vigente" to "¿pudiste darte de alta en tu clínica?": the yes is about
        # the step before (news), not this one.
        return False
    return any(f" {c}" in joined for c in cues)


def names_earlier_step(stage: Stage, text_words: list[str]) -> bool:
    """Whether a yes is news about a step before this one ("sí, ya estoy vigente" while
    registering at the clinic), with nothing of this one."""
    if stage.name not in PROCEDURE_STAGES:
        return False
    joined = " " + " ".join(text_words) + " "
    if any(f" {c}" in joined for c in stage.subject):
        return False
    earlier = PROCEDURE_STAGES[:PROCEDURE_STAGES.index(stage.name)]
    return any(f" {c}" in joined for name in earlier for c in STAGES[name].subject
               if len(c) >= 4 and c not in DONE_WORDS)


def _other_step(stage: Stage, joined: str, cues: tuple[str, ...]) -> bool:
    """A short answer naming what another stage is about, and nothing of this one."""
    if any(f" {c}" in joined for c in cues):
        return False
    others = {c for s in STAGES.values() if s is not stage for c in s.subject if len(c) >= 4 and c not in DONE_WORDS}
    return any(f" {c}" in joined for c in others)


#: Topics that are a stage of the procedure: asking about one jumps there.
TOPIC_STAGE = {
    "requisitos": "offer_guide",
    "nss": "nss_lookup",
    "registro_cia": "cia_route",
    "llenado": "filling",
    "vigencia": "checking_coverage",
    "alta_umf": "umf_registration",
}
#: What a stage shows before its question (a topic's answer), if anything.
STAGE_TOPIC = {
    "offer_guide": "requisitos",
    "prereq_other": "otro_seguro",
    "nss_lookup": "nss",
    "cia_route": "registro_cia",
    "filling": "llenado",
    "checking_coverage": "vigencia",
    "umf_registration": "alta_umf",
}


def answer(step: Step, topic_id: str) -> None:
    """Say a topic's answer, every message of it (the contact card with whether the desk is open now),
    after the known answer the message asks for, if any ("¿puedo usar el NSS de mi papá?")."""
    found = step.kb.matcher.known(topic_id, step.text)
    known = found.answer if found else None
    again = step.recalls("answered", topic_id, within=3)
    step.remember("answered", topic_id)  # "¿y qué hago?", "¿y el ISSSTE sí cuenta?" next: read with it
    if known:
        step.say(known)
        if again or (found and found.alone) or _repeats_answer(known, step.answers(topic_id)):
            # "¿y el ISSSTE sí cuenta o no?" after the answer: that, not the whole answer again;
            # "¿qué necesito para darme de alta en la clínica?": the known answer already gives the
            # service's link, which the whole answer would give a second time.
            return
    day = day_asked(step) if topic_id == "contacto" else None
    if day is not None:
        step.say(office_on_day(step, day))  # "¿atienden el 16 de marzo?": that day first, then the card
    for text in step.answers(topic_id):
        step.say(text)
    if day is None and topic_id == "contacto" and not step.hours.is_open(step.now):
        step.say(office_closed_now(step))


_LINK = re.compile(r"https?://[^\s)»,]+")


def _repeats_answer(known: str, answers: tuple[str, ...] | list[str]) -> bool:
    """Whether a known answer points to the same service as the topic's whole answer (every link it
    gives is one of the answer's): said together, the student reads the same service twice."""
    links = {u.rstrip(".") for u in _LINK.findall(known)}
    return bool(links) and links <= {u.rstrip(".") for a in answers for u in _LINK.findall(a)}


#: "¿y el martes?", "¿y el 17?", "¿y mañana?": only a day, asked after another.
_ONLY_A_DAY = re.compile(r"^(?:y |entonces |y que tal |y ya |pero )?(?:el |este |el proximo |este proximo )?"
                         r"(lunes|martes|miercoles|jueves|viernes|sabado|domingo|\d{1,2}|manana|pasado manana)"
                         r"(?: (?:si|tambien|atienden|abren|trabajan))?$")
_WEEKDAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")


def _day_ahead(step: Step) -> date | None:
    """The day a bare "¿y el martes?" / "¿y el 17?" / "¿y mañana?" means: the next one, today excluded."""
    m = _ONLY_A_DAY.match(" ".join(intents.words(step.text)))
    if not m:
        return None
    said = m.group(1)
    if said == "manana":
        return step.today + timedelta(days=1)
    if said == "pasado manana":
        return step.today + timedelta(days=2)
    if said in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(said) - step.today.weekday()) % 7 or 7
        return step.today + timedelta(days=ahead)
    day = int(said)
    if not 1 <= day <= 31:
        return None
    year, month = step.today.year, step.today.month
    if day <= step.today.day:  # this month's has passed: the next month's
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    for _ in range(2):  # ("el 31" in a month of 30 days: the one after)
        try:
            return date(year, month, day)
        except ValueError:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def day_asked(step: Step) -> date | None:
    """The day a question about the desk names ("¿atienden el 16 de marzo?", "¿abren mañana?"),
    today or later; None when it names none."""
    ahead = _day_ahead(step)
    if ahead is not None:
        return ahead
    said, _ = entities.parse_answer_date(step.text, step.now)
    if said is not None and (step.today - said).days > 7 and entities.mentions_date(step.text):
        # Read as a day gone by (the way a save day is): a question about the desk asks ahead,
        # "¿atienden el 16 de noviembre?" in August is this November, not last year's.
        try:
            ahead = said.replace(year=said.year + 1)
        except ValueError:  # 29 February
            ahead = None
        said = ahead if ahead is not None and step.today < ahead <= step.today.replace(year=step.today.year + 1) else said
    return said if said is not None and said > step.today else None


def day_message(step: Step, day: date, prefix: str) -> str:
    """``prefix``'s message for what ``day`` is on the desk's calendar: ``{prefix}_open`` (a
    business day), ``{prefix}_rest`` (a rest day, named) or ``{prefix}_weekend``. The desk's
    hours ("¿atienden el 16 de marzo?") and the wait ("¿el 1 de mayo cuenta?") both ask it."""
    when = step.date_es(day)
    if step.calendar.is_business_day(day):
        return step.msg(f"{prefix}_open", when=when)
    rest = step.calendar.rest_day_name(day)
    return step.msg(f"{prefix}_rest", when=when, rest=rest) if rest else step.msg(f"{prefix}_weekend", when=when)


def office_on_day(step: Step, day: date) -> str:
    """Whether the desk works on ``day``."""
    return day_message(step, day, "office_day")


def office_closed_now(step: Step, *, about: str = "office") -> str:
    """ "Ahorita la mesa de ayuda está cerrada (hoy es día de descanso: …); vuelve a atender mañana …
    a las 8:00 a.m.". ``about="desk"``: the same for an open report ("tu reporte lo ven …"),
    without the invitation to leave a doubt."""
    from flows.calendar import format_opening_es

    opening = format_opening_es(step.hours.next_opening(step.now), step.now, tz=step.kb.desk.timezone)
    rest = step.calendar.rest_day_name(step.today)
    if rest:
        return step.msg(f"{about}_closed_rest_day", rest=rest, when=opening)
    return step.msg(f"{about}_closed_now", when=opening)


def ask(step: Step) -> None:
    """Ask the current stage's question, if it has one."""
    stage = STAGES.get(step.stage)
    if stage and stage.question:
        step.say(step.msg(stage.question))


def enter(step: Step, name: str, *, show_answer: bool = True) -> None:
    """Move to stage ``name``: show its content and ask its question."""
    step.stage = name
    if name == "menu":
        show_menu(step, greeting=False)
        return
    if name == "done":
        step.act(CancelReminders())
        step.say(step.msg("done"))
        return
    topic = STAGE_TOPIC.get(name)
    if topic and show_answer:
        answer(step, topic)
        step.remember("steps_shown", name)  # a bare "no" right after them is not "I tried and could not"
    ask(step)


def main_menu_options(step: Step) -> list[tuple[str, str]]:
    """The main menu's (target, label) pairs, in order: "1" is always the guide."""
    options = [("guide", step.msg("menu_guide"))]
    options += [(f"topic:{t.id}", t.label) for t in step.kb.menu_topics()]
    options.append(("person", step.msg("menu_person")))
    return options


#: Channels that show a reply's options as buttons rather than a numbered list.
BUTTON_CHANNELS = frozenset({"telegram", "webchat"})


#: How long after the bot introduced itself a greeting gets the menu alone.
REGREET_AFTER = timedelta(hours=1)
#: How long a greeting right after the menu gets only "¿cuál es tu duda?" (the menu is above).
MENU_JUST_SHOWN = timedelta(minutes=2)


#: "no entiendo", "¿y luego?" right under the menu: how to use it, not "¿cuál es tu duda?".
_CONFUSED = re.compile(r"\b(?:no (?:le )?(?:entiendo|entendi)|y (?:luego|despues|ahora))\b")


def show_menu(step: Step, *, greeting: bool) -> None:
    """The main menu: the guided procedure, the menu topics, a person."""
    options = main_menu_options(step)
    # Telegram and the web chat show the options as buttons: nothing to type there.
    ask = step.msg("menu_intro_buttons" if step.message.channel in BUTTON_CHANNELS else "menu_intro")
    shown = step.state.get("menu_at")
    if (greeting and shown and step.text.strip() and not intents.is_menu_command(step.text)
            and timedelta(0) <= step.now - datetime.fromisoformat(shown) < MENU_JUST_SHOWN):
        # "hola" / "una pregunta" / "sobre el nss" typed in a row: the menu is right above (a
        # sticker, with nothing to read, still gets the menu).
        step.stage = "menu"
        confused = _CONFUSED.search(" ".join(intents.words(step.text)))
        step.say(step.msg("menu_explained" if confused else "ask_doubt"))
        return
    step.state["menu_at"] = step.now.isoformat()
    if greeting:
        # "hola" again a few minutes later: the menu, not the whole introduction a second time.
        last = step.state.get("greeted_at")
        if last and timedelta(0) <= step.now - datetime.fromisoformat(last) < REGREET_AFTER:
            greeting = False
            ask = step.msg("hello_again") + " " + ask
        else:
            step.state["greeted_at"] = step.now.isoformat()
    intro = step.answers("saludo")[0] + "\n\n" + ask if greeting else ask
    step.stage = "menu"
    step.say(intro, options)


def question_again(step: Step, stage: Stage) -> str:
    """The stage's question, asked a second time: its ``<question>_again`` wording where the
    first one opens the step ("Empecemos 💪 Primero: …" is not said twice)."""
    assert stage.question is not None
    again = stage.question + "_again"
    return step.msg(again if again in step.kb.messages else stage.question)


def where_label(step: Step, stage: Stage) -> str:
    """The stage's name in "¿Seguimos con …?": messages.yaml's ``resume_where_<stage>`` when it has
    one (worded for who writes: "el NSS de tu hijo(a)"), else the stage's own label."""
    key = f"resume_where_{stage.name}"
    return step.msg(key) if key in step.kb.messages else stage.label


def resume_prompt(step: Step) -> None:
    """After an aside, offer to go back to where the procedure was."""
    stage = STAGES.get(step.stage)
    if stage and stage.question and stage.name == "offer_guide":
        step.say(question_again(step, stage))  # the question is itself whether to go on with the guide
    elif stage and stage.question:
        step.say(step.msg("resume", where=where_label(step, stage)) + "\n" + question_again(step, stage))
    elif step.stage == "waiting_period" and step.state.get("waiting_end"):
        end = date.fromisoformat(step.state["waiting_end"])
        step.say(step.msg("resume_waiting", end=step.date_es(end)))
    else:
        step.say(step.msg("footer"))


# --- the waiting period ------------------------------------------------------------------


def _countdown(step: Step, end: date) -> str:
    """ "Aún no: tu fecha es el jueves 19 de marzo (faltan 2 días hábiles)…"."""
    left, day = 0, step.today
    while day < end:
        day += timedelta(days=1)
        left += step.calendar.is_business_day(day)
    rest = step.calendar.rest_day_name(step.today)
    when = (step.msg("countdown_tomorrow") if left == 1 and end == step.today + timedelta(days=1)
            else step.msg("countdown_days", n=left) if left > 1 else step.msg("countdown_next"))
    text = step.msg("waiting_countdown", end=step.date_es(end), left=when)
    return text + (" " + step.msg("countdown_rest_today", rest=rest) if rest else "")


def reminder_due(step: Step, end: date) -> datetime:
    """When to ask "¿ya apareces vigente?": the last day of the wait at 9:00.

    Told on that day after 9:00, the student is asked the next business day
    instead: a reminder due in the past would go out at once.
    """
    due = datetime.combine(end, REMINDER_TIME, tzinfo=step.now.tzinfo)
    if due <= step.now:
        due = datetime.combine(step.calendar.add_business_days(step.today, 1), REMINDER_TIME, tzinfo=step.now.tzinfo)
    return due


def offer_cases(step: Step, message: str) -> None:
    """``message`` and the desk's three cases to pick from, a person as the fourth option."""
    cases = ("datos_erroneos", "error_solicitud", "sin_vigencia")
    step.say(step.msg(message), [(f"topic:{t}", step.kb.topics[t].label) for t in cases]
             + [("person", step.msg("problem_other"))])


def waiting_from(step: Step, saved: date, *, purpose: str) -> None:
    """The student saved the application on ``saved``: tell them the date.

    Up to and including the last day of the waiting period there is no
    ticket, only the date and a reminder for it; after it, ``sin_vigencia``
    collects the data for a ticket and ``espera`` asks them to check.
    """
    if saved > step.today:
        step.say(step.msg("date_in_future", date=step.date_es(saved)))
        step.stage = "waiting_saved_date"
        step.state["date_purpose"] = purpose
        return
    step.remember("answered", "espera")  # "¿y eso dónde lo veo?" next: where the coverage is seen
    step.state["saved_on"] = saved.isoformat()
    end = step.calendar.waiting_period_end(saved, step.kb.desk.waiting_days)
    step.state["waiting_end"] = end.isoformat()
    step.state["waiting_purpose"] = purpose
    step.state.pop("date_purpose", None)
    values = {"saved": step.date_es(saved), "end": step.date_es(end), "days": step.kb.desk.waiting_days}
    approximate = entities.is_approximate_date(entities.saved_clause(step.text) or step.text)
    if entities.resaved_day(step.text, step.now) == saved:
        # "la guardé el 3 pero la corregí el 5": which of the two days the wait counts from.
        step.say(step.msg("date_from_resave", saved=values["saved"]))
    elif approximate:
        # "la semana pasada": the day taken is said first, so a wrong guess can be corrected.
        step.say(step.msg("date_approximate", saved=values["saved"]))
    if step.today <= end:
        key = "waiting_until_sin_vigencia" if purpose == "sin_vigencia" else "waiting_until"
        due = reminder_due(step, end)
        if due.date() != end:
            # Told on the last day itself, after the reminder's hour: "hoy", and the next day's reminder.
            key += "_today"
            values["next"] = step.date_es(due.date())
        if key == "waiting_until_sin_vigencia" and step.state.get("wait_told") == end.isoformat():
            # "sigo igual" again, day after day: how many days are left, not the same paragraph
            # word for word (and why today does not count, on a rest day).
            step.say(_countdown(step, end))
        else:
            step.say(step.msg(key, **values))
        step.state["wait_told"] = end.isoformat()
        if purpose == "sin_vigencia" and intents.asks_for_a_person(step.text):
            # "no sale, pásame con la mesa de ayuda" within the wait: no report yet (topics.md),
            # but the way to a person is never closed.
            step.say(step.msg("waiting_person"))
        step.act(ScheduleReminder(due=due))
        step.stage = "waiting_period"
        return
    if step.stage == "waiting_period":  # a corrected date that is already past: no reminder any more
        step.act(CancelReminders())
    said_not_covered = step.recalls("said_not_covered_at")
    step.forget("said_not_covered_at")
    if said_not_covered:
        # "…dicen que no estoy vigente", then "la guardé hace 2 semanas": they told it already;
        # the report, not "¿ya apareces vigente?".
        purpose = "sin_vigencia"
    if purpose == "sin_vigencia":
        description = step.msg("sin_vigencia_description", **values)
        if approximate:
            # "hace como 2 semanas": staff read the day as the student's estimate, not a fact.
            description += " " + step.msg("sin_vigencia_date_approximate", said=entities.mask_personal(step.text)[:120])
        step.say(step.msg("waiting_over_ticket", **values))
        escalation.start(step, "sin_vigencia", description=description, intro=False)
        return
    step.say(step.msg("waiting_over_check", **values))
    enter(step, "checking_coverage", show_answer=False)


def ask_saved_date(step: Step, purpose: str) -> None:
    step.stage = "waiting_saved_date"
    step.state["date_purpose"] = purpose
    step.say(step.msg("q_saved_date"))


def saved_date_unknown(step: Step) -> None:
    """The student does not remember when they saved it."""
    purpose = step.state.pop("date_purpose", "espera")
    if purpose == "sin_vigencia":
        step.say(step.msg("date_unknown_ticket"))
        escalation.start(step, "sin_vigencia", description=step.msg("sin_vigencia_no_date"), intro=False)
    else:
        step.say(step.msg("date_unknown_wait"))
        step.stage = "menu"


def not_covered(step: Step) -> None:
    """No coverage: within the waiting period a date, after it a ticket."""
    saved = step.state.get("saved_on")
    if saved:
        waiting_from(step, date.fromisoformat(saved), purpose="sin_vigencia")
    else:
        ask_saved_date(step, "sin_vigencia")


# --- special answers to the stages' questions ---------------------------------------------


def _nss_help(step: Step) -> None:
    step.say(step.msg("nss_still_missing"))


def _cia_help(step: Step) -> None:
    """What to check when the CIA does not show the option; told again a moment later, a person."""
    again = step.recalls("cia_help_turn", within=3)
    step.remember("cia_help_turn")
    if again:
        # Still not there after checking: the same text a third time would not help.
        step.forget("cia_help_turn")
        step.say(step.msg("cia_help_person"))
        escalation.start(step, "duda_general", description=step.msg("cia_help_description"), intro=False)
        return
    step.say(step.msg("cia_help"), [("topic:registro_cia", step.msg("opt_show_route")), ("person", step.msg("menu_person"))])


def _filling_wait(step: Step) -> None:
    step.say(step.msg("filling_wait"))


def _umf_problem(step: Step) -> None:
    step.say(step.msg("umf_problem"))
    escalation.start(step, "duda_general", description=step.msg("umf_problem_description"), intro=False)


SPECIAL: dict[str, Callable[[Step], None]] = {
    "nss_help": _nss_help,
    "cia_help": _cia_help,
    "filling_wait": _filling_wait,
    "not_covered": not_covered,
    "umf_problem": _umf_problem,
}


def follow(step: Step, target: str | None) -> None:
    """Go where a yes or no leads: a stage, or a special handler."""
    if not target:
        return
    if target.startswith("!"):
        SPECIAL[target[1:]](step)
    else:
        enter(step, target)


#: Where each special handler leads, for the diagram: (stage, when).
SPECIAL_DEST: dict[str, tuple[tuple[str, str], ...]] = {
    "!nss_help": (("nss_lookup", ""),),
    "!cia_help": (("cia_route", ""),),
    "!filling_wait": (("filling", ""),),
    "!not_covered": (
        ("waiting_period", "date known, within the waiting period"),
        ("escalation_collect", "date known, after it (sin_vigencia)"),
        ("waiting_saved_date", "date not known yet"),
    ),
    "!umf_problem": (("escalation_collect", "duda_general"),),
}
#: Where the answer to "¿qué día la guardaste?" leads (:func:`waiting_from`, :func:`saved_date_unknown`).
DATE_DEST: tuple[tuple[str, str], ...] = (
    ("waiting_period", "date within the waiting period"),
    ("escalation_collect", "date after it (sin_vigencia)"),
    ("checking_coverage", "date after it (espera)"),
    ("waiting_saved_date", "a date in the future"),
    ("menu", "no sé (espera)"),
    ("escalation_collect", "no sé (sin_vigencia)"),
)
#: Every other move the machine makes, as (from, to, when).
TRANSITIONS: tuple[tuple[str, str, str], ...] = (
    ("menu", "prereq_coverage", "paso a paso"),
    ("waiting_period", "checking_coverage", "reminder on the last day"),
    ("waiting_period", "waiting_period", "a corrected save date, still within it"),
    ("waiting_period", "escalation_collect", "a corrected save date, after it (sin_vigencia)"),
    ("waiting_period", "checking_coverage", "a corrected save date, after it (espera)"),
    ("escalation_describe", "escalation_collect", "description"),
    ("escalation_describe", "escalation_consent", "data before the privacy notice"),
    ("escalation_consent", "escalation_collect", "sí, items missing"),
    ("escalation_consent", "escalation_describe", "sí, no description yet"),
    ("escalation_consent", "escalation_confirm", "sí, all items"),
    ("escalation_consent", "menu", "no (data dropped)"),
    ("escalation_describe", "menu", "no quiero dar mis datos"),
    ("escalation_collect", "menu", "no quiero dar mis datos"),
    ("escalation_collect", "escalation_collect", "missing or invalid item"),
    ("escalation_collect", "escalation_describe", "all items, no description yet"),
    ("escalation_collect", "escalation_confirm", "all items"),
    ("escalation_confirm", "escalation_confirm", "a correction with its value"),
    ("escalation_confirm", "escalation_collect", "correct an item"),
    ("escalation_confirm", "ticket_open", "sí (OpenTicket)"),
    ("ticket_open", "ticket_open", "when will they answer"),
    ("ticket_open", "menu", "staff resolve or hand back"),
    ("done", "[*]", ""),
)


def mermaid() -> str:
    """The procedure as a mermaid state diagram, read off :data:`STAGES`,
    :data:`SPECIAL_DEST`, :data:`DATE_DEST` and :data:`TRANSITIONS`.

    flows/README.md embeds this text; a test keeps the two identical.
    """
    lines = ["stateDiagram-v2", "    [*] --> menu"]

    def edge(src: str, dest: str, label: str) -> None:
        lines.append(f"    {src} --> {dest}: {label}" if label else f"    {src} --> {dest}")

    for stage in STAGES.values():
        for answer_, target in (("sí", stage.on_yes), ("no", stage.on_no)):
            if not target:
                continue
            for dest, when in SPECIAL_DEST.get(target, ((target, ""),)):
                edge(stage.name, dest, f"{answer_}, {when}" if when else answer_)
        if stage.expects == "date":
            for dest, when in DATE_DEST:
                edge(stage.name, dest, when)
    for src, dest, when in TRANSITIONS:
        edge(src, dest, when)
    return "\n".join(lines)


if __name__ == "__main__":  # python -m flows.procedure: print the diagram for flows/README.md
    print(mermaid())
