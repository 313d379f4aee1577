"""The answer to a stage's yes/no question ("¿ya guardaste tu solicitud?").

Students rarely answer with a bare "sí" or "no": "todavía no la he revisado" is not a no
(it is a reason to look first), "no sé" gets what helps them find out, "ya la guardé hoy"
already gives the day asked next, "ya la guardé pero me equivoqué" is the mistake. What
is not an answer to the question is left to the rest of :mod:`flows.machine`.
"""
from __future__ import annotations

import re

from flows import entities, intents, waiting
from flows.context import Step
from flows.procedure import (
    PROCEDURE_STAGES,
    STAGE_TOPIC,
    STAGES,
    TOPIC_STAGE,
    Stage,
    answer,
    answers_yes,
    follow,
    names_earlier_step,
    question_again,
    waiting_from,
)
from knowledge.matcher import STRONG, WHAT_IF


def names_subject(stage: Stage, words: list[str]) -> bool:
    """Whether the words are about the stage's own step ("ya me di de alta en la clínica"),
    not only a "ya" of another step ("ya la saqué y salgo con derecho")."""
    joined = " " + " ".join(words)
    return any(f" {cue}" in joined for cue in stage.subject)


def says_done(stage: Stage, text: str) -> bool:
    """Whether a clause of the message says the stage's step is done ("ya salí vigente y ya me
    di de alta en la clínica": the second one), not only a step before it."""
    for clause in re.split(r"[,;.]+|\s+y\s+", text):
        words = intents.words(clause)
        if words[:1] in (["ya"], ["listo"], ["lista"]) and answers_yes(stage, words) and names_subject(stage, words):
            return True
    return False


#: Acknowledgements: "understood", not "done". A thanks ("ok gracias") is not one: it gets the
#: goodbye's "con gusto" with the step kept, as "gracias" alone does.
_ACKS = frozenset({"ok", "okey", "okay", "oki", "va", "sale", "vale", "entendido", "de acuerdo"})


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


def _asks_an_earlier_step(step: Step, stage: Stage) -> bool:
    """A "no …" of several words that names a step behind this one clearly ("no me acuerdo de
    mi NSS" at the CIA step): that step's matter, not this question's no."""
    if len(intents.words(step.text)) < 4 or stage.name not in PROCEDURE_STAGES:
        return False
    match = step.classify(step.text)
    target = TOPIC_STAGE.get(match.topic or "")
    if target == "offer_guide":
        return False  # the requirements are what the first steps ask about ("no tengo ningún seguro")
    return bool(match.confident and target in PROCEDURE_STAGES
                and PROCEDURE_STAGES.index(target) < PROCEDURE_STAGES.index(stage.name)
                and match.keyword_scores.get(match.topic or "", 0.0) >= STRONG)


#: "¿qué es eso?", "no sé qué es", "¿a qué te refieres?": the question was not understood.
_WHAT_IS_IT = re.compile(r"\b(?:que es eso|q es eso|que es eso de|que significa|no se que es|a que te refieres|como que)\b"
                         r"|^(?:(?:ok|va|si|bueno|pues|perdon|ah|mmm|este|pero) )*no (?:le )?(?:entendi|entiendo|comprendo|capto)\b"
                         r"|^explicame\b|^(?:y |ok y |pero )?eso (?:que es|como|como es)?$|^y eso$")
def asks_what_it_is(text: str) -> bool:
    """ "no entendí", "¿a qué te refieres?": the question just asked is not understood (a few words)."""
    return len(intents.words(text)) <= 6 and bool(_WHAT_IS_IT.search(" ".join(intents.words(text))))


#: The topic whose answer explains a question that shows none before it.
_EXPLAINED_BY = {"prereq_coverage": "otro_seguro", "prereq_nss": "nss"}
#: "no tengo ningún seguro", "no cuento con nada", "ninguno": nothing of the kind.
_NO_LEAD = r"^(?:(?:pues|bueno|este|la verdad|nel|nop|no)\s+)*"
_HAS_NONE = re.compile(_NO_LEAD + r"(?:tengo|cuento con|cuento) (?:ningun|ninguno|ninguna|nada)\b"
                       r"|^(?:ninguno|ninguna|nada)\b|" + _NO_LEAD + r"no tengo (?:otro |un |el |ningun )?(?:seguro|servicio medico|imss|issste)\b")
#: "tengo …", "me tiene mi mamá …", "estoy en el IMSS de mi trabajo": having something, said.
_HAS = re.compile(r"^(?:si |pues |bueno |ah |este )?(?:tengo|tiene|me tiene|me tienen|estoy|cuento|uso)\b")


