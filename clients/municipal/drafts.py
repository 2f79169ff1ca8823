"""What both wizards of seed 003 («درخواست انتقال», «استعلام ادارات/ ترهین») do alike with a
draft: start one, find the citizen's own, guard its steps, search the property registry, keep
the documents step's images and check the notary's letter. Each wizard's module keeps only its
own steps; a draft's ``kind`` says whose it is.
"""

import secrets
from datetime import datetime, timedelta
from pathlib import Path

import jdatetime
from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext
from limits import parse
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select

from clients.common.app import current_rp
from clients.common.i18n import TEHRAN
from clients.common.sessions import utcnow
from clients.municipal import uploads, wizard
from clients.municipal.auth import applicant_code, current_citizen, visible_request
from clients.municipal.models import Draft
from clients.municipal.registry import normalise, parse_jalali

# Issue 10: «جستجو» / «استعلام» is rate-limited per citizen and per address, so that codes and
# numbers cannot be tried in bulk.
SEARCHES_PER_CITIZEN = parse("10/10 minutes")
SEARCHES_PER_ADDRESS = parse("30/10 minutes")
# Issue 10: drafts and their files are removed after a day.
DRAFT_LIFETIME = timedelta(days=1)


class SearchLimiter:
    """The app's counters of registry searches, one for both wizards, in ``storage``: the one
    all the app's workers share (``[municipal] ratelimit_storage_uri``)."""

    def __init__(self, storage: Storage) -> None:
        self.limiter = MovingWindowRateLimiter(storage)

    def allow(self, citizen_id: int, address: str) -> bool:
        return (self.limiter.hit(SEARCHES_PER_CITIZEN, "search-citizen", str(citizen_id))
                and self.limiter.hit(SEARCHES_PER_ADDRESS, "search-address", address))


def upload_dir() -> Path:
    return current_app.extensions["municipal_upload_dir"]


def settings():
    return current_app.extensions["municipal"]


def registry():
    return current_app.extensions["municipal_registry"]


def start(kind: str) -> Draft:
    """«ثبت درخواست جدید»: a new draft of ``kind`` at its first step (stale drafts swept)."""
    db = current_rp().db.session
    purge_stale()
    draft = Draft(id=secrets.token_urlsafe(16), citizen_id=current_citizen().id, kind=kind,
                  done=0, data={})
    db.add(draft)
    db.commit()
    return draft


def purge_stale() -> None:
    """Drafts left for a day go, with their files (issue 10)."""
    db = current_rp().db.session
    stale = db.scalars(select(Draft).where(Draft.updated_at < utcnow() - DRAFT_LIFETIME)).all()
    for draft in stale:
        for document in draft.data.get("documents", []):
            uploads.remove(upload_dir(), document["stored"])
        db.delete(draft)
    db.commit()


def own(draft_id: str, kind: str, *, for_update: bool = False) -> Draft:
    """The citizen's own draft of ``kind``; anyone else's is as missing as a wrong id.

    ``for_update`` locks its row until the request commits, so that a step's form read, checked
    and saved back does not interleave with another post to the same draft: two wrong SMS codes
    posted together count as two tries. PostgreSQL takes the lock; SQLite, the single-process
    default, takes no row locks."""
    draft = current_rp().db.session.get(Draft, draft_id,
                                        with_for_update=True if for_update else None)
    if draft is None or draft.kind != kind or draft.citizen_id != current_citizen().id:
        abort(404)
    return draft


def refuse_early(draft: Draft, number: int, last: int, endpoint: str):
    """The server's step guard: 404 for a step that does not exist, and a redirect to the
    first step not done for one reached before the steps before it; None when ``number`` may
    be shown or taken."""
    if not 1 <= number <= last:
        abort(404)
    if not wizard.reachable(draft.done, number, last):
        flash(gettext("ابتدا گام‌های پیشین را کامل کنید."), "error")
        return redirect(url_for(endpoint, draft_id=draft.id, number=draft.done + 1), 303)
    return None


def save(draft: Draft, data: dict, done: int) -> None:
    draft.data, draft.done = data, done
    current_rp().db.session.commit()


def search(draft: Draft, step: int, open_codes: set[str],
           step_keys: dict[int, tuple[str, ...]] = wizard.STEP_KEYS
           ) -> tuple[dict | None, str | None, int]:
    """The property search of step ``step`` (kept under ``apartment``): the found property,
    or the message of why not, and the HTTP status. A new answer forgets the later steps."""
    code = request.form.get("renovation_code", "").strip()
    number = request.form.get("request_number", "").strip()
    limiter = current_app.extensions["municipal_search_limiter"]
    if not limiter.allow(draft.citizen_id, request.remote_addr or ""):
        return None, gettext("تعداد جستجوهای شما از حد مجاز گذشته است. لطفا چند دقیقه دیگر "
                             "دوباره تلاش کنید."), 429
    result = wizard.look_up(registry(), applicant_code(), code, number, open_codes)
    current = draft.data.get("apartment")
    data, done = wizard.after_change(
        {key: value for key, value in draft.data.items() if key not in {"apartment", "typed"}},
        draft.done, step, step_keys)
    if result.outcome != "valid":
        save(draft, data, done)
        return None, lookup_error(result.outcome), 400
    found = {"renovation_code": result.property.renovation_code,
             "code": normalise(result.property.renovation_code),
             "request_number": result.number, "role": result.role,
             "address": result.property.address, "typed_code": code, "typed_number": number}
    if current and current["code"] == found["code"] and \
            current["request_number"] == found["request_number"]:
        data, done = {**draft.data, "apartment": found}, draft.done  # the same answer again
    else:
        data = {**data, "apartment": found}
    save(draft, data, done)
    return found, None, 200


