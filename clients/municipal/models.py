"""The municipal service's own database: its citizens, the login sessions of the shared base,
and the e-services of seed 003 (drafts of the wizards, and the requests they register).

One ``Base`` holds this app's whole schema; Alembic manages it (``migrations/``).
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from clients.common import LoginSessionMixin, SeenLogoutTokenMixin
from clients.common.sessions import utcnow


class Base(DeclarativeBase):
    pass


class LoginSession(LoginSessionMixin, Base):
    pass


class SeenLogoutToken(SeenLogoutTokenMixin, Base):
    pass


class Citizen(Base):
    """A citizen as the service knows them: the fields of its old registration form (seed 000),
    now from the national login's claims, plus the e-mail the service asks for itself."""

    __tablename__ = "citizens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), unique=True)
    national_code: Mapped[str | None] = mapped_column(String(12), unique=True)
    given_name: Mapped[str] = mapped_column(String(100), default="")
    family_name: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[str | None] = mapped_column(String(10))  # Gregorian ISO
    gender: Mapped[str | None] = mapped_column(String(10))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    mobile: Mapped[str | None] = mapped_column(String(16))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    # "provider" when the national login released a verified address, "citizen" when typed here.
    email_source: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Draft(Base):
    """A wizard in progress (seed 003: «تا زمانیکه کلید تأیید و ثبت را انتخاب نکرده باشید،
    درخواستی در سیستم درج نخواهد شد»): what each step took, and how many steps are done."""

    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, in its URLs
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "transfer" | "inquiry"
    done: Mapped[int] = mapped_column(Integer, default=0)  # steps completed, in order
    # Reassigned whole on change (a JSON column does not track edits inside it).
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ServiceRequest(Base):
    """A registered request: a transfer certificate or an office/bank inquiry."""

    __tablename__ = "service_requests"
    # The database hands out seats: the last seat of an hour goes to one request only.
    __table_args__ = (UniqueConstraint("visit_slot", "visit_seat"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(10), unique=True)  # «شماره پیگیری»
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    renovation_code: Mapped[str] = mapped_column(String(40), index=True)  # normalised
    state: Mapped[str] = mapped_column(String(24))
    # The visit's seat, ``YYYY-MM-DDTHH:MM`` Tehran time, while the request holds one.
    visit_slot: Mapped[str | None] = mapped_column(String(16), index=True)
    visit_seat: Mapped[int | None] = mapped_column(Integer)  # 1..capacity
    # The renovation code while the request is open: one open request per code.
    open_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Payment(Base):
    """An order for a renovation code's dues (issue 10, «عوارض نوسازی»), sent to the payment
    gateway: open until its callback is verified with the gateway (paid) or cancelled."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), unique=True)  # random, sent to the gateway
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    renovation_code: Mapped[str] = mapped_column(String(40), index=True)  # normalised
    amount: Mapped[int] = mapped_column(BigInteger)  # rials
    # What it pays for: a registered request, or a wizard's draft (which has no request yet).
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"), index=True)
    draft_id: Mapped[str | None] = mapped_column(String(32))
    return_to: Mapped[str] = mapped_column(String(255))  # a path of this app
    state: Mapped[str] = mapped_column(String(16))  # "open" | "paid" | "cancelled"
    ref_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the gateway's
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
