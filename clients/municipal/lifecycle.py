"""The life of a registered request (issue 10, seed 003): its states, which action leads from
which state to which, and the one way a state changes (recorded, texted to the applicant).

Transfer: awaiting visit → (staff «تأیید بازدید») awaiting payment or ready → (payment) ready →
(«صدور گواهی») certificate issued → (staff) «بایگانی دائم». Staff may «ابطال» before the
certificate; the applicant may withdraw («انصراف از درخواست») before the visit. An inquiry is
registered with its answer issued.
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.orm import Session

from clients.common.sessions import utcnow
from clients.municipal import sms
from clients.municipal.models import ServiceRequest

# The two kinds of request of seed 003, by the names the citizen and the staff see.
KINDS = {"transfer": _l("درخواست انتقال"), "inquiry": _l("استعلام ادارات/ ترهین")}

AWAITING_VISIT = "awaiting_visit"
AWAITING_PAYMENT = "awaiting_payment"
READY = "ready"
ISSUED = "issued"
ARCHIVED = "archived"
CANCELLED = "cancelled"
WITHDRAWN = "withdrawn"

LABELS = {
    AWAITING_VISIT: _l("در انتظار بازدید کارشناس"),
    AWAITING_PAYMENT: _l("در انتظار پرداخت عوارض نوسازی"),
    READY: _l("آماده صدور گواهی"),
    ISSUED: _l("گواهی صادر شده"),
    # Seed 003: the meaning of the final states, shown on the request.
    ARCHIVED: _l("بایگانی دائم: درخواست به سرانجام رسیده"),
    CANCELLED: _l("ابطال: درخواست قابلیت ادامه بررسی در شهرداری را نداشته"),
    WITHDRAWN: _l("انصراف از درخواست"),
}
# A final request takes no action (issue 10).
FINAL = frozenset({ARCHIVED, CANCELLED, WITHDRAWN})
# A request in these states still holds its renovation code: one open request per code.
OPEN = frozenset({AWAITING_VISIT, AWAITING_PAYMENT, READY})


@dataclass(frozen=True)
class Action:
    """What an action may do: from which states, to which, and whether it ends the request's
    hold on its renovation code and visit seat."""

    sources: frozenset[str]
    targets: frozenset[str]
    frees_code: bool = False  # another request may be opened for the renovation code
    frees_seat: bool = False  # the visit's seat goes back to the hour


ACTIONS = {
    # Staff: the visit took place; dues owed decide which state follows.
    "approve_visit": Action(frozenset({AWAITING_VISIT}), frozenset({AWAITING_PAYMENT, READY})),
    "pay": Action(frozenset({AWAITING_PAYMENT}), frozenset({READY})),
    "issue": Action(frozenset({READY}), frozenset({ISSUED}), frees_code=True),
    "archive": Action(frozenset({ISSUED}), frozenset({ARCHIVED})),
    "cancel": Action(frozenset(OPEN), frozenset({CANCELLED}), frees_code=True,
                     frees_seat=True),
    "withdraw": Action(frozenset({AWAITING_VISIT}), frozenset({WITHDRAWN}), frees_code=True,
                       frees_seat=True),
}


def allowed(action: str, state: str) -> bool:
    """May ``action`` be taken on a request in ``state``?"""
    return action in ACTIONS and state in ACTIONS[action].sources


def advance(db: Session, item: ServiceRequest, action: str, target: str, *, by: str,
            reason: str | None = None) -> bool:
    """Take ``action`` on ``item`` into state ``target``, recording who and when, and commit.

    The change is a conditional UPDATE on the state the caller saw, so two clicks (two staff, or
    a callback and a reload) change it once: False when it was no longer in that state or the
    action does not lead there. Texting the applicant is the caller's, after this returns True.
    """
    rule = ACTIONS.get(action)
    if rule is None or item.state not in rule.sources or target not in rule.targets:
        return False
    entry = {"action": action, "from": item.state, "to": target, "by": by,
             "at": utcnow().isoformat(timespec="seconds")}
    if reason:
        entry["reason"] = reason
    data = {**item.data, "history": [*item.data.get("history", []), entry]}
    values: dict = {"state": target, "data": data, "updated_at": utcnow()}
    if rule.frees_code:
        values["open_code"] = None
    if rule.frees_seat:
        values |= {"visit_slot": None, "visit_seat": None}
    changed = db.execute(update(ServiceRequest)
                         .where(ServiceRequest.id == item.id, ServiceRequest.state == item.state)
                         .values(**values)).rowcount
    db.commit()
    db.refresh(item)
    return changed == 1


def text(item: ServiceRequest, message: str) -> None:
    """Every state change texts the applicant's verified number (issue 10); a failed text is
    logged and does not undo the change."""
    mobile = item.data.get("mobile")
    if not mobile:
        return
    try:
        current_app.extensions["municipal_sms"].send(mobile, message, code=None,
                                                     purpose=f"{item.kind}_state")
    except sms.SmsUnavailable:
        current_app.logger.warning("state text to the applicant not sent")
