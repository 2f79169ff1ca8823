"""The header menu of every page: FAQ, contact, guide and the language switch (seed 002 §3)."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session
from werkzeug.wrappers import Response

bp = Blueprint("pages", __name__)

LANGUAGES = ("fa", "en")


@bp.route("/faq")
def faq() -> str:
    return render_template("pages/faq.html")


@bp.route("/contact")
def contact() -> str:
    return render_template("pages/contact.html")


@bp.route("/guide")
def guide() -> str:
    return render_template("pages/guide.html")


def safe_next(target: str | None) -> str:
    """A same-site path to go back to, or ``/``: the switch must not be an open redirect (SPEC §7).

    Browsers read ``\\`` as ``/`` and drop tabs and newlines, so ``/\\evil.example`` and
    ``/\\t/evil.example`` would leave the site just as ``//evil.example`` does.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target.removesuffix("?")


@bp.route("/language/<code>")
def set_language(code: str) -> Response:
    """Keep the chosen language for the session (seed 002 §3.4) and return to the page."""
    if code not in LANGUAGES:
        abort(404)
    session["locale"] = code
    return redirect(safe_next(request.args.get("next")))
