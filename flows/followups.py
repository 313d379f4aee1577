"""A short follow-up read against the answer just given.

"¿Y qué me tiene que salir ahí?" after how to check the coverage, "¿y la contraseña cuál es?"
after where to apply, "¿cuánto?" after the wait, "¿y después de guardarla?" after how to fill
in the form: alone these name no topic (or name another one: "…del correo de la uni" looks
like the desk's e-mail, "sábados y domingos" like its hours), but right after an answer they
are about it. :func:`resolve` reads such a message against the topics of the last answers and
of the step of the guide the student is at, with each topic's sub-questions: its known
answers (``known:``) and the questions that only make sense after it (``follow_ups:``, which
answer with a text of their own or with another topic's answer).

A message is read this way only when it is short and asks something, and when it has no topic
of its own, its own topic is one of those of the context, or it leads on from the answer
("y …", "osea …", "ok and …") or points back at it ("eso", "ahí", "ella", "there", "it").
"""
from __future__ import annotations

from flows import answering, entities, intents
from flows.context import Step
from flows.procedure import PROCEDURE_STAGES, STAGE_TOPIC, Stage, answer, question_again, resume_prompt
from knowledge.loader import KnownAnswer
from knowledge.matcher import SOCIAL, STRONG, Match

#: Longer than this, a message says enough to be read on its own.
MAX_WORDS = 12

#: Words that open a message leading on from the answer before ("y …", "osea …", "ok and …").
_LEADS_ON = frozenset({"y", "osea", "entonces", "pero", "and", "so", "then"})
#: Words pointing back at what was just said ("eso", "ahí", "ella", "there", "it").
_POINTS_BACK = frozenset({"eso", "esa", "ese", "esto", "ahi", "alli", "alla", "ella", "ellos", "ellas",
                          "there", "it", "that", "this", "she", "he"})
#: Question words anywhere in the message ("ya entré, ¿y ahora a dónde le pico?").
_ASKING = intents.QUESTION_WORDS | {"adonde", "onde"}
#: The step of the guide each stage is about, besides the ones that show a topic's answer.
_STAGE_CONTEXT = {**STAGE_TOPIC, "waiting_saved_date": "espera", "prereq_coverage": "otro_seguro",
                  "prereq_nss": "nss"}


def contexts(step: Step) -> list[str]:
    """The topics a follow-up may be about, most recent first: the last answer (within two
    messages), the one before it (within three) and the step of the guide."""
    found = [step.recent("answered", within=2), step.recent("answered_before", within=3),
             _STAGE_CONTEXT.get(step.stage)]
    return [t for t in dict.fromkeys(found) if t and t in step.kb.topics]


def _asks(text: str, words: list[str]) -> bool:
    return intents.is_question(text) or any(w in _ASKING for w in words)


def _leads_on(words: list[str]) -> bool:
    """ "y …", "osea …", "ok y …", "o sea …": the message goes on from the answer before."""
    first = words[1:2] if words[:1] and words[0] in ("ok", "okey", "va", "ah", "ya", "listo", "oye") else words[:1]
    return bool(first and first[0] in _LEADS_ON) or words[:2] == ["o", "sea"]


def _own_topic(step: Step, match: Match) -> str | None:
    """The topic the message names by a strong cue of its own, if any."""
    topic = match.topic
    if not (match.confident and topic) or topic in SOCIAL or topic == "fuera_de_tema":
        return None
    return topic if match.keyword_scores.get(topic, 0.0) >= STRONG else None


def _names_another(match: Match, then: str, around: list[str]) -> bool:
    """Whether the message is understood as a topic other than ``then`` and those of the context
    (what "lo" is in "¿de dónde lo saco?" is then named in the message itself)."""
    topic = match.topic
    return bool(match.confident and topic and topic not in SOCIAL and topic != "fuera_de_tema"
                and topic != then and topic not in around)


def _sub_question(step: Step, topic: str) -> KnownAnswer | None:
    """The known answer or the follow-up of ``topic`` the message asks, if any."""
    matcher = step.kb.matcher
    return matcher.known(topic, step.text) or matcher.follow_up(topic, step.text)


def resolve(step: Step, stage: Stage | None) -> bool:
    """Answer a short follow-up of the last answers by their topics' sub-questions; False when
    the message is not one (it is then read as usual)."""
    text = step.text
    words = intents.words(text)
    if (not words or len(words) > MAX_WORDS or step.message.attachments or step.stage == "ticket_open"
            or not _asks(text, words) or entities.mentions_date(text)):
        return False
    around = contexts(step)
    if not around:
        return False
    match = step.classify(text)
    own = _own_topic(step, match)
    dependent = _leads_on(words) or any(w in _POINTS_BACK for w in words)
    if own and step.kb.topics[own].kind == "escalation" and not (
            dependent and around[0] == step.recent("answered", within=2)
            and step.kb.matcher.follow_up(around[0], text)):
        # "¿y si me sale error al guardar?": a problem of its own, for the desk; but "¿y otro
        # número? ese no contesta" right after the contact card is the card's own follow-up.
        return False
    if own and own not in around and not dependent:
        return False  # "¿cuánto tarda?" after the form's steps: a question of its own
    for topic in around:
        if topic == "espera" and step.stage == "waiting_period":
            continue  # the wait's own questions are read by flows.waiting, with its dates
        found = _sub_question(step, topic)
        if found is None:
            continue
        if found.then and _names_another(match, found.then, around):
            continue  # "¿y el NSS de dónde lo saco?" after the requirements: the NSS, as asked
        if found.then:
            step.topic = found.then
            if step.stage in PROCEDURE_STAGES and stage and stage.question:
                # "¿y después de guardarla?" at the form's step: the wait's answer, and the guide
                # stays at its step (nothing is saved yet to ask the day of).
                answer(step, found.then)
                resume_prompt(step)
            else:  # as if asked outright
                answering.answer_topic(step, Match.certain(found.then))
            return True
        step.topic = topic
        step.remember("answered", topic)
        step.say(found.answer)
        if stage and stage.question:
            step.say(question_again(step, stage))
        return True
    return False
