"""The insurer's own records, keyed by national code: who is insured, their insurance history
month by month and employer, and their insurance-booklet (دفترچه بیمه) requests.

One ``Base`` holds this app's whole schema, so that Alembic can manage it later.
"""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from clients.common import LoginSessionMixin, SeenLogoutTokenMixin
from clients.common.sessions import utcnow


class Base(DeclarativeBase):
    pass


class LoginSession(LoginSessionMixin, Base):
    pass


class SeenLogoutToken(SeenLogoutTokenMixin, Base):
    pass


class InsuredPerson(Base):
    __tablename__ = "insured_people"

    # The national code; for a foreign national, the FIDA code they are insured under.
    national_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    insurance_number: Mapped[str] = mapped_column(String(10), unique=True)
    months: Mapped[list["InsuranceMonth"]] = relationship(
        back_populates="person", order_by="(InsuranceMonth.year.desc(), "
                                           "InsuranceMonth.month.desc())")
    booklet_requests: Mapped[list["BookletRequest"]] = relationship(
        back_populates="person", order_by="BookletRequest.requested_at.desc()")


class InsuranceMonth(Base):
    """One month of insurance paid by one employer (workshop), in the Jalali calendar."""

    __tablename__ = "insurance_months"
    __table_args__ = (UniqueConstraint("national_code", "year", "month", "workshop_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_code: Mapped[str] = mapped_column(ForeignKey("insured_people.national_code"),
                                               index=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    workshop_code: Mapped[str] = mapped_column(String(10))  # کد کارگاه
    employer_name: Mapped[str] = mapped_column(String(200))
    days: Mapped[int] = mapped_column(Integer)
    wage: Mapped[int] = mapped_column(Integer)  # monthly wage the premium was paid on, in rials
    person: Mapped[InsuredPerson] = relationship(back_populates="months")


class BookletRequest(Base):
    __tablename__ = "booklet_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    national_code: Mapped[str] = mapped_column(ForeignKey("insured_people.national_code"),
                                               index=True)
    tracking_code: Mapped[str] = mapped_column(String(12), unique=True)
    postal_code: Mapped[str | None] = mapped_column(String(10))
    # registered → printing → posted → delivered (clients/insurance/records.py STATUSES)
    status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    person: Mapped[InsuredPerson] = relationship(back_populates="booklet_requests")
