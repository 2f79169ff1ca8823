"""A citizen's account, built from the registry at the first successful identity step."""

from datetime import date, datetime

import jdatetime
from flask_login import UserMixin
from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base
from idp.identifiers import mobile_local
from idp.models.base import new_id, utcnow


class Account(UserMixin, Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    identity_type: Mapped[str] = mapped_column(String(10))  # iranian | foreign
    national_code: Mapped[str | None] = mapped_column(String(10), unique=True)
    fida_code: Mapped[str | None] = mapped_column(String(12), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    father_name: Mapped[str] = mapped_column(String(100), default="")
    gender: Mapped[str] = mapped_column(String(10))
    birth_date: Mapped[date] = mapped_column(Date)
    nationality: Mapped[str] = mapped_column(String(2), default="IR")
    # One mobile belongs to at most one account; Shahkar decides which (SPEC §3 step 3).
    mobile: Mapped[str | None] = mapped_column(String(16), unique=True)
    # A personal e-mail the citizen added on the account page; verified by a code or link.
    email: Mapped[str | None] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(default=False)
    # The national e-mail (ایمیل ملی) on the civil-registry record: verified by the registry.
    national_email: Mapped[str | None] = mapped_column(String(254))
    # A foreign national's secondary identifier, as a type plus a value (SPEC §8).
    foreign_id_type: Mapped[str | None] = mapped_column(String(10))
    foreign_id_value: Mapped[str | None] = mapped_column(String(20))
    registry_postal_code: Mapped[str | None] = mapped_column(String(10))
    # What the citizen confirmed or typed, and the registry's code they were shown then:
    # confirmation comes again only when the registry's code changes (issue 2).
    confirmed_postal_code: Mapped[str | None] = mapped_column(String(10))
    reviewed_registry_postal_code: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def identity_code(self) -> str:
        """The national code of an Iranian, the FIDA code of a foreign national."""
        return self.national_code if self.identity_type == "iranian" else self.fida_code

    @property
    def postal_code(self) -> str | None:
        """The postal code the citizen confirmed (or typed, filing an update request)."""
        return self.confirmed_postal_code or self.registry_postal_code

    @property
    def postal_review_needed(self) -> bool:
        return self.reviewed_registry_postal_code != self.registry_postal_code

    @property
    def verified_email(self) -> str | None:
        """The address claims and login codes use: the citizen's own verified choice, else the
        national e-mail; None when there is neither (issue 12)."""
        if self.email and self.email_verified:
            return self.email
        return self.national_email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def mobile_display(self) -> str:
        return mobile_local(self.mobile) if self.mobile else ""

    @property
    def birth_date_jalali(self) -> str:
        return jdatetime.date.fromgregorian(date=self.birth_date).strftime("%Y/%m/%d")


class AddressUpdateRequest(Base):
    """Filed when a citizen corrects the registry's postal code (seed 002 §4.1)."""

    __tablename__ = "address_update_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    registry_postal_code: Mapped[str | None] = mapped_column(String(10))
    postal_code: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def created_jalali(self) -> str:
        return jdatetime.datetime.fromgregorian(datetime=self.created_at).strftime("%Y/%m/%d")