def knows_nss(text: str) -> bool:
    """A valid NSS in the message, or knowing it said ("y sí me sé mi NSS", "mi NSS ya lo tengo")."""
    return (any(entities.nss_problem(n) is None for n in entities.find_nss_candidates(text))
            or bool(_KNOWS_NSS.search(" ".join(intents.words(text)))))


_KNOWS_NSS = re.compile(r"\b(?:si|ya) (?:me se|se|tengo|conozco|lo tengo|lo se|me lo se) (?:mi |el )?nss\b"
                        r"|\b(?:mi|el) nss (?:ya |si )?(?:lo tengo|me lo se|lo se|ya lo tengo|si lo tengo)\b")


#: The words of a yes said outright, first ("sí, ya me lo sé, …"); not "ya", which opens news.
_OUTRIGHT_YES = frozenset({"si", "sii", "sip", "simon", "claro", "yes", "sep", "aja", "obvio"})
_LEADING_ACK = re.compile(r"^(?:(?:ok|oki|va|sale|bueno|oye|ah|y bueno)\s+)+")


def asks_what_if(text: str) -> bool:
    """ "ok, ¿y si no me deja registrar la clínica?": a failure supposed in a question, not told."""
    return intents.is_question(text) and bool(WHAT_IF.match(_LEADING_ACK.sub("", " ".join(intents.words(text)))))


