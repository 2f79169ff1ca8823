"""The services tab (سامانه‌ها): every relying party the citizen has let in, with what it may
read and since when, and "revoke access" (issue 12).

A service is listed while it holds a live grant (tokens it got at a login) or a remembered
consent. Revoking forgets the consent (the next login asks again), revokes every grant (refresh
tokens at once, access tokens through the store's revocation marker) and sends the service a
back-channel logout (OIDC Back-Channel Logout 1.0), so it ends its own session too.
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import delete, select

from idp.account_page import bp, render_tab, signed_in, tab
from idp.account_tabs.describe import jalali
from idp.account_tabs.forms import ChoiceForm
from idp.audit import record
from idp.models import Account, Client, Consent, Grant
from idp.oidc.logout import logout_service
from idp.oidc.revocation import revoke_grant
from idp.scopes import describe
from idp.services import services
from idp.sessions import sessions_of


@dataclass
class ServiceAccess:
    client: Client
    scopes: set[str] = field(default_factory=set)
    since: datetime | None = None
    last_used: datetime | None = None
    consent: bool = False
    grant_ids: list[str] = field(default_factory=list)

    @property
    def scope_texts(self) -> list[str]:
        return [text for _name, text in describe(self.scopes)]

    @property
    def since_jalali(self) -> str:
        return jalali(self.since)

    @property
    def last_used_jalali(self) -> str:
        return jalali(self.last_used)


def services_of(account: Account) -> dict[str, ServiceAccess]:
    """The relying parties with access to this account, by client id, most recent first."""
    db = services().db.session
    found: dict[str, ServiceAccess] = {}
    rows = db.execute(select(Grant, Client).join(Client, Client.client_id == Grant.client_id)
                      .where(Grant.account_id == account.id, Grant.revoked_at.is_(None))
                      .order_by(Grant.created_at)).all()
    for grant, client in rows:
        access = found.setdefault(client.client_id, ServiceAccess(client, since=grant.created_at))
        access.scopes |= set(grant.scope.split())
        access.last_used = grant.created_at
        access.grant_ids.append(grant.id)
    consents = db.execute(select(Consent, Client).join(Client)
                          .where(Consent.account_id == account.id)).all()
    for consent, client in consents:
        access = found.setdefault(client.client_id, ServiceAccess(client))
        access.consent = True
        access.scopes |= set(consent.scope.split())
        access.since = min(filter(None, (access.since, consent.granted_at)))
        access.last_used = max(filter(None, (access.last_used, consent.granted_at)))
    return dict(sorted(found.items(), key=lambda item: item[1].last_used, reverse=True))


@tab(bp, "/account/services", _l("سامانه‌ها"), order=20)
def services_tab():
    """The services the citizen let in, what each may read, and since when."""
    return render_tab("account/services.html", services=services_of(current_user.account),
                      form=ChoiceForm(formdata=None))


@bp.route("/account/services/revoke", methods=["POST"])
@signed_in
def revoke_service():
    """Revoke one service's access: consent, tokens, and its session (back-channel logout)."""
    form = ChoiceForm()
    if not form.validate_on_submit():
        abort(400)
    account: Account = current_user.account
    access = services_of(account).get(form.target.data or "")
    if access is None:
        # Revoked already, never granted, or another citizen's: nothing to do, said plainly.
        flash(_("این سامانه به اطلاعات شما دسترسی ندارد."), "error")
        return redirect(url_for("account.services_tab")), 303
    db = services().db.session
    db.execute(delete(Consent).where(Consent.account_id == account.id,
                                     Consent.client_id == access.client.client_id))
    for grant_id in access.grant_ids:
        revoke_grant(grant_id, "revoked_by_citizen")
    logout_service(access.client.client_id, sessions_of(account))
    record("consent.revoked", account_id=account.id, client_id=access.client.client_id)
    db.commit()
    flash(_("دسترسی «%(name)s» به اطلاعات شما لغو شد.", name=access.client.name))
    return redirect(url_for("account.services_tab")), 303
