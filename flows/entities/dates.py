"""Dates as students write them ("el viernes", "el 3 de marzo", "hace 2 dias").

Part of :mod:`flows.entities` (its docstring has the design rules).
"""
from __future__ import annotations

import difflib
import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.entities.text import _clean, _fold_same_length

_TZ = ZoneInfo("America/Hermosillo")


_MONTHS = {
    "enero": 1, "ene": 1, "febrero": 2, "feb": 2, "febr": 2, "marzo": 3, "mar": 3,
    "abril": 4, "abr": 4, "mayo": 5, "may": 5, "junio": 6, "jun": 6,
    "julio": 7, "jul": 7, "agosto": 8, "ago": 8, "septiembre": 9, "setiembre": 9,
    "sep": 9, "sept": 9, "set": 9, "octubre": 10, "oct": 10, "noviembre": 11,
    "nov": 11, "diciembre": 12, "dic": 12,
    # how months are shortened by hand
    "enro": 1, "fbro": 2, "febo": 2, "mzo": 3, "marz": 3, "abl": 4, "abri": 4,
    "agto": 8, "agos": 8, "octu": 10, "novi": 11, "dici": 12,
}
_FULL_MONTHS = [m for m in _MONTHS if len(m) > 4]
_NUMBER_WORDS = {
    "un": 1, "una": 1, "uno": 1, "primero": 1, "dos": 2, "tres": 3, "cuatro": 4,
    "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
}
_WEEKDAYS = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4,
    "sabado": 5, "domingo": 6,
}
_WD = r"(lunes|martes|miercoles|jueves|viernes|sabado|domingo)"
_NUMWORD = r"(?:\d{1,3}|un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez)"

