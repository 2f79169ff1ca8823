"""The audit trail of security events; rows ride in the step's own commit."""

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base
from idp.models.base import utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # `idp audit --client` reads one client's events over a time range.
    __table_args__ = (Index("ix_audit_events_client_id_at", "client_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(48), index=True)
    account_id: Mapped[str | None] = mapped_column(String(32), index=True)
    client_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    # The browser that did it, for the citizen's history (issue 12).
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
