"""«بررسی سوابق» (seed 003, استعلام ادارات/ ترهین): the latest certificate the municipality
issued for a renovation code, from the registry's answered requests and from the transfer
certificates this service issued itself (issue 10).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import jdatetime
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from clients.common.i18n import TEHRAN
from clients.municipal import lifecycle
from clients.municipal.models import ServiceRequest
from clients.municipal.registry import Property, normalise


@dataclass(frozen=True)
class Certificate:
    title: str
    number: str  # the registry's request number, or this service's tracking number
    issued: jdatetime.date


def latest(found: Property, issued_here: list[Certificate]) -> Certificate | None:
    """The most recently issued of the registry's certificates and ``issued_here``."""
    known = [Certificate(r.certificate, r.number, r.issued) for r in found.requests
             if r.certificate and r.issued] + issued_here
    return max(known, key=lambda c: c.issued.togregorian(), default=None)


def issued_here(db: Session, renovation_code: str) -> list[Certificate]:
    """The transfer certificates of this code issued by this service (issued or archived)."""
    rows = db.scalars(select(ServiceRequest).where(
        ServiceRequest.kind == "transfer",
        ServiceRequest.renovation_code == normalise(renovation_code),
        ServiceRequest.state.in_((lifecycle.ISSUED, lifecycle.ARCHIVED)))).all()
    return [Certificate(gettext("گواهی انتقال آپارتمان"), row.tracking_number,
                        _issued_on(row)) for row in rows]


def _issued_on(row: ServiceRequest) -> jdatetime.date:
    """The Tehran day the certificate was issued: its history's «صدور» entry (naive UTC)."""
    at = next((datetime.fromisoformat(entry["at"]) for entry in row.data.get("history", [])
               if entry.get("to") == lifecycle.ISSUED), row.updated_at)
    return jdatetime.date.fromgregorian(date=at.replace(tzinfo=UTC).astimezone(TEHRAN).date())