#: 2026-02-09, as a computer writes it (year first: never day/month).
_DATE_ISO = re.compile(r"(?<![0-9/:.\-])(20[0-9]{2})([/.\-])([0-9]{1,2})\2([0-9]{1,2})(?![0-9/:]|[.\-][0-9])")
_DATE_NUM3 = re.compile(
    r"(?<![0-9/:.\-])([0-9]{1,2})([/.\-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})(?![0-9/:]|[.\-][0-9])"
)
_DATE_NUM2 = re.compile(
    r"(?<![0-9/:.\-])([0-9]{1,2})([/\-])([0-9]{1,2})(?![0-9/:]|[.\-][0-9])"
    # "de 2-5 días hábiles", "de 8-10 am" are ranges, not dates
    r"(?!\s*(?:a\.?\s?m|p\.?\s?m|hrs?|horas?|dias?|semanas?|mes|meses|min|minutos?)(?![a-z]))"
)
_DATE_DAY_MONTH = re.compile(
    r"(?<![0-9a-z:])([0-9]{1,2}|primero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez)"
    r"(?:ro|ero|er|do|o|°|º)?\s*(?:de\s+|del\s+|-|/)?([a-z]{3,11})(?![a-z])\.?"
    r"(?:\s*(?:de|del|,)?\s*([0-9]{4})(?![0-9]))?"
)
_DATE_MONTH_DAY = re.compile(
    r"(?<![a-z])([a-z]{3,11})\.?\s+([0-9]{1,2})(?![0-9:/])(?:\s*(?:de|del|,)?\s*([0-9]{4})(?![0-9]))?"
)
_WEEKDAY_DAY = re.compile(
    rf"(?<![a-z]){_WD}(?:\s+pasado)?\s+([0-9]{{1,2}})(?![0-9:/])"
)
_DAY_NUMBER = re.compile(r"(?<![a-z])(?:el\s+)?dia\s+([0-9]{1,2})(?![0-9:/])")
_HACE = re.compile(
    # "hace 15 días", and durations that say the same: "ya van como dos semanas",
    # "ya tiene como 2 semanas", "llevo 10 días esperando"
    r"(?<![a-z])(?:hace|ya\s+(?:van|va|tiene|tienen|son|paso|pasaron|llevo|lleva|llevamos|tengo)|van|llevo|lleva|llevamos|pasaron)\s+(?:(?:como|unos|unas|aprox|aproximadamente|mas\s+o\s+menos|casi|"
    rf"ya|al\s+menos|mas\s+de|apenas)\s+)*(un\s+par\s+de|{_NUMWORD})\s+"
    r"(dias?|semanas?|mes(?:es)?)(?![a-z])"
    # "llevo 3 días escribiendo y nada", "tengo una semana intentando entrar": how long they have
    # been writing or trying, not since when the application was saved
    r"(?!\s+(?:(?:y|que|q)\s+)?(?:escribiendo|escribiendoles|escribiendole|preguntando|mandando|marcando|llamando"
    r"|intentando|tratando|queriendo|buscando|insistiendo|sin\s+(?:poder|que\s+me\s+contesten|respuesta))(?![a-z]))"
)
_ANTIER = re.compile(
    r"(?<![a-z])(?:antier|antiayer|anteayer|antes\s+de\s+ayer|antes\s+de\s+antier)(?![a-z])"
)
_AYER = re.compile(r"(?<![a-z])ayer(?![a-z])")
_LAST_WEEK = re.compile(r"(?<![a-z])(?:la\s+)?semana\s+pasada(?![a-z])")
_WEEK_BEFORE_LAST = re.compile(r"(?<![a-z])(?:la\s+)?semana\s+antepasada(?![a-z])|(?<![a-z])(?:la\s+)?antepasada\s+semana(?![a-z])")
_LAST_MONTH = re.compile(r"(?<![a-z])(?:el\s+)?mes\s+pasado(?![a-z])")
_WEEKDAY = re.compile(rf"(?<![a-z])(?:(el|este|el\s+pasado)\s+)?{_WD}(?![a-z])")
#: "mañana domingo", "pasado mañana lunes", "el próximo lunes", "el lunes que viene": a day ahead.
_COMING_WEEKDAY = re.compile(
    rf"(?<![a-z])(?:manana|proximo|proxima|siguiente)\s+(?:el\s+)?{_WD}(?![a-z])|(?<![a-z]){_WD}\s+que\s+viene(?![a-z])")
#: "hoy lunes", "hoy que es jueves", "este viernes de hoy": the weekday named is today's.
_TODAY_WEEKDAY = re.compile(
    rf"(?<![a-z])hoy\s+(?:que\s+es\s+|es\s+|mismo\s+)?(?:el\s+)?{_WD}(?![a-z])|(?<![a-z]){_WD}\s+(?:de\s+)?hoy(?![a-z])")
_TODAY = re.compile(
    r"(?<![a-z])(?:hoy|ahorita|acabo\s+de|acabamos\s+de|(?<!desde )hace\s+(?:un\s+)?rat(?:o|ito)|recien|"
    r"hace\s+(?:un|una|unos|unas|pocos|pocas|\d{1,2})\s+(?:minutos?|minutitos|horas?|momento|momentito)|"
    r"hace\s+(?:un\s+)?(?:momento|momentito)|esta\s+(?:manana|tarde|noche))(?![a-z])"
    # "ahorita que saqué la constancia ...": when they checked, not when they saved
    r"(?!\s+(?:que|q|k)\s+(?:(?:la|lo|me|le)\s+)?(?:saque|revise|consulte|entre|vi|cheque|checo|busque|descargue|"
    r"intente|reviso|consulto|saco|veo|busco|descargo|intento|imprimi|imprimo|baje|bajo)(?![a-z]))"
)


#: "la guardé hoy que entré al CIA": saved today, whatever clause follows.
_SAVED_TODAY = re.compile(r"(?<![a-z])guard\w*\s+(?:(?:la|lo|mi|solicitud)\s+)*hoy(?![a-z])")


