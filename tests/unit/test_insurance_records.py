"""The insurer's rules over its records, without HTTP (clients/insurance/records.py)."""

from types import SimpleNamespace

from clients.insurance.models import InsuranceMonth
from clients.insurance.records import booklet_refusal, employer_periods, months_back, service_of

A = ("کارگاه الف", "1111111111")
B = ("کارگاه ب", "2222222222")


def month(year: int, number: int, employer=A, days: int = 30) -> InsuranceMonth:
    return InsuranceMonth(year=year, month=number, employer_name=employer[0],
                          workshop_code=employer[1], days=days, wage=1)


def test_months_back_crosses_the_year():
    assert months_back((1403, 2), 1) == (1403, 1)
    assert months_back((1403, 2), 2) == (1402, 12)
    assert months_back((1403, 2), 26) == (1400, 12)


def test_service_counts_days_as_the_insurer_does():
    service = service_of([month(1400, m, days=31) for m in range(1, 13)] + [month(1401, 1)])
    assert service.total_days == 12 * 31 + 30
    assert (service.years, service.months, service.days) == (1, 1, 7)  # 402 = 365 + 30 + 7


def test_consecutive_months_at_one_workshop_are_one_period_newest_first():
    rows = [month(1399, 11), month(1399, 12), month(1400, 1), month(1400, 2, B),
            month(1400, 5, B), month(1400, 6, A)]
    periods = employer_periods(rows[::-1])
    assert [(p.workshop_code, p.first, p.last, p.days) for p in periods] == [
        (A[1], (1400, 6), (1400, 6), 30),
        (B[1], (1400, 5), (1400, 5), 30),  # a gap of two months starts a new period
        (B[1], (1400, 2), (1400, 2), 30),
        (A[1], (1399, 11), (1400, 1), 90),
    ]


def person(months, requests=()):
    return SimpleNamespace(months=months, booklet_requests=[
        SimpleNamespace(status=status) for status in requests])


def test_a_booklet_needs_recent_insurance_and_no_open_request():
    now = (1403, 3)
    assert booklet_refusal(person([month(1403, 1)], ["delivered"]), now) is None
    assert booklet_refusal(person([month(1402, 12)]), now) is None  # three months back
    assert "سه ماه اخیر" in booklet_refusal(person([month(1402, 11)]), now)
    assert "سه ماه اخیر" in booklet_refusal(person([]), now)
    for status in ("registered", "printing", "posted"):
        assert "در جریان" in booklet_refusal(person([month(1403, 2)], [status]), now)
