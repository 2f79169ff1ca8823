"""«درخواست انتقال» (seed 003): the citizen's transfer requests, «ثبت درخواست جدید», and the
stepper of a draft. Each step is one URL (``/transfer/draft/<id>/<n>``); GET shows it, POST
takes its form. The step guard is on the server: a step is neither shown nor taken before the
ones before it are done, whatever is posted.
"""

import re
from datetime import datetime
from pathlib import Path

import jdatetime
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from limits.storage import Storage
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from clients.common.app import current_login, current_rp
from clients.common.i18n import local_digits
from clients.municipal import (
    drafts,
    history,
    lifecycle,
    phone_codes,
    sms,
    transfer_finish,
    visits,
    wizard,
    wizard_views,
)
from clients.municipal.auth import applicant_code, current_citizen, login_required
from clients.municipal.models import Draft, ServiceRequest

bp = Blueprint("transfer", __name__, url_prefix="/transfer")

KIND = "transfer"
# Seed 003 §8: at least three document images.
MIN_DOCUMENTS = 3


def init_app(app, upload_dir: Path, outbox: Path, counters: Storage) -> None:
    app.extensions["municipal_search_limiter"] = drafts.SearchLimiter(counters)
    app.extensions["municipal_code_limits"] = phone_codes.SendLimits(counters)
    app.extensions["municipal_sms"] = sms.OutboxSms(outbox)
    app.extensions["municipal_upload_dir"] = upload_dir
    app.register_blueprint(bp)


def _keep_typed(draft: Draft, number: int) -> None:
    """«گام قبلی» keeps what was typed on this step, checked or not, for the way back."""
    if number == 3:
        letter = {key: request.form.get(key, "").strip() for key in LETTER_FIELDS}
        draft.data = {**draft.data, "letter": letter}
        current_rp().db.session.commit()
        return
    if number == 4:
        record = {**draft.data.get("visit", {}), "slot": request.form.get("slot", ""),
                  "mobile": request.form.get("mobile", "").strip()}
        drafts.save(draft, {**draft.data, "visit": record}, min(draft.done, 3))
        return
    if number in TYPED_FIELDS:
        drafts.keep_typed(draft, number, TYPED_FIELDS[number])



def _page(draft: Draft, number: int, form: FlaskForm, status: int = 200, **context):
    return render_template(f"transfer/step{number}.html", draft=draft, number=number, form=form,
                           steps=wizard.TRANSFER_STEPS, typed=draft.data.get("typed", {})
                           .get(str(number), {}), **context), status


def _next(draft: Draft, number: int):
    return redirect(url_for("transfer.step", draft_id=draft.id, number=number + 1), 303)


def commitments(draft: Draft, form: FlaskForm):
    """Step 1 «تعهدات»: «گام بعدی» only once «تمامی موارد فوق مورد تأیید است» is ticked
    (JavaScript disables the button until then; without it, the server refuses)."""
    if request.method == "GET":
        return _page(draft, 1, form, commitments=wizard.COMMITMENTS,
                     accepted=draft.data.get("accepted", False))
    if request.form.get("accept") != "yes":
        return _page(draft, 1, form, 400, commitments=wizard.COMMITMENTS, accepted=False,
                     error=gettext("برای رفتن به گام بعدی، تأیید تعهدات الزامی است."))
    drafts.save(draft, {**draft.data, "accepted": True}, max(draft.done, 1))
    return _next(draft, 1)


def apartment(draft: Draft, form: FlaskForm):
    """Step 2 «انتخاب آپارتمان»: «جستجو» checks the code and number against the registry;
    «گام بعدی» is open only after a valid search of the applicant's own property."""
    return wizard_views.search_step(
        draft, form, _page, _next, gettext("ابتدا کدنوسازی و شماره درخواست یا گواهی را وارد و "
                                           "جستجو کنید."),
        _open_codes, wizard.STEP_KEYS)


def _open_codes() -> set[str]:
    """The codes held by a request in progress: one open request per code."""
    return set(current_rp().db.session.scalars(select(ServiceRequest.open_code).where(
        ServiceRequest.open_code.is_not(None))))


