"""Read the knowledge base from YAML and validate it.

Staff edit these files by hand, so every problem is reported with the file,
the line and the topic it concerns, and all problems are collected before
failing: one run of ``seguro-bot knowledge check`` shows everything to fix.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from knowledge.matcher import Matcher

ROOT = Path(__file__).resolve().parent

#: The public topic ids of shared/spec/topics.md, in menu-friendly order.
ANSWER_TOPICS = (
    "saludo", "requisitos", "otro_seguro", "nss", "registro_cia", "llenado",
    "espera", "vigencia", "alta_umf", "contacto", "urgencia", "fuera_de_tema",
    "despedida",
)
ESCALATION_TOPICS = ("datos_erroneos", "error_solicitud", "sin_vigencia", "duda_general")
ALL_TOPICS = ANSWER_TOPICS + ESCALATION_TOPICS
KINDS = ("answer", "escalation", "social")
PLACEHOLDERS = (
    "email", "whatsapp", "phone", "hours", "cia_url", "nss_url", "vigencia_url",
    "umf_url", "correccion_url", "privacy_url",
)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s)>\]\"']+", re.IGNORECASE)
#: A message's wording for a relative writing on the student's behalf ("soy mamá de un alumno"):
#: ``<key>_relative`` in messages.yaml, next to ``<key>``; chosen by :meth:`KnowledgeBase.message`.
RELATIVE_SUFFIX = "_relative"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the knowledge base, located for a human."""

    file: str
    line: int
    topic: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.topic or '-'}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base cannot be loaded; ``problems`` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Topic:
    id: str
    kind: str
    label: str
    answers: tuple[str, ...]
    sources: tuple[str, ...]
    examples: tuple[str, ...]
    strong: tuple[str, ...]
    weak: tuple[str, ...]
    menu: int | None = None
    #: Strong cues that only announce a question ("otra pregunta"): alone they are the
    #: topic; followed by the question, the question decides, as after a greeting.
    announces: tuple[str, ...] = ()
    #: Strong cues only when they are the whole message ("¿cuánto cuesta?"): with more
    #: words they say nothing ("¿cuánto cuesta un boleto a Cancún?").
    alone: tuple[str, ...] = ()
    known: tuple[KnownAnswer, ...] = ()
    #: The answer worded for a relative writing for the student (``answer_relative:``); empty: ``answers``.
    answers_relative: tuple[str, ...] = ()
    #: Short questions that only make sense right after this topic's answer (``follow_ups:``):
    #: "¿y qué me tiene que salir ahí?" after how to check the coverage.
    follow_ups: tuple[KnownAnswer, ...] = ()
    priority: float = 0.0
    standalone: bool = False
    file: str = ""


@dataclass(frozen=True)
class KnownAnswer:
    """A question the desk's facts answer (``known:`` in a topic's file): said before an answer
    topic's own answer; on an escalation topic, said first with a person still offered."""

    when: tuple[str, ...]  # phrases, as keywords are written; any one of them
    answer: str
    source: str
    #: The whole answer ("¿qué es la CURP?" under the NSS topic): the topic's own answer is not
    #: said after it. On a follow-up: the phrase is the whole message ("¿cuánto?").
    alone: bool = False
    #: On a follow-up: the topic that answers it instead of a text of its own ("¿y después de
    #: guardarla?" after how to fill in the form is the wait).
    then: str = ""
    #: The answer worded for a relative writing for the student (``answer_relative:`` of the
    #: item); empty: ``answer``. Said instead of it by :meth:`KnowledgeBase.for_relative`.
    answer_relative: str = ""


@dataclass(frozen=True)
class Desk:
    email: str
    whatsapp: tuple[str, ...]
    phone: str
    timezone: str
    office_start: str
    office_end: str
    hours_label: str
    links: dict[str, str]
    privacy_notice: str
    non_working_days: tuple[date, ...]
    waiting_days: int
    #: The notice worded for a relative writing for the student ("los datos de tu hijo(a)").
    privacy_notice_relative: str = ""

    def placeholders(self) -> dict[str, str]:
        """Values for the ``{name}`` placeholders of answers and messages."""
        values = {
            "email": self.email,
            "whatsapp": " y ".join(self.whatsapp),
            "phone": self.phone,
            "hours": self.hours_label,
        }
        for key in ("cia", "nss", "vigencia", "umf", "correccion", "privacy"):
            values[f"{key}_url"] = self.links.get(key, "")
        return values


