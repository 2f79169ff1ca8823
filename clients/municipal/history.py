"""A request's recorded changes (``lifecycle.advance`` keeps them in ``data["history"]``) as
people read them: the state each change led to, who made it and when, in Tehran's Jalali time
(issue 10: every action records who and when)."""

from dataclasses import dataclass
from datetime import UTC, datetime

import jdatetime

from clients.common.i18n import TEHRAN
from clients.municipal import lifecycle
from clients.municipal.models import ServiceRequest


@dataclass(frozen=True)
class Entry:
    state: str  # the label of the state the change led to
    by: str  # the national code of whoever made it
    by_applicant: bool
    when: str  # ``1405/09/10 14:03``, Tehran time
    reason: str | None


def jalali_time(stamp: str) -> str:
    """A recorded UTC time (ISO, naive) as Tehran's Jalali date and hour."""
    moment = datetime.fromisoformat(stamp).replace(tzinfo=UTC).astimezone(TEHRAN)
    return jdatetime.datetime.fromgregorian(datetime=moment).strftime("%Y/%m/%d %H:%M")


def entries(item: ServiceRequest) -> list[Entry]:
    """The request's changes, oldest first."""
    applicant = item.data.get("applicant")
    return [Entry(state=str(lifecycle.LABELS.get(entry["to"], entry["to"])), by=entry["by"],
                  by_applicant=entry["by"] == applicant, when=jalali_time(entry["at"]),
                  reason=entry.get("reason"))
            for entry in item.data.get("history", [])]