def documents(draft: Draft, form: FlaskForm):
    """Step 3 «بارگذاری مدارک»: the applicant's role (checked against the registry), the
    notary's letter, and at least three document images stored by «تأیید و ارسال»."""
    letter = {key: request.form.get(key, "").strip() for key in LETTER_FIELDS} \
        if request.method == "POST" else draft.data.get("letter", {})
    if request.method == "GET":
        return _documents_page(draft, form, letter)
    action = request.form.get("action")
    data = {**draft.data, "letter": letter}
    if request.form.get("delete"):
        data, done = wizard.after_change(drafts.delete_document(data, request.form["delete"]),
                                         draft.done, 3)
        drafts.save(draft, data, done)
        return _documents_page(draft, form, letter)
    if action == "upload":
        errors = drafts.store_files(draft, data)
        data, done = wizard.after_change(draft.data, draft.done, 3)
        drafts.save(draft, data, done)
        return _documents_page(draft, form, letter, 400 if errors else 200, errors=errors)
    errors = _letter_errors(draft, letter)
    if len(data.get("documents", [])) < MIN_DOCUMENTS:
        errors.append(gettext("دست‌کم %(count)s تصویر مدرک را بارگذاری کنید.",
                              count=MIN_DOCUMENTS))
    if errors:
        drafts.save(draft, data, draft.done)
        return _documents_page(draft, form, letter, 400, errors=errors)
    drafts.save(draft, data, max(draft.done, 3))
    return _next(draft, 3)


def _letter_errors(draft: Draft, letter: dict) -> list[str]:
    errors = []
    role = draft.data["apartment"]["role"]
    if letter.get("role") not in {"owner", "attorney"}:
        errors.append(gettext("مشخص کنید مالک هستید یا وکیل."))
    elif letter["role"] != role:
        errors.append(gettext("سمت انتخاب‌شده با سوابق ثبت این آپارتمان همخوانی ندارد."))
    return errors + drafts.letter_errors(letter,
                                         gettext("نام نهاد استعلام کننده را وارد کنید."))


def _documents_page(draft: Draft, form: FlaskForm, letter: dict, status: int = 200,
                    errors: list[str] | None = None):
    documents = draft.data.get("documents", [])
    return _page(draft, 3, form, status, letter=letter, documents=documents,
                 errors=errors or [], enough=len(documents) >= MIN_DOCUMENTS,
                 minimum=MIN_DOCUMENTS, max_files=drafts.settings().uploads.max_files)


@bp.get("/draft/<draft_id>/documents/<document_id>")
@login_required
def document(draft_id: str, document_id: str):
    """A stored image, to its applicant only (another citizen: 404), never sniffed."""
    return drafts.send_document(drafts.own(draft_id, KIND).data, document_id)


def _taken() -> dict[str, int]:
    """Seats booked per slot: a request holds its seat until it is cancelled or withdrawn."""
    rows = current_rp().db.session.execute(
        select(ServiceRequest.visit_slot, func.count()).where(
            ServiceRequest.visit_slot.is_not(None))
        .group_by(ServiceRequest.visit_slot)).all()
    return {slot: count for slot, count in rows}


SLOT_ERRORS = {
    "unlisted": _l("این ساعت بازدید در فهرست ساعت‌های بازدید نیست."),
    "past": _l("زمان این بازدید گذشته است؛ روز و ساعت دیگری انتخاب کنید."),
    "closed": _l("در این روز بازدید انجام نمی‌شود؛ روز دیگری انتخاب کنید."),
    "full": _l("ظرفیت این ساعت تکمیل است؛ ساعت دیگری انتخاب کنید."),
}


