"""Durable data: accounts, clients, grants and refresh tokens, consents, audit, address requests,
registry checks, company links."""

from idp.models.account import Account, AddressUpdateRequest
from idp.models.audit import AuditEvent
from idp.models.client import Client
from idp.models.company import CompanyLink
from idp.models.consent import Consent
from idp.models.token import Grant, RefreshToken
from idp.models.verification import RegistryCheck, Verification

__all__ = ["Account", "AddressUpdateRequest", "AuditEvent", "Client", "CompanyLink", "Consent",
           "Grant", "RefreshToken", "RegistryCheck", "Verification"]
