"""The monthly insurance list (لیست بیمه): what an employer sends, checked before it is stored.

A list names the Jalali year and month and, for each insured employee, the national code (with
its check digit), the days worked that month and the month's wage in rials. Each employee
appears once; one list per employer and month.
"""

import re
import secrets
from dataclasses import dataclass

import jdatetime
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import FieldList, Form, FormField, StringField

from clients.common.i18n import TEHRAN, local_digits
from clients.employer.models import ListedEmployee, MonthlyList

# Rows the form offers at first, and at most (more are added a few at a time).
ROWS, MAX_ROWS, MORE_ROWS = 5, 100, 5
FIRST_YEAR = 1390
# A month's wage above this many rials is a typing mistake, not a wage.
MAX_WAGE = 10**13
# Persian and Arabic-Indic digits to ASCII; spaces, ZWNJ, bidi marks and thousands separators
# dropped (people paste numbers from spreadsheets and Persian text).
_ASCII = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_ASCII.update({ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")})
_ASCII.update({ord(c): None for c in " \u00a0\u200c\u200e\u200f,٬،-"})
_NUMBER = re.compile(r"[0-9]{1,16}")

MSG_NATIONAL_CODE = _l("کد ملی باید ۱۰ رقم و معتبر باشد")
MSG_DUPLICATE = _l("این کد ملی در این لیست تکراری است")
MSG_WAGE = _l("دستمزد ماهانه باید عددی بزرگ‌تر از صفر به ریال باشد")
MSG_ROW_MISSING = _l("کد ملی، روزهای کارکرد و دستمزد هر ردیف را کامل کنید")
MSG_EMPTY = _l("دست کم یک بیمه‌شده را در لیست وارد کنید")
MSG_YEAR = _l("سال را به درستی وارد کنید")
MSG_MONTH = _l("ماه را به درستی انتخاب کنید")
MSG_FUTURE = _l("لیست ماهی را که هنوز به پایان نرسیده است نمی‌توان ارسال کرد")


def ascii_number(text: str | None) -> str:
    return (text or "").strip().translate(_ASCII)


def normalize_national_code(text: str | None) -> str | None:
    """A national code with a valid check digit (8–9 digits are left-padded), or None."""
    code = ascii_number(text)
    if not code.isascii() or not code.isdigit() or not 8 <= len(code) <= 10:
        return None
    code = code.zfill(10)
    if len(set(code)) == 1:
        return None  # the ten codes of one repeated digit pass the checksum, and are no one's
    r = sum(int(d) * (10 - i) for i, d in enumerate(code[:9])) % 11
    return code if int(code[9]) == (r if r < 2 else 11 - r) else None


def month_days(year: int, month: int) -> int:
    """Days in a Jalali month: 31 in the first six, 30 in the next five, 29 or 30 in Esfand."""
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if jdatetime.date(year, 1, 1).isleap() else 29


class EmployeeRow(Form):
    national_code = StringField()
    days = StringField()
    wage = StringField()

    @property
    def blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.national_code, self.days,
                                                         self.wage))


class ListForm(FlaskForm):
    year = StringField()
    month = StringField()
    employees = FieldList(FormField(EmployeeRow), min_entries=ROWS, max_entries=MAX_ROWS)


@dataclass(frozen=True)
class Employee:
    national_code: str
    days: int
    wage: int


@dataclass(frozen=True)
class ListDraft:
    year: int
    month: int
    employees: list[Employee]


def current_month() -> tuple[int, int]:
    today = jdatetime.datetime.now(tz=TEHRAN)
    return today.year, today.month


def last_month() -> tuple[int, int]:
    """The latest month a list may be sent for: the one before the current month."""
    year, month = current_month()
    return (year, month - 1) if month > 1 else (year - 1, 12)


def read_list(form: ListForm) -> ListDraft | None:
    """The list the form describes, or None with the form's fields carrying the errors."""
    ok = True
    year_text, month_text = ascii_number(form.year.data), ascii_number(form.month.data)
    this_year, this_month = current_month()
    year = int(year_text) if _NUMBER.fullmatch(year_text) else 0
    month = int(month_text) if _NUMBER.fullmatch(month_text) else 0
    if not FIRST_YEAR <= year <= this_year:
        form.year.errors.append(MSG_YEAR)
        ok = False
    if not 1 <= month <= 12:
        form.month.errors.append(MSG_MONTH)
        ok = False
    elif ok and (year, month) >= (this_year, this_month):
        form.month.errors.append(MSG_FUTURE)
        ok = False
    longest = month_days(year, month) if ok else 31
    employees: list[Employee] = []
    seen: set[str] = set()
    for entry in form.employees:
        row: EmployeeRow = entry.form
        if row.blank:
            continue
        code = normalize_national_code(row.national_code.data)
        days_text, wage_text = ascii_number(row.days.data), ascii_number(row.wage.data)
        if not ((row.national_code.data or "").strip() and days_text and wage_text):
            row.national_code.errors.append(MSG_ROW_MISSING)
            ok = False
            continue
        if code is None:
            row.national_code.errors.append(MSG_NATIONAL_CODE)
        elif code in seen:
            row.national_code.errors.append(MSG_DUPLICATE)
        days = int(days_text) if _NUMBER.fullmatch(days_text) else 0
        if not 1 <= days <= longest:
            row.days.errors.append(_l("روزهای کارکرد باید عددی از ۱ تا %(days)s باشد",
                                      days=local_digits(longest)))
        wage = int(wage_text) if _NUMBER.fullmatch(wage_text) else 0
        if not 0 < wage < MAX_WAGE:
            row.wage.errors.append(MSG_WAGE)
        if row.national_code.errors or row.days.errors or row.wage.errors:
            ok = False
            continue
        seen.add(code)
        employees.append(Employee(code, days, wage))
    if ok and not employees:
        form.employees.errors.append(MSG_EMPTY)
        ok = False
    return ListDraft(year, month, employees) if ok else None


def already_sent(session: Session, company_national_id: str, year: int,
                 month: int) -> MonthlyList | None:
    return session.scalars(select(MonthlyList).where(
        MonthlyList.company_national_id == company_national_id, MonthlyList.year == year,
        MonthlyList.month == month)).first()


def _tracking_number(session: Session) -> str:
    while True:
        number = str(10**11 + secrets.randbelow(9 * 10**11))
        if session.scalars(select(MonthlyList.id).where(
                MonthlyList.tracking_number == number)).first() is None:
            return number


def store(session: Session, draft: ListDraft, company: dict, ceo_national_code: str
          ) -> MonthlyList:
    """Keep the list under a new tracking number (the caller has checked the month is free)."""
    monthly = MonthlyList(tracking_number=_tracking_number(session),
                          company_national_id=company["national_id"],
                          company_name=company["name"], year=draft.year, month=draft.month,
                          submitted_by=ceo_national_code,
                          employees=[ListedEmployee(national_code=e.national_code, days=e.days,
                                                    wage=e.wage) for e in draft.employees])
    session.add(monthly)
    session.commit()
    return monthly


def lists_of(session: Session, company_national_id: str) -> list[MonthlyList]:
    return list(session.scalars(select(MonthlyList).where(
        MonthlyList.company_national_id == company_national_id)
        .order_by(MonthlyList.year.desc(), MonthlyList.month.desc())))
