"""Rendering helpers shared by the step views."""

from flask import g, render_template, url_for
from flask_babel import gettext as _


def restart_url() -> str:
    """Where 'start again' leads: the journey's /authorize request, or the provider's own login.

    The journey (``g.journey``, even one past its lifetime) keeps the request, not the cookie.
    """
    journey = g.get("journey")
    if journey is not None and journey.params:
        return url_for("oidc.authorize", **journey.params)
    return url_for("account.index")


def error_page(message: str, status: int, *, title: str | None = None,
               restart: bool = True) -> tuple[str, int]:
    """A friendly page in the citizen's language; never a stack trace."""
    return render_template("error.html", title=title or _("خطا"), message=message,
                           restart_url=restart_url() if restart else None), status


def expired() -> tuple[str, int]:
    return error_page(_("مهلت ورود به پایان رسیده است. لطفا دوباره وارد شوید."), 410,
                      title=_("پایان مهلت"))


def unavailable() -> tuple[str, int]:
    return error_page(_("در حال حاضر امکان برقراری ارتباط با سامانه‌های استعلام وجود ندارد. "
                        "لطفا چند دقیقه دیگر دوباره تلاش کنید."), 503,
                      title=_("خطای موقت"))


def form_status(form) -> int:
    """A form shown again with errors answers 422 (issue 2)."""
    return 422 if form.errors else 200
