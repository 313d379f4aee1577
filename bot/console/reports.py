"""The numbers the desk plans with, the charts (server-side SVG, no network) and the CSV export.

Volumes are small (hundreds of tickets a month), so the rows of the range
are read once and counted in Python: the same code on SQLite and PostgreSQL.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.models import Author, Contact, Conversation, Direction, Message, Ticket, TicketStatus
from bot.staff_models import StaffUser
from bot.staffdesk import UNRESOLVED

TZ = ZoneInfo("America/Hermosillo")
BACKLOG_BUCKETS = (("< 1 día", 1), ("1–3 días", 3), ("3–7 días", 7), ("> 7 días", None))
MAX_DAYS = 366


@dataclass
class Report:
    start: date
    end: date
    days: list[date] = field(default_factory=list)
    conversations_per_day: list[int] = field(default_factory=list)
    tickets_per_day: list[int] = field(default_factory=list)
    conversations: int = 0
    with_ticket: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    first_reply_min: float | None = None
    resolution_min: float | None = None
    backlog: list[tuple[str, int]] = field(default_factory=list)

    @property
    def bot_share(self) -> float | None:
        """Share of the range's conversations that never needed a person (no ticket)."""
        if not self.conversations:
            return None
        return (self.conversations - self.with_ticket) / self.conversations


