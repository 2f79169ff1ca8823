"""Security events: a row in the audit table (riding in the step's commit) and a log line;
and the trail read back for ``idp audit``.

A step's audit rows are written together, as one INSERT of many rows when its session
commits: one database round trip per step instead of one per event, and no flush of the
step's other changes at each event. A rolled-back or abandoned session writes none of them,
as before.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import has_request_context, request
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session, SessionTransaction

from idp.identifiers import normalize_fida_code, normalize_national_code
from idp.metrics import metrics
from idp.models import Account, AuditEvent
from idp.models.base import utcnow
from idp.services import services

log = logging.getLogger("idp.audit")
# Inline: no RETURNING of the new rows' ids (PostgreSQL), which nothing reads.
_INSERT = AuditEvent.__table__.insert().inline()
_PENDING = "audit_rows"


def record(event: str, *, account_id: str | None = None, client_id: str | None = None,
           **detail: object) -> None:
    """Add an audit row to the current session; the caller's commit stores it."""
    ip = request.remote_addr if has_request_context() else None
    agent = request.user_agent.string[:300] or None if has_request_context() else None
    session = services().db.session
    # The row belongs to the session's transaction: a rollback before the commit drops it.
    session.connection()
    session.info.setdefault(_PENDING, []).append({
        "at": utcnow(), "event": event, "account_id": account_id, "client_id": client_id,
        "ip": ip, "user_agent": agent, "detail": detail})
    collector = metrics()
    if collector is not None:
        collector.audited(event, detail)
    log.info("audit", extra={"event": event, "account_id": account_id, "client_id": client_id,
                             "ip": ip, **{f"detail_{k}": v for k, v in detail.items()}})


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    # A plain INSERT, not ORM objects: the unit of work's flush cost more than the rows.
    rows = session.info.pop(_PENDING, None)
    if rows:
        # One row (a service token's) as a single execute: executemany costs more for one.
        session.execute(_INSERT, rows[0] if len(rows) == 1 else rows)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass
class AuditQuery:
    """What ``idp audit`` asks for; every field narrows the answer."""

    account_ids: list[str] | None = None
    client_id: str | None = None
    events: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or time; without a zone it is UTC (the table's own clock)."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def citizen_account_ids(session: Session, citizen: str) -> list[str]:
    """The account a national code, a FIDA code or an account id names (none when unknown)."""
    national_code = normalize_national_code(citizen)
    fida_code = normalize_fida_code(citizen)
    conditions = [Account.id == citizen.strip()]
    if national_code:
        conditions.append(Account.national_code == national_code)
    if fida_code:
        conditions.append(Account.fida_code == fida_code)
    return list(session.scalars(select(Account.id).where(or_(*conditions))))


def query(session: Session, wanted: AuditQuery) -> Iterator[dict]:
    """The newest ``limit`` matching events, oldest first (as a log reads)."""
    statement = select(AuditEvent)
    if wanted.account_ids is not None:
        statement = statement.where(AuditEvent.account_id.in_(wanted.account_ids))
    if wanted.client_id:
        statement = statement.where(AuditEvent.client_id == wanted.client_id)
    if wanted.events:
        statement = statement.where(AuditEvent.event.in_(wanted.events))
    if wanted.since:
        statement = statement.where(AuditEvent.at >= wanted.since)
    if wanted.until:
        statement = statement.where(AuditEvent.at < wanted.until)
    statement = statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(wanted.limit)
    for row in reversed(session.scalars(statement).all()):
        yield {"id": row.id, "at": row.at.replace(tzinfo=UTC).isoformat(), "event": row.event,
               "account_id": row.account_id, "client_id": row.client_id, "ip": row.ip,
               "detail": row.detail or {}}
