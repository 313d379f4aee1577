"""Conversation tests that staff write in YAML (knowledge/tests/*.yaml).

Like Rasa's test stories: each file holds conversations, each conversation
turns with what the bot must do. They run through the pure flows (no
database, no channel), so a staff member who edits an answer sees in a
second what they broke.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from flows.machine import advance
from flows.messages import Attachment, Incoming, OpenTicket
from knowledge.loader import KnowledgeBase

_UNSET = object()


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass
class Failure:
    file: str
    story: str
    turn: int
    text: str
    problems: list[str]

    def __str__(self) -> str:
        return f"{self.file}: «{self.story}», turn {self.turn} ({self.text!r}): " + "; ".join(self.problems)


@dataclass
class Report:
    stories: int = 0
    turns: int = 0
    failures: list[Failure] = field(default_factory=list)


def _at(value: Any, default_tz: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(default_tz))
    if value:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(default_tz))
    return datetime.now(ZoneInfo(default_tz))


def run_story(kb: KnowledgeBase, story: dict[str, Any], file: str) -> tuple[int, list[Failure]]:
    """Play one conversation; return its turn count and failures."""
    name = str(story.get("name", "?"))
    state: dict[str, Any] | None = None
    failures: list[Failure] = []
    turns = story.get("turns") or []
    previous: datetime | None = None
    for i, turn in enumerate(turns, start=1):
        text = str(turn.get("text", ""))
        attachments = tuple(
            Attachment(ref=str(a), content_type="image/png", name=str(a)) for a in turn.get("attachments", [])
        )
        # A turn with no time comes a minute after the one before (the story's first, now).
        at = _at(turn.get("at"), kb.desk.timezone) if turn.get("at") or previous is None else previous + timedelta(minutes=1)
        previous = at
        message = Incoming(text=text, at=at, channel=str(turn.get("channel", "console")), attachments=attachments)
        outcome = advance(state, message, kb)
        state = outcome.state
        said = fold("\n".join(r.plain() for r in outcome.replies))
        problems: list[str] = []
        if "topic" in turn and turn["topic"] != outcome.topic:
            problems.append(f"topic {outcome.topic!r}, expected {turn['topic']!r}")
        if "state" in turn and turn["state"] != state.get("stage"):
            problems.append(f"state {state.get('stage')!r}, expected {turn['state']!r}")
        for want in turn.get("replies_contain") or []:
            if fold(str(want)) not in said:
                problems.append(f"replies lack {want!r}")
        for unwanted in turn.get("replies_lack") or []:
            if fold(str(unwanted)) in said:
                problems.append(f"replies contain {unwanted!r}")
        expected_ticket = turn.get("ticket", _UNSET)
        if expected_ticket is not _UNSET:
            opened = [a.reason for a in outcome.actions if isinstance(a, OpenTicket)]
            got = opened[0] if opened else None
            if got != expected_ticket:
                problems.append(f"ticket {got!r}, expected {expected_ticket!r}")
        if not outcome.replies:
            problems.append("no reply")
        if problems:
            failures.append(Failure(file, name, i, text, problems))
    return len(turns), failures


def run_all(kb: KnowledgeBase, directory: Path | None = None) -> Report:
    """Run every story of every YAML file in ``directory`` (default knowledge/tests)."""
    directory = directory or kb.root / "tests"
    report = Report()
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            report.failures.append(Failure(path.name, "-", 0, "", [f"broken YAML: {exc}"]))
            continue
        stories = data.get("stories", []) if isinstance(data, dict) else data
        for story in stories:
            count, failures = run_story(kb, story, path.name)
            report.stories += 1
            report.turns += count
            report.failures.extend(failures)
    return report