def visit(draft: Draft, form: FlaskForm):
    """Step 4 «انتخاب کارشناس بازدید»: a day and an hour with a seat left, and the owner's
    mobile proved by a texted code («دریافت کد تایید», «بررسی کد»)."""
    settings = drafts.settings()
    now = visits.now_tehran()
    record = dict(draft.data.get("visit", {}))
    if request.method == "GET" and "mobile" not in record:
        record["mobile"] = sms.local_mobile(current_login().claims.get("phone_number")) or ""
    notice = None
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        record["slot"] = request.form.get("slot", record.get("slot", ""))
        record["mobile"] = request.form.get("mobile", "").strip()
        action = request.form.get("action")
        if action == "send_code":
            notice, errors = _send_code(draft, record)
        elif action == "check_code":
            notice, errors = _check_code(draft, record)
        elif action == "next":
            errors = _visit_errors(draft, record, now)
            if not errors:
                drafts.save(draft, {**draft.data, "visit": record}, max(draft.done, 4))
                return _next(draft, 4)
        status = 400 if errors else 200
        # Anything changed here is to be taken again with «گام بعدی».
        drafts.save(draft, {**draft.data, "visit": record}, min(draft.done, 3))
    shown = _shown_day(record, now)
    month = request.values.get("month", "")
    year, number = shown.year, shown.month
    if re.fullmatch(r"1[34][0-9]{2}-(0[1-9]|1[0-2])", month):
        year, number = int(month[:4]), int(month[5:])
    taken = _taken()
    chosen_day = shown.togregorian()
    return _page(draft, 4, form, status, record=record, notice=notice, errors=errors,
                 weeks=visits.month_weeks(year, number, now, settings.visits,
                                          settings.holiday_dates()),
                 year=year, month=number, chosen_day=chosen_day,
                 hours=visits.hours_of(chosen_day, now, settings.visits, taken)
                 if visits.bookable_day(chosen_day, now, settings.visits,
                                        settings.holiday_dates()) else [],
                 previous_month=_month_shift(year, number, -1),
                 next_month=_month_shift(year, number, 1),
                 verified=bool(record.get("verified"))
                 and record.get("verified") == sms.local_mobile(record.get("mobile")))


def _shown_day(record: dict, now) -> jdatetime.date:
    """The day whose hours are shown: the one asked for, else the chosen slot's, else today."""
    for text in (request.values.get("day", ""), record.get("slot", "")[:10]):
        try:
            return jdatetime.date.fromgregorian(date=datetime.strptime(text, "%Y-%m-%d").date())
        except ValueError:
            continue
    return jdatetime.date.fromgregorian(date=now.date())


def _month_shift(year: int, month: int, step: int) -> str:
    index = year * 12 + month - 1 + step
    return f"{index // 12}-{index % 12 + 1:02d}"


def _send_code(draft: Draft, record: dict) -> tuple[str | None, list[str]]:
    mobile = sms.local_mobile(record.get("mobile"))
    if mobile is None:
        return None, [gettext("شماره تلفن همراه معتبر نیست. مثال: ۰۹۱۲۱۲۳۴۵۶۷")]
    left = phone_codes.cooldown_left(record.get("code"))
    if left:
        return None, [gettext("برای دریافت کد جدید لطفا %(seconds)s ثانیه صبر کنید.",
                              seconds=left)]
    limits = current_app.extensions["municipal_code_limits"]
    if not limits.allow(mobile, draft.citizen_id):
        return None, [gettext("تعداد پیامک‌های درخواستی از حد مجاز گذشته است. لطفا بعدا "
                              "دوباره تلاش کنید.")]
    issued = phone_codes.issue(current_app.secret_key, draft.id, mobile,
                               drafts.settings().visits.code_lifetime_seconds)
    text = gettext("شهرداری تهران - کد تایید شماره تماس برای بازدید کارشناس: %(code)s",
                   code=issued.code)
    try:
        current_app.extensions["municipal_sms"].send(mobile, text, code=issued.code,
                                                     purpose="visit_phone")
    except sms.SmsUnavailable:
        return None, [gettext("ارسال پیامک ممکن نشد. لطفا چند دقیقه دیگر دوباره تلاش کنید.")]
    limits.spend(mobile, draft.citizen_id)
    record.update(mobile=mobile, code=issued.record, verified=None)
    return gettext("کد تایید به شماره %(mobile)s پیامک شد.", mobile=local_digits(mobile)), []


