"""The municipal service's own database: its citizens, and the login sessions of the shared base.

One ``Base`` holds this app's whole schema, so that Alembic can manage it when the e-services
(seed 003) arrive.
"""

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
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
