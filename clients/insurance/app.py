"""«سامانه خدمات غیرحضوری سازمان تأمین اجتماعی»: the insurance relying party (seed 001).

Login through the national single sign-on replaces the six-step registration: its identity
checks (national code, mobile, birth certificate details) are what the provider already did, and
its security questions and password are not carried over. After login the service shows what it
holds under the citizen's national code: insurance history by month and employer, and the
insurance booklet (دفترچه بیمه) requests with their status.
"""

from functools import wraps

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm

from clients.common import Database, RelyingParty, RPConfig
from clients.common.app import current_login, current_rp
from clients.common.db import instance_sqlite
from clients.common.i18n import local_digits
from clients.insurance import demo_data, records
from clients.insurance.models import Base, InsuredPerson, LoginSession, SeenLogoutToken

NAME = "insurance"
SCOPE = "openid profile phone address national_id offline_access"

bp = Blueprint(NAME, __name__)


def create_app(issuer: str, client_id: str, client_secret: str, base_url: str,
               database_url: str | None = None, *, demo: bool = True) -> Flask:
    """The app (registered like the municipal one: ``/callback``, ``/logged-out``,
    ``/backchannel-logout``); ``demo`` fills an empty database with the demo records."""
    app = Flask(__name__)
    database_url = database_url or instance_sqlite(app, NAME)
    database = Database(database_url, Base.metadata)
    config = RPConfig(issuer=issuer, client_id=client_id, client_secret=client_secret,
                      base_url=base_url, scope=SCOPE)
    RelyingParty(app, config, name=NAME, database=database, session_model=LoginSession,
                 seen_model=SeenLogoutToken)
    if demo:
        with database.sessionmaker() as session:
            demo_data.seed(session)
    app.register_blueprint(bp)
    return app


def identifier(claims: dict) -> str | None:
    """The code the insurer files people under: national code, or FIDA code for foreign
    nationals."""
    return claims.get("national_code") or claims.get("fida_code")


def insured_person() -> InsuredPerson | None:
    code = identifier(current_login().claims)
    return current_rp().db.session.get(InsuredPerson, code) if code else None


def with_record(view):
    """Logged in and on the insurer's records; otherwise the login or the no-record page."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_login() is None:
            return redirect(url_for("rp.login", next=request.path))
        person = insured_person()
        if person is None:
            return render_template("no_record.html")
        return view(person, *args, **kwargs)
    return wrapper


@bp.get("/")
def home():
    if current_login() is None:
        return render_template("home.html")
    return dashboard()


@with_record
def dashboard(person: InsuredPerson):
    periods = records.employer_periods(person.months)
    return render_template("dashboard.html", person=person,
                           service=records.service_of(person.months),
                           current=periods[0] if periods else None,
                           latest=person.booklet_requests[0] if person.booklet_requests else None,
                           statuses=records.STATUSES)


@bp.get("/history")
@with_record
def history(person: InsuredPerson):
    return render_template("history.html", person=person,
                           periods=records.employer_periods(person.months),
                           service=records.service_of(person.months))


@bp.route("/booklet", methods=["GET", "POST"])
@with_record
def booklet(person: InsuredPerson):
    form = FlaskForm()
    refusal = records.booklet_refusal(person)
    if request.method == "POST" and form.validate_on_submit():
        if refusal:
            flash(refusal, "error")
            return redirect(url_for("insurance.booklet"))
        postal_code = (current_login().claims.get("address") or {}).get("postal_code")
        filed = records.request_booklet(current_rp().db.session, person, postal_code)
        flash(gettext("درخواست شما با موفقیت ثبت گردید و نتیجه از طریق پیامک ارسال خواهد شد. "
                      "کد پیگیری: %(code)s", code=local_digits(filed.tracking_code)), "notice")
        return redirect(url_for("insurance.booklet"))
    return render_template("booklet.html", person=person, refusal=refusal, form=form,
                           statuses=records.STATUSES,
                           postal_code=(current_login().claims.get("address") or {})
                           .get("postal_code"))
