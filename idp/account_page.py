"""The citizen's own page at the provider (حساب کاربری): a bar of tabs, each at its own URL.

Each concept that has something to show the citizen adds its own tab with `tab(...)` from its own
module (devices, companies, …), so the account page grows without a central list to edit. The
tabs every citizen has (profile, services, sessions, history) live in ``idp/account_tabs/``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import LazyString
from flask_login import current_user

from idp.forms import ConfirmForm
from idp.ratelimit import per_ip
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
        guarded = signed_in(view)
        blueprint.add_url_rule(rule, view_func=guarded, methods=list(methods))
        TABS.append(Tab(f"{blueprint.name}.{view.__name__}", label, order))
        TABS.sort(key=lambda t: t.order)
        return guarded
    return register


def signed_in(view: Callable) -> Callable:
    """A view of the account page (a tab or one of its forms) for a logged-in citizen only."""
    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("account.index"))
        return view(*args, **kwargs)
    return guarded


def render_tab(template: str, *, tab_endpoint: str | None = None, **context) -> str:
    """Render a tab's template inside the account page, with the bar marking this tab (or
    ``tab_endpoint``, for a tab's form shown again with its errors)."""
    current = tab_endpoint or (request.endpoint if request.endpoint != "account.index"
                               else TABS[0].endpoint)
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