@dataclass(frozen=True)
class Lexicon:
    abbreviations: dict[str, str]
    synonyms: dict[str, str]
    stopwords: frozenset[str]
    ignore: frozenset[str] = frozenset()
    phrases: dict[str, str] = field(default_factory=dict)
    #: Words spelled right (``words_es.txt``): never "corrected" into a word of the knowledge base.
    known: frozenset[str] = frozenset()
    #: Third-person forms read as the first person ("le sale" as "me sale", "puso" as "puse"):
    #: a parent tells what the student did the way a student tells it of themselves.
    third_person: dict[str, str] = field(default_factory=dict)


@dataclass
class KnowledgeBase:
    """Everything the flows need to understand and answer a student."""

    topics: dict[str, Topic]
    desk: Desk
    messages: dict[str, Any]
    lexicon: Lexicon
    root: Path = ROOT
    _extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def matcher(self) -> Matcher:
        from knowledge.matcher import Matcher

        return Matcher(self.topics.values(), self.lexicon)

    def menu_topics(self) -> list[Topic]:
        """Topics of the main menu, by position."""
        items = [t for t in self.topics.values() if t.menu is not None]
        return sorted(items, key=lambda t: t.menu or 0)

    def privacy_notice(self, *, relative: bool = False) -> str:
        """The short privacy notice, with the link to the full one (worded for a relative writing
        for the student when ``relative`` and desk.yaml has ``privacy_notice_relative``)."""
        notice = (relative and self.desk.privacy_notice_relative) or self.desk.privacy_notice
        return _fill(notice, self.desk.placeholders())

    def answers(self, topic_id: str, *, relative: bool = False) -> tuple[str, ...]:
        """A topic's answer, worded for a relative writing for the student when ``relative`` and the
        topic has ``answer_relative:``."""
        topic = self.topics[topic_id]
        return (relative and topic.answers_relative) or topic.answers

    @cached_property
    def _relative_wordings(self) -> dict[str, str]:
        """Each known answer and follow-up of a topic that has a wording for a relative, by its answer."""
        return {k.answer: k.answer_relative for t in self.topics.values() for k in (*t.known, *t.follow_ups)
                if k.answer and k.answer_relative}

    def for_relative(self, text: str) -> str:
        """``text`` with every known answer or follow-up answer in it (the matcher hands those out
        as they are written) replaced by its ``answer_relative``: what a parent writing for the
        student reads. Other text is left as it is."""
        for answer, relative in self._relative_wordings.items():
            if answer in text:
                text = text.replace(answer, relative)
        return text

    def message(self, key: str, *, relative: bool = False, **values: Any) -> str:
        """A sentence of messages.yaml with placeholders filled; with ``relative``, its
        ``<key>_relative`` wording when there is one (a parent writing for the student)."""
        variant = key + RELATIVE_SUFFIX
        template = self.messages[variant if relative and variant in self.messages else key]
        if isinstance(template, list):
            template = "\n".join(template)
        return _fill(str(template), {**self.desk.placeholders(), **values})


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, values: dict[str, Any]) -> str:
    return template.format_map(_Values(values))


