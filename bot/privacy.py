"""Personal data over time: retention, and the student's rights of access and cancellation.

ITSON is a public body bound by Mexican personal-data law: what we hold
about a student must not outlive its purpose, and a student may ask to see
it (access) or to have it deleted (cancellation). Three operations, shared by
the command line (:mod:`bot.cli_privacy`) and the server's daily task:

* :func:`purge` — every *closed* conversation (no open ticket, not held by
  staff) whose last activity is older than the cutoff is **anonymised**, as
  are inbound webhook payloads, old login attempts and attachment files past
  the cutoff.
* :func:`export` — everything held about one student, as JSON-ready data.
* :func:`forget` — the same anonymisation, at once, for one student,
  whatever the age or state of their conversations.

Why anonymise rather than delete every row: the desk's reports (tickets
per day, time to resolution, tickets by reason) must not change when
students are forgotten, and a ticket row without data, text or address says
nothing about anyone. So messages, reminders, internal notes, unread marks
and webhook payloads are deleted; contacts, conversations and tickets stay
as empty shells (address ``anon-<id>``, no name, no student ID, no state,
no data, no description, no attachments). Consents stay as the proof that
the notice was acknowledged, attached to the anonymous contact. Audit
entries hold only ids and field names and stay, since they are the desk's
accountability. Attachment files are deleted once no remaining row refers
to them (files are stored by content hash and may be shared).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from bot.models import (
    Consent,
    Contact,
    Conversation,
    Direction,
    EventStatus,
    Holder,
    InboundEvent,
    Message,
    Reminder,
    Ticket,
    TicketStatus,
    utcnow,
)
from bot.staff_models import LoginAttempt, TicketNote, TicketView

if TYPE_CHECKING:
    from bot.media import MediaStore
    from bot.web.services import Services

log = logging.getLogger(__name__)

ANON_PREFIX = "anon-"
UNRESOLVED = (TicketStatus.OPEN, TicketStatus.ASSIGNED)
#: The server's first purge waits this long after start-up, then runs every day.
FIRST_RUN_DELAY_SECONDS = 600.0
INTERVAL_SECONDS = 24 * 3600.0
#: The largest age ``purge --older-than`` takes (a larger one would run past the calendar).
MAX_AGE_DAYS = 100 * 365


@dataclass
class PurgeReport:
    """What one purge or forget changed (counts only: a report must not hold personal data)."""

    conversations: int = 0
    messages: int = 0
    tickets: int = 0
    inbound_events: int = 0
    login_attempts: int = 0
    files: int = 0
    refs: set[str] = field(default_factory=set, repr=False)
    #: Stray files older than this are deleted too (purge only).
    cutoff: datetime | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k not in ("refs", "cutoff")}


def parse_age(text: str) -> timedelta:
    """``180d``, ``12w``, ``6m`` (30-day months), ``1y`` (365 days) or plain days → a timedelta."""
    value = text.strip().lower()
    units = {"d": 1, "w": 7, "m": 30, "y": 365}
    unit = value[-1] if value and value[-1] in units else "d"
    number = value[:-1] if value and value[-1] in units else value
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"not an age: {text!r} (use e.g. 180d, 26w, 6m, 1y)")
    if len(number) > 7 or int(number) * units[unit] > MAX_AGE_DAYS:
        raise ValueError(f"age too large: {text!r} (at most {MAX_AGE_DAYS // 365} years)")
    return timedelta(days=int(number) * units[unit])


def is_anonymous(address: str | None) -> bool:
    return bool(address) and str(address).startswith(ANON_PREFIX)


# --- finding a student ---------------------------------------------------------


def mexican_numbers(typed: str) -> list[str]:
    """The forms a Mexican mobile number is stored in, from however it was typed.

    WhatsApp numbers from Mexico arrive as ``+521…`` (the old mobile "1") or
    ``+52…`` (since 2020), depending on the phone; ``+52 1 644 555 0003``,
    ``6445550003`` and ``+526445550003`` are the same student.
    """
    digits = "".join(ch for ch in typed if ch.isdigit())
    if len(digits) == 10:  # a national number without the country code
        digits = "52" + digits
    forms = [digits]
    if len(digits) == 13 and digits.startswith("521"):
        forms.append("52" + digits[3:])
    elif len(digits) == 12 and digits.startswith("52"):
        forms.append("521" + digits[2:])
    return [f"+{d}" for d in forms]


def address_candidates(channel: str, address: str) -> list[str]:
    """The stored forms an address a person types may have (``+52…`` → ``whatsapp:+52…``; a web session → its hash)."""
    address = address.strip()
    found = [address]
    if channel == "whatsapp":
        bare = address.removeprefix("whatsapp:").strip()
        for number in [bare.replace(" ", "").replace("-", ""), *mexican_numbers(bare)]:
            found += [number, f"whatsapp:{number}"]
    elif channel == "webchat" and not address.startswith("web-"):
        from bot.channels.webchat import address_for

        found.append(address_for(address))
    return list(dict.fromkeys(found))


def _holds(value: Any, wanted: str) -> bool:
    """Whether a JSON value (a conversation's state, a ticket's data) holds ``wanted`` anywhere."""
    if isinstance(value, str):
        return value.strip().upper() == wanted
    if isinstance(value, dict):
        return any(_holds(v, wanted) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds(v, wanted) for v in value)
    return False


def locate_contacts(session: Session, *, channel: str | None = None, address: str | None = None,
                    student_id: str | None = None, nss: str | None = None,
                    curp: str | None = None) -> list[tuple[Contact, list[str]]]:
    """The contacts of one student, each with what found it ("address", "student ID", "NSS", "CURP").

    By channel and address; by student ID (the contact's, or a ticket's data); by NSS or CURP
    anywhere the bot keeps them (a ticket's data, a conversation's state) or in the text of a
    message the student sent: the same student's other web chat sessions and channels.
    """
    found: dict[int, list[str]] = {}

    def add(contact_id: int | None, why: str) -> None:
        if contact_id is not None and why not in found.setdefault(contact_id, []):
            found[contact_id].append(why)

    if channel and address:
        stmt = select(Contact).where(Contact.channel == channel,
                                     col(Contact.address).in_(address_candidates(channel, address)))
        for contact in session.exec(stmt):
            add(contact.id, "address")
    if student_id:
        wanted = student_id.strip()
        for contact in session.exec(select(Contact).where(Contact.student_id == wanted)):
            add(contact.id, "student ID")
        for ticket in session.exec(select(Ticket)):
            if str((ticket.data or {}).get("student_id") or "") == wanted:
                add(ticket.contact_id, "student ID")
    for label, value in (("NSS", "".join(ch for ch in nss or "" if ch.isdigit())),
                         ("CURP", "".join((curp or "").split()).upper())):
        if not value:
            continue
        for ticket in session.exec(select(Ticket).where(col(Ticket.data).is_not(None))):
            if _holds(ticket.data, value):
                add(ticket.contact_id, label)
        for conversation in session.exec(select(Conversation).where(col(Conversation.state).is_not(None))):
            if _holds(conversation.state, value):
                add(conversation.contact_id, label)
        typed = select(Message.conversation_id).where(Message.direction == Direction.IN,
                                                      func.upper(Message.text).contains(value))
        for conversation in session.exec(select(Conversation).where(col(Conversation.id).in_(typed))):
            add(conversation.contact_id, label)
    if not found:
        return []
    contacts = session.exec(select(Contact).where(col(Contact.id).in_(found)).order_by(col(Contact.id)))
    return [(c, found[c.id]) for c in contacts]  # type: ignore[index]


def find_contacts(session: Session, *, channel: str | None = None, address: str | None = None,
                  student_id: str | None = None, nss: str | None = None, curp: str | None = None) -> list[Contact]:
    """The contacts of one student (see :func:`locate_contacts`)."""
    return [c for c, _ in locate_contacts(session, channel=channel, address=address, student_id=student_id,
                                          nss=nss, curp=curp)]


# --- export (right of access) ----------------------------------------------------------


def _row(obj: Any) -> dict[str, Any]:
    data = obj.model_dump()
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


def export(session: Session, contacts: Iterable[Contact], media: MediaStore | None = None) -> dict[str, Any]:
    """Everything held about these contacts, JSON-ready (the right of access)."""
    contacts = list(contacts)
    contact_ids = [c.id for c in contacts]
    conversations = list(session.exec(select(Conversation).where(col(Conversation.contact_id).in_(contact_ids))))
    conv_ids = [c.id for c in conversations]
    messages = list(session.exec(select(Message).where(col(Message.conversation_id).in_(conv_ids))
                                 .order_by(col(Message.id))))
    tickets = list(session.exec(select(Ticket).where(col(Ticket.contact_id).in_(contact_ids)).order_by(col(Ticket.id))))
    notes = list(session.exec(select(TicketNote).where(col(TicketNote.ticket_id).in_([t.id for t in tickets]))))
    reminders = list(session.exec(select(Reminder).where(col(Reminder.conversation_id).in_(conv_ids))))
    consents = list(session.exec(select(Consent).where(col(Consent.contact_id).in_(contact_ids))))
    events = [e for c in contacts for e in session.exec(
        select(InboundEvent).where(InboundEvent.channel == c.channel, InboundEvent.address == c.address))]
    refs = _refs_of(messages, tickets)
    files = []
    for ref in sorted(refs):
        path = media.path(ref) if media is not None else None
        files.append({"ref": ref, "stored": path is not None, "size": path.stat().st_size if path else None})
    return {
        "generated_at": utcnow().isoformat(),
        "contacts": [_row(c) for c in contacts],
        "conversations": [_row(c) for c in conversations],
        "messages": [_row(m) for m in messages],
        "tickets": [_row(t) for t in tickets],
        "ticket_notes": [_row(n) for n in notes],
        "reminders": [_row(r) for r in reminders],
        "consents": [_row(c) for c in consents],
        "inbound_events": [_row(e) for e in events],
        "files": files,
    }


# --- anonymising -------------------------------------------------------------------


def _refs_of(messages: Iterable[Message], tickets: Iterable[Ticket]) -> set[str]:
    refs: set[str] = set()
    for row in [*messages, *tickets]:
        for item in row.attachments or []:
            if isinstance(item, dict) and isinstance(item.get("ref"), str):
                refs.add(item["ref"])
    return refs


def _anonymise_conversation(session: Session, conversation: Conversation, report: PurgeReport,
                            *, now: datetime) -> None:
    """Delete what the conversation said; keep an empty shell for the reports."""
    conv_id = conversation.id
    channel, address = conversation.channel, conversation.address
    messages = list(session.exec(select(Message).where(Message.conversation_id == conv_id)))
    tickets = list(session.exec(select(Ticket).where(Ticket.conversation_id == conv_id)))
    report.refs |= _refs_of(messages, tickets)
    report.messages += len(messages)
    ticket_ids = [t.id for t in tickets]
    if ticket_ids:
        session.execute(delete(TicketNote).where(col(TicketNote.ticket_id).in_(ticket_ids)))
    session.execute(delete(TicketView).where(col(TicketView.conversation_id) == conv_id))
    session.execute(delete(Message).where(col(Message.conversation_id) == conv_id))
    session.execute(delete(Reminder).where(col(Reminder.conversation_id) == conv_id))
    result = session.execute(delete(InboundEvent).where(InboundEvent.channel == channel,
                                                        InboundEvent.address == address))
    report.inbound_events += int(result.rowcount or 0)  # type: ignore[attr-defined]
    for ticket in tickets:
        ticket.data = {}
        ticket.description = ""
        ticket.reopen_text = None if ticket.reopen_text is None else ""  # what the student added on reopening
        ticket.attachments = []
        if ticket.status in UNRESOLVED:  # only `forget` gets here with an open ticket
            ticket.status = TicketStatus.RESOLVED
            ticket.resolved_at = now
        flag_modified(ticket, "data")
        flag_modified(ticket, "attachments")
        report.tickets += 1
    conversation.address = f"{ANON_PREFIX}{conv_id}"
    conversation.state = None
    flag_modified(conversation, "state")
    conversation.holder = Holder.BOT
    conversation.holder_staff_id = None
    report.conversations += 1
    contact = session.get(Contact, conversation.contact_id)
    if contact is not None and not is_anonymous(contact.address):
        contact.address = f"{ANON_PREFIX}{contact.id}"
        contact.display_name = None
        contact.student_id = None
    session.flush()


def _last_activity(session: Session, conversation: Conversation) -> datetime:
    last_message = session.exec(
        select(func.max(Message.created_at)).where(Message.conversation_id == conversation.id)
    ).first()
    times = [t for t in (conversation.updated_at, conversation.last_inbound_at, conversation.created_at) if t]
    if last_message is not None:
        times.append(last_message if last_message.tzinfo else last_message.replace(tzinfo=timezone.utc))
    return max(times)


def purge(session: Session, *, older_than: timedelta, now: datetime | None = None) -> PurgeReport:
    """Anonymise what is past retention; delete old payloads and login attempts.

    Files go after the commit, with :func:`delete_files` (``report.refs`` names the candidates).
    """
    now = now or utcnow()
    cutoff = now - older_than
    report = PurgeReport()
    open_convs = set(session.exec(select(Ticket.conversation_id).where(col(Ticket.status).in_(UNRESOLVED))))
    stmt = select(Conversation).where(~col(Conversation.address).startswith(ANON_PREFIX),
                                      col(Conversation.updated_at) < cutoff)
    for conversation in list(session.exec(stmt)):
        if conversation.id in open_convs or conversation.holder == Holder.STAFF:
            continue
        if _last_activity(session, conversation) >= cutoff:
            continue
        _anonymise_conversation(session, conversation, report, now=now)
    result = session.execute(
        delete(InboundEvent)
        .where(col(InboundEvent.received_at) < cutoff)
        .where(col(InboundEvent.status).in_([EventStatus.DONE, EventStatus.FAILED]))
    )
    report.inbound_events += int(result.rowcount or 0)  # type: ignore[attr-defined]
    result = session.execute(delete(LoginAttempt).where(col(LoginAttempt.at) < cutoff))
    report.login_attempts += int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.flush()
    report.cutoff = cutoff
    return report


def forget(session: Session, contacts: Iterable[Contact], *, now: datetime | None = None) -> PurgeReport:
    """Anonymise everything of these contacts now (the right of cancellation).

    Their files go after the commit, with :func:`delete_files`.
    """
    now = now or utcnow()
    report = PurgeReport()
    for contact in list(contacts):
        channel, address = contact.channel, contact.address
        for conversation in list(session.exec(select(Conversation).where(Conversation.contact_id == contact.id))):
            _anonymise_conversation(session, conversation, report, now=now)
        # Payloads stored before any conversation existed (still pending, or failed).
        result = session.execute(delete(InboundEvent).where(InboundEvent.channel == channel,
                                                            InboundEvent.address == address))
        report.inbound_events += int(result.rowcount or 0)  # type: ignore[attr-defined]
        if not is_anonymous(contact.address):
            contact.address = f"{ANON_PREFIX}{contact.id}"
        contact.display_name = None
        contact.student_id = None
    session.flush()
    return report


def referenced_refs(session: Session) -> set[str]:
    """Every attachment ref a remaining message or ticket points at."""
    refs: set[str] = set()
    for column in (Message.attachments, Ticket.attachments):
        for items in session.exec(select(column)):  # type: ignore[call-overload]
            for item in items or []:
                if isinstance(item, dict) and isinstance(item.get("ref"), str):
                    refs.add(item["ref"])
    return refs


def delete_files(session: Session, media: MediaStore, report: PurgeReport) -> PurgeReport:
    """After the commit that anonymised the rows: delete the files nothing refers to any more.

    After, not before, so a failed commit never leaves rows pointing at deleted files.
    """
    report.files += delete_unreferenced(session, media, report.refs, older_than=report.cutoff)
    return report


def delete_unreferenced(session: Session, media: MediaStore, candidates: set[str],
                        *, older_than: datetime | None = None) -> int:
    """Delete ``candidates`` no row refers to any more, plus (with ``older_than``) stray files that old."""
    keep = referenced_refs(session)
    deleted = 0
    for ref in sorted(candidates - keep):
        path = media.path(ref)
        if path is not None:
            path.unlink(missing_ok=True)
            deleted += 1
    if older_than is not None and media.root.is_dir():
        for path in media.root.iterdir():
            if not path.is_file() or path.name in keep:
                continue
            if datetime.fromtimestamp(path.stat().st_mtime, tz=older_than.tzinfo) < older_than:
                path.unlink(missing_ok=True)
                deleted += 1
    return deleted


# --- the server's daily task -----------------------------------------------------------


def purge_now(services: Services) -> PurgeReport:
    """One retention pass with the service's settings (blocking: run it in a thread)."""
    days = services.settings.retention_days
    with services.session() as session:
        report = purge(session, older_than=timedelta(days=days), now=services.now())
    with services.session() as session:
        delete_files(session, services.media, report)
    log.info("retention (%d days): %s", days, report.as_dict())
    return report


async def retention_loop(services: Services, *, first_delay: float = FIRST_RUN_DELAY_SECONDS,
                         interval: float = INTERVAL_SECONDS) -> None:
    """Apply RETENTION_DAYS shortly after start-up and then every day, until cancelled.

    Every process of the service runs it; a purge is idempotent, so two
    processes purging the same day only repeat a no-op.
    """
    delay = first_delay
    while True:
        await asyncio.sleep(delay)
        delay = interval
        try:
            await asyncio.to_thread(purge_now, services)
        except Exception:
            log.exception("retention purge failed; trying again tomorrow")
