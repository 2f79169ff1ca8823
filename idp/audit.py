"""Security events: a row in the audit table (riding in the step's commit) and a log line."""

import logging

from flask import has_request_context, request

from idp.models import AuditEvent
from idp.services import services

log = logging.getLogger("idp.audit")


def record(event: str, *, account_id: str | None = None, client_id: str | None = None,
           **detail: object) -> None:
    """Add an audit row to the current session; the caller's commit stores it."""
    ip = request.remote_addr if has_request_context() else None
    agent = request.user_agent.string[:300] or None if has_request_context() else None
    services().db.session.add(AuditEvent(event=event, account_id=account_id,
                                         client_id=client_id, ip=ip, user_agent=agent,
                                         detail=detail))
    log.info("audit", extra={"event": event, "account_id": account_id, "client_id": client_id,
                             "ip": ip, **{f"detail_{k}": v for k, v in detail.items()}})