def _check_code(draft: Draft, record: dict) -> tuple[str | None, list[str]]:
    mobile = sms.local_mobile(record.get("mobile")) or ""
    typed = request.form.get("code", "").strip().translate(sms.DIGITS)
    outcome, kept = phone_codes.check(current_app.secret_key, draft.id, record.get("code"),
                                      mobile, typed)
    record["code"] = kept
    if outcome == "ok":
        record["verified"] = mobile
        return None, []  # «شماره تماس تایید شد.» is shown under «بررسی کد» while it holds
    record["verified"] = None
    return None, [{
        "none": gettext("ابتدا «دریافت کد تایید» را بزنید."),
        "expired": gettext("مهلت این کد به پایان رسیده است. کد جدید دریافت کنید."),
        "spent": gettext("تعداد تلاش‌های نادرست از حد مجاز گذشت. کد جدید دریافت کنید."),
        "wrong": gettext("کد تاییدیه درست نیست."),
    }[outcome]]


def _visit_errors(draft: Draft, record: dict, now) -> list[str]:
    errors = []
    settings = drafts.settings()
    if not record.get("slot"):
        errors.append(gettext("روز و ساعت بازدید را انتخاب کنید."))
    else:
        problem = visits.slot_problem(record["slot"], now, settings.visits,
                                      settings.holiday_dates(), _taken())
        if problem:
            errors.append(str(SLOT_ERRORS[problem]))
    mobile = sms.local_mobile(record.get("mobile"))
    if mobile is None or record.get("verified") != mobile:
        errors.append(gettext("شماره تماس را با کد تایید پیامک‌شده تایید کنید."))
    return errors


def review(draft: Draft, form: FlaskForm):
    """Step 5 «تایید و ثبت»: a review; only pressing it registers the request (seed 003 §10),
    taking a seat of the chosen hour in the same transaction."""
    settings = drafts.settings()
    visit_record = draft.data["visit"]
    if request.method == "GET" or request.form.get("action") != "register":
        return _review_page(draft, form)
    problem = visits.slot_problem(visit_record["slot"], visits.now_tehran(), settings.visits,
                                  settings.holiday_dates(), {})
    if problem:
        return _back_to_visit(draft, SLOT_ERRORS[problem])
    apartment = draft.data["apartment"]
    db = current_rp().db.session
    citizen = current_citizen()
    for seat in range(1, settings.visits.capacity + 1):
        registered = ServiceRequest(
            tracking_number=drafts.tracking_number(), citizen_id=citizen.id, kind=KIND,
            renovation_code=apartment["code"], state=lifecycle.AWAITING_VISIT,
            visit_slot=visit_record["slot"], visit_seat=seat, open_code=apartment["code"],
            data={"renovation_code": apartment["renovation_code"],
                  "request_number": apartment["request_number"], "role": apartment["role"],
                  "address": apartment["address"], "applicant": applicant_code(),
                  "letter": draft.data["letter"], "documents": draft.data["documents"],
                  "slot": visit_record["slot"], "mobile": visit_record["verified"]})
        db.add(registered)
        try:
            db.commit()
        except IntegrityError:
            db.rollback()
            if db.scalar(select(ServiceRequest.id).where(
                    ServiceRequest.open_code == apartment["code"])) is not None:
                return _review_page(draft, form, 409, error=drafts.lookup_error("open"))
            continue  # this seat was just taken: the next one, if any
        break
    else:
        # Issue 10: the last seat went to another citizen; this one chooses again.
        return _back_to_visit(draft, SLOT_ERRORS["full"])
    db.delete(draft)
    db.commit()
    lifecycle.text(registered, gettext(
        "درخواست انتقال شما با شماره پیگیری %(number)s ثبت شد. بازدید کارشناس: %(when)s.",
        number=registered.tracking_number, when=_when(registered.data["slot"])))
    return redirect(url_for("transfer.registered", tracking_number=registered.tracking_number),
                    303)


