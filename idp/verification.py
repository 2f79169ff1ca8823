"""The registry checks that verify an account, kept for ``verified_claims`` (issue 11).

Every one-time-code login asks Shahkar and the person's registry again (issue 2), and the
identity step asks both the first time. Each successful check is kept with its time and an
opaque id, and gets an audit row naming that id; a person lookup and a Shahkar match made
together are a verification, named by its own id (``verification_process``). A request whose
``max_age`` the account's latest verification no longer meets has both asked again during the
authorization, with no page shown (OIDC4IDA §6.6.2, :func:`refresh_if_older`).
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from idp.audit import record
from idp.models import Account, RegistryCheck, Verification
from idp.models.base import new_id
from idp.registries import Person, RegistryUnavailable
from idp.services import services

CIVIL, FOREIGNERS, SHAHKAR = "civil", "foreigners", "shahkar"


@dataclass(frozen=True)
class Checked:
    """A registry that answered yes, and when it did (Unix time, whole seconds)."""

    registry: str
    at: int


class RecheckFailed(Exception):
    """The registries no longer confirm the account: ``reason`` is ``shahkar`` (the mobile is
    not the person's any more), ``registry`` (the registry does not hold the person) or
    ``no_mobile`` (the account has no mobile to check)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def checked(registry: str) -> Checked:
    """A check that has just succeeded."""
    return Checked(registry, int(time.time()))


def person_registry(identity_type: str) -> str:
    return CIVIL if identity_type == "iranian" else FOREIGNERS


def as_datetime(at: int) -> datetime:
    return datetime.fromtimestamp(at, UTC).replace(tzinfo=None)


def timestamp(at: datetime) -> int:
    return int(at.replace(tzinfo=UTC).timestamp())


def keep(account: Account, checks: list[Checked], mobile: str | None = None) -> \
        Verification | None:
    """Store the successful ``checks`` of ``account`` with an audit row each.

    A person lookup together with a Shahkar match of ``mobile`` is the account's new
    verification, returned; the caller's step commits.
    """
    session = services().db.session
    registries = {check.registry for check in checks}
    verification = None
    if mobile and SHAHKAR in registries and registries & {CIVIL, FOREIGNERS}:
        verification = Verification(id=new_id(), account_id=account.id, mobile=mobile,
                                    verified_at=as_datetime(max(c.at for c in checks)))
        session.add(verification)
    for check in checks:
        row = RegistryCheck(id=new_id(), account_id=account.id, source=check.registry,
                            checked_at=as_datetime(check.at),
                            verification_id=verification.id if verification else None)
        session.add(row)
        record("identity.checked", account_id=account.id, registry=check.registry,
               check_id=row.id, verification_process=row.verification_id)
    return verification


def latest_verification(account_id: str) -> Verification | None:
    """The account's verification: its latest successful pair of checks."""
    return services().db.session.scalars(
        select(Verification).where(Verification.account_id == account_id)
        .order_by(Verification.verified_at.desc(), Verification.id).limit(1)).first()


def refresh_from_registry(account: Account, person: Person) -> None:
    """Copy the registry's record onto the account (names, father's name, postal code)."""
    account.first_name = person.first_name
    account.last_name = person.last_name
    account.father_name = person.father_name
    account.gender = person.gender
    account.birth_date = person.birth_date
    account.nationality = person.nationality
    account.registry_postal_code = person.postal_code
    account.national_email = person.email


def lookup_person(account: Account) -> Person | None:
    """The registry's current record of an account's owner."""
    registries = services().registries
    if account.identity_type == "iranian":
        return registries.civil.find_person(account.national_code, account.birth_date)
    return registries.foreigners.find_foreigner(account.fida_code, account.birth_date,
                                                account.foreign_id_type,
                                                account.foreign_id_value)


def recheck(account: Account) -> Verification:
    """Ask Shahkar whether the account's mobile is still its owner's, then the registry whether
    it still holds the person; keep what succeeded and refresh the account from the registry.

    Raises :class:`RecheckFailed`, or RegistryUnavailable when a registry cannot tell.
    """
    if not account.mobile:
        raise RecheckFailed("no_mobile")
    mobile = account.mobile
    if not services().registries.shahkar.owns(mobile, account.identity_type,
                                              account.identity_code):
        raise RecheckFailed("shahkar")
    mobile_check = checked(SHAHKAR)
    try:
        person = lookup_person(account)
    except RegistryUnavailable:
        keep(account, [mobile_check])
        raise
    if person is None:
        keep(account, [mobile_check])
        raise RecheckFailed("registry")
    refresh_from_registry(account, person)
    return keep(account, [checked(person_registry(account.identity_type)), mobile_check],
                mobile)


def refresh_if_older(account: Account, max_age: int | None, requested_at: int) -> None:
    """Verify the account again when its verification is older than ``max_age`` seconds at
    ``requested_at`` (OIDC4IDA §6.6.2: the OP can refresh the verification).

    A failure leaves the old verification (which then does not meet ``max_age``: the answer
    omits ``verified_claims``) and an ``identity.recheck_failed`` audit row naming why.
    """
    if max_age is None:
        return
    latest = latest_verification(account.id)
    if latest is not None and requested_at - timestamp(latest.verified_at) <= max_age:
        return
    try:
        recheck(account)
    except RegistryUnavailable:
        record("identity.recheck_failed", account_id=account.id, reason="unavailable")
    except RecheckFailed as failed:
        record("identity.recheck_failed", account_id=account.id, reason=failed.reason)
