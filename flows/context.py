"""The working context of one step: the message, the time, what to answer.

Every handler of the machine receives a :class:`Step` and appends replies and
actions to it; :func:`flows.machine.advance` turns it into an Outcome. The
state is a plain dict so it can be stored as JSON by any database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows import speaker
from flows.calendar import BusinessCalendar, OfficeHours, format_date_es
from flows.messages import Action, Incoming, Option, Reply
from knowledge.loader import KnowledgeBase
from knowledge.matcher import STRONG, Match


def calendar_for(kb: KnowledgeBase) -> BusinessCalendar:
    """The business calendar of this knowledge base (built once per kb)."""
    cal = kb._extra.get("calendar")
    if cal is None:
        cal = BusinessCalendar(extra_closed=kb.desk.non_working_days)
        kb._extra["calendar"] = cal
    return cal


def office_hours_for(kb: KnowledgeBase) -> OfficeHours:
    hours = kb._extra.get("office_hours")
    if hours is None:
        start = time.fromisoformat(kb.desk.office_start)
        end = time.fromisoformat(kb.desk.office_end)
        hours = OfficeHours(calendar_for(kb), tz=kb.desk.timezone, start=start, end=end)
        kb._extra["office_hours"] = hours
    return hours


@dataclass
class Step:
    kb: KnowledgeBase
    message: Incoming
    state: dict[str, Any]
    text: str  # what the student wrote, secrets removed
    #: The text without the passwords nor the words that introduced them
    #: ("y mi contraseña es …"): for reading data, where they would be noise.
    data_text: str | None = None
    #: The message carried a password (already removed from ``text``).
    had_secret: bool = False
    replies: list[Reply] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    topic: str | None = None
    _matches: dict[str, Match] = field(default_factory=dict, repr=False)

    def classify(self, text: str) -> Match:
        """The matcher's reading of ``text``, read once a step: several checks of one message
        ask about the same words."""
        match = self._matches.get(text)
        if match is None:
            match = self._matches[text] = self.kb.matcher.classify(text)
        return match

    @property
    def now(self) -> datetime:
        return self.message.at.astimezone(ZoneInfo(self.kb.desk.timezone))

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def calendar(self) -> BusinessCalendar:
        return calendar_for(self.kb)

    @property
    def hours(self) -> OfficeHours:
        return office_hours_for(self.kb)

    def business_days_back(self, amount: int) -> date:
        """The day ``amount`` business days before today, on the desk's calendar."""
        day, left = self.today, amount
        while left > 0:
            day -= timedelta(days=1)
            left -= self.calendar.is_business_day(day)
        return day

    def read_day(self, text: str) -> date | None:
        """The day ``text`` names (:func:`flows.entities.parse_date`), with "hace 3 días hábiles"
        counted back on the desk's calendar rather than in calendar days."""
        from flows import entities

        waited = entities.waited_duration(text)
        if waited is not None and waited[1] == "dia" and waited[2]:
            return self.business_days_back(waited[0])
        return entities.parse_date(text, self.now)

    def say(self, text: str, options: list[tuple[str, str]] | None = None) -> None:
        """Queue a reply; ``options`` are (target, label) pairs, numbered here.

        The numbering is remembered in the state so that a typed "2" (or a
        Telegram button sending "2") picks the same target next turn. A parent writing for the
        student reads the known answers in it in their ``answer_relative`` wording.
        """
        if self.relative:
            text = self.kb.for_relative(text)
        if not options:
            self.replies.append(Reply(text.strip()))
            return
        keyed = {str(i): target for i, (target, _) in enumerate(options, start=1)}
        self.state["options"] = keyed
        self.replies.append(
            Reply(text.strip(), tuple(Option(str(i), label) for i, (_, label) in enumerate(options, start=1)))
        )

    def msg(self, key: str, **values: Any) -> str:
        """A sentence of messages.yaml, in the words for who is writing (a parent writing for the
        student reads its ``_relative`` wording, when it has one)."""
        return self.kb.message(key, relative=self.relative, **values)

    @property
    def relative(self) -> bool:
        """A relative is writing for the student (:mod:`flows.speaker`)."""
        return speaker.is_relative(self.state)

    def answers(self, topic_id: str) -> tuple[str, ...]:
        """A topic's answer, in the words for who is writing."""
        return self.kb.answers(topic_id, relative=self.relative)

    def privacy_notice(self) -> str:
        return self.kb.privacy_notice(relative=self.relative)

    def date_es(self, d: date) -> str:
        return format_date_es(d, with_year=d.year != self.today.year)

    def act(self, action: Action) -> None:
        self.actions.append(action)

    @property
    def turn(self) -> int:
        """How many messages of this chat came before this one."""
        return int(self.state.get("turns", 0))

    def remember(self, key: str, tag: str = "") -> None:
        """Note in the state that ``key`` (about ``tag``) happened at this message, for the
        next few messages to read with :meth:`recalls` ("said again" means a different reply).
        The answer given before the last one is kept too (``answered_before``): a follow-up may
        be about either ("¿y la contraseña cuál es?" once the form's steps came after the CIA's)."""
        old = self.state.get(key)
        if key == "answered" and isinstance(old, str) and old.rpartition(":")[0] != tag:
            self.state["answered_before"] = old
        self.state[key] = f"{tag}:{self.turn}"

    def recent(self, key: str, within: int = 1) -> str | None:
        """The tag :meth:`remember` noted ``key`` with, if it was in one of the last ``within``
        messages; None for older notes (a mark days ago is not "just said")."""
        mark = self.state.get(key)
        if not isinstance(mark, str):
            return None
        tag, _, at = mark.rpartition(":")
        return tag if at.isdigit() and 0 < self.turn - int(at) <= within else None

    def recalls(self, key: str, tag: str = "", within: int = 1) -> bool:
        """Whether :meth:`remember` noted ``key`` about ``tag`` in one of the last ``within`` messages."""
        return self.recent(key, within) == tag

    def forget(self, key: str) -> None:
        self.state.pop(key, None)

    @property
    def stage(self) -> str:
        return str(self.state.get("stage") or "menu")

    @stage.setter
    def stage(self, value: str) -> None:
        self.state["stage"] = value


def is_answer_topic(step: Step, match: Match) -> bool:
    """Whether the matcher confidently read a question the bot answers (not a greeting, a
    goodbye, the off-topic answer or a report)."""
    return bool(match.confident and match.topic and step.kb.topics[match.topic].kind == "answer"
                and match.topic not in ("fuera_de_tema", "saludo", "despedida"))


def is_vague(match: Match) -> bool:
    """Not understood, or off-topic without naming anything else ("¿cómo que ruta?" is vague,
    "¿y el wifi?" is not)."""
    return not match.confident or (match.topic == "fuera_de_tema"
                                   and match.keyword_scores.get("fuera_de_tema", 0.0) < STRONG)
