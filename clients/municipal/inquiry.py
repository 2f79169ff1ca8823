"""«استعلام ادارات/ ترهین» (seed 003): the citizen's answer to an office's or bank's inquiry
about a property, without a visit. «تعهدات», «انتخاب ملک», «بررسی سوابق», «بارگذاری مدارک» and
«تسویه عوارض» are the steps of a draft (``/inquiry/draft/<id>/<n>``, guarded on the server as
the transfer's are); «ثبت درخواست و صدور» registers the request with its answer issued.
"""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import delete, select

from clients.common.app import current_login, current_rp
from clients.municipal import drafts, lifecycle, payments, records, sms, wizard, wizard_views
from clients.municipal.auth import applicant_code, current_citizen, login_required
from clients.municipal.models import Draft, ServiceRequest

bp = Blueprint("inquiry", __name__, url_prefix="/inquiry")

KIND = "inquiry"
# Issue 10: at least the image of the inquiring body's letter.
MIN_DOCUMENTS = 1
LETTER_FIELDS = ("letter_number", "letter_date", "body")


def init_app(app) -> None:
    app.register_blueprint(bp)


def _keep_typed(draft: Draft, number: int) -> None:
    """«گام قبلی» keeps what was typed on this step, checked or not, for the way back."""
    if number == 2:
        drafts.keep_typed(draft, 2, ("renovation_code", "request_number"))
    elif number == 4:
        drafts.save(draft, {**draft.data, "letter": _letter()}, draft.done)


def _letter() -> dict:
    return {key: request.form.get(key, "").strip() for key in LETTER_FIELDS}


def _page(draft: Draft, number: int, form: FlaskForm, status: int = 200, **context):
    return render_template(f"inquiry/step{number}.html", draft=draft, number=number, form=form,
                           steps=wizard.INQUIRY_STEPS, **context), status


def _next(draft: Draft, number: int):
    return redirect(url_for("inquiry.step", draft_id=draft.id, number=number + 1), 303)


def commitments(draft: Draft, form: FlaskForm):
    """Step 1 «تعهدات»: «گام بعدی» only once «تمامی موارد فوق مورد تأیید است» is ticked."""
    if request.method == "GET":
        return _page(draft, 1, form, commitments=wizard.INQUIRY_COMMITMENTS,
                     accepted=draft.data.get("accepted", False))
    if request.form.get("accept") != "yes":
        return _page(draft, 1, form, 400, commitments=wizard.INQUIRY_COMMITMENTS,
                     accepted=False,
                     error=gettext("برای رفتن به گام بعدی، تأیید تعهدات الزامی است."))
    drafts.save(draft, {**draft.data, "accepted": True}, max(draft.done, 1))
    return _next(draft, 1)


def property_step(draft: Draft, form: FlaskForm):
    """Step 2 «انتخاب ملک»: «استعلام» checks the code and the answered request's number
    against the registry, as the transfer's «جستجو» does; «گام بعدی» only after a good one."""
    # An inquiry holds no renovation code open: it is answered when it is registered.
    return wizard_views.search_step(
        draft, form, _page, _next, gettext("ابتدا کدنوسازی و شماره درخواست را وارد کنید و "
                                           "«استعلام» را بزنید."),
        set, wizard.INQUIRY_STEP_KEYS)


def _latest_certificate(draft: Draft) -> records.Certificate | None:
    code = draft.data["apartment"]["code"]
    found = drafts.registry().find(code)
    return records.latest(found, records.issued_here(current_rp().db.session, code)) \
        if found else None


def history(draft: Draft, form: FlaskForm):
    """Step 3 «بررسی سوابق»: the code's latest certificate; with none on record the seed's
    «سیستم پیغام خواهد داد و اجازه ادامه روندکار را نمی‌دهد»."""
    latest = _latest_certificate(draft)
    if request.method == "POST" and request.form.get("action") == "next":
        if latest is not None:
            kept = {"title": latest.title, "number": latest.number,
                    "issued": latest.issued.strftime("%Y/%m/%d")}
            drafts.save(draft, {**draft.data, "certificate": kept}, max(draft.done, 3))
            return _next(draft, 3)
        return _page(draft, 3, form, 400, certificate=None,
                     apartment=draft.data["apartment"])
    return _page(draft, 3, form, certificate=latest, apartment=draft.data["apartment"])


def documents(draft: Draft, form: FlaskForm):
    """Step 4 «بارگذاری مدارک»: the letter of the inquiring body (number, Jalali date, name)
    and at least its image, stored by «تأیید و ارسال»."""
    letter = _letter() if request.method == "POST" else draft.data.get("letter", {})
    if request.method == "GET":
        return _documents_page(draft, form, letter)
    data = {**draft.data, "letter": letter}
    if request.form.get("delete"):
        data, done = wizard.after_change(drafts.delete_document(data, request.form["delete"]),
                                         draft.done, 4, wizard.INQUIRY_STEP_KEYS)
        drafts.save(draft, data, done)
        return _documents_page(draft, form, letter)
    if request.form.get("action") == "upload":
        errors = drafts.store_files(draft, data)
        data, done = wizard.after_change(draft.data, draft.done, 4, wizard.INQUIRY_STEP_KEYS)
        drafts.save(draft, data, done)
        return _documents_page(draft, form, letter, 400 if errors else 200, errors=errors)
    errors = drafts.letter_errors(letter, gettext("نام نهاد یا اداره استعلام کننده را وارد "
                                                  "کنید."))
    if len(data.get("documents", [])) < MIN_DOCUMENTS:
        errors.append(gettext("دست‌کم تصویر نامه نهاد استعلام کننده را بارگذاری کنید."))
    if errors:
        drafts.save(draft, data, draft.done)
        return _documents_page(draft, form, letter, 400, errors=errors)
    drafts.save(draft, data, max(draft.done, 4))
    return _next(draft, 4)


