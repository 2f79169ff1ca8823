"""After the one-time code: is this mobile's owner already known, and still its owner?

Shahkar is asked at every login (issue 2), so a recycled mobile now owned by someone else never
reaches the old account: the link is dropped and the new owner goes to the identity step.
"""

from sqlalchemy import select

from flows.journey import Journey
from idp.audit import record
from idp.models import Account
from idp.registries import Person
from idp.services import services


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


def recognise_mobile(journey: Journey) -> None:
    """Name the journey's account when the mobile's account is still its owner's.

    Raises RegistryUnavailable; then nothing is changed. The caller's step commits.
    """
    session = services().db.session
    account = session.scalars(select(Account).where(Account.mobile == journey.mobile)).first()
    if account is None:
        return
    owns = services().registries.shahkar.owns(journey.mobile, account.identity_type,
                                              account.identity_code)
    person = lookup_person(account) if owns else None
    if person is None:
        account.mobile = None
        record("account.mobile_unlinked", account_id=account.id,
               reason="shahkar" if not owns else "registry")
    else:
        refresh_from_registry(account, person)
        journey.account_id = account.id
        journey.postal_review = account.postal_review_needed
