"""The visit calendar of «انتخاب کارشناس بازدید»: Jalali months from Saturday, Fridays and
holidays closed, past and far days not bookable, seats per hour."""

from datetime import date, datetime

from clients.municipal.phone_codes import MAX_TRIES, check, cooldown_left, issue
from clients.municipal.settings import VisitsSection
from clients.municipal.sms import local_mobile
from clients.municipal.visits import hours_of, month_weeks, slot_problem

VISITS = VisitsSection(capacity=2, hours=["09:00", "10:00"], days_ahead=10)
NOW = datetime(2026, 3, 22, 9, 30)  # 1405/01/02, a Sunday, Tehran time
NOWRUZ = {date(2026, 3, 23)}


def test_the_month_starts_on_saturday_and_closes_fridays_and_holidays():
    weeks = month_weeks(1405, 1, NOW, VISITS, NOWRUZ)
    first = weeks[0][0]
    assert first is not None and first.jalali.day == 1 and first.day == date(2026, 3, 21)
    assert all(len(week) == 7 for week in weeks)
    days = {cell.day: cell for week in weeks for cell in week if cell}
    assert len(days) == 31
    assert not days[date(2026, 3, 21)].bookable  # yesterday
    assert days[date(2026, 3, 22)].bookable  # today
    assert days[date(2026, 3, 23)].closed and not days[date(2026, 3, 23)].bookable
    assert days[date(2026, 3, 27)].closed  # a Friday
    assert days[date(2026, 4, 1)].bookable and not days[date(2026, 4, 2)].bookable  # 10 ahead
    assert len({cell.day for week in month_weeks(1404, 12, NOW, VISITS, set())
                for cell in week if cell}) == 29


def test_hours_seats_and_slot_problems():
    taken = {"2026-03-22T10:00": 2, "2026-03-24T09:00": 1}
    today = hours_of(date(2026, 3, 22), NOW, VISITS, taken)
    assert [(h.label, h.past, h.full) for h in today] == [("09:00", True, False),
                                                         ("10:00", False, True)]
    assert hours_of(date(2026, 3, 24), NOW, VISITS, taken)[0].seats_left == 1
    assert slot_problem("2026-03-22T09:00", NOW, VISITS, NOWRUZ, taken) == "past"
    assert slot_problem("2026-03-22T10:00", NOW, VISITS, NOWRUZ, taken) == "full"
    assert slot_problem("2026-03-23T10:00", NOW, VISITS, NOWRUZ, taken) == "closed"
    assert slot_problem("2026-03-27T10:00", NOW, VISITS, NOWRUZ, taken) == "closed"
    assert slot_problem("2026-04-05T10:00", NOW, VISITS, NOWRUZ, taken) == "closed"
    assert slot_problem("2026-03-24T09:30", NOW, VISITS, NOWRUZ, taken) == "unlisted"
    assert slot_problem("24/03/2026", NOW, VISITS, NOWRUZ, taken) == "unlisted"
    assert slot_problem("2026-03-24T09:00", NOW, VISITS, NOWRUZ, taken) is None


def test_phone_codes_are_kept_hashed_and_tried_five_times():
    issued = issue(b"k" * 32, "d1", "09120000001", 120)
    assert issued.code not in str(issued.record)
    assert cooldown_left(issued.record) > 0
    record = issued.record
    for _ in range(MAX_TRIES - 1):
        outcome, record = check(b"k" * 32, "d1", record, "09120000001", "x")
        assert outcome == "wrong"
    outcome, record = check(b"k" * 32, "d1", record, "09120000001", "x")
    assert outcome == "spent"
    assert check(b"k" * 32, "d1", record, "09120000001", issued.code)[0] == "spent"
    fresh = issue(b"k" * 32, "d1", "09120000001", 120)
    assert check(b"k" * 32, "d2", fresh.record, "09120000001", fresh.code)[0] == "wrong"
    assert check(b"k" * 32, "d1", fresh.record, "09350000002", fresh.code)[0] == "none"
    assert check(b"k" * 32, "d1", fresh.record, "09120000001", fresh.code) == ("ok", None)


def test_mobiles_as_typed():
    for typed in ("09120000001", "۰۹۱۲۰۰۰۰۰۰۱", "+98 912 000 0001", "00989120000001",
                  "9120000001"):
        assert local_mobile(typed) == "09120000001", typed
    for bad in ("0912000000", "02120000001", "", None, "0912000000a"):
        assert local_mobile(bad) is None, bad
