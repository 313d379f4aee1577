"""The waiting period and missing coverage: the save date, what comes next, another employer.

Part of the conversation (:mod:`flows.machine` dispatches here): "¿cuánto
tarda?" and "sigo sin vigencia" need the day the application was saved
(topics.md's business-day rule, :func:`flows.procedure.waiting_from`);
during the wait the student may correct that day, repeat it or ask what
comes next; a constancia showing another employer goes to the desk at once.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flows import entities, escalation, intents, report_core, report_text
from flows.context import Step
from flows.messages import OpenTicket
from flows.procedure import answer, ask_saved_date, day_message, enter, saved_date_unknown, waiting_from
from knowledge.matcher import STRONG, WHAT_IF


_PLANS = re.compile(r"\b(?:revis\w*|chec\w*|consult\w*|vuelv\w*|escrib\w*|regres\w*|gracias)\b"
                    # "el miércoles no sale, ¿qué hago?": a what-if about a day, not a new save day
                    r"|\bque hago\b|\bque pasa si\b")


def names_a_topic(step: Step) -> bool:
    """Whether the message is about a topic of its own ("ya estoy vigente, ¿qué sigue?")."""
    match = step.classify(step.text)
    return bool(match.confident and match.topic not in (None, "fuera_de_tema", "saludo", "despedida"))


def repeats_saved_date(step: Step) -> bool:
    """ "hoy" after "acabo de guardar la solicitud": the day already known, said again."""
    saved = entities.parse_date(step.text, step.now) or entities.parse_answer_date(step.text, step.now)[0]
    return (saved is not None and saved.isoformat() == step.state.get("saved_on")
            and len(intents.words(step.text)) <= 6 and not intents.is_question(step.text))


def is_over(step: Step) -> bool:
    """Whether the waiting period has ended (the day after its last day)."""
    end = step.state.get("waiting_end")
    return bool(end) and step.today > date.fromisoformat(end)


def ask_coverage_after_the_wait(step: Step) -> None:
    """The wait is over: where to look, and whether the student appears covered."""
    end = date.fromisoformat(step.state["waiting_end"])
    step.say(step.msg("wait_over_asked", end=step.date_es(end)))
    enter(step, "checking_coverage", show_answer=False)


def next_step(step: Step) -> None:
    """In the waiting period, what comes next: wait until the date, or, once it has passed,
    check the constancia."""
    step.topic = None
    end = date.fromisoformat(step.state["waiting_end"])
    if step.today <= end and intents.asks_next(step.text) and not repeats_saved_date(step):
        # "¿y ya que pase eso qué sigue?": the step after the wait (the constancia, then the
        # clinic), not only the date again.
        step.topic = "vigencia"
        step.remember("answered", "vigencia")
        step.say(step.msg("waiting_then", end=step.date_es(end)))
    elif step.today <= end:
        step.say(step.msg("resume_waiting", end=step.date_es(end)) + " " + step.msg("waiting_meanwhile"))
    else:
        enter(step, "checking_coverage")


#: "¿no se puede antes?", "¿se puede acelerar?": whether the wait can be shortened.
_FASTER = re.compile(r"\b(?:antes|acelera\w*|rapido|mas pronto|apura\w*|adelanta\w*)\b")
#: "¿y qué le hago?", "¿y ahora qué?": what to do while waiting.
_WHAT_NOW = re.compile(r"\bque (?:le |mas |mas le )?(?:hago|hacemos|sigue)\b|\by ahora\b|\bmientras\b"
                       r"|\bcuando (?:me )?(?:contestan|responden|avisan|sale|aparece|queda|estara|estaria)\b")
#: "¿cuenta el sábado?", "el 1 de mayo no cuenta, ¿verdad?", "¿los festivos cuentan?": which days count.
_COUNTS = re.compile(r"(?<!mi )(?<!tu )(?<!la )(?<!una )(?<!su )(?<!de )\bcuenta(?:n)?\b(?!.*\b(?:correo|cia|usuario)\b)|\bdias? (?:festivos?|feriados?|inhabiles?)\b")
#: "¿y si el 16 no sale?", "y si no aparezco": what to do if the wait ends without coverage.
_IF_NOT = re.compile(r"\by si (?:\w+ ){0,4}(?:no|sigo sin|sigue sin|todavia no|aun no)\b")


#: "¿y por qué hasta el 9 si son 5 días?", "¿xq hasta el lunes?": why the last day is that one.
_WHY = re.compile(r"\b(?:por que|porque|xq|pq|porq|porke|why)\b")
_THAT_DAY = re.compile(r"\bhasta\b|\bsi son\b|\b(?:5|cinco) dias\b|\bese dia\b|\besa fecha\b|\bel \d{1,2}\b"
                       r"|\b(?:lunes|martes|miercoles|jueves|viernes)\b")


def _asks_why_that_day(step: Step) -> bool:
    words = intents.words(step.text)
    folded = " ".join(words)
    # asked ("¿…?", or opening with the why: "xq hasta el 9 si son 5 dias"), not "ok, porque el 9 no puedo"
    asked = intents.is_question(step.text) or bool(_WHY.match(" ".join(w for w in words if w not in ("y", "pero", "oye"))))
    return bool(step.state.get("saved_on") and asked and _WHY.search(folded) and _THAT_DAY.search(folded)
                and not _FASTER.search(folded))


def asks_about_the_wait(step: Step) -> bool:
    """In the waiting period, a short question or remark about the wait itself: the last day
    said back ("osea el 16"), whether it can be shorter, what if it ends without coverage.
    Questions naming a topic of their own ("¿cómo reviso mi vigencia?") are not."""
    if not step.state.get("waiting_end") or is_over(step):
        return False
    words = intents.words(step.text)
    if not words or len(words) > 10:
        return False
    if _names_the_end(step) and len(words) <= 5:
        return True
    if _COUNTS.search(" ".join(words)):
        return True  # "el 1 de mayo no cuenta, ¿verdad?", "¿los sábados cuentan?"
    if _asks_why_that_day(step):
        return True  # "¿y por qué hasta el 9 si son 5 días?"
    folded = " ".join(words)
    match = step.classify(step.text)
    about_it = (not match.confident or match.topic in ("fuera_de_tema", "espera", "sin_vigencia")
                or not names_a_topic(step)
                # "¿y qué le hago?" only resembles the emergency's examples; it names none.
                or (match.topic == "urgencia" and not match.keyword_scores.get("urgencia"))
                or match.topic == "despedida")  # "gracias, ¿y cuándo me contestan?": a question, not a goodbye
    return about_it and intents.is_question(step.text) and bool(
        _FASTER.search(folded) or _IF_NOT.search(folded) or (_WHAT_NOW.search(folded) and len(words) <= 5))


_WEEKDAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")


def _names_the_end(step: Step) -> bool:
    """ "osea el 16", "¿entonces el lunes?": the last day said back (a day ahead, which the save
    date reader, looking back, would take for a past one)."""
    end = date.fromisoformat(step.state["waiting_end"])
    said = entities.parse_date(step.text, step.now)
    if said == end:
        return True
    words = intents.words(step.text)
    numbers = [w for w in words if w.isdigit()]
    if numbers:
        return all(int(n) == end.day for n in numbers)
    return _WEEKDAYS[end.weekday()] in words and not any(d in words for d in _WEEKDAYS if d != _WEEKDAYS[end.weekday()])


def about_the_wait(step: Step) -> None:
    """The answer to :func:`asks_about_the_wait`: the last day and what to do if it passes."""
    step.topic = "espera"
    end = step.date_es(date.fromisoformat(step.state["waiting_end"]))
    folded = " ".join(intents.words(step.text))
    names_the_end = _names_the_end(step)
    if _asks_why_that_day(step):
        step.say(why_that_day(step))
    elif _COUNTS.search(folded) and not names_the_end:
        step.say(_counts_answer(step) + " " + step.msg("waiting_end_is", end=end))
    elif names_the_end:
        step.say(step.msg("waiting_end_confirmed", end=end) + " " + step.msg("waiting_meanwhile"))
    elif _FASTER.search(folded):
        step.say(step.msg("waiting_no_faster", end=end))
    elif _IF_NOT.search(folded):
        step.say(step.msg("waiting_if_not", end=end))
    else:
        step.say(step.msg("resume_waiting", end=end) + " " + step.msg("waiting_meanwhile"))


def why_that_day(step: Step) -> str:
    """The days counted from the save day to the last one, and what was skipped (the weekends,
    each rest day by name): why "5 días hábiles" from a Friday before 2 February end on the 9th."""
    saved = date.fromisoformat(step.state["saved_on"])
    end = date.fromisoformat(step.state["waiting_end"])
    counted: list[date] = []
    rests: list[str] = []
    weekend = False
    day = saved + timedelta(days=1)
    while day <= end:
        if step.calendar.is_business_day(day):
            counted.append(day)
        elif rest := step.calendar.rest_day_name(day):
            rests.append(f"el {step.date_es(day)} ({rest})")
        else:
            weekend = weekend or day.weekday() >= 5
        day += timedelta(days=1)
    skipped = (["los fines de semana"] if weekend else []) + rests
    values = {"saved": step.date_es(saved), "end": step.date_es(end), "days": len(counted),
              "counted": _days_listed(step, counted), "skipped": _listing(skipped, "ni")}
    return step.msg("waiting_why_that_day" if skipped else "waiting_why_that_day_plain", **values)


def _days_listed(step: Step, days: list[date]) -> str:
    """ "3, 4, 5, 6 y 9 de febrero"; "29 y 30 de enero, 3 y 4 de febrero" across months."""
    groups: list[tuple[str, list[str]]] = []
    for d in days:
        number, month = step.date_es(d).split(" ", 1)[1].split(" ", 1)
        if groups and groups[-1][0] == month:
            groups[-1][1].append(number)
        else:
            groups.append((month, [number]))
    return _listing([f"{_listing(numbers, 'y')} {month}" for month, numbers in groups], "y")


def _listing(items: list[str], last: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}" if items else ""


def _counts_answer(step: Step) -> str:
    """Whether the day asked about counts in the wait: a business day, a rest day, a weekend;
    with no day named, which days count."""
    said, _ = entities.parse_answer_date(step.text, step.now)
    words = intents.words(step.text)
    weekend = next((w for w in words if w in ("sabado", "sabados", "domingo", "domingos")), None)
    if said is None and not weekend:
        return step.msg("waiting_which_days")
    if said is None:
        return step.msg("waiting_weekends")
    return day_message(step, said, "waiting_day")


_WAS_THE_DAY = re.compile(r"\b(?:fue|era|es) (?:el|la|en|un|una)\b")
#: "no, …", "perdón …", "espera …", "me equivoqué …": what follows corrects what was said.
_CORRECTS = re.compile(r"^(?:no|nel|perdon|perdona|espera|ah no|oh no|me equivoque|error|mas bien|bueno no|corrijo)\b")


def corrects_saved_date(step: Step) -> bool:
    """In the waiting period, another date ("perdón, fue el viernes, no el lunes")
    replaces the one given: the end is computed again and the reminder moves."""
    folded = " ".join(intents.words(step.text))
    saving = entities.mentions_saving(step.text)
    was = _WAS_THE_DAY.search(folded)
    if not (saving or was or _CORRECTS.match(folded)
            or (len(folded.split()) <= 4 and entities.parse_answer_date(step.text, step.now)[0])):
        # "es que me voy a operar el 5 de enero": another day the message is about, not the save day
        # (a correction says so: "la guardé…", "fue el…", "no, espera…", or it is only the day).
        return False
    saved = entities.parse_date(step.text, step.now)
    if saved is None and was:
        saved = entities.parse_answer_date(folded[was.start():], step.now)[0]  # "no me equivoqué, fue el 11"
    if saved is None and saving:
        # "no espera, la guardé el 23": the day in the clause that says it was saved
        clause = next((c for c in re.split(r"[,;.]+", step.text) if entities.mentions_saving(c)), "")
        saved = entities.parse_answer_date(clause, step.now)[0] if clause else None
    if saved is None or saved.isoformat() == step.state.get("saved_on") or saved > step.today:
        return False
    if intents.is_question(step.text) or _PLANS.search(folded):
        return False  # "¿el lunes ya puedo revisar?", "ok, el lunes reviso": not a new save date
    match = step.classify(step.text)
    # "perdón, me equivoqué, la guardé el viernes": the mistake is the day (no datum named).
    # "perdón, me equivoqué, fue el 9", "no espera fue el domingo": the day, said as the answer
    # was ("fue el …"), whatever else its words name (a Sunday is not a question for the desk).
    mistook_the_day = ((match.topic == "datos_erroneos" and saving or bool(was) and len(folded.split()) <= 8
                        or saving and bool(_CORRECTS.match(folded)))  # "no espera, la guardé el 23"
                       and report_text.field_named(step.text) is None)
    if match.confident and match.topic not in (None, "fuera_de_tema") and not mistook_the_day:
        return False  # a question with a date in it: the topic decides
    step.topic = None
    step.say(step.msg("date_corrected"))
    waiting_from(step, saved, purpose=str(step.state.get("waiting_purpose") or "espera"))
    return True


def _saved_date(step: Step) -> date | None:
    """The day the application was saved, when the message says so: a date counts only next to
    a verb of saving ("necesito ir al doctor hoy" says nothing of it)."""
    if not entities.mentions_saving(step.text):
        return None
    again = entities.resaved_day(step.text, step.now)
    if again is not None:
        return again  # "la guardé el 3 pero la corregí el 5": the last time it was saved
    clause = entities.saved_clause(step.text)
    return ((step.read_day(clause) if clause else None) or step.read_day(step.text)
            or (step.today if saved_just_now(step) else None))


def bare_yes(step: Step) -> bool:
    """ "sí", "ok" with nothing asked while the wait runs: understood; its last day again, short."""
    end = step.state.get("waiting_end")
    if not end or is_over(step) or len(intents.words(step.text)) > 3 or intents.yes_no(step.text) is not True:
        return False
    step.topic = None
    step.say(step.msg("resume_waiting", end=step.date_es(date.fromisoformat(end))))
    return True


#: "listo, ya le di guardar", "le acabo de dar guardar": done as the student writes.
_DONE_NOW = re.compile(r"^(?:listo|lista|listoo)\b|\b(?:le acabo de dar|acabo de darle|ya le di (?:a |en )?guardar)\b")


def saved_just_now(step: Step) -> bool:
    """ "Listo, ya le di guardar" within the hour of the form's steps: saved today, just now
    (a bare "sí" still gets the question, it may have been days ago)."""
    last = step.state.get("last_at")
    return (step.stage == "filling" and bool(last) and entities.mentions_saving(step.text)
            and bool(_DONE_NOW.search(" ".join(intents.words(step.text))))
            and timedelta(0) <= step.message.at - datetime.fromisoformat(last) < timedelta(hours=1))


def said_saved_on(step: Step) -> bool:
    """Whether the message says the day the application was saved (a day not in the future)."""
    saved = _saved_date(step)
    return saved is not None and saved <= step.today


def saved_within_wait(step: Step) -> bool:
    """Whether the message says a save day whose waiting period has not ended yet ("lo guardé
    hoy", "la guardó el lunes" while the 5 business days run)."""
    saved = _saved_date(step)
    if saved is None or saved > step.today:
        return False
    return step.calendar.waiting_period_end(saved, step.kb.desk.waiting_days) >= step.today


def say_end_aside(step: Step) -> None:
    """The waiting period's last day from the day the message names, said in passing: no
    stage entered, no reminder (a report is open, or being collected)."""
    saved = _saved_date(step)
    if saved is None:  # callers ask :func:`said_saved_on` first
        return
    end = step.calendar.waiting_period_end(saved, step.kb.desk.waiting_days)
    step.say(step.msg("waiting_end_aside", saved=step.date_es(saved), end=step.date_es(end)))


def person_with_save_day(step: Step) -> None:
    """A person asked for with the save day and no coverage: within the wait its last day, then
    the person (as asked); past it, the report of no coverage from that day."""
    saved = _saved_date(step)
    if saved is None:  # callers ask :func:`said_saved_on` first
        escalation.start(step, "duda_general")
        return
    end = step.calendar.waiting_period_end(saved, step.kb.desk.waiting_days)
    if end < step.today:
        step.topic = "sin_vigencia"
        waiting_from(step, saved, purpose="sin_vigencia")
        return
    step.say(step.msg("waiting_end_aside", saved=step.date_es(saved), end=step.date_es(end))
             + " " + step.msg("person_within_wait"))
    escalation.start(step, "duda_general")


def doubt_is_no_coverage(step: Step) -> bool:
    """A report for "another doubt" being collected, then "ya pasaron 10 días y no me sale vigente,
    la guardé el 5 de marzo": the doubt is the missing coverage. Past the wait, the report becomes
    that case (``sin_vigencia``, with the save day; the data given stays); within it, the day it
    ends, and the person asked for still gets the report."""
    esc = step.state.get("esc") or {}
    if (esc.get("reason") != "duda_general" or step.stage not in ("escalation_describe", "escalation_collect",
                                                                   "escalation_confirm")
            or step.classify(step.text).keyword_scores.get("sin_vigencia", 0.0) < STRONG or not said_saved_on(step)):
        return False
    saved = _saved_date(step)
    assert saved is not None  # said_saved_on
    end = step.calendar.waiting_period_end(saved, step.kb.desk.waiting_days)
    step.topic = "sin_vigencia"
    if end >= step.today:
        step.say(step.msg("waiting_end_aside", saved=step.date_es(saved), end=step.date_es(end))
                 + " " + step.msg("person_within_wait"))
        report_core.append_description(esc, report_text.description_text(step.text))
        report_core.ask_for_rest(step, esc, [])
        return True
    doubt = esc.get("description")
    waiting_from(step, saved, purpose="sin_vigencia")  # the new report keeps the data of this one
    new = step.state.get("esc")
    if new is not None and doubt and doubt != step.msg("description_none") and len(intents.words(doubt)) >= 4:
        report_core.append_description(new, doubt)  # what they asked first, for the person too
    return True


def open_doubt_is_no_coverage(step: Step) -> bool:
    """The report open for "another doubt", then "ya pasaron 10 días y no me sale vigente, la
    guardé el 5 de marzo": past the wait, that ticket becomes the missing coverage (its reason
    ``sin_vigencia``, with the save day), not a second ticket nor "perdón por la espera"; within
    the wait, the day it ends, noted on the ticket."""
    if (str(step.state.get("ticket_reason") or "duda_general") != "duda_general"
            or step.classify(step.text).keyword_scores.get("sin_vigencia", 0.0) < STRONG or not said_saved_on(step)):
        return False
    saved = _saved_date(step)
    assert saved is not None  # said_saved_on
    end = step.calendar.waiting_period_end(saved, step.kb.desk.waiting_days)
    values = {"saved": step.date_es(saved), "end": step.date_es(end), "days": step.kb.desk.waiting_days}
    step.topic = "sin_vigencia"
    step.state["saved_on"] = saved.isoformat()
    if end >= step.today:
        step.act(OpenTicket(reason="duda_general", description=step.msg("description_saved_on", when=values["saved"])))
        step.say(step.msg("waiting_end_aside", **values) + " " + step.msg("ticket_within_wait"))
        return True
    step.act(OpenTicket(reason="sin_vigencia", replaces="duda_general",
                        description=step.msg("sin_vigencia_description", **values)))
    step.state["ticket_reason"] = "sin_vigencia"
    step.say(step.msg("ticket_now_no_coverage", **values))
    return True


def espera(step: Step) -> None:
    saved = _saved_date(step)
    if saved:
        # "sigo sin vigencia, ya pasó una semana", then "la guardé el 3": still the complaint
        # (past the wait, the report), not a plain "¿cuánto tarda?".
        complained = step.stage == "waiting_period" and step.state.get("waiting_purpose") == "sin_vigencia"
        waiting_from(step, saved, purpose="sin_vigencia" if complained else "espera")
        return
    if step.stage == "waiting_period" and step.state.get("waiting_end"):
        # The day is known ("ok, ¿y qué hago mientras?"): the date again, not the question.
        end = date.fromisoformat(step.state["waiting_end"])
        step.say(step.msg("resume_waiting", end=step.date_es(end)) + " " + step.msg("waiting_meanwhile"))
        return
    answer(step, "espera")
    ask_saved_date(step, "espera")


#: The constancia shows a job as the last employer, or a baja: not the waiting period.
_OTHER_EMPLOYER = re.compile(
    r"\b(?:otro patron|otra empresa|otro empleador|el patron de (?:mi|una|un|otra|otro)|una empresa donde"
    r"|patron es otro|patron es una empresa|patron es la empresa|patron es mi (?:trabajo|empresa|antiguo trabajo)"
    r"|patron no es (?:el )?itson|no sale (?:el )?itson(?: como patron)?"
    r"|me dieron de baja|me dio de baja|dado de baja|dada de baja"
    # "de último patrón sale oxxo, no itson", "el último patrón dice otra cosa"
    r"|ultimo patron (?:me )?(?:dice|sale|es|aparece|viene)(?: como)? (?!(?:el |la )?itson\b)[a-z]+"
    r"|no (?:es|sale|aparece|dice) (?:el |la )?itson)\b"
)


def names_other_employer(text: str) -> bool:
    """ "me aparece otro patrón", "de último patrón sale oxxo": told, not asked about ("¿y si…?")."""
    folded = " ".join(intents.words(text))
    return bool(_OTHER_EMPLOYER.search(folded)) and not WHAT_IF.match(folded)


def other_employer(step: Step) -> None:
    """ "Me aparece otro patrón en la constancia": a job registered the student (domain.md),
    which the help desk solves; no waiting period to compute. The report starts with it."""
    step.topic = "sin_vigencia"
    step.say(step.msg("other_employer"))
    escalation.start(step, "sin_vigencia", description=report_text.description_text(step.text), intro=False)


def _waited_since(step: Step) -> date | None:
    """The save day a complaint implies by how long the student has waited ("ya van 2 semanas y
    sigo sin vigencia"; "6 días hábiles" counted back on the desk's calendar)."""
    waited = entities.waited_duration(step.text)
    if waited is None:
        return None
    return step.read_day(step.text)


def sin_vigencia(step: Step) -> None:
    known = step.state.get("saved_on")
    # The day saved, if the message says it; else the one told before (a later "ya pasaron 3 días"
    # counts from then, it does not move the day); else the day the wait told implies.
    saved = _saved_date(step) or (None if known else _waited_since(step))
    if saved:
        waiting_from(step, saved, purpose="sin_vigencia")
        return
    if known:
        waiting_from(step, datetime.fromisoformat(known).date(), purpose="sin_vigencia")
        return
    answer(step, "sin_vigencia")
    ask_saved_date(step, "sin_vigencia")


#: "mañana la guardo", "la voy a guardar": saving is still to come.
_WILL_SAVE = re.compile(r"\b(?:la |lo )?(?:guardo|guardare|mando|envio)\b|\bvoy a (?:guardar|mandar|enviar)")
#: "todavía no la hago", "no he hecho la solicitud", "ni la he empezado": not applied at all.
_NOT_APPLIED = re.compile(
    r"\b(?:no|ni) (?:la |lo |le )?(?:he |e )?(?:hecho|hago|hice|realizado|llenado|registrado|tramitado|solicitado"
    r"|aplicado|empezado|iniciado)\b(?! mal)"
)
#: "que no la he guardado", "aún no la guardo": not saved (whatever the first word).
_NOT_SAVED = re.compile(r"\bno (?:la |lo )?(?:he |e )?(?:guardo|guardado|guarde|mandado|enviado)\b")
#: Where a message's clauses part: commas, semicolons, full stops, "y".
_CLAUSES = re.compile(r"[,;.\n]+|\s+y\s+")


#: "… y nada", "y no me sale", "y sigo sin nada": said with the day, the coverage still missing.
_STILL_NOTHING = re.compile(
    r"\by (?:nada|nel|no sale|no me sale|no aparece|no aparezco|sigo sin|sigo igual|todavia no|aun no)\b"
    r"|\bsigo sin (?:vigencia|seguro|aparecer|nada)\b|\bno me sale (?:vigente|nada)\b"
)


def answer_save_date(step: Step) -> bool:
    """The answer to "¿qué día guardaste tu solicitud?": a day (the waiting period from it), not
    yet, not knowing, a yes without the day, or something unreadable asked again. False when
    the message is about a topic of its own, for the machine to read."""
    text = step.text
    purpose = str(step.state.get("date_purpose", "espera"))
    if _STILL_NOTHING.search(" ".join(intents.words(text))):
        purpose = "sin_vigencia"  # "ya pasaron como 8 días y nada": the day, and still no coverage
    waited = entities.waited_duration(text)
    if waited and waited[1] == "dia" and waited[2]:
        # "ya pasaron 6 días hábiles": counted back on the desk's calendar, not in calendar days.
        waiting_from(step, _waited_since(step) or step.today, purpose=purpose)
        return True
    clause = entities.saved_clause(text)  # "la guardé el viernes, hace como 3 días": the day named with it
    saved, problem = entities.parse_answer_date(clause, step.now) if clause else (None, None)
    saved = entities.resaved_day(text, step.now) or saved  # "el 3, pero la corregí el 5": the last saving
    if saved is None:
        saved, problem = entities.parse_answer_date(text, step.now)
    if saved is None and problem is None:
        # "la guardé el 8, mi curp es …": the day in a clause of its own (the data is read next).
        for part in _CLAUSES.split(text):
            saved, problem = entities.parse_answer_date(part, step.now)
            if saved or problem:
                break
    if saved and saved > step.today and intents.is_question(text) and not entities.mentions_saving(text):
        # "¿y mañana domingo puedo hablar con alguien?": a question about a day to come, for the
        # machine to read (not a save day "todavía no llega").
        return False
    if saved and saved > step.today and _WILL_SAVE.search(" ".join(intents.words(text))):
        # "mañana la guardo": not saved yet; nothing to compute until then.
        step.topic = None
        step.stage = "filling"
        step.say(step.msg("filling_wait"))
        return True
    if saved:
        waiting_from(step, saved, purpose=purpose)
        return True
    if intents.says_dont_know(text) or intents.says_not_sure(text):
        # "no sé", "no me acuerdo" (not a "no": the question suggests "no sé" itself).
        saved_date_unknown(step)
        return True
    words = intents.words(text)
    if _NOT_APPLIED.search(" ".join(words)):
        # "todavía no la hago", "no he hecho la solicitud": nothing to wait for yet; how to apply.
        step.topic = "registro_cia"
        step.say(step.msg("not_applied_yet"))
        enter(step, "cia_route")
        return True
    said_no = intents.yes_no(text) is False or bool(_NOT_SAVED.search(" ".join(words)))
    if intents.bare_not_yet(text) or (said_no and (len(words) <= 3 or entities.mentions_saving(text))):
        # "aún no" to "¿qué día guardaste?": not saved yet; nothing to compute until then
        # ("no me aparece la vigencia" is not a "no": it is the complaint again).
        step.topic = None
        step.stage = "filling"
        step.say(step.msg("filling_wait"))
        return True
    if intents.yes_no(text) is True or (entities.mentions_saving(text) and len(words) <= 4 and not said_no):
        # "listo", "ya", "ya lo guardé": saved, but the day is the question.
        step.topic = None
        step.say(step.msg("date_which_day"))
        return True
    if problem == "invalid":
        step.say(step.msg("date_invalid"))
        return True
    match = step.classify(text)
    if not match.confident or match.topic in (None, "fuera_de_tema"):
        # "cuando me dieron la ficha": not a topic either, so the question is asked again, kindly.
        step.topic = None
        step.say(step.msg("date_not_understood"))
        return True
    return False
