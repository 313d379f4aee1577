"""Business days, office hours and Spanish date phrases (flows.calendar)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from flows.calendar import (
    BusinessCalendar,
    OfficeHours,
    format_date_es,
    format_opening_es,
    format_time_es,
    local_date,
)

HMO = ZoneInfo("America/Hermosillo")


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar()


@pytest.fixture(scope="module")
def hours(cal: BusinessCalendar) -> OfficeHours:
    return OfficeHours(cal)


# ---------------------------------------------------------------- rest days

REST_DAYS_2026 = [
    (date(2026, 1, 1), "Año Nuevo"),
    (date(2026, 2, 2), "Día de la Constitución"),
    (date(2026, 3, 16), "Natalicio de Benito Juárez"),
    (date(2026, 5, 1), "Día del Trabajo"),
    (date(2026, 9, 16), "Día de la Independencia"),
    (date(2026, 11, 16), "Día de la Revolución"),
    (date(2026, 12, 25), "Navidad"),
]


@pytest.mark.parametrize(("day", "name"), REST_DAYS_2026)
def test_each_2026_rest_day_is_not_a_business_day(cal: BusinessCalendar, day: date, name: str) -> None:
    assert day.weekday() < 5  # all fall on weekdays in 2026: the holiday is what closes them
    assert not cal.is_business_day(day)
    assert cal.rest_day_name(day) == name


def test_rest_days_2026_are_exactly_the_listed_ones(cal: BusinessCalendar) -> None:
    day, closed = date(2026, 1, 1), []
    while day.year == 2026:
        if day.weekday() < 5 and not cal.is_business_day(day):
            closed.append(day)
        day += timedelta(days=1)
    assert closed == [d for d, _ in REST_DAYS_2026]


def test_first_of_october_only_every_six_years_from_2024(cal: BusinessCalendar) -> None:
    assert not cal.is_business_day(date(2024, 10, 1))  # Tuesday
    assert not cal.is_business_day(date(2030, 10, 1))  # Tuesday
    assert cal.is_business_day(date(2026, 10, 1))  # Thursday, ordinary day
    assert cal.rest_day_name(date(2026, 10, 1)) is None
    assert cal.rest_day_name(date(2030, 10, 1)) is not None


def test_movable_mondays_in_other_years(cal: BusinessCalendar) -> None:
    # first Monday of February, third Monday of March and November
    assert not cal.is_business_day(date(2027, 2, 1))
    assert not cal.is_business_day(date(2027, 3, 15))
    assert not cal.is_business_day(date(2027, 11, 15))
    assert cal.is_business_day(date(2027, 2, 5))  # the old fixed 5 February


def test_weekends_and_ordinary_weekdays(cal: BusinessCalendar) -> None:
    assert not cal.is_business_day(date(2026, 2, 7))  # Saturday
    assert not cal.is_business_day(date(2026, 2, 8))  # Sunday
    assert cal.is_business_day(date(2026, 2, 9))  # Monday
    assert cal.is_business_day(date(2026, 2, 13))  # Friday
    assert cal.rest_day_name(date(2026, 2, 7)) is None  # a weekend is not a "rest day"


def test_extra_closed_days(cal: BusinessCalendar) -> None:
    easter_week = [date(2026, 3, 30) + timedelta(days=i) for i in range(5)]
    closed = BusinessCalendar(extra_closed=easter_week)
    assert cal.is_business_day(date(2026, 3, 30))
    assert not closed.is_business_day(date(2026, 3, 30))
    assert closed.rest_day_name(date(2026, 4, 1)) == "Cierre de oficinas"
    # saved Thu 26 Mar: normally Fri 27, Mon 30 .. Thu 2 Apr
    assert cal.waiting_period_end(date(2026, 3, 26)) == date(2026, 4, 2)
    # with the whole week closed: Fri 27, then Mon 6 .. Thu 9 Apr
    assert closed.waiting_period_end(date(2026, 3, 26)) == date(2026, 4, 9)
    assert closed.extra_closed == frozenset(easter_week)


def test_single_extra_closure_shifts_by_one_day() -> None:
    closed = BusinessCalendar(extra_closed=[date(2026, 2, 12)])
    assert closed.waiting_period_end(date(2026, 2, 9)) == date(2026, 2, 17)


# ---------------------------------------------------------------- waiting period

WAITING_EXAMPLES = [
    (date(2026, 2, 9), date(2026, 2, 16)),
    (date(2026, 1, 30), date(2026, 2, 9)),
    (date(2026, 10, 24), date(2026, 10, 30)),
    (date(2026, 9, 15), date(2026, 9, 23)),
    (date(2026, 9, 25), date(2026, 10, 2)),
    (date(2026, 11, 9), date(2026, 11, 17)),
    (date(2026, 11, 10), date(2026, 11, 18)),
    (date(2026, 11, 18), date(2026, 11, 25)),
    (date(2026, 2, 19), date(2026, 2, 26)),
    (date(2026, 2, 7), date(2026, 2, 13)),
    (date(2026, 9, 10), date(2026, 9, 18)),
    (date(2026, 10, 2), date(2026, 10, 9)),
    (date(2026, 9, 1), date(2026, 9, 8)),
    (date(2026, 2, 18), date(2026, 2, 25)),
    (date(2026, 9, 11), date(2026, 9, 21)),
]


@pytest.mark.parametrize(("saved", "end"), WAITING_EXAMPLES)
def test_waiting_period_end(cal: BusinessCalendar, saved: date, end: date) -> None:
    assert cal.waiting_period_end(saved) == end
    assert cal.add_business_days(saved, 5) == end


def test_saved_day_never_counts(cal: BusinessCalendar) -> None:
    assert cal.add_business_days(date(2026, 2, 9), 1) == date(2026, 2, 10)  # business day
    assert cal.add_business_days(date(2026, 2, 7), 1) == date(2026, 2, 9)  # Saturday
    assert cal.add_business_days(date(2026, 2, 1), 1) == date(2026, 2, 3)  # Sunday, then holiday
    assert cal.add_business_days(date(2026, 2, 9), 0) == date(2026, 2, 9)


def test_custom_length_and_year_boundary(cal: BusinessCalendar) -> None:
    assert cal.waiting_period_end(date(2026, 2, 9), days=2) == date(2026, 2, 11)
    # 24 Dec 2026 (Thu): 25 holiday, 26-27 weekend, 28-31, 1 Jan holiday, 4 Jan
    assert cal.waiting_period_end(date(2026, 12, 24)) == date(2027, 1, 4)


def test_next_business_day(cal: BusinessCalendar) -> None:
    assert cal.next_business_day(date(2026, 2, 10)) == date(2026, 2, 10)
    assert cal.next_business_day(date(2026, 1, 31)) == date(2026, 2, 3)


# ---------------------------------------------------------------- office hours


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=HMO)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at(2026, 2, 10, 7, 59), False),
        (at(2026, 2, 10, 8, 0), True),
        (at(2026, 2, 10, 15, 59), True),
        (at(2026, 2, 10, 16, 0), False),
        (at(2026, 2, 14, 10, 0), False),  # Saturday
        (at(2026, 2, 15, 10, 0), False),  # Sunday
        (at(2026, 9, 16, 10, 0), False),  # Independence Day
        (at(2026, 2, 2, 10, 0), False),  # Constitution Day
    ],
)
def test_is_open(hours: OfficeHours, moment: datetime, open_: bool) -> None:
    assert hours.is_open(moment) is open_


def test_is_open_converts_time_zones(hours: OfficeHours) -> None:
    # 15:30 UTC = 8:30 in Hermosillo (UTC-7, no DST), 14:30 UTC = 7:30
    assert hours.is_open(datetime(2026, 2, 10, 15, 30, tzinfo=timezone.utc))
    assert not hours.is_open(datetime(2026, 2, 10, 14, 30, tzinfo=timezone.utc))
    # 23:30 UTC on Monday is 16:30 Monday in Hermosillo: closed
    assert not hours.is_open(datetime(2026, 2, 9, 23, 30, tzinfo=timezone.utc))
    # summer: Hermosillo stays UTC-7
    assert hours.is_open(datetime(2026, 7, 7, 15, 0, tzinfo=timezone.utc))


def test_next_opening(hours: OfficeHours) -> None:
    assert hours.next_opening(at(2026, 2, 13, 17)) == at(2026, 2, 16, 8)  # Fri -> Mon
    assert hours.next_opening(at(2026, 9, 15, 17)) == at(2026, 9, 17, 8)  # skips 16 Sep
    assert hours.next_opening(at(2026, 2, 10, 6, 30)) == at(2026, 2, 10, 8)  # same morning
    assert hours.next_opening(at(2026, 2, 10, 16, 0)) == at(2026, 2, 11, 8)
    assert hours.next_opening(at(2026, 2, 14, 9)) == at(2026, 2, 16, 8)  # Saturday
    assert hours.next_opening(at(2026, 1, 30, 18)) == at(2026, 2, 3, 8)  # Fri before holiday Mon
    now = at(2026, 2, 10, 10, 15)
    assert hours.next_opening(now) == now


def test_next_opening_returns_office_zone(hours: OfficeHours) -> None:
    moment = datetime(2026, 2, 10, 17, 30, tzinfo=timezone.utc)  # 10:30 local, open
    result = hours.next_opening(moment)
    assert result == moment
    assert result.utcoffset() == timedelta(hours=-7)
    assert result.hour == 10


def test_custom_hours(cal: BusinessCalendar) -> None:
    short = OfficeHours(cal, start=time(9), end=time(13))
    assert not short.is_open(at(2026, 2, 10, 8, 30))
    assert short.is_open(at(2026, 2, 10, 12, 59))
    assert not short.is_open(at(2026, 2, 10, 13, 0))
    assert short.next_opening(at(2026, 2, 10, 14)) == at(2026, 2, 11, 9)


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 2, 16), "lunes 16 de febrero"),
        (date(2026, 2, 9), "lunes 9 de febrero"),
        (date(2026, 9, 23), "miércoles 23 de septiembre"),
        (date(2026, 10, 3), "sábado 3 de octubre"),
        (date(2026, 1, 4), "domingo 4 de enero"),
        (date(2026, 12, 31), "jueves 31 de diciembre"),
    ],
)
def test_format_date_es(day: date, text: str) -> None:
    assert format_date_es(day) == text


def test_format_date_es_with_year() -> None:
    assert format_date_es(date(2026, 2, 16), with_year=True) == "lunes 16 de febrero de 2026"


def test_format_time_es() -> None:
    assert format_time_es(time(8)) == "8:00 a.m."
    assert format_time_es(time(16, 30)) == "4:30 p.m."
    assert format_time_es(time(12, 5)) == "12:05 p.m."
    assert format_time_es(time(0, 15)) == "12:15 a.m."


def test_format_opening_es_today(hours: OfficeHours) -> None:
    now = at(2026, 2, 10, 6, 30)
    assert format_opening_es(hours.next_opening(now), now) == "hoy a las 8:00 a.m."


def test_format_opening_es_tomorrow(hours: OfficeHours) -> None:
    now = at(2026, 2, 16, 18)
    opening = hours.next_opening(now)
    assert format_opening_es(opening, now) == "mañana martes 17 de febrero a partir de las 8:00 a.m."


def test_format_opening_es_later(hours: OfficeHours) -> None:
    now = at(2026, 2, 13, 17)
    opening = hours.next_opening(now)
    assert format_opening_es(opening, now) == "el lunes 16 de febrero a partir de las 8:00 a.m."


def test_format_opening_es_already_open(hours: OfficeHours) -> None:
    now = at(2026, 2, 10, 10)
    assert format_opening_es(hours.next_opening(now), now) == "hoy mismo"


def test_format_opening_es_compares_dates_in_office_zone() -> None:
    # 02:00 UTC on 17 Feb is 19:00 on 16 Feb in Hermosillo: the opening on
    # 17 Feb at 8:00 is "mañana", not "hoy"
    now = datetime(2026, 2, 17, 2, 0, tzinfo=timezone.utc)
    opening = at(2026, 2, 17, 8)
    assert format_opening_es(opening, now).startswith("mañana martes 17 de febrero")


def test_format_opening_es_adds_year_when_it_changes() -> None:
    now = at(2026, 12, 31, 17)
    opening = at(2027, 1, 4, 8)
    assert format_opening_es(opening, now) == "el lunes 4 de enero de 2027 a partir de las 8:00 a.m."


def test_local_date() -> None:
    assert local_date(datetime(2026, 2, 17, 2, 0, tzinfo=timezone.utc)) == date(2026, 2, 16)
    assert local_date(datetime(2026, 2, 17, 8, 0, tzinfo=timezone.utc)) == date(2026, 2, 17)
    assert local_date(datetime(2026, 2, 17, 2, 0, tzinfo=timezone.utc), tz="UTC") == date(2026, 2, 17)
