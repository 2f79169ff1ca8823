"""The trust-framework page: what ``verified_claims`` means here, at the default
``trust_framework`` URL (issue 11: ``ISSUER/assurance/trust-framework``).

Relying parties here and abroad read it, so it says everything in Persian and in English, the
reader's language first.
"""

from flask import Blueprint, render_template
from flask_babel import force_locale, get_locale
from markupsafe import Markup

from idp.oidc.verified_claims import CATALOGUE
from idp.services import services

bp = Blueprint("assurance", __name__)

DIRECTIONS = {"fa": "rtl", "en": "ltr"}


@bp.route("/assurance/trust-framework")
def trust_framework() -> str:
    settings = services().settings
    first = str(get_locale() or "fa")
    sections = []
    for locale in sorted(DIRECTIONS, key=lambda code: code != first):
        with force_locale(locale):
            body = render_template("pages/trust_framework_body.html",
                                   assurance=settings.assurance, claims=CATALOGUE,
                                   trust_framework=settings.trust_framework)
        sections.append((locale, DIRECTIONS[locale], Markup(body)))
    return render_template("pages/trust_framework.html", sections=sections)
