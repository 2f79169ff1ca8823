"""The sessions tab (نشست‌ها): the citizen's live provider sessions, ending one, or all.

A session is named on the page by its public id (the ``sid`` claim), never by the id in its
cookie; a public id that is not one of this citizen's live sessions ends nothing. Every session
ended here tells its relying parties (OIDC Back-Channel Logout 1.0), as a logout does.
"""

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from idp.account_page import bp, render_tab, signed_in, tab
from idp.account_tabs.describe import browser_of, jalali, place_of
from idp.account_tabs.forms import ChoiceForm
from idp.forms import ConfirmForm
from idp.oidc.logout import end_listed_session
from idp.services import services
from idp.sessions import SessionUser, find_session, sessions_of


def _client_names(client_ids: list[str]) -> list[str]:
    server = services().oauth_server
    clients = (server.query_client(client_id) for client_id in client_ids)
    return [client.name for client in clients if client is not None]


@tab(bp, "/account/sessions", _l("نشست‌ها"), order=30)
def sessions_tab():
    """Where the citizen is logged in: browser, place, started, last seen."""
    me: SessionUser = current_user._get_current_object()
    listed = [{"id": user.public_id, "current": user.sid == me.sid,
               "browser": browser_of(user.user_agent), "ip": user.ip or "",
               "place": place_of(user.ip), "started": jalali(user.started),
               "seen": jalali(user.seen), "services": _client_names(user.clients)}
              for user in sessions_of(me.account)]
    return render_tab("account/sessions.html", sessions=listed, form=ChoiceForm(formdata=None),
                      all_form=ConfirmForm(formdata=None))


@bp.route("/account/sessions/end", methods=["POST"])
@signed_in
def end_one_session():
    """End one session; ending this browser's own logs it out here too."""
    form = ChoiceForm()
    if not form.validate_on_submit():
        abort(400)
    me: SessionUser = current_user._get_current_object()
    user = find_session(me.account, form.target.data or "")
    if user is None:
        flash(_("این نشست پیدا نشد یا پیش از این پایان یافته است."), "error")
        return redirect(url_for("account.sessions_tab")), 303
    end_listed_session(user, "ended_by_citizen")
    services().db.session.commit()
    if user.sid == me.sid:
        logout_user()
        return redirect(url_for("account.index")), 303
    flash(_("نشست پایان یافت."))
    return redirect(url_for("account.sessions_tab")), 303


@bp.route("/account/sessions/end-all", methods=["POST"])
@signed_in
def end_all_sessions():
    """Log out everywhere: every session, this one included."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    me: SessionUser = current_user._get_current_object()
    for user in sessions_of(me.account):
        end_listed_session(user, "everywhere")
    services().db.session.commit()
    logout_user()
    return redirect(url_for("account.index")), 303
