"""«سامانه حساب شهروندی شهرداری»: the municipal relying party (seed 000).

«ورود با پنجره ملی» replaces the service's own username, password and registration form: the
fields that form asked for come from the national login's claims, and the one it may not have
(the e-mail the form required) is asked for here, once, and kept in the service's own database.
"""

from pathlib import Path

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf import FlaskForm
from limits.errors import StorageError
from wtforms import StringField

from clients.common import RelyingParty, RPConfig
from clients.common.app import current_login, current_rp
from clients.common.db import instance_sqlite
from clients.municipal import (
    certificates,
    citizens,
    inquiry,
    payments,
    previous,
    staff,
    transfer,
    transfer_finish,
)
from clients.municipal.auth import current_citizen, is_staff, login_required
from clients.municipal.models import Base, LoginSession, SeenLogoutToken
from clients.municipal.registry import TomlRegistry
from clients.municipal.schema import MigratedDatabase
from clients.municipal.settings import MunicipalSettings, load_settings

NAME = "municipal"
SCOPE = "openid profile email phone address national_id offline_access"

SANDBOX_REGISTRY = Path(__file__).parent / "sandbox_registry.toml"

bp = Blueprint(NAME, __name__)


def create_app(issuer: str, client_id: str, client_secret: str, base_url: str,
               database_url: str | None = None,
               settings: MunicipalSettings | None = None) -> Flask:
    """The app, registered at the provider with ``base_url`` + ``/callback`` (redirect),
    ``/logged-out`` (post-logout redirect) and ``/backchannel-logout`` (back-channel logout).

    ``settings`` default to the ``MUNICIPAL_<SECTION>_<KEY>`` environment over the defaults;
    ``database_url``, when given, wins over ``[municipal] database_url``. A registry file the
    app cannot read raises :class:`~clients.municipal.registry.RegistryError`.
    """
    app = Flask(__name__)
    settings = settings or load_settings()
    database_url = database_url or settings.municipal.database_url or \
        instance_sqlite(app, NAME)
    app.extensions["municipal"] = settings
    app.extensions["municipal_registry"] = TomlRegistry(
        settings.path(settings.municipal.registry_path) if settings.municipal.registry_path
        else SANDBOX_REGISTRY)
    shared_key = settings.municipal.secret_key
    config = RPConfig(issuer=issuer, client_id=client_id, client_secret=client_secret,
                      base_url=base_url, scope=SCOPE,
                      form_action=(payments.gateway_origin(settings.payment.gateway_url),),
                      **({"secret_key": shared_key.encode()} if shared_key else {}))
    RelyingParty(app, config, name=NAME, database=MigratedDatabase(database_url, Base.metadata),
                 session_model=LoginSession, seen_model=SeenLogoutToken,
                 after_login=_after_login)
    app.register_blueprint(bp)
    upload_dir = settings.path(settings.municipal.upload_dir) if settings.municipal.upload_dir \
        else Path(app.instance_path) / "uploads"
    # A whole «تأیید و ارسال» of the most files allowed, and the form around them.
    app.config["MAX_CONTENT_LENGTH"] = \
        settings.uploads.max_bytes * settings.uploads.max_files + 256 * 1024
    outbox = settings.path(settings.municipal.sms_outbox_path) \
        if settings.municipal.sms_outbox_path else Path(app.instance_path) / "sms_outbox.jsonl"
    transfer.init_app(app, upload_dir, outbox, settings.ratelimit_storage())
    payments.init_app(app)
    certificates.init_app(app)
    transfer_finish.init_app(app)
    inquiry.init_app(app)
    app.register_blueprint(staff.bp)
    app.register_blueprint(previous.bp)
    app.register_error_handler(413, _too_large)
    app.register_error_handler(StorageError, _counters_unavailable)
    return app


def _too_large(_error):
    return render_template("common/error.html", title=gettext("حجم بیش از حد مجاز"),
                           message=gettext("حجم فایل‌های فرستاده‌شده بیش از حد مجاز است. "
                                           "لطفا فایل‌های کوچک‌تری انتخاب کنید.")), 413


def _counters_unavailable(_error):
    current_app.logger.warning("rate-limit storage unavailable")
    return render_template("common/error.html", title=gettext("خطا در ارتباط"),
                           message=gettext("این خدمت لحظاتی در دسترس نیست. لطفا چند دقیقه "
                                           "دیگر دوباره تلاش کنید.")), 503


def _after_login(row) -> str | None:
    """Bring the citizen's record up to date; ask for the e-mail if the service has none."""
    citizen = citizens.upsert(current_rp().db.session, row.claims)
    return None if citizen.email else url_for("municipal.email")


class EmailForm(FlaskForm):
    email = StringField()


@bp.get("/")
def home():
    citizen = current_citizen()
    if citizen is None:
        return render_template("home.html")
    if not citizen.email:
        return redirect(url_for("municipal.email"))
    return render_template("services.html", citizen=citizen, services=citizens.visible(
        citizens.SERVICES, current_app.view_functions, is_staff()))


@bp.get("/profile")
@login_required
def profile():
    return render_template("profile.html", citizen=current_citizen(),
                           mobile=citizens.local_mobile(current_citizen().mobile))


@bp.post("/profile/refresh")
@login_required
def refresh_profile():
    """Read the citizen's claims again from UserInfo (the access token refreshed if needed):
    a changed mobile or confirmed postal code at the provider shows here without a new login."""
    form = FlaskForm()
    if not form.validate_on_submit():
        return redirect(url_for("municipal.profile"))
    row = current_login()
    rp = current_rp()
    claims = rp.userinfo(row)
    row.claims = {**row.claims, **claims}
    rp.db.session.commit()
    citizens.upsert(rp.db.session, row.claims)
    flash(gettext("اطلاعات شما از پنجره ملی خدمات دولت هوشمند به‌روز شد."), "notice")
    return redirect(url_for("municipal.profile"))


@bp.route("/email", methods=["GET", "POST"])
@login_required
def email():
    citizen = current_citizen()
    form = EmailForm()
    error = None
    if form.validate_on_submit():
        address = citizens.normalise_email(form.email.data or "")
        if not address:
            error = gettext("وارد کردن پست الکترونیک الزامی است.")
        elif not citizens.valid_email(address):
            error = gettext("پست الکترونیک وارد شده معتبر نیست. مثال: email@example.com")
        else:
            first = not citizen.email
            citizen.email, citizen.email_source = address, "citizen"
            current_rp().db.session.commit()
            flash(gettext("ثبت نام شما در سامانه حساب شهروندی تکمیل شد.") if first
                  else gettext("پست الکترونیک شما ثبت شد."), "notice")
            return redirect(url_for("municipal.home"))
    elif request.method == "GET":
        form.email.data = citizen.email or ""
    status = 400 if error or form.errors else 200
    return render_template("email.html", citizen=citizen, form=form, error=error,
                           first=not citizen.email), status


@bp.get("/support")
def support():
    return render_template("support.html")
