"""Certificates of issued requests (issue 10): a printable page and «دریافت PDF» from the same
template, ``templates/certificates/<kind>.html`` (the transfer certificate here, an inquiry's
answer beside it). Only the applicant and staff see one; to anyone else, and before it is
issued, it does not exist (404).

A kind's template extends ``certificates/_certificate.html``, which shows the certificate and
tracking numbers, the request's ``data`` keys ``renovation_code``, ``address``, ``applicant`` and
``role``, and the Jalali dates; its blocks ``facts`` (more rows), ``statement`` and ``back`` (a
link beside «دریافت PDF») are the kind's own.
"""

from dataclasses import dataclass

import jdatetime
from flask import Blueprint, Flask, abort, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from clients.common.app import current_rp
from clients.common.i18n import to_jalali
from clients.municipal import lifecycle
from clients.municipal.auth import login_required, visible_request
from clients.municipal.models import Citizen, ServiceRequest

bp = Blueprint("certificates", __name__, url_prefix="/certificates")

# A request has its certificate from «صدور گواهی» on, archived or not.
WITH_CERTIFICATE = frozenset({lifecycle.ISSUED, lifecycle.ARCHIVED})
TITLES = {"transfer": _l("گواهی انتقال آپارتمان"), "inquiry": _l("پاسخ استعلام ادارات/ ترهین")}


@dataclass(frozen=True)
class Certificate:
    """What a certificate says, from its request (nothing of it is stored twice)."""

    number: str
    title: str
    item: ServiceRequest
    applicant_name: str
    registered: jdatetime.date
    issued: jdatetime.date


def issued_at(item: ServiceRequest) -> str:
    """When the request reached «گواهی صادر شده» (an inquiry is registered issued)."""
    return next((entry["at"] for entry in reversed(item.data.get("history", []))
                 if entry.get("to") == lifecycle.ISSUED), item.created_at.isoformat())


def certificate_of(db: Session, item: ServiceRequest) -> Certificate | None:
    """The request's certificate, or None before it is issued."""
    if item.state not in WITH_CERTIFICATE:
        return None
    issued = to_jalali(issued_at(item))
    applicant = db.get(Citizen, item.citizen_id)
    return Certificate(
        number=f"{issued.year}-{item.id:06d}", title=str(TITLES.get(item.kind, item.kind)),
        item=item, applicant_name=f"{applicant.given_name} {applicant.family_name}".strip(),
        registered=to_jalali(item.created_at), issued=issued)


def _visible(tracking_number: str) -> Certificate:
    """The certificate, to its applicant and staff only; else 404 (issue 10)."""
    found = certificate_of(current_rp().db.session, visible_request(tracking_number))
    if found is None:
        abort(404)
    return found


def _render(certificate: Certificate) -> str:
    return render_template(f"certificates/{certificate.item.kind}.html",
                           certificate=certificate, item=certificate.item)


@bp.get("/<tracking_number>")
@login_required
def page(tracking_number: str):
    return _render(_visible(tracking_number))


@bp.get("/<tracking_number>.pdf")
@login_required
def pdf(tracking_number: str):
    """The same page as a PDF of real text (WeasyPrint, the print styles); the page's own
    stylesheets and font are read from this app, nothing from elsewhere."""
    # Imported here: WeasyPrint loads Pango when imported, and only the PDF needs it.
    from flask_weasyprint import make_url_fetcher, render_pdf
    from weasyprint import HTML

    certificate = _visible(tracking_number)
    document = HTML(string=_render(certificate), base_url=request.url,
                    url_fetcher=make_url_fetcher(next_fetcher=False))
    return render_pdf(document, download_filename=f"certificate-{tracking_number}.pdf")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
