"""The sandbox gateway's pages and API (issue 10).

A merchant registers an order server to server (signed); the citizen's browser then sees the
amount with «پرداخت» and «انصراف» and is returned to the merchant's callback by a form that
submits itself (a «بازگشت به سایت پذیرنده» button without JavaScript) carrying the signed
outcome. The merchant confirms a payment with ``/api/verify``, which says yes once.
"""

import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from babel.numbers import format_decimal
from flask import Blueprint, Flask, abort, jsonify, make_response, render_template, request
from flask_babel import Babel, get_locale, gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from clients.common.i18n import LANGUAGES, current_language, install_filters, local_digits
from clients.paygate import protocol
from clients.paygate.settings import GatewaySettings

COMMON = Path(__file__).parent.parent / "common"
ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$", re.ASCII)
NEW = "new"


@dataclass
class Order:
    order_id: str
    amount: int
    callback_url: str
    state: str = NEW  # then protocol.PAID or protocol.CANCELLED
    ref_id: str = ""
    verified: bool = False


class Orders:
    """The orders this gateway has seen (its whole state, one process's memory)."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._lock = threading.Lock()

    def add(self, order: Order) -> bool:
        with self._lock:
            if order.order_id in self._orders:
                return False
            self._orders[order.order_id] = order
            return True

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def settle(self, order_id: str, state: str) -> Order:
        """The citizen's choice, once: a second press finds the first outcome."""
        with self._lock:
            order = self._orders[order_id]
            if order.state == NEW:
                order.state = state
                order.ref_id = str(secrets.randbelow(9 * 10**11) + 10**11)
            return order

    def verify(self, order_id: str, ref_id: str, amount: int) -> str:
        """``verified`` the first time a paid order is confirmed, never again."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return "unknown_order"
            if order.state != protocol.PAID or order.ref_id != ref_id or order.amount != amount:
                return "not_paid"
            if order.verified:
                return "already_verified"
            order.verified = True
            return "verified"


VERIFY_STATUS = {"verified": 200, "already_verified": 409, "not_paid": 400,
                 "unknown_order": 404}


def create_app(settings: GatewaySettings) -> Flask:
    app = Flask(__name__, static_folder=str(COMMON / "static"), static_url_path="/static")
    app.config.update(SECRET_KEY=secrets.token_bytes(32), SESSION_COOKIE_NAME="paygate_session",
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      BABEL_TRANSLATION_DIRECTORIES=str(COMMON / "translations"))
    app.extensions["paygate"] = settings
    app.extensions["paygate_orders"] = Orders()
    Babel(app, locale_selector=current_language)
    install_filters(app)
    app.jinja_env.filters["rials"] = _rials
    app.context_processor(lambda: {"lang": current_language(),
                                   "text_dir": LANGUAGES[current_language()]["dir"]})
    app.register_blueprint(_blueprint(settings, app.extensions["paygate_orders"],
                                      CSRFProtect(app)))
    app.after_request(_security_headers)
    _error_pages(app)
    return app


def _rials(amount: int) -> str:
    return local_digits(format_decimal(amount, locale=get_locale(), numbering_system="default"))


def _security_headers(response):
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _blueprint(settings: GatewaySettings, orders: Orders, csrf: CSRFProtect) -> Blueprint:
    bp = Blueprint("paygate", __name__, template_folder="templates",
                   static_folder="static", static_url_path="/paygate-static")

    # The API is server to server and signed: no browser session to protect.
    @bp.post(protocol.ORDERS_PATH)
    @csrf.exempt
    def register_order():
        body = request.get_json(silent=True) or {}
        order_id, amount = str(body.get("order_id", "")), body.get("amount")
        callback_url = str(body.get("callback_url", ""))
        if body.get("merchant_id") != settings.merchant_id or not protocol.signed(
                settings.secret, str(body.get("sig", "")), settings.merchant_id, order_id,
                amount, callback_url):
            return jsonify(error="bad_signature"), 403
        if not ORDER_ID.match(order_id) or not isinstance(amount, int) \
                or isinstance(amount, bool) or amount <= 0 \
                or urlsplit(callback_url).scheme not in {"http", "https"}:
            return jsonify(error="invalid_order"), 400
        if not orders.add(Order(order_id, amount, callback_url)):
            return jsonify(error="duplicate_order"), 409
        return jsonify(payment_url=f"{settings.gateway_url}/pay/{order_id}"), 201

    @bp.route("/pay/<order_id>", methods=["GET", "POST"])
    def pay(order_id: str):
        order = orders.get(order_id)
        if order is None:
            abort(404)
        if order.state == NEW and request.method == "GET":
            return render_template("paygate/pay.html", order=order,
                                   merchant=settings.merchant_id)
        if order.state == NEW:
            choice = request.form.get("action")
            if choice not in {"pay", "cancel"}:
                abort(400)
            order = orders.settle(order_id, protocol.PAID if choice == "pay"
                                  else protocol.CANCELLED)
        return _back_to_merchant(order)

    def _back_to_merchant(order: Order):
        fields = {"order_id": order.order_id, "ref_id": order.ref_id,
                  "amount": str(order.amount), "status": order.state,
                  "sig": protocol.callback_signature(settings.secret, order.order_id,
                                                     order.ref_id, order.amount, order.state)}
        response = make_response(render_template("paygate/return.html", order=order,
                                                fields=fields))
        # The only place this page may send the browser: the merchant's callback.
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
            f"form-action {_origin(order.callback_url)}")
        return response

    @bp.post(protocol.VERIFY_PATH)
    @csrf.exempt
    def verify():
        body = request.get_json(silent=True) or {}
        order_id, ref_id, amount = (str(body.get("order_id", "")), str(body.get("ref_id", "")),
                                    body.get("amount"))
        if body.get("merchant_id") != settings.merchant_id or not protocol.signed(
                settings.secret, str(body.get("sig", "")), settings.merchant_id, order_id,
                ref_id, amount):
            return jsonify(status="bad_signature"), 403
        if not isinstance(amount, int) or isinstance(amount, bool):
            return jsonify(status="not_paid"), 400
        status = orders.verify(order_id, ref_id, amount)
        answer = {"status": status}
        if status == "verified":
            answer |= {"order_id": order_id, "ref_id": ref_id, "amount": amount}
        return jsonify(answer), VERIFY_STATUS[status]

    return bp


def _error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(_error):
        return render_template("paygate/error.html", message=gettext(
            "مهلت این صفحه به پایان رسیده است. به سایت پذیرنده بازگردید و دوباره اقدام "
            "کنید.")), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify(error=error.name), error.code
        message = gettext("سفارش پرداختی با این شماره یافت نشد.") if error.code == 404 \
            else gettext("درخواست قابل انجام نبود.")
        return render_template("paygate/error.html", message=message), error.code
