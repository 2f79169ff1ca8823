"""The history tab (سوابق ورود): recent logins and security events from the audit trail,
newest first, a page at a time (issue 12)."""

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from idp.account_page import bp, render_tab, tab
from idp.account_tabs.describe import browser_of, jalali
from idp.models import AuditEvent, Client
from idp.services import services

PAGE_SIZE = 15

# What the citizen sees of each event, and whether it went their way. Events not named here
# (tokens issued to a service, for instance) are bookkeeping, not something to review.
EVENTS: dict[str, tuple[object, bool]] = {
    "login.success": (_l("ورود موفق"), True),
    "login.otp_failed": (_l("رمز یکبار مصرف نادرست"), False),
    "logout": (_l("خروج"), True),
    "session.ended": (_l("پایان نشست از حساب کاربری"), True),
    "session.replaced": (_l("پایان نشست با ورود دوباره"), True),
    "account.created": (_l("ایجاد حساب کاربری"), True),
    "identity.verified": (_l("احراز هویت"), True),
    "account.mobile_unlinked": (_l("جدا شدن شماره تلفن همراه از حساب"), False),
    "account.mobile_code_sent": (_l("درخواست تغییر شماره تلفن همراه"), True),
    "account.mobile_change_refused": (_l("رد تغییر شماره تلفن همراه (شاهکار)"), False),
    "account.mobile_change_failed": (_l("رمز نادرست برای تغییر شماره تلفن همراه"), False),
    "account.mobile_changed": (_l("تغییر شماره تلفن همراه"), True),
    "account.email_verification_sent": (_l("ارسال رمز تایید ایمیل"), True),
    "account.email_verification_failed": (_l("رمز نادرست برای تایید ایمیل"), False),
    "account.email_verified": (_l("ایمیل تایید شد"), True),
    "account.email_removed": (_l("حذف ایمیل شخصی"), True),
    "consent.granted": (_l("اجازه دسترسی به سامانه"), True),
    "consent.denied": (_l("رد اجازه دسترسی به سامانه"), True),
    "consent.revoked": (_l("لغو دسترسی سامانه"), True),
    "postal.confirmed": (_l("کد پستی تایید شد"), True),
    "postal.update_requested": (_l("درخواست به روزرسانی نشانی"), True),
    "token.refresh_reuse": (_l("استفاده دوباره از توکن: دسترسی سامانه لغو شد"), False),
}
# RFC 8176 values as the citizen knows them.
METHODS = {("otp", "sms"): _l("رمز یکبار مصرف (پیامک)"),
           ("otp",): _l("رمز یکبار مصرف (ایمیل)")}


def _method(detail: dict) -> str:
    amr = tuple(str(detail.get("amr") or "").split())
    return str(METHODS.get(amr, (amr and " ".join(amr)) or "—"))


def _page_number(count: int) -> tuple[int, int]:
    pages = max(1, -(-count // PAGE_SIZE))
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isascii() and raw.isdigit() else 1
    return min(max(1, number), pages), pages


@tab(bp, "/account/history", _l("سوابق ورود"), order=40)
def history_tab():
    """Logins and security events, newest first, ``?page=N``."""
    account = current_user.account
    db = services().db.session
    mine = (AuditEvent.account_id == account.id, AuditEvent.event.in_(EVENTS))
    count = db.scalar(select(func.count()).select_from(AuditEvent).where(*mine))
    page, pages = _page_number(count)
    rows = db.execute(select(AuditEvent, Client.name)
                      .outerjoin(Client, Client.client_id == AuditEvent.client_id)
                      .where(*mine).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                      .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    events = [{"at": jalali(event.at), "what": str(EVENTS[event.event][0]),
               "ok": EVENTS[event.event][1], "method": _method(event.detail or {}),
               "service": name or "—", "browser": browser_of(event.user_agent),
               "ip": event.ip or ""} for event, name in rows]
    return render_tab("account/history.html", events=events, page=page, pages=pages)
