"""The login journey: a plan of steps, one module per step, each its rules plus a thin view.

Importing a step module registers its step (:mod:`flows.plan`) and its views (SPEC §3).
"""

from flask import Blueprint

bp = Blueprint("login", __name__, url_prefix="/login")

from flows import company, consent, finish, identity, mobile, otp, postal, qr  # noqa: E402,F401