def _month_from_word(word: str) -> int | None:
    """Month number from a Spanish name or abbreviation, typos tolerated."""
    month = _MONTHS.get(word)
    if month is not None or len(word) < 5:
        return month
    close = difflib.get_close_matches(word, _FULL_MONTHS, n=1, cutoff=0.8)
    return _MONTHS[close[0]] if close else None


def _day_from_word(word: str) -> int | None:
    if word.isascii() and word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


def _local_today(now: datetime) -> date:
    if now.tzinfo is None or now.utcoffset() is None:
        return now.date()
    return now.astimezone(_TZ).date()


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _infer_year(day: int, month: int, today: date) -> date | None:
    """Day-month without year: this year, unless that is more than a month ahead.

    Students talk about when they applied, which is in the past: "el 28 de
    diciembre" said in January is last year's. A date up to a month ahead
    ("el 20 de diciembre" on the 10th) is this year's, in the future, for the
    caller to say it has not come yet, rather than a save a year ago that
    would open a report.
    """
    this_year = _safe_date(today.year, month, day)
    if this_year is not None and this_year <= today + timedelta(days=31):
        return this_year
    return _safe_date(today.year - 1, month, day)


def _with_year(day: int, month: int, year_text: str | None, today: date) -> date | None:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    if year_text:
        year = int(year_text)
        if year < 100:
            year += 2000
        if not 1900 <= year <= 2100:
            return None
        return _safe_date(year, month, day)
    return _infer_year(day, month, today)


def _minus_months(today: date, months: int) -> date:
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    day = today.day
    while day > 28 and _safe_date(year, month + 1, day) is None:
        day -= 1
    return date(year, month + 1, day)


def _recent_day_number(day: int, weekday: int | None, today: date) -> date | None:
    """Most recent date <= today with that day of month.

    With a weekday ("el viernes 11"), the one of the two most recent that
    falls on it wins; if neither does, the student probably mistyped the
    weekday and the most recent date is kept.
    """
    if not 1 <= day <= 31:
        return None
    found: list[date] = []
    for back in range(0, 14):
        start = _minus_months(today.replace(day=1), back)
        candidate = _safe_date(start.year, start.month, day)
        if candidate is not None and candidate <= today:
            found.append(candidate)
            if len(found) == 2:
                break
    if not found:
        return None
    if weekday is not None:
        for candidate in found:
            if candidate.weekday() == weekday:
                return candidate
    return found[0]


def _previous_weekday(weekday: int, today: date, *, include_today: bool) -> date:
    back = (today.weekday() - weekday) % 7
    if back == 0 and not include_today:
        back = 7
    return today - timedelta(days=back)


def _explicit_date(folded: str, today: date) -> date | None:
    """Dates that name a month: numeric d/m(/y) or "9 de feb"; first one wins."""
    found: list[tuple[int, date]] = []
    for m in _DATE_ISO.finditer(folded):
        d = _safe_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        if d is not None:
            found.append((m.start(), d))
    for m in _DATE_NUM3.finditer(folded):
        d = _with_year(int(m.group(1)), int(m.group(3)), m.group(4), today)
        if d is not None:
            found.append((m.start(), d))
    for m in _DATE_NUM2.finditer(folded):
        d = _with_year(int(m.group(1)), int(m.group(3)), None, today)
        if d is not None:
            found.append((m.start(), d))
    for m in _DATE_DAY_MONTH.finditer(folded):
        day = _day_from_word(m.group(1))
        month = _month_from_word(m.group(2))
        if day is None or month is None:
            continue
        d = _with_year(day, month, m.group(3), today)
        if d is not None:
            found.append((m.start(), d))
    for m in _DATE_MONTH_DAY.finditer(folded):
        month = _month_from_word(m.group(1))
        if month is None:
            continue
        d = _with_year(int(m.group(2)), month, m.group(3), today)
        if d is not None:
            found.append((m.start(), d))
    if not found:
        return None
    return min(found, key=lambda item: item[0])[1]


