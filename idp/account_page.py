"""The citizen's own page at the provider (حساب کاربری): a bar of tabs, each at its own URL.

Each concept that has something to show the citizen adds its own tab with `tab(...)` from its own
module (devices, companies, …), so the account page grows without a central list to edit.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import LazyString, lazy_gettext
from flask_login import current_user
from sqlalchemy import select

from idp.forms import ConfirmForm
from idp.models import AddressUpdateRequest, Client, Consent
from idp.ratelimit import per_ip
from idp.scopes import describe
from idp.services import services

bp = Blueprint("account", __name__)


@dataclass(frozen=True)
class Tab:
    """One tab of the account page: where it is, what it is called, where it sits in the bar."""

    endpoint: str
    label: LazyString
    order: int


TABS: list[Tab] = []


def tab(blueprint: Blueprint, rule: str, label: LazyString, order: int,
        methods: tuple[str, ...] = ("GET",)) -> Callable[[Callable], Callable]:
    """Add a view to the account page as a tab; a visitor not logged in is sent to `/account`."""
    def register(view: Callable) -> Callable:
        @wraps(view)
        def signed_in(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("account.index"))
            return view(*args, **kwargs)

        blueprint.add_url_rule(rule, view_func=signed_in, methods=list(methods))
        TABS.append(Tab(f"{blueprint.name}.{view.__name__}", label, order))
        TABS.sort(key=lambda t: t.order)
        return signed_in
    return register


def render_tab(template: str, **context) -> str:
    """Render a tab's template inside the account page, with the bar marking this tab."""
    current = request.endpoint if request.endpoint != "account.index" else TABS[0].endpoint
    return render_template(template, tabs=TABS, current_tab=current, account=current_user.account,
                           **context)


@bp.route("/")
def home():
    return redirect(url_for("account.index"))


@bp.route("/account", methods=["GET", "POST"])
@per_ip("authorize_per_ip")
def index():
    """The first tab for a logged-in citizen; otherwise a button to log in to the provider."""
    if current_user.is_authenticated:
        return current_app.view_functions[TABS[0].endpoint]()
    form = ConfirmForm()
    if form.validate_on_submit():
        # Log in to the provider itself: a journey with no relying party to answer. Only a
        # press of the button starts one, never a bare visit (issue 6).
        return services().interaction.begin(None)
    return render_template("account/welcome.html", form=form)


@tab(bp, "/account/profile", lazy_gettext("مشخصات"), order=10)
def profile():
    """The registry's details, the mobile, the postal code and its update requests."""
    account = current_user.account
    requests = services().db.session.scalars(
        select(AddressUpdateRequest).where(AddressUpdateRequest.account_id == account.id)
        .order_by(AddressUpdateRequest.created_at.desc())).all()
    return render_tab("account/profile.html", address_requests=requests)


@tab(bp, "/account/services", lazy_gettext("سامانه‌ها"), order=20)
def services_tab():
    """The services the citizen let in, and what each may read."""
    consents = services().db.session.execute(
        select(Consent, Client.name).join(Client)
        .where(Consent.account_id == current_user.account.id)).all()
    return render_tab("account/services.html",
                      consents=[{"client_name": name,
                                 "scopes": [text for _, text in describe(c.scope.split())]}
                                for c, name in consents])
