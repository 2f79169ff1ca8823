"""The registry checks behind an account, and the verifications they add up to (issue 11).

Each successful check of a registry (the civil or foreign-nationals registry, Shahkar) is kept
with its time and an opaque id that its audit row names too. A person lookup and a Shahkar
match made together are a verification; the account's latest one is what ``verified_claims``
reports (OpenID Connect for Identity Assurance 1.0).
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idp.db import Base
from idp.models.base import new_id


class Verification(Base):
    __tablename__ = "verifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    # UTC, whole seconds: when the later of its two checks completed.
    verified_at: Mapped[datetime] = mapped_column(index=True)
    # The mobile Shahkar matched to the person (E.164).
    mobile: Mapped[str] = mapped_column(String(16))

    checks: Mapped[list["RegistryCheck"]] = relationship(
        lazy="selectin", order_by="RegistryCheck.checked_at")


class RegistryCheck(Base):
    __tablename__ = "registry_checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    # Which registry answered: civil | foreigners | shahkar
    source: Mapped[str] = mapped_column(String(16))
    checked_at: Mapped[datetime] = mapped_column()
    # None for a check whose partner failed: it verified nothing on its own.
    verification_id: Mapped[str | None] = mapped_column(
        ForeignKey("verifications.id", ondelete="CASCADE"), index=True)