#: "a principios de octubre", "a mediados del mes pasado", "a finales de mes": a part of a month.
_MONTH_PART = re.compile(
    r"(?<![a-z])(?:a\s+)?(principios?|inicios?|mediados|medio|finales|fines|fin)\s+(?:de|del)\s+"
    r"(?:(este\s+mes|mes\s+pasado|mes)|([a-z]+))(?![a-z])"
)
#: The latest day each part can mean: a rough date is read as late as it can be, so that a
#: waiting period is never taken as over before it is.
_PART_DAY = {"principio": 5, "inicio": 5, "mediados": 18, "medio": 18, "finales": 31, "fines": 31, "fin": 31}


#: "desde agosto", "en agosto del año pasado", "la hice en enero": a month without its day.
_BARE_MONTH = re.compile(
    r"(?<![a-z])(?:en|desde|por|como en|el mes de|en el mes de)\s+([a-z]{4,10})"
    r"(?:\s+(?:del?\s+)?(ano\s+pasado|pasado))?(?![a-z])"
)


def _bare_month(folded: str, today: date) -> date | None:
    """ "desde agosto" → 31 August (the latest day it may mean, as :func:`_month_part`), never after today;
    a month after this one is last year's ("en agosto" said in February)."""
    m = _BARE_MONTH.search(folded)
    if not m:
        return None
    month = _MONTHS.get(m.group(1))  # exact names only: "en marcha", "para mayor…" are not months
    if month is None:
        return None
    year = today.year if month <= today.month and not m.group(2) else today.year - 1
    month_start = date(year, month, 1)
    last = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return min(last, today)


def _month_part(folded: str, today: date) -> date | None:
    """ "a principios de octubre" → 5 October (the latest day it may mean), never after today."""
    m = _MONTH_PART.search(folded)
    if not m:
        return None
    part = m.group(1).rstrip("s") if m.group(1).startswith(("principio", "inicio")) else m.group(1)
    if m.group(2):
        back = 1 if "pasado" in m.group(2) else 0
        if m.group(2) == "mes" and part != "principio" and today.day < _PART_DAY[part]:
            back = 1  # "a finales de mes" on the 22nd: the month before, whose end has come
            # (and "a principios de mes" on the 2nd is this month: the 1st or the 2nd)
        month_start = _minus_months(today, back).replace(day=1)
    else:
        month = _month_from_word(m.group(3))
        if month is None:
            return None
        year = today.year if month <= today.month else today.year - 1
        month_start = date(year, month, 1)
    last = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return min(month_start.replace(day=min(_PART_DAY[part], last.day)), today)


def _relative_date(folded: str, today: date) -> date | None:
    """Relative phrases, most specific first ("hoy" is often just "now")."""
    d = _month_part(folded, today)
    if d is not None:
        return d
    m = _HACE.search(folded)
    if m:
        amount_text = m.group(1)
        amount = 2 if amount_text.startswith("un par") else _day_from_word(amount_text)
        unit = m.group(2)
        if amount is not None and amount <= 400:
            if unit.startswith("dia"):
                return today - timedelta(days=amount)
            if unit.startswith("semana"):
                return today - timedelta(days=7 * amount)
            return _minus_months(today, min(amount, 24))
    m = _WEEKDAY_DAY.search(folded)
    if m:
        d = _recent_day_number(int(m.group(2)), _WEEKDAYS[m.group(1)], today)
        if d is not None:
            return d
    m = _DAY_NUMBER.search(folded)
    if m:
        d = _recent_day_number(int(m.group(1)), None, today)
        if d is not None:
            return d
    if _ANTIER.search(folded):
        return today - timedelta(days=2)
    if _AYER.search(folded):
        return today - timedelta(days=1)
    if _WEEK_BEFORE_LAST.search(folded):
        return today - timedelta(days=14)
    if _LAST_WEEK.search(folded):
        m = _WEEKDAY.search(folded)
        if m:
            # "la semana pasada, el martes": that weekday of last week (not this week's).
            monday = today - timedelta(days=today.weekday())
            return monday - timedelta(days=7) + timedelta(days=_WEEKDAYS[m.group(2)])
        return today - timedelta(days=7)
    if _LAST_MONTH.search(folded):
        return _minus_months(today, 1)
    m = _TODAY_WEEKDAY.search(folded)
    if (m and _WEEKDAYS[m.group(1) or m.group(2)] == today.weekday()
            and len({w.group(2) for w in _WEEKDAY.finditer(folded)}) == 1):
        # "la guardé hoy lunes", "hoy jueves": today, not the one a week before (but "la guardé
        # el lunes y hoy jueves sigo igual" is Monday's).
        return today
    if _COMING_WEEKDAY.search(folded):
        return None  # "mañana domingo", "el próximo lunes": a day to come, never the save day
    m = _WEEKDAY.search(folded)
    if m:
        include_today = (m.group(1) or "").strip() == "este"
        return _previous_weekday(_WEEKDAYS[m.group(2)], today, include_today=include_today)
    if _TODAY.search(folded) or _SAVED_TODAY.search(folded):
        return today
    return _bare_month(folded, today)