def _when(slot: str) -> str:
    start = datetime.strptime(slot, visits.SLOT_FORMAT)
    return gettext("%(day)s ساعت %(hour)s",
                   day=jdatetime.date.fromgregorian(date=start.date()).strftime("%Y/%m/%d"),
                   hour=start.strftime("%H:%M"))


def _back_to_visit(draft: Draft, message) -> object:
    drafts.save(draft, draft.data, min(draft.done, 3))
    flash(str(message), "error")
    return redirect(url_for("transfer.step", draft_id=draft.id, number=4), 303)


def _review_page(draft: Draft, form: FlaskForm, status: int = 200, error: str | None = None):
    return _page(draft, 5, form, status, apartment=draft.data["apartment"],
                 letter=draft.data["letter"], documents=draft.data["documents"],
                 visit=draft.data["visit"], when=_when(draft.data["visit"]["slot"]), error=error)


@bp.get("/requests/<tracking_number>")
@login_required
def registered(tracking_number: str):
    """A registered request, to its applicant only: its state and history, and «انصراف از
    درخواست» while it may still be withdrawn."""
    found = _registered(tracking_number)
    if found is None or found.citizen_id != current_citizen().id:
        abort(404)
    return render_template("transfer/registered.html", item=found, when=_when(found.data["slot"]),
                           steps=wizard.TRANSFER_STEPS, state_label=lifecycle.LABELS[found.state],
                           history=history.entries(found),
                           may_withdraw=may_withdraw(found, visits.now_tehran()),
                           **transfer_finish.context(found))


def _registered(tracking_number: str) -> ServiceRequest | None:
    return current_rp().db.session.scalar(select(ServiceRequest).where(
        ServiceRequest.tracking_number == tracking_number, ServiceRequest.kind == KIND))


def may_withdraw(item: ServiceRequest, now: datetime) -> bool:
    """Issue 10: the applicant may withdraw before the visit, that is while it awaits the
    visit and its hour has not come."""
    return lifecycle.allowed("withdraw", item.state) and \
        item.data["slot"] > now.strftime(visits.SLOT_FORMAT)


@bp.post("/requests/<tracking_number>/withdraw")
@login_required
def withdraw(tracking_number: str):
    """«انصراف از درخواست»: the request ends and its visit seat is free for another citizen."""
    found = _registered(tracking_number)
    if found is None or found.citizen_id != current_citizen().id:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    page = url_for("transfer.registered", tracking_number=found.tracking_number)
    if not may_withdraw(found, visits.now_tehran()) or not lifecycle.advance(
            current_rp().db.session, found, "withdraw", lifecycle.WITHDRAWN,
            by=applicant_code() or ""):
        flash(gettext("انصراف از این درخواست دیگر ممکن نیست: بازدید کارشناس انجام شده یا "
                      "زمان آن رسیده است."), "error")
        return redirect(page, 303)
    lifecycle.text(found, gettext("درخواست انتقال %(number)s به درخواست شما لغو شد "
                                  "(انصراف از درخواست).", number=found.tracking_number))
    flash(gettext("انصراف شما از درخواست ثبت شد و نوبت بازدید آزاد شد."), "notice")
    return redirect(page, 303)


@bp.get("/requests/<tracking_number>/documents/<document_id>")
@login_required
def request_document(tracking_number: str, document_id: str):
    return drafts.registered_document(KIND, tracking_number, document_id)


STEP_VIEWS = {1: commitments, 2: apartment, 3: documents, 4: visit, 5: review}
LETTER_FIELDS = ("role", "letter_number", "letter_date", "body")
# The fields «گام قبلی» keeps as typed, per step.
TYPED_FIELDS = {2: ("renovation_code", "request_number")}
wizard_views.register(bp, wizard_views.Wizard(
    kind=KIND, title=_l("درخواست انتقال"), steps=wizard.TRANSFER_STEPS,
    last=wizard.DRAFT_STEPS, step_views=STEP_VIEWS, keep_typed=_keep_typed))
