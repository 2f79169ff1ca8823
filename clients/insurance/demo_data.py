"""Demo records for the sandbox people (idp/registries/sandbox_demo.toml): all fictional.

Months are laid out back from the current month, so that "insured now" stays true for the
people who are meant to be insured now, whenever the demo runs. People without an entry here
(for instance 7849881354, born 1385) are people the insurer has no record of.
"""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from clients.common.sessions import utcnow
from clients.insurance.models import BookletRequest, InsuranceMonth, InsuredPerson
from clients.insurance.records import months_back, this_month

# (name, workshop code) of the fictional employers.
NEMOONE = ("شرکت نمونه‌سازان آزمایشی", "1040855226")
DADEH = ("شرکت داده‌پردازان آزمایشی", "1008576105")
HOSPITAL = ("بیمارستان نمونه آزمایشی", "2030405060")
BUILDER = ("کارگاه ساختمانی نمونه آزمایشی", "3040506070")
FACTORY = ("کارخانه ریسندگی نمونه آزمایشی", "4050607080")

# national code → insurance number, then (employer, months ago it started, months ago it
# ended, monthly wage in rials) — 0 months ago is the current month, not yet paid.
PEOPLE: dict[str, tuple[str, list[tuple[tuple[str, str], int, int, int]]]] = {
    "0499370899": ("1234567890", [(DADEH, 120, 61, 58_000_000), (NEMOONE, 60, 1, 95_000_000)]),
    "1214792235": ("2345678901", [(HOSPITAL, 84, 1, 72_000_000)]),
    "2607114462": ("3456789012", [(FACTORY, 400, 40, 41_000_000)]),
    "300000000101": ("4567890123", [(BUILDER, 30, 2, 55_000_000)]),
}
# national code → (status, days ago requested) of their booklet requests.
BOOKLETS: dict[str, list[tuple[str, int]]] = {
    "0499370899": [("delivered", 400)],
    "1214792235": [("printing", 6)],
}


def seed(db: Session) -> None:
    """Insert the demo records unless the insurer already has records (idempotent)."""
    if db.scalar(select(InsuredPerson).limit(1)) is not None:
        return
    now = this_month()
    for national_code, (number, jobs) in PEOPLE.items():
        db.add(InsuredPerson(national_code=national_code, insurance_number=number))
        for (employer, workshop), start, end, wage in jobs:
            for back in range(start, end - 1, -1):
                year, month = months_back(now, back)
                db.add(InsuranceMonth(national_code=national_code, year=year, month=month,
                                      workshop_code=workshop, employer_name=employer,
                                      days=31 if month <= 6 else 30 if month <= 11 else 29,
                                      wage=wage))
        for index, (status, days_ago) in enumerate(BOOKLETS.get(national_code, [])):
            when = utcnow() - timedelta(days=days_ago)
            db.add(BookletRequest(national_code=national_code, status=status,
                                  tracking_code=f"{number[:6]}{index:04d}", requested_at=when,
                                  updated_at=when + timedelta(days=min(days_ago, 10))))
    db.commit()
