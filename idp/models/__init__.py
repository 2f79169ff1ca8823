"""Durable data: accounts, clients, grants and refresh tokens, consents, audit, address requests,
company links."""

from idp.models.account import Account, AddressUpdateRequest
from idp.models.audit import AuditEvent
from idp.models.client import Client
from idp.models.company import CompanyLink
from idp.models.consent import Consent
from idp.models.token import Grant, RefreshToken

__all__ = ["Account", "AddressUpdateRequest", "AuditEvent", "Client", "CompanyLink", "Consent",
           "Grant", "RefreshToken"]