# --- reading YAML with line numbers -------------------------------------------------


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text: YAML's own date reading raises (not a
    YAML error) on an impossible date such as 2026-02-30, so dates are checked
    by us, where the file and line are known."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _as_date(value: Any) -> date | None:
    """A YYYY-MM-DD value as a date; None when it is not one (or impossible)."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip() if value is not None else ""
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _read(path: Path, problems: list[Problem], topic: str = "") -> tuple[Any, dict[str, int]]:
    """Parse one YAML file; return its data and the line of each top-level key."""
    rel = _rel(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(rel, 0, topic, f"cannot read the file: {exc}"))
        return None, {}
    try:
        node = yaml.compose(text, Loader=_TextDatesLoader)
        data = yaml.load(text, Loader=_TextDatesLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problems.append(Problem(rel, line, topic, f"broken YAML: {exc.problem or exc}"))
        return None, {}
    except yaml.YAMLError as exc:
        problems.append(Problem(rel, 0, topic, f"broken YAML: {exc}"))
        return None, {}
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines[str(key.value)] = key.start_mark.line + 1
                # Also note the line of each list item: "examples.3" -> line.
                if isinstance(value, yaml.SequenceNode):
                    for i, item in enumerate(value.value):
                        lines[f"{key.value}.{i}"] = item.start_mark.line + 1
    return data, lines


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _check_text(
    text: str, *, rel: str, line: int, topic: str, problems: list[Problem], free_placeholders: bool = False
) -> None:
    """Links must be https and placeholders must exist (messages may have their own)."""
    for url in _URL.findall(text):
        if not url.lower().startswith("https://"):
            problems.append(Problem(rel, line, topic, f"link is not https: {url}"))
    if free_placeholders or "{" not in text:
        return
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(text)]
    except ValueError as exc:
        problems.append(Problem(rel, line, topic, f"unbalanced braces: {exc}"))
        return
    for name in fields:
        if name is not None and name not in PLACEHOLDERS:
            problems.append(Problem(rel, line, topic, f"unknown placeholder {{{name}}}"))


def _load_known(items: Any, desk_values: dict[str, str], *, rel: str, line: int, topic: str,
                problems: list[Problem]) -> tuple[KnownAnswer, ...]:
    """The ``known:`` list: each item ``when`` (phrases), ``answer`` and ``source``."""
    if items is None:
        return ()
    if not isinstance(items, list):
        problems.append(Problem(rel, line, topic, "known must be a list of when/answer/source"))
        return ()
    known: list[KnownAnswer] = []
    for item in items:
        when = _strings(item.get("when")) if isinstance(item, dict) else []
        answer = str(item.get("answer") or "").strip() if isinstance(item, dict) else ""
        source = str(item.get("source") or "").strip() if isinstance(item, dict) else ""
        if not (when and answer and source):
            problems.append(Problem(rel, line, topic, "each known answer needs when (phrases), answer and source"))
            continue
        _check_text(answer, rel=rel, line=line, topic=topic, problems=problems)
        relative = _item_relative(item, answer, desk_values, rel=rel, line=line, topic=topic, problems=problems)
        known.append(KnownAnswer(tuple(when), _fill(answer, desk_values), source, bool(item.get("alone")),
                                 answer_relative=relative))
    return tuple(known)


def _item_relative(item: dict[str, Any], answer: str, desk_values: dict[str, str], *, rel: str, line: int,
                   topic: str, problems: list[Problem]) -> str:
    """A known answer's or follow-up's ``answer_relative`` (its wording for a relative writing for
    the student), checked like its ``answer``; only where there is an ``answer`` to reword."""
    relative = str(item.get("answer_relative") or "").strip()
    if not relative:
        return ""
    if not answer:
        problems.append(Problem(rel, line, topic, "answer_relative without an answer to reword "
                                "(a follow-up with then: takes that topic's wording)"))
        return ""
    _check_text(relative, rel=rel, line=line, topic=topic, problems=problems)
    return _fill(relative, desk_values)


def _load_follow_ups(items: Any, desk_values: dict[str, str], *, rel: str, line: int, topic: str,
                     problems: list[Problem]) -> tuple[KnownAnswer, ...]:
    """The ``follow_ups:`` list: each item ``when`` (phrases) and either ``answer`` with its
    ``source`` or ``then`` (the topic that answers it); ``alone: true`` when a phrase must be
    the whole message."""
    if items is None:
        return ()
    if not isinstance(items, list):
        problems.append(Problem(rel, line, topic, "follow_ups must be a list of when and answer/source or then"))
        return ()
    found: list[KnownAnswer] = []
    for item in items:
        if not isinstance(item, dict):
            problems.append(Problem(rel, line, topic, "each follow-up needs when and answer/source or then"))
            continue
        when = _strings(item.get("when"))
        answer = str(item.get("answer") or "").strip()
        source = str(item.get("source") or "").strip()
        then = str(item.get("then") or "").strip()
        if then and then not in ALL_TOPICS:
            problems.append(Problem(rel, line, topic, f"follow-up: unknown topic {then!r} in then"))
            continue
        if not when or not (then or (answer and source)) or (then and answer):
            problems.append(Problem(rel, line, topic, "each follow-up needs when and answer/source or then"))
            continue
        if answer:
            _check_text(answer, rel=rel, line=line, topic=topic, problems=problems)
        relative = _item_relative(item, answer, desk_values, rel=rel, line=line, topic=topic, problems=problems)
        found.append(KnownAnswer(tuple(when), _fill(answer, desk_values) if answer else "", source,
                                 bool(item.get("alone")), then, answer_relative=relative))
    return tuple(found)


def _load_topic(path: Path, desk_values: dict[str, str], problems: list[Problem]) -> Topic | None:
    rel = _rel(path)
    data, lines = _read(path, problems, path.stem)
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.append(Problem(rel, 1, path.stem, "a topic file must be a mapping (id, kind, answer, ...)"))
        return None
    tid = str(data.get("id") or "")
    if not tid:
        problems.append(Problem(rel, 1, path.stem, "missing id"))
        return None
    if tid not in ALL_TOPICS:
        problems.append(Problem(rel, lines.get("id", 1), tid, f"unknown topic {tid!r} (not in topics.md)"))
        return None
    if tid != path.stem:
        problems.append(Problem(rel, lines.get("id", 1), tid, f"file name should be {tid}.yaml"))
    kind = str(data.get("kind") or "")
    if kind not in KINDS:
        problems.append(Problem(rel, lines.get("kind", 1), tid, f"kind must be one of {', '.join(KINDS)}"))
    expected_kind = "escalation" if tid in ESCALATION_TOPICS else None
    if expected_kind and kind != expected_kind:
        problems.append(Problem(rel, lines.get("kind", 1), tid, "an escalation topic must have kind: escalation"))
    answers = _strings(data.get("answer"))
    if not answers or not any(a.strip() for a in answers):
        problems.append(Problem(rel, lines.get("answer", 1), tid, "no answer"))
    for i, ans in enumerate(answers):
        _check_text(ans, rel=rel, line=lines.get(f"answer.{i}", lines.get("answer", 1)), topic=tid, problems=problems)
    sources = _strings(data.get("sources"))
    if not sources:
        problems.append(Problem(rel, lines.get("sources", 1), tid, "no sources: say where the facts come from"))
    for i, source in enumerate(sources):
        for url in _URL.findall(source):
            if not url.lower().startswith("https://"):
                line = lines.get(f"sources.{i}", lines.get("sources", 1))
                problems.append(Problem(rel, line, tid, f"link is not https: {url}"))
    keywords = data.get("keywords") or {}
    if not isinstance(keywords, dict):
        problems.append(Problem(rel, lines.get("keywords", 1), tid, "keywords must have strong: and weak: lists"))
        keywords = {}
    menu = data.get("menu")
    if menu is not None and not isinstance(menu, int):
        problems.append(Problem(rel, lines.get("menu", 1), tid, "menu must be a number"))
        menu = None
    priority = data.get("priority", 1.5 if kind == "escalation" else 0.0)
    if not isinstance(priority, (int, float)):
        problems.append(Problem(rel, lines.get("priority", 1), tid, "priority must be a number"))
        priority = 0.0
    known = _load_known(data.get("known"), desk_values, rel=rel, line=lines.get("known", 1), topic=tid,
                        problems=problems)
    follow_ups = _load_follow_ups(data.get("follow_ups"), desk_values, rel=rel,
                                  line=lines.get("follow_ups", 1), topic=tid, problems=problems)
    rendered = tuple(_fill(a.strip(), desk_values) for a in answers)
    relative = _strings(data.get("answer_relative"))
    for i, ans in enumerate(relative):
        line = lines.get(f"answer_relative.{i}", lines.get("answer_relative", 1))
        _check_text(ans, rel=rel, line=line, topic=tid, problems=problems)
    if relative and len(relative) != len(answers):
        problems.append(Problem(rel, lines.get("answer_relative", 1), tid,
                                f"answer_relative has {len(relative)} messages and answer {len(answers)}: "
                                "give each message its wording for a relative"))
    return Topic(
        id=tid,
        kind=kind,
        label=str(data.get("label") or tid),
        answers=rendered,
        answers_relative=tuple(_fill(a.strip(), desk_values) for a in relative),
        sources=tuple(sources),
        examples=tuple(_strings(data.get("examples"))),
        strong=tuple(_strings(keywords.get("strong"))),
        weak=tuple(_strings(keywords.get("weak"))),
        announces=tuple(_strings(keywords.get("announces"))),
        alone=tuple(_strings(keywords.get("alone"))),
        known=known,
        follow_ups=follow_ups,
        menu=menu,
        priority=float(priority),
        standalone=bool(data.get("standalone", False)),
        file=rel,
    )


def _load_desk(path: Path, problems: list[Problem]) -> Desk | None:
    rel = _rel(path)
    data, lines = _read(path, problems, "desk")
    if not isinstance(data, dict):
        if data is not None:
            problems.append(Problem(rel, 1, "desk", "desk.yaml must be a mapping"))
        return None
    contact = data.get("contact") or {}
    hours = data.get("office_hours") or {}
    links = {str(k): str(v) for k, v in (data.get("links") or {}).items()}
    for key, url in links.items():
        if not url.startswith("https://"):
            problems.append(Problem(rel, lines.get("links", 1), "desk", f"link {key} is not https: {url}"))
    days: list[date] = []
    for i, item in enumerate(data.get("non_working_days") or []):
        value = item.get("date") if isinstance(item, dict) else item
        day = _as_date(value)
        if day is not None:
            days.append(day)
        else:
            line = lines.get(f"non_working_days.{i}", lines.get("non_working_days", 1))
            problems.append(Problem(rel, line, "desk", f"non-working day is not a date (YYYY-MM-DD): {value!r}"))
    for key in ("email", "phone"):
        if not contact.get(key):
            problems.append(Problem(rel, lines.get("contact", 1), "desk", f"contact.{key} is missing"))
    notice = str(data.get("privacy_notice") or "")
    if not notice:
        problems.append(Problem(rel, lines.get("privacy_notice", 1), "desk", "privacy_notice is missing"))
    _check_text(notice, rel=rel, line=lines.get("privacy_notice", 1), topic="desk", problems=problems)
    notice_relative = str(data.get("privacy_notice_relative") or "")
    _check_text(notice_relative, rel=rel, line=lines.get("privacy_notice_relative", 1), topic="desk",
                problems=problems)
    return Desk(
        email=str(contact.get("email", "")),
        whatsapp=tuple(_strings(contact.get("whatsapp"))),
        phone=str(contact.get("phone", "")),
        timezone=str(hours.get("timezone", "America/Hermosillo")),
        office_start=str(hours.get("start", "08:00")),
        office_end=str(hours.get("end", "16:00")),
        hours_label=str(hours.get("label", "")),
        links=links,
        privacy_notice=notice,
        privacy_notice_relative=notice_relative,
        non_working_days=tuple(days),
        waiting_days=int(data.get("waiting_days") or 5),
    )


def _load_lexicon(path: Path, problems: list[Problem]) -> Lexicon:
    data, _ = _read(path, problems, "lexicon") if path.exists() else ({}, {})
    data = data if isinstance(data, dict) else {}

    def mapping(key: str) -> dict[str, str]:
        raw = data.get(key) or {}
        return {str(k).lower(): str(v).lower() for k, v in raw.items()} if isinstance(raw, dict) else {}

    return Lexicon(
        abbreviations=mapping("abbreviations"),
        synonyms=mapping("synonyms"),
        stopwords=frozenset(str(w).lower() for w in data.get("stopwords") or []),
        ignore=frozenset(str(w).lower() for w in data.get("ignore") or []),
        phrases=mapping("phrases"),
        known=_known_words(path.with_name(KNOWN_WORDS)),
        third_person=mapping("third_person"),
    )


def _check_third_person(lexicon: Lexicon, topics: dict[str, Topic], path: Path, problems: list[Problem]) -> None:
    """A keyword is read word by word, so it never holds a phrase of ``third_person:`` of several
    words ("le sale"): a message's "le sale" is read "me sale" and would never match it."""
    phrases = [k for k in lexicon.third_person if len(k.split()) > 1]
    for topic in topics.values():
        for keyword in (*topic.strong, *topic.weak, *topic.announces, *topic.alone):
            padded = f" {' '.join(keyword.lower().split())} "
            for phrase in phrases:
                if f" {phrase} " in padded:
                    problems.append(Problem(topic.file, 1, topic.id, f"keyword {keyword!r} holds {phrase!r}, which "
                                            f"lexicon.yaml's third_person reads as {lexicon.third_person[phrase]!r}: "
                                            "write that instead"))
    for key, value in lexicon.third_person.items():
        if not key.strip() or not value.strip():
            problems.append(Problem(_rel(path), 1, "lexicon", f"third_person: empty form in {key!r}: {value!r}"))


