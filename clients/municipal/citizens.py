"""A citizen's record from the national login's claims (seed 000's registration fields)."""

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from clients.municipal.models import Citizen

# The seed's form checks the address "after it is typed"; this is the usual shape, with the
# Persian digits and spaces a phone keyboard may add left out by the form.
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$", re.ASCII)

# The services of the citizen account, shown on its home page.
SERVICES = (
    {"id": "profile", "endpoint": "municipal.profile",
     "title": _l("اطلاعات شهروندی"),
     "text": _l("نام، کد ملی، تاریخ تولد، جنسیت، کد پستی و تلفن همراه شما از پنجره ملی.")},
    {"id": "email", "endpoint": "municipal.email",
     "title": _l("پست الکترونیک"),
     "text": _l("نشانی ایمیلی که شهرداری برای اطلاع‌رسانی به شما به کار می‌برد.")},
    {"id": "support", "endpoint": "municipal.support",
     "title": _l("پاسخگویی به مشکلات"),
     "text": _l("تماس با تیم پشتیبانی و ارسال انتقادات و پیشنهادات.")},
)


def upsert(db: Session, claims: dict) -> Citizen:
    """The citizen of these claims, created on first login and brought up to date on each:
    the national login is the source of truth for every field it releases."""
    citizen = db.scalar(select(Citizen).where(Citizen.subject == claims["sub"]))
    if citizen is None:
        citizen = Citizen(subject=claims["sub"])
        db.add(citizen)
    citizen.national_code = claims.get("national_code") or claims.get("fida_code")
    citizen.given_name = claims.get("given_name", "")
    citizen.family_name = claims.get("family_name", "")
    citizen.birth_date = claims.get("birthdate")
    citizen.gender = claims.get("gender")
    citizen.postal_code = (claims.get("address") or {}).get("postal_code")
    citizen.mobile = claims.get("phone_number")
    if claims.get("email") and claims.get("email_verified"):
        # OIDC Core §5.7: only a verified address stands in for the one the form asked for.
        citizen.email, citizen.email_source = claims["email"], "provider"
    db.commit()
    return citizen


def normalise_email(text: str) -> str:
    """Trim what a keyboard adds around an address (spaces, bidi marks, ZWNJ)."""
    return re.sub(r"[\s\u200c\u200e\u200f\u202a-\u202e]", "", text).lower()


def valid_email(text: str) -> bool:
    return len(text) <= 254 and EMAIL.match(text) is not None


def local_mobile(e164: str | None) -> str:
    """SPEC §8: mobiles are shown as 09…"""
    if not e164:
        return ""
    return "0" + e164[3:] if e164.startswith("+98") else e164