def reply(step: Step, stage: Stage, text: str) -> bool:
    """The answer to the stage's yes/no question, when the message is one (True); False leaves
    it to the rest of the machine (a topic, a question about something else)."""
    if stage.question and len(intents.words(text)) <= 6 and intents.asks_next(text) and f"next_{stage.name}" in step.kb.messages:
        # "¿y luego?", "¿y después qué sigue?": what comes after this step (not this step again).
        step.topic = None
        step.say(step.msg(f"next_{stage.name}") + "\n" + question_again(step, stage))
        return True
    topic = STAGE_TOPIC.get(stage.name) or _EXPLAINED_BY.get(stage.name)
    if topic and len(intents.words(text)) <= 6 and _WHAT_IS_IT.search(" ".join(intents.words(text))):
        # "no, ¿qué es eso?" to "¿ya estás en Solicitud Seguro?", "no entendí": not a no; what
        # the step is, again. Right after its answer, in simpler words (the same block again
        # would not help); not understood even so, a person.
        step.topic = topic
        if step.recalls("simple", topic, within=3):
            step.say(step.msg("still_unclear"), [("person", step.msg("menu_person")), ("menu", step.msg("opt_menu"))])
            return True
        if step.recalls("answered", topic, within=3) and f"simple_{topic}" in step.kb.messages:
            step.remember("simple", topic)
            step.say(step.msg(f"simple_{topic}"))
        else:
            answer(step, topic)
        step.say(question_again(step, stage))
        return True
    known = step.kb.matcher.known_answer("fuera_de_tema", text)
    if known and step.classify(text).topic == "fuera_de_tema":
        # "no me acuerdo de mi contraseña" at the CIA step: not a "no"; the password's answer
        # (the desk cannot see or change it), and the question again.
        step.topic = "fuera_de_tema"
        step.say(known + "\n" + question_again(step, stage))
        return True
    if stage.not_yet_waits and (intents.not_checked_yet(text) or intents.not_tried_yet(text)
                                or (stage.bare_not_yet_waits and intents.bare_not_yet(text))):
        # "todavía no la he revisado", "todavía no lo intento": not a "no" (that opens a
        # report), a reason to try first.
        step.topic = None
        step.say(step.msg("check_first" if stage.name == "checking_coverage" else "try_first")
                 + " " + question_again(step, stage))
        return True
    if (stage.bare_not_yet_waits and step.recalls("steps_shown", stage.name) and intents.yes_no(text) is False
            and len(intents.words(text)) <= 2):
        # Option 8 ("Alta en mi clínica"), then "No" to "¿pudiste darte de alta?" right under the
        # steps: there was no time to try them; try first (a report only when it did not work).
        step.topic = None
        step.say(step.msg("not_tried_yet_bare"))
        return True
    if stage.dont_know and (intents.says_not_sure(text) and len(intents.words(text)) <= 4
                            or _asked_as_dont_know(step, stage)):
        # "no sé" / "nose": not a no; what helps them find out, and the question again.
        step.topic = None
        if step.recalls("dont_know_at", stage.name):
            # Said again: the help was given; go on, and they check the constancia meanwhile.
            step.forget("dont_know_at")
            step.say(step.msg("dont_know_go_on"))
            follow(step, stage.on_no)
            return True
        step.remember("dont_know_at", stage.name)  # counts for the next message only
        answer(step, stage.dont_know)
        step.say(question_again(step, stage))
        return True
    if stage.ok_is_ack and " ".join(intents.words(text)) in _ACKS:
        step.topic = None  # "ok" to "escríbeme *listo* cuando lo tengas": understood, not done
        step.say(step.msg("waiting_for_you"))
        return True
    said = intents.yes_no(text)
    if said is None and not intents.is_question(text):
        # "sí, ya me lo sé, ya lo saqué el otro día": the yes of its first clause (a "no, pero…"
        # is left to the rest, it may be news).
        first = re.split(r"[,.;!]", text, maxsplit=1)[0]
        lead = intents.words(first)[:1]
        if (first.strip() != text.strip() and lead and lead[0] in _OUTRIGHT_YES and intents.yes_no(first) is True
                and not entities.mentions_saving(text)):
            said = True
    if said is None and stage.yes_topic and _HAS_NONE.match(" ".join(intents.words(text))):
        said = False  # "no tengo ningún seguro" to "¿ya tienes servicio médico por otro lado?"
    if said is None and intents.says_partly(text):
        said = False  # "más o menos" to "¿pudiste darte de alta?": not done, what a no gets
    if said is None and stage.not_sure_is_no and intents.says_not_sure(text):
        said = False  # "no sé cuál es" to "¿ya conoces tu NSS?"
    if said is not None and asks_what_if(text):
        said = None  # "ok, ¿y si no me deja registrar la clínica?": a what-if asked, not the answer
    if said is False and not stage.not_yet_waits and _reports_a_problem(step):
        said = None  # "no, me salió error" to "¿ya guardaste?": the error, not a "not yet"
    if said is False and _asks_an_earlier_step(step, stage):
        said = None  # "no me acuerdo de mi NSS" to "¿ya estás en Solicitud Seguro?": the NSS
    if said is None and stage.yes_topic and intents.no_longer(text):
        said = False  # "antes sí pero ya no": no other coverage now
    if said is None and intents.long_yes(text) and names_subject(stage, intents.words(text)):
        # "ya la saqué y sí salgo con derecho y con el ITSON": a yes told at length.
        said = True
    if said is True and " pero " in f" {' '.join(intents.words(text))} " and _reports_a_problem(step):
        said = None  # "ya la guardé pero me equivoqué en un dato": the mistake, not only the yes
    if said is False or (said is True and answers_yes(stage, intents.words(text))):
        target = stage.on_yes if said else stage.on_no
        if target == "prereq_nss" and knows_nss(text):
            # "no tengo otro seguro y mi NSS ya lo tengo, es el 12345678903": the next step's
            # question is answered too (a valid NSS); on to the one after it.
            target = STAGES["prereq_nss"].on_yes
        saved = ((step.read_day(text) or (step.today if waiting.saved_just_now(step) else None))
                 if said and target in STAGES and STAGES[target].expects == "date" else None)
        if saved is not None and saved <= step.today:
            # "ya la guardé hoy", "sí, ayer en la noche": the day asked next is already said.
            step.topic = None
            waiting_from(step, saved, purpose="espera")
            return True
        follow(step, target)
        if target and STAGE_TOPIC.get(target) and len(intents.words(text)) >= 4:
            match = step.classify(text)
            if match.confident and match.topic == STAGE_TOPIC[target]:
                # "¡ya lo tengo! ahora, ¿dónde hago la solicitud?": the yes, and the question
                # the step it leads to answers.
                step.topic = match.topic
        return True
    if said is True and not intents.is_question(text) and names_earlier_step(stage, intents.words(text)):
        # "sí, ya estoy vigente" to "¿pudiste darte de alta en tu clínica?": good news about
        # the step before; this one's question stays.
        step.topic = None
        step.say(step.msg("noted") + " " + question_again(step, stage))
        return True
    if (said is None and stage.yes_topic and not intents.is_question(text) and _HAS.match(" ".join(intents.words(text)))
            and names_subject(stage, [w for w in intents.words(text) if w not in ("tengo", "tiene")])):
        # "tengo el de mi papá" to "¿ya tienes servicio médico por otro lado?": a yes, in its words.
        step.topic = stage.yes_topic
        follow(step, stage.on_yes)
        return True
    if said is None and stage.yes_topic and not intents.is_question(text):
        match = step.classify(text)
        if match.confident and match.topic == stage.yes_topic:
            step.topic = match.topic
            follow(step, stage.on_yes)
            return True
    if said is True and len(intents.words(text)) < 3 and stage.question:
        # "ya entré" to "¿ya guardaste tu solicitud?": good news about a step before, same question.
        step.topic = None
        step.say(step.msg("noted") + " " + question_again(step, stage))
        return True
    return False