def parse_range(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The ``desde``/``hasta`` dates (inclusive); the last 30 days by default, at most a year."""
    def parse(value: str | None, default: date) -> date:
        try:
            return date.fromisoformat(value) if value else default
        except ValueError:
            return default
    last = parse(end, today)
    first = parse(start, last - timedelta(days=29))
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return first, last


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(0), TZ), datetime.combine(end + timedelta(days=1), time(0), TZ)


def _local_day(value: datetime) -> date:
    return value.astimezone(TZ).date()


def first_staff_replies(session: Session, tickets: list[Ticket]) -> dict[int, datetime]:
    """For each ticket, when staff first wrote to the student after it was opened."""
    conv_ids = {t.conversation_id for t in tickets}
    if not conv_ids:
        return {}
    replies: dict[int, list[datetime]] = {}
    for conversation_id, created in session.exec(
        select(Message.conversation_id, Message.created_at).where(
            col(Message.conversation_id).in_(conv_ids), Message.direction == Direction.OUT,
            Message.author == Author.STAFF)
    ):
        replies.setdefault(conversation_id, []).append(created)
    out: dict[int, datetime] = {}
    for t in tickets:
        after = [r for r in replies.get(t.conversation_id, []) if r >= t.created_at]
        if after:
            out[t.id] = min(after)  # type: ignore[index]
    return out


def build(session: Session, *, start: date, end: date, now: datetime) -> Report:
    lo, hi = _bounds(start, end)
    report = Report(start=start, end=end)
    report.days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    index = {d: i for i, d in enumerate(report.days)}
    report.conversations_per_day = [0] * len(report.days)
    report.tickets_per_day = [0] * len(report.days)
    convs = list(session.exec(select(Conversation.id, Conversation.created_at).where(
        col(Conversation.created_at) >= lo, col(Conversation.created_at) < hi)))
    tickets = list(session.exec(select(Ticket).where(col(Ticket.created_at) >= lo, col(Ticket.created_at) < hi)))
    for _, created in convs:
        report.conversations_per_day[index[_local_day(created)]] += 1
    for t in tickets:
        report.tickets_per_day[index[_local_day(t.created_at)]] += 1
        report.by_reason[t.reason] = report.by_reason.get(t.reason, 0) + 1
    conv_ids = {cid for cid, _ in convs}
    report.conversations = len(conv_ids)
    if conv_ids:
        escalated = set(session.exec(select(Ticket.conversation_id).where(col(Ticket.conversation_id).in_(conv_ids))))
        report.with_ticket = len(escalated)
    firsts = first_staff_replies(session, tickets)
    waits = [(firsts[t.id] - t.created_at).total_seconds() / 60 for t in tickets if t.id in firsts]  # type: ignore[operator]
    report.first_reply_min = median(waits) if waits else None
    solved = [(t.resolved_at - t.created_at).total_seconds() / 60 for t in tickets if t.resolved_at]
    report.resolution_min = median(solved) if solved else None
    counts = [0] * len(BACKLOG_BUCKETS)
    # A one-column select yields plain values, not 1-tuples.
    for created in session.exec(select(Ticket.created_at).where(col(Ticket.status).in_(UNRESOLVED))):  # type: ignore[call-overload]
        age_days = (now - created).total_seconds() / 86400
        for i, (_, limit) in enumerate(BACKLOG_BUCKETS):
            if limit is None or age_days < limit:
                counts[i] += 1
                break
    report.backlog = [(label, n) for (label, _), n in zip(BACKLOG_BUCKETS, counts)]
    return report


def fmt_minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 90:
        return f"{value:.0f} min"
    if value < 48 * 60:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} días"


# --- SVG ---------------------------------------------------------------------


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def bars_svg(labels: list[str], series: list[tuple[str, list[int], str]], *, title: str, height: int = 220) -> str:
    """Vertical grouped bars; colours are CSS classes (``series-a``…), so no inline style is needed.

    Charts carry their drawing size as ``width``/``height``: the page stretches
    them to the card but never below it (``min-width: min-content``), so on a
    phone a long range scrolls sideways instead of shrinking the labels.
    """
    # Up to about six weeks each day gets its full width; a longer range is packed into 1,200 units (a laptop card).
    width = max(320, min(24 + len(labels) * (8 + 10 * len(series)), 1200))
    top, bottom, left = 16, 36, 32
    plot_h = height - top - bottom
    peak = max([1] + [v for _, values, _ in series for v in values])
    slot = (width - left - 8) / max(1, len(labels))
    gap = 4 if slot >= 12 else 1
    bar_w = max(1.0, (slot - gap) / max(1, len(series)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" class="chart bars" role="img" aria-label="{_esc(title)}"><title>{_esc(title)}</title>']
    for frac in ((0, 0.5, 1) if peak >= 4 else (0, 1)):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{round(peak * frac)}</text>')
    step = max(1, len(labels) // 10, -(-44 // max(1, int(slot))))  # a label needs about 44 units at 12 px
    for i, label in enumerate(labels):
        x0 = left + i * slot + 2
        for j, (name, values, css) in enumerate(series):
            h = plot_h * values[i] / peak
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 0.8):.1f}" '
                         f'height="{h:.1f}" class="{css}"><title>{_esc(label)}: {values[i]} {_esc(name)}</title></rect>')
        if i % step == 0:
            parts.append(f'<text x="{x0 + slot / 2:.1f}" y="{height - bottom + 16}" class="axis" '
                         f'text-anchor="middle">{_esc(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbars_svg(items: list[tuple[str, int]], *, title: str, css: str = "series-a") -> str:
    """Horizontal bars with the label on the left and the count at the end; fits a phone's card (330 wide)."""
    row, label_w, width = 28, 146, 330
    height = max(row, row * len(items)) + 8
    peak = max([1] + [n for _, n in items])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" class="chart hbars" role="img" aria-label="{_esc(title)}"><title>{_esc(title)}</title>']
    for i, (label, n) in enumerate(items):
        y = 4 + i * row
        w = (width - label_w - 34) * n / peak
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" class="axis" text-anchor="end">{_esc(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 10}" class="{css}"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="value">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --- CSV ---------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def tickets_csv(session: Session, *, start: date, end: date) -> str:
    """The range's tickets, one a row; NSS and CURP are left out (reveal them in the console)."""
    lo, hi = _bounds(start, end)
    tickets = list(session.exec(select(Ticket).where(col(Ticket.created_at) >= lo, col(Ticket.created_at) < hi)
                                .order_by(col(Ticket.id))))
    names = {s.id: s.name for s in session.exec(select(StaffUser))}
    channels = {c.id: c.channel for c in session.exec(select(Conversation).where(
        col(Conversation.id).in_({t.conversation_id for t in tickets})))} if tickets else {}
    contacts = {c.id: c for c in session.exec(select(Contact).where(
        col(Contact.id).in_({t.contact_id for t in tickets})))} if tickets else {}
    firsts = first_staff_replies(session, tickets)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ticket", "creado", "motivo", "estado", "canal", "id_itson", "nombre", "atendido_por",
                     "primera_respuesta_min", "resuelto", "resolucion_min", "urgente"])
    for t in tickets:
        data = t.data or {}
        contact = contacts.get(t.contact_id)
        first = firsts.get(t.id)  # type: ignore[arg-type]
        writer.writerow([_cell(v) for v in (
            t.id, t.created_at.astimezone(TZ).isoformat(timespec="minutes"), t.reason, t.status,
            channels.get(t.conversation_id, ""), data.get("student_id") or (contact.student_id if contact else ""),
            data.get("name") or (contact.display_name if contact else ""),
            names.get(t.handled_by_staff_id or t.assigned_staff_id or -1, ""),
            round((first - t.created_at).total_seconds() / 60) if first else "",
            t.resolved_at.astimezone(TZ).isoformat(timespec="minutes") if t.resolved_at else "",
            round((t.resolved_at - t.created_at).total_seconds() / 60) if t.resolved_at else "",
            "sí" if t.urgent else "no",
        )])
    return out.getvalue()


__all__ = ["Report", "build", "bars_svg", "hbars_svg", "tickets_csv", "parse_range", "fmt_minutes", "TicketStatus"]