def entered(draft: Draft, step: int) -> dict:
    """What the search fields show: as typed before «گام قبلی», else the last good search."""
    current = draft.data.get("apartment")
    return draft.data.get("typed", {}).get(str(step)) or (
        {"renovation_code": current["typed_code"], "request_number": current["typed_number"]}
        if current else {})


def keep_typed(draft: Draft, step: int, fields: tuple[str, ...]) -> None:
    """«گام قبلی» keeps what was typed in ``fields`` of this step, checked or not."""
    typed = {key: request.form.get(key, "") for key in fields}
    draft.data = {**draft.data, "typed": {**draft.data.get("typed", {}), str(step): typed}}
    current_rp().db.session.commit()


def lookup_error(outcome: str) -> str:
    if outcome == "incomplete":
        return gettext("کدنوسازی و شماره درخواست یا گواهی را وارد کنید.")
    if outcome == "not_yours":
        return gettext("این آپارتمان به نام شما ثبت نشده است و وکالتی از مالک آن برای شما "
                       "ثبت نشده است.")
    if outcome == "open":
        return gettext("برای این کدنوسازی یک درخواست انتقال در جریان است؛ تا پایان آن "
                       "درخواست دیگری ثبت نمی‌شود.")
    # Seed 003, «انتخاب ملک»: the red message of a wrong code or number.
    return gettext("ابتدا مجدد اطلاعات ورودی را بررسی کنید درصورت برطرف نشدن مشکل با سامانه "
                   "%(phone)s تماس بگیرید.", phone=settings().municipal.support_phone)


def delete_document(data: dict, document_id: str) -> dict:
    """``data`` without the image ``document_id``, its file removed."""
    kept = [d for d in data.get("documents", []) if d["id"] != document_id]
    for document in data.get("documents", []):
        if document not in kept:
            uploads.remove(upload_dir(), document["stored"])
    return {**data, "documents": kept}


def store_files(draft: Draft, data: dict) -> list[str]:
    """Keep each chosen file that passes (``data`` and the draft gain it); the messages of
    the refused ones, each naming its file."""
    limits = settings().uploads
    errors = []
    kept = list(data.get("documents", []))
    chosen = [f for f in request.files.getlist("files") if f.filename or f.content_length]
    if not chosen:
        return [gettext("ابتدا با «انتخاب فایل» تصویری انتخاب کنید.")]
    for file in chosen:
        if len(kept) >= limits.max_files:
            errors.append(gettext("فایل «%(name)s» پذیرفته نشد: بیش از %(count)s مدرک "
                                  "نمی‌توان بارگذاری کرد.", name=uploads.display_name(
                                      file.filename), count=limits.max_files))
            continue
        try:
            stored = uploads.accept(file.stream, file.filename, limits.max_bytes, upload_dir())
        except uploads.Refused as refused:
            errors.append(str(refused))
            continue
        kept.append({"id": secrets.token_urlsafe(8), "stored": stored.stored,
                     "name": stored.name, "type": stored.content_type, "size": stored.size})
    draft.data = {**data, "documents": kept}
    return errors


def send_document(data: dict, document_id: str):
    """One of the images listed in a draft's or a request's ``data``, never sniffed; 404 if it
    is not."""
    found = next((d for d in data.get("documents", []) if d["id"] == document_id), None)
    path = uploads.path_of(upload_dir(), found["stored"]) if found else None
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=found["type"], max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response


def registered_document(kind: str, tracking_number: str, document_id: str):
    """A registered request's image, to its applicant and to staff (issue 10); anyone else:
    404, as for a wrong number."""
    return send_document(visible_request(tracking_number, kind).data, document_id)


def letter_errors(letter: dict, body_missing: str) -> list[str]:
    """The notary's or bank's letter: its number, a Jalali date not after today (Tehran), and
    the inquiring body (``body_missing`` is the wizard's own words for a missing one)."""
    errors = []
    if not letter.get("letter_number"):
        errors.append(gettext("شماره نامه را وارد کنید."))
    day = parse_jalali(letter.get("letter_date", ""))
    if day is None:
        errors.append(gettext("تاریخ نامه را به شکل ۱۴۰۴/۰۲/۱۵ وارد کنید."))
    elif day > jdatetime.date.fromgregorian(date=datetime.now(TEHRAN).date()):
        errors.append(gettext("تاریخ نامه نمی‌تواند پس از امروز باشد."))
    if not letter.get("body"):
        errors.append(body_missing)
    return errors


def tracking_number() -> str:
    """«شماره پیگیری»: 10 random digits (issue 10), not starting with 0."""
    return str(secrets.randbelow(9 * 10**9) + 10**9)
