"""After the one-time code: is this mobile's owner already known, and still its owner?

Shahkar and the person's registry are asked at every login (issue 2), so a recycled mobile now
owned by someone else never reaches the old account: the link is dropped and the new owner goes
to the identity step. Each check that succeeds is kept (:mod:`idp.verification`, issue 11).
"""

from sqlalchemy import select

from flows.journey import Journey
from idp.audit import record
from idp.models import Account
from idp.services import services
from idp.verification import RecheckFailed, recheck


def recognise_mobile(journey: Journey) -> None:
    """Name the journey's account when the mobile's account is still its owner's.

    Raises RegistryUnavailable; then nothing is changed. The caller's step commits.
    """
    session = services().db.session
    account = session.scalars(select(Account).where(Account.mobile == journey.mobile)).first()
    if account is None:
        return
    try:
        recheck(account)
    except RecheckFailed as failed:
        account.mobile = None
        record("account.mobile_unlinked", account_id=account.id, reason=failed.reason)
        record("identity.recheck_failed", account_id=account.id, reason=failed.reason)
        return
    journey.account_id = account.id
    journey.postal_review = account.postal_review_needed
