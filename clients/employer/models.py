"""The portal's own records: the monthly lists of insured employees (لیست بیمه) each employer
sent, keyed by the company's national ID and listed back by tracking number.

One ``Base`` holds this app's whole schema, so that Alembic can manage it later.
"""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from clients.common import LoginSessionMixin, SeenLogoutTokenMixin
from clients.common.sessions import utcnow


class Base(DeclarativeBase):
    pass


class LoginSession(LoginSessionMixin, Base):
    pass


class SeenLogoutToken(SeenLogoutTokenMixin, Base):
    pass


class MonthlyList(Base):
    """One month's list of one employer (Jalali year and month)."""

    __tablename__ = "monthly_lists"
    # One list per employer and month: a correction is a matter for the branch office.
    __table_args__ = (UniqueConstraint("company_national_id", "year", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(12), unique=True)
    company_national_id: Mapped[str] = mapped_column(String(11), index=True)
    company_name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    # Who sent it: the CEO's national code, from the login's claims.
    submitted_by: Mapped[str] = mapped_column(String(10))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    employees: Mapped[list["ListedEmployee"]] = relationship(
        back_populates="monthly_list", order_by="ListedEmployee.id",
        cascade="all, delete-orphan")

    @property
    def total_wage(self) -> int:
        return sum(employee.wage for employee in self.employees)


class ListedEmployee(Base):
    __tablename__ = "listed_employees"
    __table_args__ = (UniqueConstraint("list_id", "national_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("monthly_lists.id", ondelete="CASCADE"),
                                         index=True)
    national_code: Mapped[str] = mapped_column(String(10))
    days: Mapped[int] = mapped_column(Integer)
    wage: Mapped[int] = mapped_column(BigInteger)  # the month's wage, in rials
    monthly_list: Mapped[MonthlyList] = relationship(back_populates="employees")
