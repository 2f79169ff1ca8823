"""The phone app: paired device keys and its JSON interface (pairing, QR scan and approval),
the citizen's «دستگاه‌ها» tab, and the page a QR code opens in an ordinary camera app."""

from flask import Blueprint

bp = Blueprint("devices", __name__)

from idp.devices import account, api, landing  # noqa: E402,F401