def _documents_page(draft: Draft, form: FlaskForm, letter: dict, status: int = 200,
                    errors: list[str] | None = None):
    stored = draft.data.get("documents", [])
    return _page(draft, 4, form, status, letter=letter, documents=stored, errors=errors or [],
                 enough=len(stored) >= MIN_DOCUMENTS,
                 max_files=drafts.settings().uploads.max_files)


@bp.get("/draft/<draft_id>/documents/<document_id>")
@login_required
def document(draft_id: str, document_id: str):
    """A stored image, to its applicant only (another citizen: 404), never sniffed."""
    return drafts.send_document(drafts.own(draft_id, KIND).data, document_id)


def dues(draft: Draft, form: FlaskForm):
    """Step 5 «تسویه عوارض»: the dues of the code with «پرداخت آنلاین», and «ثبت درخواست و
    صدور», refused while any are owed (seed 003: «کدنوسازی دارای بدهی اجازه ثبت درخواست
    ندارد»)."""
    db = current_rp().db.session
    code = draft.data["apartment"]["code"]
    owed = payments.dues_owed(db, drafts.registry(), code)
    action = request.form.get("action") if request.method == "POST" else None
    if action == "pay" and owed:
        return payments.start_payment(
            db, drafts.registry(), draft.citizen_id, code, draft_id=draft.id,
            return_to=url_for("inquiry.step", draft_id=draft.id, number=5))
    if action == "register":
        if owed:
            return _page(draft, 5, form, 400, owed=owed, error=gettext(
                "کدنوسازی دارای بدهی اجازه ثبت درخواست ندارد؛ ابتدا بدهی عوارض نوسازی را "
                "پرداخت کنید."))
        return _register(draft)
    return _page(draft, 5, form, owed=owed)


def _register(draft: Draft):
    """Only now the request exists, with its answer issued (issue 10), and is texted to the
    login's mobile: an inquiry has no SMS code step of its own."""
    apartment = draft.data["apartment"]
    citizen = current_citizen()
    db = current_rp().db.session
    item = ServiceRequest(
        tracking_number=drafts.tracking_number(), citizen_id=citizen.id, kind=KIND,
        renovation_code=apartment["code"], state=lifecycle.ISSUED,
        data={"renovation_code": apartment["renovation_code"],
              "request_number": apartment["request_number"], "role": apartment["role"],
              "address": apartment["address"], "applicant": applicant_code(),
              "letter": draft.data["letter"], "documents": draft.data["documents"],
              "certificate": draft.data["certificate"],
              "mobile": sms.local_mobile(current_login().claims.get("phone_number"))})
    # The draft goes in the same transaction, by a conditional DELETE: of two presses at once,
    # one registers and the other finds no draft.
    if db.execute(delete(Draft).where(Draft.id == draft.id)).rowcount != 1:
        db.rollback()
        return redirect(url_for("inquiry.requests"), 303)
    db.add(item)
    db.commit()
    lifecycle.text(item, gettext(
        "درخواست استعلام شما با شماره پیگیری %(number)s ثبت و پاسخ آن صادر شد.",
        number=item.tracking_number))
    return redirect(url_for("inquiry.registered", tracking_number=item.tracking_number), 303)


def _own_request(tracking_number: str) -> ServiceRequest:
    """The citizen's own inquiry; anyone else's is as missing as a wrong number."""
    found = current_rp().db.session.scalar(select(ServiceRequest).where(
        ServiceRequest.tracking_number == tracking_number, ServiceRequest.kind == KIND))
    if found is None or found.citizen_id != current_citizen().id:
        abort(404)
    return found


def _request_page(tracking_number: str, template: str):
    """A page of the citizen's own registered inquiry, under its stepper."""
    item = _own_request(tracking_number)
    return render_template(template, item=item, steps=wizard.INQUIRY_STEPS,
                           state_label=lifecycle.LABELS[item.state])


@bp.get("/requests/<tracking_number>")
@login_required
def registered(tracking_number: str):
    """«صدور و چاپ پاسخ استعلام»: the «شماره پیگیری» and «صدور پاسخ استعلام»."""
    return _request_page(tracking_number, "inquiry/registered.html")


@bp.get("/requests/<tracking_number>/answer")
@login_required
def answer(tracking_number: str):
    """«صدور پاسخ استعلام»: the answer, «نمایش تصویر گواهی» and «چاپ استعلام»."""
    return _request_page(tracking_number, "inquiry/answer.html")


@bp.get("/requests/<tracking_number>/documents/<document_id>")
@login_required
def request_document(tracking_number: str, document_id: str):
    """The letter's images of a registered inquiry, to its applicant and to staff (issue 10)."""
    return drafts.registered_document(KIND, tracking_number, document_id)


STEP_VIEWS = {1: commitments, 2: property_step, 3: history, 4: documents, 5: dues}
wizard_views.register(bp, wizard_views.Wizard(
    kind=KIND, title=_l("استعلام ادارات/ ترهین"), steps=wizard.INQUIRY_STEPS,
    last=wizard.INQUIRY_DRAFT_STEPS, step_views=STEP_VIEWS, keep_typed=_keep_typed))
