"""Business days, office hours and Spanish date phrases for the help desk.

The waiting period after a student saves the application is counted in
*días hábiles* (business days): Monday to Friday minus Mexico's mandatory
rest days (Ley Federal del Trabajo, art. 74), minus any closure the staff
announce (``extra_closed``). The desk answers tickets only during office
hours in the campus time zone (America/Hermosillo, UTC-7 all year), so the
bot must tell students *when* a person will see their ticket, in the words a
Mexican student expects ("lunes 16 de febrero").

Everything here is pure: no clock is read, no I/O is done. Callers pass
``now``/``at`` in; that keeps the rules testable with fixed dates.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "BusinessCalendar",
    "OfficeHours",
    "OFFICE_TZ",
    "format_date_es",
    "format_opening_es",
    "format_time_es",
    "local_date",
]

#: The campus time zone: Sonora does not observe daylight saving time.
OFFICE_TZ = "America/Hermosillo"

_WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)

# A student could be told "dentro de 5 días hábiles" at most a few weeks
# ahead; this bound only protects against a runaway loop if a caller passes
# a calendar where (almost) every day is closed.
_MAX_SCAN_DAYS = 366 * 5


def _zone(tz: str | tzinfo) -> tzinfo:
    """Accept a zone name or an existing tzinfo, so callers may pass either."""
    return ZoneInfo(tz) if isinstance(tz, str) else tz


class BusinessCalendar:
    """Which days count as *días hábiles* for the waiting period and the desk.

    A single ``holidays.Mexico`` object is built once and left to expand its
    years lazily as dates are queried (``holidays`` computes a year the
    first time a date in it is looked up), so a long-running bot never has to
    rebuild it at the turn of the year. Names are requested in Spanish
    because they may be shown to students ("es Día de la Constitución").
    """

    def __init__(self, extra_closed: Iterable[date] = ()) -> None:
        self._extra_closed: frozenset[date] = frozenset(extra_closed)
        try:
            self._holidays: holidays.HolidayBase = holidays.Mexico(language="es")
        except (NotImplementedError, ValueError, TypeError):  # pragma: no cover - old holidays
            self._holidays = holidays.Mexico()

    @property
    def extra_closed(self) -> frozenset[date]:
        """Staff-listed closures, exposed so callers can show or audit them."""
        return self._extra_closed

    def rest_day_name(self, d: date) -> str | None:
        """Name of the mandatory rest day or closure on ``d``, else None.

        Weekends are not "rest days" in this sense and return None: the
        caller wants to explain a *holiday* ("es Día de la Independencia").
        """
        name = self._holidays.get(d)
        if name:
            return str(name)
        if d in self._extra_closed:
            return "Cierre de oficinas"
        return None

    def is_business_day(self, d: date) -> bool:
        """Monday-Friday, not a federal rest day, not a staff closure."""
        if d.weekday() >= 5:
            return False
        if d in self._extra_closed:
            return False
        return d not in self._holidays

    def add_business_days(self, d: date, n: int) -> date:
        """The ``n``-th business day strictly after ``d``.

        ``d`` itself never counts, whether or not it is a business day: the
        day the student saved the application is day zero. ``n <= 0`` returns
        ``d`` unchanged (nothing to add).
        """
        if n <= 0:
            return d
        current = d
        found = 0
        for _ in range(_MAX_SCAN_DAYS):
            current += timedelta(days=1)
            if self.is_business_day(current):
                found += 1
                if found == n:
                    return current
        raise ValueError("no business days found; check extra_closed")

    def next_business_day(self, d: date) -> date:
        """``d`` if it is a business day, else the first one after it."""
        if self.is_business_day(d):
            return d
        return self.add_business_days(d, 1)

    def waiting_period_end(self, saved: date, days: int = 5) -> date:
        """Last day of the waiting period after saving the application.

        The guide promises coverage within 5 business days; up to and
        including this date a student without coverage gets the date, not a
        ticket.
        """
        return self.add_business_days(saved, days)


class OfficeHours:
    """When a person at the help desk can read a ticket.

    Open on business days from ``start`` (inclusive) to ``end`` (exclusive)
    in ``tz``. Naive datetimes are taken to be already in ``tz`` rather than
    rejected, because a caller that forgot the zone is better served by the
    campus interpretation than by a crash in the middle of a conversation.
    """

    def __init__(
        self,
        calendar: BusinessCalendar,
        tz: str = OFFICE_TZ,
        start: time = time(8),
        end: time = time(16),
    ) -> None:
        self.calendar = calendar
        self.tz: tzinfo = _zone(tz)
        self.start = start
        self.end = end

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            return at.replace(tzinfo=self.tz)
        return at.astimezone(self.tz)

    def is_open(self, at: datetime) -> bool:
        """True on a business day between ``start`` and ``end`` (local time)."""
        local = self._local(at)
        if not self.calendar.is_business_day(local.date()):
            return False
        t = local.time().replace(tzinfo=None)
        return self.start <= t < self.end

    def next_opening(self, at: datetime) -> datetime:
        """``at`` (in the office zone) if open, else the next opening time."""
        local = self._local(at)
        if self.is_open(local):
            return local
        day = local.date()
        t = local.time().replace(tzinfo=None)
        if not (self.calendar.is_business_day(day) and t < self.start):
            day = self.calendar.add_business_days(day, 1)
        return datetime.combine(day, self.start, tzinfo=self.tz)


def local_date(at: datetime, tz: str = OFFICE_TZ) -> date:
    """The calendar date of ``at`` on campus (naive datetimes taken as local)."""
    if at.tzinfo is None or at.utcoffset() is None:
        return at.date()
    return at.astimezone(_zone(tz)).date()


def format_date_es(d: date, *, with_year: bool = False) -> str:
    """"lunes 16 de febrero" (and "de 2026" when asked): how Mexicans write it.

    Lower-case weekday and month, no leading zero, no comma.
    """
    text = f"{_WEEKDAYS_ES[d.weekday()]} {d.day} de {_MONTHS_ES[d.month - 1]}"
    if with_year:
        text += f" de {d.year}"
    return text


def format_time_es(t: time) -> str:
    """"8:00 a.m." / "4:30 p.m.": the 12-hour style used on the guide and signs."""
    hour12 = t.hour % 12 or 12
    suffix = "a.m." if t.hour < 12 else "p.m."
    return f"{hour12}:{t.minute:02d} {suffix}"


def format_opening_es(opening: datetime, now: datetime, tz: str = OFFICE_TZ) -> str:
    """When the desk will see a ticket, relative to ``now``, in Spanish.

    - same day: "hoy a las 8:00 a.m." ("hoy mismo" when already open);
    - next day: "mañana martes 17 de febrero a partir de las 8:00 a.m.";
    - later:    "el lunes 16 de febrero a partir de las 8:00 a.m."
    The year is added only when it differs from ``now``'s, to avoid a
    student reading "4 de enero" as eleven months in the past. Dates are
    compared in the office zone, so a UTC ``now`` late in the evening does
    not turn "mañana" into "hoy".
    """
    zone = _zone(tz)
    op = opening.replace(tzinfo=zone) if opening.tzinfo is None else opening.astimezone(zone)
    nw = now.replace(tzinfo=zone) if now.tzinfo is None else now.astimezone(zone)
    when = format_time_es(op.time().replace(tzinfo=None))
    op_day, now_day = op.date(), nw.date()
    if op <= nw:
        return "hoy mismo"
    if op_day == now_day:
        return f"hoy a las {when}"
    with_year = op_day.year != now_day.year
    phrase = format_date_es(op_day, with_year=with_year)
    if op_day == now_day + timedelta(days=1):
        return f"mañana {phrase} a partir de las {when}"
    return f"el {phrase} a partir de las {when}"
