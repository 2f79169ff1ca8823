"""A company a citizen has logged in for as its CEO (seed 002, the note after §5.1).

A link only offers the company again on the company step and the account page: the CEO is
replaced at any board meeting, so the registry is asked at every company login and a link is
never trusted on its own.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base
from idp.models.base import utcnow


class CompanyLink(Base):
    __tablename__ = "company_links"
    __table_args__ = (UniqueConstraint("account_id", "national_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    national_id: Mapped[str] = mapped_column(String(11))
    # The name the registry gave at the last check.
    name: Mapped[str] = mapped_column(Text)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the registry last named this citizen the company's CEO.
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
