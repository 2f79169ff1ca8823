"""«عوارض نوسازی» paid online (issue 10, seed 003): orders for a renovation code's dues, sent to
the payment gateway (``clients/paygate``), and the gateway's ``POST /payment/callback``.

The callback is believed only as far as it can be checked: its ``sig`` must be the gateway's,
for an open order of this app with that very amount, and the gateway must then confirm the
payment server to server. Nothing comes from the session cookie (the browser returning from the
bank may not bring it). A payment counts once: the order moves from open to paid by a
conditional update, and the gateway's reference number is unique.
"""

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from babel.numbers import format_decimal
from flask import Blueprint, Flask, current_app, redirect, render_template, request
from flask_babel import get_locale, gettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clients.common.app import current_rp
from clients.common.i18n import local_digits
from clients.common.sessions import utcnow
from clients.municipal import lifecycle
from clients.municipal.models import Payment, ServiceRequest
from clients.municipal.registry import PropertyRegistry, normalise
from clients.paygate import protocol

bp = Blueprint("payments", __name__)

OPEN, PAID, CANCELLED = "open", "paid", "cancelled"
GATEWAY_TIMEOUT_SECONDS = 10
CALLBACK_FIELDS = ("order_id", "ref_id", "amount", "status", "sig")


class GatewayUnavailable(Exception):
    """The gateway did not answer (or answered nonsense): nothing was paid or counted."""


class NothingOwed(Exception):
    """A payment was asked for a code that owes nothing."""


def paid_here(db: Session, renovation_code: str) -> int:
    """Rials paid through this app for the code (verified payments only)."""
    return db.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.renovation_code == normalise(renovation_code), Payment.state == PAID)) or 0


def dues_owed(db: Session, registry: PropertyRegistry, renovation_code: str) -> int:
    """The registry's unpaid dues of the code less what was paid here since (never below 0)."""
    found = registry.find(renovation_code)
    if found is None:
        return 0
    return max(found.dues_rials - paid_here(db, renovation_code), 0)


def start_payment(db: Session, registry: PropertyRegistry, citizen_id: int,
                  renovation_code: str, *, return_to: str, request_id: int | None = None,
                  draft_id: str | None = None):
    """Open an order for what the code owes now, register it with the gateway, and return the
    redirect that sends the browser there. After the callback the citizen is offered
    ``return_to`` (a path of this app) to go on.

    Raises :class:`NothingOwed` when nothing is owed and :class:`GatewayUnavailable` when the
    gateway cannot take the order (the app shows a Persian page for it).
    """
    amount = dues_owed(db, registry, renovation_code)
    if amount <= 0:
        raise NothingOwed
    settings = current_app.extensions["municipal"].payment
    # One open order per code: one left at the bank is closed, so that its late callback
    # cannot pay the same dues a second time.
    db.execute(update(Payment).where(Payment.renovation_code == normalise(renovation_code),
                                     Payment.state == OPEN)
               .values(state=CANCELLED, updated_at=utcnow()))
    order = Payment(order_id=secrets.token_hex(12), citizen_id=citizen_id,
                    renovation_code=normalise(renovation_code), amount=amount,
                    request_id=request_id, draft_id=draft_id, return_to=_local(return_to),
                    state=OPEN)
    db.add(order)
    db.commit()
    callback_url = current_rp().config.base_url + "/payment/callback"
    body = {"merchant_id": settings.merchant_id, "order_id": order.order_id, "amount": amount,
            "callback_url": callback_url,
            "sig": protocol.order_signature(settings.secret, settings.merchant_id,
                                            order.order_id, amount, callback_url)}
    try:
        answer = _call_gateway(protocol.ORDERS_PATH, body)
        payment_url = answer.json().get("payment_url", "")
        if answer.status_code != 201 or not _same_origin(payment_url):
            current_app.logger.warning("gateway refused an order: HTTP %s", answer.status_code)
            raise GatewayUnavailable
    except GatewayUnavailable:
        _close(db, order, CANCELLED)  # never at the bank: no callback will come for it
        raise
    return redirect(payment_url, 303)


