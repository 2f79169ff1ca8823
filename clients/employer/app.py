"""«سامانه کارفرمایان سازمان تأمین اجتماعی»: the employer portal (seed 001; issue 8).

A legal-entity client of the national single sign-on: every login to it is a company login, so
the provider asks the CEO for the company's national ID, checks with the company registry that
they are its CEO, and vouches for it with the ``company`` claim. The portal works only with that
claim: a login without it is refused and its local session ended. The CEO then sends the
company's monthly list of insured employees (ارسال لیست بیمه), which the portal keeps in its own
database and lists back by tracking number.
"""

import re
from functools import wraps

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from clients.common import Database, RelyingParty, RPConfig
from clients.common.app import current_login, current_rp
from clients.common.db import instance_sqlite
from clients.common.i18n import local_digits, month_name
from clients.employer import lists
from clients.employer.models import Base, LoginSession, MonthlyList, SeenLogoutToken

NAME = "employer"
# `company` is not asked for: the provider adds it to every login of a legal-entity client.
SCOPE = "openid profile national_id offline_access"
_COMPANY_ID = re.compile(r"[0-9]{11}")

bp = Blueprint(NAME, __name__)


def create_app(issuer: str, client_id: str, client_secret: str, base_url: str,
               database_url: str | None = None) -> Flask:
    """The portal, registered at the provider as a legal-entity client with the URIs of the
    shared base (``/callback``, ``/logged-out``, ``/backchannel-logout``)."""
    app = Flask(__name__)
    database_url = database_url or instance_sqlite(app, NAME)
    database = Database(database_url, Base.metadata)
    config = RPConfig(issuer=issuer, client_id=client_id, client_secret=client_secret,
                      base_url=base_url, scope=SCOPE)
    RelyingParty(app, config, name=NAME, database=database, session_model=LoginSession,
                 seen_model=SeenLogoutToken, after_login=_company_or_refuse)
    app.register_blueprint(bp)
    return app


def company_of(claims: dict) -> dict | None:
    """The ``company`` claim of a company login by its CEO, or None."""
    company = claims.get("company")
    if not isinstance(company, dict) or company.get("role") != "ceo":
        return None
    national_id, name = company.get("national_id"), company.get("name")
    if not (isinstance(national_id, str) and _COMPANY_ID.fullmatch(national_id)
            and isinstance(name, str) and name.strip()):
        return None
    return company


def _company_or_refuse(row) -> str | None:
    """After a login: without a company the portal has nobody to serve."""
    if company_of(row.claims) is None:
        current_rp().end()
        return url_for("employer.no_company")
    return None


def as_ceo(view):
    """Logged in for a company; otherwise the login (or the refusal for a login without one)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        row = current_login()
        if row is None:
            return redirect(url_for("rp.login", next=request.path))
        company = company_of(row.claims)
        if company is None:
            current_rp().end()
            return redirect(url_for("employer.no_company"))
        return view(company, row.claims, *args, **kwargs)
    return wrapper


@bp.get("/")
def home():
    if current_login() is None:
        return render_template("home.html")
    return dashboard()


@as_ceo
def dashboard(company: dict, claims: dict):
    return render_template("dashboard.html", company=company, ceo=claims,
                           sent=lists.lists_of(current_rp().db.session, company["national_id"]))


@bp.get("/no-company")
def no_company():
    return render_template("no_company.html"), 403


@bp.route("/lists/new", methods=["GET", "POST"])
@as_ceo
def new_list(company: dict, claims: dict):
    form = lists.ListForm()
    status = 200
    if request.method == "GET":
        year, month = lists.last_month()
        form.year.data, form.month.data = local_digits(year), str(month)
    elif "more" in request.form:
        # More rows, keeping what was typed; nothing is checked or stored yet.
        for _ in range(min(lists.MORE_ROWS, lists.MAX_ROWS - len(form.employees))):
            form.employees.append_entry()
    else:
        draft = lists.read_list(form) if form.validate_on_submit() else None
        db = current_rp().db.session
        if draft is not None:
            earlier = lists.already_sent(db, company["national_id"], draft.year, draft.month)
            if earlier is None:
                sent = lists.store(db, draft, company, claims.get("national_code", ""))
                flash(gettext("لیست بیمه %(month)s %(year)s با موفقیت ثبت شد. کد پیگیری: "
                              "%(tracking)s", month=month_name(sent.month),
                              year=local_digits(sent.year),
                              tracking=local_digits(sent.tracking_number)), "notice")
                return redirect(url_for("employer.show_list", tracking=sent.tracking_number))
            form.month.errors.append(gettext(
                "لیست این ماه پیش‌تر با کد پیگیری %(tracking)s ارسال شده است",
                tracking=local_digits(earlier.tracking_number)))
        status = 422
    return render_template("new_list.html", form=form, company=company,
                           can_add=len(form.employees) < lists.MAX_ROWS,
                           months=[(m, month_name(m)) for m in range(1, 13)]), status


@bp.get("/lists/<tracking>")
@as_ceo
def show_list(company: dict, claims: dict, tracking: str):
    sent = current_rp().db.session.query(MonthlyList).filter_by(
        tracking_number=tracking, company_national_id=company["national_id"]).first()
    if sent is None:
        abort(404)  # another company's list is not this CEO's to read
    return render_template("list.html", company=company, sent=sent)
