"""The citizen's own page at the provider: profile, address-update requests, consents."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from idp.forms import ConfirmForm
from idp.models import AddressUpdateRequest, Client, Consent
from idp.ratelimit import per_ip
from idp.scopes import describe
from idp.services import services

bp = Blueprint("account", __name__)


@bp.route("/")
def index():
    return redirect(url_for("account.profile"))


@bp.route("/account", methods=["GET", "POST"])
@per_ip("authorize_per_ip")
def profile():
    if not current_user.is_authenticated:
        form = ConfirmForm()
        if form.validate_on_submit():
            # Log in to the provider itself: a journey with no relying party to answer. Only a
            # press of the button starts one, never a bare visit (issue 6).
            return services().interaction.begin(None)
        return render_template("account/welcome.html", form=form)
    account = current_user.account
    session = services().db.session
    requests = session.scalars(select(AddressUpdateRequest)
                               .where(AddressUpdateRequest.account_id == account.id)
                               .order_by(AddressUpdateRequest.created_at.desc())).all()
    consents = session.execute(select(Consent, Client.name).join(Client)
                               .where(Consent.account_id == account.id)).all()
    return render_template("account/profile.html", account=account, address_requests=requests,
                           consents=[{"client_name": name,
                                      "scopes": [text for _, text in describe(c.scope.split())]}
                                     for c, name in consents],
                           form=ConfirmForm())