def _call_gateway(path: str, body: dict) -> requests.Response:
    url = current_app.extensions["municipal"].payment.gateway_url.rstrip("/") + path
    try:
        answer = requests.post(url, json=body, timeout=GATEWAY_TIMEOUT_SECONDS)
        if not isinstance(answer.json(), dict):
            raise ValueError("not a JSON object")
    except (requests.RequestException, ValueError) as error:
        current_app.logger.warning("payment gateway unreachable: %s", type(error).__name__)
        raise GatewayUnavailable from None
    return answer


def _same_origin(url: str) -> bool:
    """The gateway sends the browser only to itself."""
    gateway = urlsplit(current_app.extensions["municipal"].payment.gateway_url)
    target = urlsplit(url)
    return (target.scheme, target.netloc) == (gateway.scheme, gateway.netloc)


def _local(path: str) -> str:
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        raise ValueError("return_to must be a path of this app")
    return path


@dataclass(frozen=True)
class Outcome:
    """What the callback page says: a title, a message, and how it ended."""

    status: int
    title: str
    message: str
    order: Payment | None = None
    retry: bool = False  # the same callback may be posted again (the gateway was down)


@bp.post("/payment/callback")
def callback():
    """The browser back from the gateway (issue 10): believe the fields only once checked."""
    outcome = receive(current_rp().db.session, {key: request.form.get(key, "").strip()
                                                for key in CALLBACK_FIELDS})
    return render_template("payments/callback.html", outcome=outcome,
                           fields={key: request.form.get(key, "") for key in CALLBACK_FIELDS}
                           if outcome.retry else {}), outcome.status


def receive(db: Session, fields: dict[str, str]) -> Outcome:
    """Check a callback and count its payment once; every refusal is its own Persian page."""
    settings = current_app.extensions["municipal"].payment
    if not all(fields.values()) or fields["status"] not in protocol.STATUSES \
            or not fields["amount"].isascii() or not fields["amount"].isdigit():
        return _refused(gettext("اطلاعات بازگشتی از درگاه پرداخت ناقص یا نادرست است."))
    if not protocol.signed(settings.secret, fields["sig"], fields["order_id"], fields["ref_id"],
                           fields["amount"], fields["status"]):
        current_app.logger.warning("payment callback with a bad signature")
        return _refused(gettext("امضای پاسخ درگاه پرداخت معتبر نیست؛ این پرداخت پذیرفته "
                                "نشد."))
    order = db.scalar(select(Payment).where(Payment.order_id == fields["order_id"]))
    if order is None:
        return _refused(gettext("سفارش پرداختی با این شماره در سامانه وجود ندارد."), 404)
    if int(fields["amount"]) != order.amount:
        current_app.logger.warning("payment callback amount differs from the order")
        return _refused(gettext("مبلغ پرداخت با مبلغ سفارش همخوانی ندارد؛ این پرداخت پذیرفته "
                                "نشد."), order=order)
    if order.state != OPEN:
        return _refused(gettext("این پرداخت پیش‌تر ثبت شده است و دوباره محاسبه نمی‌شود.")
                        if order.state == PAID else
                        gettext("این سفارش پرداخت بسته شده است. برای پرداخت دوباره اقدام "
                                "کنید."), 409, order)
    if fields["status"] == protocol.CANCELLED:
        _close(db, order, CANCELLED)
        return Outcome(200, gettext("پرداخت انجام نشد"),
                       gettext("پرداخت در درگاه لغو شد و مبلغی از حساب شما برداشت نشد."), order)
    return _verify_and_count(db, order, fields["ref_id"])


