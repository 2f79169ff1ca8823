"""The login journey: one module per step, each its rules plus a thin view (SPEC §3)."""

from flask import Blueprint

bp = Blueprint("login", __name__, url_prefix="/login")

from flows import consent, identity, mobile, otp, postal  # noqa: E402,F401  (register views)