#: One correctly spelled word a line, beside lexicon.yaml (comments start with #).
KNOWN_WORDS = "words_es.txt"


def _known_words(path: Path) -> frozenset[str]:
    """The words the spelling correction leaves alone; none when the file is missing."""
    if not path.exists():
        return frozenset()
    words = (line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


def _collect(root: Path) -> tuple[KnowledgeBase | None, list[Problem]]:
    problems: list[Problem] = []
    desk = _load_desk(root / "desk.yaml", problems)
    values = desk.placeholders() if desk else {}
    topics: dict[str, Topic] = {}
    topic_dir = root / "topics"
    for path in sorted(topic_dir.glob("*.yaml")) if topic_dir.is_dir() else []:
        topic = _load_topic(path, values, problems)
        if topic is None:
            continue
        if topic.id in topics:
            problems.append(Problem(topic.file, 1, topic.id, f"topic defined twice (also in {topics[topic.id].file})"))
        topics[topic.id] = topic
    for tid in ALL_TOPICS:
        if tid not in topics and not any(p.topic == tid for p in problems):
            problems.append(Problem(_rel(topic_dir / f"{tid}.yaml"), 0, tid, "topic of topics.md has no answer file"))
    messages_path = root / "messages.yaml"
    messages, mlines = _read(messages_path, problems, "messages") if messages_path.exists() else ({}, {})
    if not isinstance(messages, dict):
        messages = {}
    for key, value in messages.items():
        for text in _strings(value):
            _check_text(
                text, rel=_rel(messages_path), line=mlines.get(str(key), 1), topic=str(key),
                problems=problems, free_placeholders=True,
            )
        key = str(key)
        if key.endswith(RELATIVE_SUFFIX):
            base = key[: -len(RELATIVE_SUFFIX)]
            line = mlines.get(key, 1)
            if base not in messages:
                problems.append(Problem(_rel(messages_path), line, key,
                                        f"a relative's wording of {base!r}, which messages.yaml does not have"))
            else:
                # The bot fills the base message's placeholders: the variant can only use those.
                known = {n for t in _strings(messages[base]) for n in _PLACEHOLDER.findall(t)}
                extra = {n for t in _strings(value) for n in _PLACEHOLDER.findall(t)} - known - set(PLACEHOLDERS)
                if extra:
                    problems.append(Problem(_rel(messages_path), line, key,
                                            f"placeholders {sorted(extra)} are not in {base!r}"))
    lexicon = _load_lexicon(root / "lexicon.yaml", problems)
    _check_third_person(lexicon, topics, root / "lexicon.yaml", problems)
    if desk is None:
        return None, problems
    kb = KnowledgeBase(topics=topics, desk=desk, messages=messages, lexicon=lexicon, root=root)
    return kb, problems


def check(root: Path | None = None) -> list[Problem]:
    """Every problem of the knowledge base at ``root`` (default: the packaged one).

    The conversation tests in ``tests/`` are checked too (shape, topic and
    ticket names); a broken test does not stop the bot from loading.
    """
    root = Path(root) if root else ROOT
    _, problems = _collect(root)
    return problems + check_stories(root / "tests")


#: What a turn of a conversation test may say (bot/stories.py reads them).
TURN_KEYS = frozenset({"text", "at", "topic", "state", "replies_contain", "replies_lack", "ticket",
                       "attachments", "channel"})
CHANNELS = ("whatsapp", "telegram", "console", "web")


def check_stories(directory: Path) -> list[Problem]:
    """Problems of the conversation tests (``knowledge/tests/*.yaml``), with file and line."""
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        rel = _rel(path)
        try:
            node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(rel, 0, "tests", f"cannot read the file: {exc}"))
            continue
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problems.append(Problem(rel, mark.line + 1 if mark else 0, "tests", f"broken YAML: {exc.problem or exc}"))
            continue
        except yaml.YAMLError as exc:
            problems.append(Problem(rel, 0, "tests", f"broken YAML: {exc}"))
            continue
        if node is None:
            continue
        stories = _mapping_get(node, "stories") if isinstance(node, yaml.MappingNode) else node
        if not isinstance(stories, yaml.SequenceNode):
            problems.append(Problem(rel, 1, "tests", "a test file holds 'stories:', a list of stories"))
            continue
        for story in stories.value:
            _check_story(story, rel, problems)
    return problems


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping_get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _scalar(node: yaml.Node | None) -> Any:
    """The Python value of a scalar node (None stays None)."""
    if node is None:
        return None
    return yaml.safe_load(yaml.serialize(node))