def _verify_and_count(db: Session, order: Payment, ref_id: str) -> Outcome:
    settings = current_app.extensions["municipal"].payment
    if dues_owed(db, current_app.extensions["municipal_registry"],
                 order.renovation_code) < order.amount:
        # Another order paid these dues meanwhile: not verified, so the bank returns this one.
        _close(db, order, CANCELLED)
        return _refused(gettext("بدهی این کدنوسازی پیش‌تر تسویه شده است؛ این پرداخت تأیید "
                                "نشد و مبلغ آن از سوی بانک بازگردانده می‌شود."), 409, order)
    body = {"merchant_id": settings.merchant_id, "order_id": order.order_id, "ref_id": ref_id,
            "amount": order.amount,
            "sig": protocol.verify_signature(settings.secret, settings.merchant_id,
                                             order.order_id, ref_id, order.amount)}
    try:
        answer = _call_gateway(protocol.VERIFY_PATH, body)
    except GatewayUnavailable:
        return Outcome(503, gettext("خطا در ارتباط با درگاه پرداخت"), gettext(
            "ارتباط با درگاه پرداخت برای تأیید پرداخت برقرار نشد و پرداخت شما هنوز ثبت نشده "
            "است. چند دقیقه دیگر «تلاش دوباره» را بزنید."), order, retry=True)
    verdict = answer.json()
    if verdict.get("status") == "already_verified":
        # The same callback, answered a moment ago (a double click, a replay): counted once.
        return _refused(gettext("این پرداخت پیش‌تر ثبت شده است و دوباره محاسبه نمی‌شود."),
                        409, order)
    if answer.status_code != 200 or verdict.get("status") != "verified" \
            or verdict.get("ref_id") != ref_id or verdict.get("amount") != order.amount:
        current_app.logger.warning("gateway did not verify a callback: %s",
                                   verdict.get("status"))
        return _refused(gettext("درگاه پرداخت این پرداخت را تأیید نکرد؛ مبلغی برای این "
                                "سفارش ثبت نشد."), order=order)
    counted = db.execute(update(Payment).where(Payment.id == order.id, Payment.state == OPEN)
                         .values(state=PAID, ref_id=ref_id, updated_at=utcnow())).rowcount
    db.commit()
    if counted != 1:
        return _refused(gettext("این پرداخت پیش‌تر ثبت شده است و دوباره محاسبه نمی‌شود."),
                        409, order)
    db.refresh(order)
    if order.request_id is not None:
        settle_request(db, db.get(ServiceRequest, order.request_id))
    return Outcome(200, gettext("پرداخت موفق"), gettext(
        "پرداخت عوارض نوسازی با موفقیت انجام شد."), order)


def settle_request(db: Session, item: ServiceRequest) -> None:
    """A request awaiting payment whose code owes nothing now is ready (texted)."""
    if item.state != lifecycle.AWAITING_PAYMENT or dues_owed(
            db, current_app.extensions["municipal_registry"], item.renovation_code):
        return
    if lifecycle.advance(db, item, "pay", lifecycle.READY, by="payment"):
        lifecycle.text(item, gettext(
            "عوارض نوسازی درخواست %(number)s پرداخت شد؛ گواهی آماده صدور است.",
            number=item.tracking_number))


def _close(db: Session, order: Payment, state: str) -> None:
    db.execute(update(Payment).where(Payment.id == order.id, Payment.state == OPEN)
               .values(state=state, updated_at=utcnow()))
    db.commit()
    db.refresh(order)


def _refused(message: str, status: int = 400, order: Payment | None = None) -> Outcome:
    return Outcome(status, gettext("پرداخت پذیرفته نشد"), message, order)


def _gateway_down(_error: GatewayUnavailable):
    return render_template("common/error.html", title=gettext("خطا در ارتباط با درگاه پرداخت"),
                           message=gettext("ارتباط با درگاه پرداخت برقرار نشد و مبلغی برداشت "
                                           "نشد. لطفا چند دقیقه دیگر دوباره تلاش کنید.")), 503


def gateway_origin(gateway_url: str) -> str:
    """The gateway's origin, where the app's forms may send the browser (CSP form-action)."""
    parts = urlsplit(gateway_url)
    return f"{parts.scheme}://{parts.netloc}"


def rials(amount: int) -> str:
    """An amount grouped by thousands as the page's language groups it (Babel's locale data),
    in its digits."""
    return local_digits(format_decimal(amount, locale=get_locale(), numbering_system="default"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.filters["rials"] = rials
    # The gateway posts the callback from its own page: its signature stands in for CSRF.
    app.extensions["rp"].csrf.exempt(callback)
    app.register_error_handler(GatewayUnavailable, _gateway_down)
