"""The insurer's rules over its records: the summary of a person's insurance, their history
by employer, and whether (and how) a new insurance booklet may be requested."""

import secrets
from dataclasses import dataclass
from datetime import datetime

import jdatetime
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from clients.common.i18n import TEHRAN
from clients.common.sessions import utcnow
from clients.insurance.models import BookletRequest, InsuranceMonth, InsuredPerson

# The insurer counts service in days: 30 to a month, 365 to a year.
DAYS_IN_YEAR, DAYS_IN_MONTH = 365, 30
# A booklet is issued only to someone insured in one of the last three months.
RECENT_MONTHS = 3
STATUSES = {
    "registered": _l("ثبت شده، در انتظار بررسی"),
    "printing": _l("در حال صدور"),
    "posted": _l("ارسال شده با پست"),
    "delivered": _l("تحویل شده"),
}
OPEN_STATUSES = {"registered", "printing", "posted"}


@dataclass(frozen=True)
class Service:
    years: int
    months: int
    days: int
    total_days: int


@dataclass(frozen=True)
class EmployerPeriod:
    employer_name: str
    workshop_code: str
    first: tuple[int, int]
    last: tuple[int, int]
    days: int


def this_month() -> tuple[int, int]:
    """The Jalali (year, month) on the Tehran clock."""
    today = jdatetime.date.fromgregorian(date=datetime.now(TEHRAN).date())
    return today.year, today.month


def months_back(start: tuple[int, int], count: int) -> tuple[int, int]:
    year, month = start
    index = year * 12 + (month - 1) - count
    return index // 12, index % 12 + 1


def service_of(months: list[InsuranceMonth]) -> Service:
    total = sum(row.days for row in months)
    years, rest = divmod(total, DAYS_IN_YEAR)
    return Service(years, *divmod(rest, DAYS_IN_MONTH), total_days=total)


def employer_periods(months: list[InsuranceMonth]) -> list[EmployerPeriod]:
    """Consecutive months at the same workshop as one period, newest first."""
    periods: list[EmployerPeriod] = []
    for row in sorted(months, key=lambda r: (r.year, r.month)):
        last = periods[-1] if periods else None
        if last and last.workshop_code == row.workshop_code and \
                months_back((row.year, row.month), 1) == last.last:
            periods[-1] = EmployerPeriod(last.employer_name, last.workshop_code, last.first,
                                         (row.year, row.month), last.days + row.days)
        else:
            periods.append(EmployerPeriod(row.employer_name, row.workshop_code,
                                          (row.year, row.month), (row.year, row.month),
                                          row.days))
    return periods[::-1]


def booklet_refusal(person: InsuredPerson, now: tuple[int, int] | None = None) -> str | None:
    """Why a new booklet request cannot be made now, or None when it can."""
    if any(request.status in OPEN_STATUSES for request in person.booklet_requests):
        return str(_l("درخواست قبلی شما برای دفترچه بیمه هنوز در جریان است. وضعیت آن را در "
                      "همین صفحه پیگیری کنید."))
    since = months_back(now or this_month(), RECENT_MONTHS)
    if not any((row.year, row.month) >= since for row in person.months):
        return str(_l("بیمه شده گرامی، برای شما در سه ماه اخیر حق بیمه‌ای پرداخت نشده است؛ صدور "
                      "دفترچه بیمه تنها برای بیمه شدگانی که بیمه آنها برقرار است امکان پذیر "
                      "می‌باشد."))
    return None


def request_booklet(db: Session, person: InsuredPerson, postal_code: str | None) -> BookletRequest:
    """File a request (the caller checked :func:`booklet_refusal`); it starts "registered"."""
    request = BookletRequest(national_code=person.national_code, postal_code=postal_code,
                             tracking_code=new_tracking_code(), status="registered",
                             requested_at=utcnow(), updated_at=utcnow())
    db.add(request)
    db.commit()
    return request


def new_tracking_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(10))