def _check_story(story: yaml.Node, rel: str, problems: list[Problem]) -> None:
    if not isinstance(story, yaml.MappingNode):
        problems.append(Problem(rel, _line(story), "tests", "a story has a name: and turns:"))
        return
    name = _scalar(_mapping_get(story, "name"))
    where = f"story {name!r}" if name else "story"
    if not name:
        problems.append(Problem(rel, _line(story), "tests", "a story needs a name:"))
    turns = _mapping_get(story, "turns")
    if not isinstance(turns, yaml.SequenceNode) or not turns.value:
        problems.append(Problem(rel, _line(story), "tests", f"{where}: turns: must be a list of turns"))
        return
    for turn in turns.value:
        if not isinstance(turn, yaml.MappingNode):
            problems.append(Problem(rel, _line(turn), "tests", f"{where}: a turn is a mapping with text:"))
            continue
        keys = {k.value: v for k, v in turn.value if isinstance(k, yaml.ScalarNode)}
        for key, value in keys.items():
            if key not in TURN_KEYS:
                problems.append(Problem(rel, _line(value), "tests",
                                        f"{where}: unknown key {key!r} (one of {', '.join(sorted(TURN_KEYS))})"))
        text = _scalar(keys["text"]) if "text" in keys else None
        if isinstance(text, bool) or not isinstance(text, (str, int)):
            # YAML reads a bare no/yes/si as true or false: "no" must be quoted.
            problems.append(Problem(rel, _line(keys.get("text", turn)), "tests",
                                    f"{where}: a turn needs text:; quote it when it is yes, no, on, off or empty"))
        topic = _scalar(keys.get("topic"))
        if topic is not None and topic not in ALL_TOPICS:
            problems.append(Problem(rel, _line(keys["topic"]), "tests", f"{where}: unknown topic {topic!r}"))
        ticket = _scalar(keys.get("ticket"))
        if ticket is not None and ticket not in ESCALATION_TOPICS:
            problems.append(Problem(rel, _line(keys["ticket"]), "tests",
                                    f"{where}: ticket must be null or an escalation topic, not {ticket!r}"))
        for key in ("replies_contain", "replies_lack"):
            value = _scalar(keys.get(key))
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                problems.append(Problem(rel, _line(keys[key]), "tests", f"{where}: {key} must be a list of texts"))
        at = _scalar(keys.get("at"))
        if at is not None and not isinstance(at, datetime):
            try:
                datetime.fromisoformat(str(at))
            except ValueError:
                problems.append(Problem(rel, _line(keys["at"]), "tests", f"{where}: at is not an ISO 8601 time: {at!r}"))
        channel = _scalar(keys.get("channel"))
        if channel is not None and channel not in CHANNELS:
            problems.append(Problem(rel, _line(keys["channel"]), "tests", f"{where}: unknown channel {channel!r}"))


def load(root: Path | None = None) -> KnowledgeBase:
    """The knowledge base at ``root``; raises KnowledgeError listing every problem."""
    kb, problems = _collect(Path(root) if root else ROOT)
    if problems or kb is None:
        raise KnowledgeError(problems or [Problem(str(root or ROOT), 0, "", "nothing to load")])
    return kb
