"""The visit calendar of «انتخاب کارشناس بازدید» (seed 003 §9): a Jalali month from Saturday,
Fridays and holidays closed, each open day's hours with the seats left out of ``capacity``;
past days and hours are shown grey and cannot be chosen. Times are Tehran's.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import jdatetime

from clients.common.i18n import TEHRAN
from clients.municipal.settings import VisitsSection

SLOT_FORMAT = "%Y-%m-%dT%H:%M"  # issue 10: the radio group ``slot``
FRIDAY = 4  # date.weekday()


@dataclass(frozen=True)
class Day:
    day: date
    jalali: jdatetime.date
    bookable: bool  # open, not past, within days_ahead
    closed: bool  # a Friday or a holiday


@dataclass(frozen=True)
class Hour:
    slot: str
    label: str
    seats_left: int
    past: bool

    @property
    def full(self) -> bool:
        return self.seats_left <= 0


def now_tehran() -> datetime:
    return datetime.now(TEHRAN).replace(tzinfo=None)


def closed(day: date, holidays: set[date]) -> bool:
    return day.weekday() == FRIDAY or day in holidays


def bookable_day(day: date, now: datetime, visits: VisitsSection, holidays: set[date]) -> bool:
    today = now.date()
    return today <= day <= today + timedelta(days=visits.days_ahead) and \
        not closed(day, holidays)


def month_weeks(year: int, month: int, now: datetime, visits: VisitsSection,
                holidays: set[date]) -> list[list[Day | None]]:
    """The Jalali month as weeks from Saturday; ``None`` pads the first and last week."""
    first = jdatetime.date(year, month, 1)
    length = jdatetime.j_days_in_month[month - 1] + (1 if month == 12 and first.isleap() else 0)
    cells: list[Day | None] = [None] * first.weekday()  # jdatetime: Saturday is 0
    for number in range(1, length + 1):
        jalali = jdatetime.date(year, month, number)
        day = jalali.togregorian()
        cells.append(Day(day, jalali, bookable_day(day, now, visits, holidays),
                         closed(day, holidays)))
    cells += [None] * (-len(cells) % 7)
    return [cells[i:i + 7] for i in range(0, len(cells), 7)]


def hours_of(day: date, now: datetime, visits: VisitsSection,
             taken: dict[str, int]) -> list[Hour]:
    hours = []
    for text in visits.hours:
        start = datetime.combine(day, datetime.strptime(text, "%H:%M").time())
        slot = start.strftime(SLOT_FORMAT)
        hours.append(Hour(slot, text, visits.capacity - taken.get(slot, 0), start <= now))
    return hours


def slot_problem(slot: str, now: datetime, visits: VisitsSection, holidays: set[date],
                 taken: dict[str, int]) -> str | None:
    """Why ``slot`` cannot be booked ("unlisted", "past", "closed", "full"), or None."""
    try:
        start = datetime.strptime(slot, SLOT_FORMAT)
    except ValueError:
        return "unlisted"
    if start.strftime("%H:%M") not in visits.hours:
        return "unlisted"
    if start <= now:
        return "past"
    if not bookable_day(start.date(), now, visits, holidays):
        return "closed"
    if taken.get(slot, 0) >= visits.capacity:
        return "full"
    return None