_EN_NUMBERS = {"a": "1", "an": "1", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
               "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10", "couple": "2"}
_EN_WEEKDAYS = {"monday": "lunes", "tuesday": "martes", "wednesday": "miercoles", "thursday": "jueves",
                "friday": "viernes", "saturday": "sabado", "sunday": "domingo"}
#: English month names and abbreviations, for "August 17" and "17th of Aug" (never "may" without a day).
_EN_MONTHS = {
    "january": "enero", "jan": "enero", "february": "febrero", "feb": "febrero", "march": "marzo",
    "april": "abril", "apr": "abril", "may": "mayo", "june": "junio", "jun": "junio", "july": "julio",
    "jul": "julio", "august": "agosto", "aug": "agosto", "september": "septiembre", "sept": "septiembre",
    "sep": "septiembre", "october": "octubre", "oct": "octubre", "november": "noviembre", "nov": "noviembre",
    "december": "diciembre", "dec": "diciembre",
}
_DATE_WORDS: tuple[tuple[re.Pattern[str], Any], ...] = (
    # Spanish diminutives and colloquial forms
    (re.compile(r"\bsemanita(s)?\b", re.I), r"semana\1"),
    (re.compile(r"\bdiit(a|o)s\b", re.I), "dias"),
    (re.compile(r"\bahorit(a|ita)\b", re.I), "hoy"),
    (re.compile(r"\bhoy(?:\s+mismo)?\b", re.I), "hoy"),
    # English, for Spanglish messages
    (re.compile(r"\bthe day before yesterday\b", re.I), "antier"),
    (re.compile(r"\byesterday\b", re.I), "ayer"),
    (re.compile(r"\b(?:just\s+)?today\b|\bthis morning\b|\btonight\b", re.I), "hoy"),
    (re.compile(r"\b(?:like\s+|about\s+)?(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|couple)"
                r"(?:\s+of)?\s+days?\s+ago\b", re.I),
     lambda m: f"hace {_EN_NUMBERS.get(m.group(1).lower(), m.group(1))} dias"),
    (re.compile(r"\b(?:like\s+|about\s+)?(\d+|an?|one|two|three|couple)(?:\s+of)?\s+weeks?\s+ago\b", re.I),
     lambda m: f"hace {_EN_NUMBERS.get(m.group(1).lower(), m.group(1))} semanas"),
    (re.compile(r"\b(" + "|".join(_EN_MONTHS) + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b", re.I),
     lambda m: f"el {m.group(2)} de {_EN_MONTHS[m.group(1).lower()]}"),  # "August 17", "aug 17th"
    (re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + "|".join(_EN_MONTHS) + r")\b", re.I),
     lambda m: f"el {m.group(1)} de {_EN_MONTHS[m.group(2).lower()]}"),  # "17th of August"
    (re.compile(r"\blast week\b", re.I), "hace una semana"),
    (re.compile(r"\blast (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
     lambda m: f"el {_EN_WEEKDAYS[m.group(1).lower()]} pasado"),
    (re.compile(r"\b(?:on\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
     lambda m: f"el {_EN_WEEKDAYS[m.group(1).lower()]}"),
)


def _spanish_date_words(text: str) -> str:
    """Diminutives ("una semanita") and English ("4 days ago") in plain Spanish."""
    for pattern, replacement in _DATE_WORDS:
        text = pattern.sub(replacement, text)
    return text


def parse_date(text: str, now: datetime) -> date | None:
    """The date a student refers to ("el 9 de feb", "antier", "el lunes"), or None.

    ``now`` is the moment of the message; its local date in
    America/Hermosillo is "hoy". An explicit day and month wins over any
    relative word ("el lunes pasado 9 de feb"). Numeric dates are day/month,
    Mexican order. A bare weekday is the most recent one strictly before
    today (students talk about the past); "este lunes" may be today.
    """
    corrected = _after_correction(text)
    if corrected is not None and corrected != text:
        # "la guardé el lunes 2… no, fue el martes 3": a date taken back, the one said last wins.
        later = _plain_date(corrected, now)
        if later is not None and _plain_date(text[: len(text) - len(corrected)], now) is not None:
            return later
    return _plain_date(text, now)


def _plain_date(text: str, now: datetime) -> date | None:
    cleaned = _clean(text)
    if not cleaned:
        return None
    cleaned = _spanish_date_words(cleaned)
    folded = _fold_same_length(cleaned)
    today = _local_today(now)
    try:
        explicit = _explicit_date(folded, today)
        if explicit is not None:
            return explicit
        return _relative_date(folded, today)
    except (ValueError, OverflowError):  # dates at the edge of the calendar
        return None


#: A day of the month alone, maybe after the verb that answers the question ("la guardé el 2",
#: "fue el 3", "creo que el 5").
_BARE_DAY = re.compile(
    r"\s*(?:(?:no|ah|oh|ay|perdon|perdona|espera|si|mejor|este|ups)[\s,.!]+)*"  # "no no, sí fue el 9": a correction
    r"(?:(?:creo\s+que\s+|como\s+)?(?:fue\s+|(?:ya\s+)?(?:la\s+|lo\s+)?"
    r"(?:guarde|mande|envie|hice|registre|termine)(?:\s+(?:la\s+solicitud|mi\s+solicitud))?\s+)?)?"
    r"(?:el\s+)?(?:dia\s+)?([0-9]{1,2})\s*(?:de\s+este\s+mes|de\s+este)?\s*[.!]*\s*"
)
_TOMORROW = re.compile(
    r"(?<![a-z])(?<!esta )(?<!la )(?<!en la )(?:(pasado\s+)?manana)(?![a-z])|(?<![a-z])tomorrow(?![a-z])"
)


#: Where a student takes back the day just said: "… no, …", "… no perdón …", "… mejor …", "… digo …".
_CORRECTION = re.compile(r"(?:,|\s)\s*(?:no\s*,?\s*perd[oó]n|no\s*,|no\s+(?=el\b|la\b|fue\b)|perd[oó]n\s*,?|mejor|digo|o sea|osea)\s+",
                         re.IGNORECASE)


def _after_correction(text: str) -> str | None:
    """The part after the last correction in ``text``, or None when there is none."""
    parts = _CORRECTION.split(text)
    return parts[-1] if len(parts) > 1 and parts[-1].strip() else None


def parse_answer_date(text: str, now: datetime) -> tuple[date | None, str | None]:
    """The answer to "¿qué día guardaste tu solicitud?": (date, None) or (None, problem).

    Besides :func:`parse_date`, a bare day of the month ("el 9") is read
    as its most recent date. Problems: "invalid" for a date that does not
    exist ("el 30 de febrero"), "future" comes back as the date itself
    ("mañana" is tomorrow), for the caller to say it has not come yet.
    """
    corrected = _after_correction(text)
    if corrected is not None and corrected != text:
        # "el lunes pasado no, el martes", "el 9, no perdón, el 10": the day said last.
        found, problem = parse_answer_date(corrected, now)
        if found is not None:
            return found, problem
    found = parse_date(text, now)
    if found is not None:
        return found, None
    cleaned = _fold_same_length(_clean(text))
    today = _local_today(now)
    m = _BARE_DAY.fullmatch(cleaned)
    if m:
        day = _recent_day_number(int(m.group(1)), None, today)
        return (day, None) if day is not None else (None, "invalid")
    m = _TOMORROW.search(cleaned)
    if m:
        return today + timedelta(days=2 if m.group(1) else 1), None
    for dm in _DATE_DAY_MONTH.finditer(cleaned):
        day, month = _day_from_word(dm.group(1)), _month_from_word(dm.group(2))
        if day is not None and month is not None:
            return None, "invalid"
    for dm in _DATE_NUM2.finditer(cleaned):
        if 1 <= int(dm.group(3)) <= 12:
            return None, "invalid"
    if _DATE_ISO.search(cleaned):
        return None, "invalid"
    return None, None


def waited_duration(text: str) -> tuple[int, str, bool] | None:
    """How long the student says they have waited ("ya van 2 semanas", "ya pasaron 6 días
    hábiles", "llevo 10 días"): (amount, "dia" | "semana" | "mes", in business days), or None."""
    folded = _fold_same_length(_spanish_date_words(_clean(text)))
    m = _HACE.search(folded)
    if not m:
        return None
    amount = 2 if m.group(1).startswith("un par") else _day_from_word(m.group(1))
    if amount is None or amount > 400:
        return None
    unit = "dia" if m.group(2).startswith("dia") else "semana" if m.group(2).startswith("semana") else "mes"
    business = bool(re.match(r"\s+habiles?\b", folded[m.end():]))
    return amount, unit, business


def is_approximate_date(text: str) -> bool:
    """Whether the date in ``text`` is a rough one ("la semana pasada", "hace 2 semanas",
    "el mes pasado"): read as a day, which the student should hear and may correct."""
    folded = _fold_same_length(_spanish_date_words(_clean(text)))
    if _LAST_WEEK.search(folded) and _WEEKDAY.search(folded):
        return False  # "la semana pasada, el martes": a day
    if (_LAST_WEEK.search(folded) or _WEEK_BEFORE_LAST.search(folded) or _LAST_MONTH.search(folded)
            or _MONTH_PART.search(folded) or _bare_month(folded, date.today()) is not None):
        return True
    if _ROUGHLY.search(folded):
        return True  # "ya pasaron como 8 días", "hace unos 10 días": counted, but roughly
    m = _HACE.search(folded)
    return bool(m and not m.group(2).startswith("dia"))


#: "como 8 días", "unos 10 días", "más o menos una semana": a length of time said roughly.
_ROUGHLY = re.compile(
    r"\b(?:como|unos|unas|aprox\w*|mas o menos|casi|alrededor de|cerca de)\s+(?:\d+|un|una|dos|tres|cuatro|cinco|seis"
    r"|siete|ocho|nueve|diez|quince|veinte)\s+(?:dias?|semanas?|meses?)\b"
)


_MENTION_NOW = datetime(2024, 12, 31, 12, 0, tzinfo=_TZ)  # leap year: 29/02 is valid


def mentions_date(text: str) -> bool:
    """Whether ``text`` contains a date :func:`parse_date` can read."""
    return parse_date(text, _MENTION_NOW) is not None


#: A verb of saving the application: a date next to it is the day it was saved.
_SAVED_CUE = re.compile(
    r"\b(guard\w*|hice|hizo|hicimos|mande|mandamos|envie|registre|solicite|llene|acabo de|la di|le di"
    r"|meti|metimos|subi|ingrese|capture|termine"
    r"|saved|submitted|sent|applied|did)\b"
    # "mi hijo registró su solicitud el jueves": a relative's saving, told by a parent
    r"|\b(?:registro|registraron|mando|envio|lleno|solicito) (?:su|la|mi) solicitud\b"
)
#: Where one statement ends and another starts in a message.
_CLAUSES = re.compile(r"[,;.!?\n]+|\s+y\s+|\s+pero\s+")


def mentions_saving(text: str) -> bool:
    """Whether ``text`` speaks of saving the application ("la guardé", "ya la mandé")."""
    return bool(_SAVED_CUE.search(_fold_same_length(_clean(text))))


#: Saving it again: "la corregí", "la modifiqué", "la volví a guardar", "la mandé de nuevo".
_RESAVED_CUE = re.compile(
    r"\b(?:correg\w*|corrigi\w*|modifi\w*|edit\w*|cambie|actualic\w*|rehic\w*|volvi a \w+|volvimos a \w+"
    r"|de nuevo|otra vez|nuevamente)\b"
)
#: "… el 5" inside a clause: a bare day of the month ("el 5 días" is a count, "el 5/03" a date).
_DAY_IN_CLAUSE = re.compile(r"(?<![0-9/.\-])\bel\s+([0-9]{1,2})(?![0-9/:.\-])(?!\s+(?:de\s+)?(?:dias?|semanas?|meses|horas?)\b)")


def _clause_day(clause: str, now: datetime) -> date | None:
    """The day a clause names: a date, or a bare day of the month ("la corregí el 5")."""
    found = parse_date(clause, now)
    if found is not None:
        return found
    m = _DAY_IN_CLAUSE.search(_fold_same_length(_clean(clause)))
    return _recent_day_number(int(m.group(1)), None, _local_today(now)) if m else None


def resaved_day(text: str, now: datetime) -> date | None:
    """The day the application was saved again, when a message names a saving and, after it, a
    later one ("la guardé el 3 pero la corregí el 5", "… y la volví a guardar el 5"): the last
    time it was saved, which the wait counts from. None for a message with one saving."""
    clauses = _CLAUSES.split(text)
    first = next(((i, d) for i, c in enumerate(clauses) if mentions_saving(c) and (d := _clause_day(c, now))), None)
    if first is None:
        return None
    later = [d for c in clauses[first[0] + 1:]
             if _RESAVED_CUE.search(_fold_same_length(_clean(c))) and (d := _clause_day(c, now)) is not None]
    return later[-1] if later and later[-1] >= first[1] else None


def saved_clause(text: str) -> str | None:
    """The part of a message that says when the application was saved ("… lo guardé el viernes
    pasado, y traigo tos desde hace una semana": the first part; the cough's week is not the day).
    A saving day taken back ("la guardé el lunes 2… no, fue el martes 3") keeps its correction."""
    corrected = _after_correction(text)
    if (corrected is not None and corrected != text and parse_date(corrected, _MENTION_NOW) is not None
            and mentions_saving(text[: len(text) - len(corrected)])
            and _clause_day(text[: len(text) - len(corrected)], _MENTION_NOW) is not None):
        return text
    clauses = _CLAUSES.split(text)
    for i, clause in enumerate(clauses):
        if mentions_saving(clause) and parse_date(clause, _MENTION_NOW) is not None:
            after = clauses[i + 1] if i + 1 < len(clauses) else ""
            if (is_approximate_date(clause) and after and len(after.split()) <= 4
                    and parse_date(after, _MENTION_NOW) is not None):
                return f"{clause} {after}"  # "la guardé la semana pasada, el martes": the day it narrows to
            return clause
    return None
