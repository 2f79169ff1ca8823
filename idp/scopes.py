"""The scope catalogue: the scopes this provider supports, the claims each releases, and how
each is described to the citizen (consent page, account page) in Persian and English (SPEC §4).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Scope:
    name: str
    claims: tuple[str, ...]
    description: object  # a lazy translation, rendered in the citizen's language


# In reading order: the consent and account pages list scopes in this order.
CATALOGUE: tuple[Scope, ...] = (
    Scope("openid", (), _l("شناسایی شما با پنجره ملی خدمات دولت هوشمند")),
    Scope("profile", ("name", "given_name", "family_name", "gender", "birthdate", "locale",
                      "father_name", "birthdate_jalali"),
          _l("نام، نام خانوادگی، نام پدر، جنسیت و تاریخ تولد")),
    Scope("email", ("email", "email_verified"), _l("نشانی ایمیل")),
    Scope("phone", ("phone_number", "phone_number_verified"), _l("شماره تلفن همراه")),
    Scope("address", ("address",), _l("کد پستی نشانی محل اقامت")),
    Scope("national_id", ("identity_type", "national_code", "fida_code"),
          _l("کد ملی یا کد فیدا")),
    Scope("company", ("company",), _l("شرکتی که به عنوان مدیرعامل آن وارد می‌شوید")),
    Scope("offline_access", (),
          _l("دسترسی به اطلاعات شما حتی وقتی در سامانه حضور ندارید")),
    Scope("device:register", (), _l("ثبت این گوشی برای ورود با کد QR")),
    Scope("qr:approve", (), _l("تأیید ورود با کد QR از این گوشی")),
)
# The phone app's scopes (issue 7): only for public first-party clients registered with them
# by name; never part of a client's default scope set.
RESTRICTED_SCOPES = frozenset({"device:register", "qr:approve"})
BY_NAME = {scope.name: scope for scope in CATALOGUE}
SUPPORTED_SCOPES = tuple(BY_NAME)
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {s.name: s.claims for s in CATALOGUE if s.claims}


def claims_of(scopes: Iterable[str]) -> set[str]:
    """The claims that the given scopes release."""
    return {claim for name in scopes for claim in SCOPE_CLAIMS.get(name, ())}


def scopes_releasing(claims: Iterable[str]) -> set[str]:
    """The scopes whose claims include any of ``claims``."""
    wanted = set(claims)
    return {name for name, names in SCOPE_CLAIMS.items() if wanted & set(names)}


def describe(scopes: Iterable[str]) -> list[tuple[str, str]]:
    """(scope, description) for each known scope, in catalogue order."""
    chosen = set(scopes)
    return [(s.name, str(s.description)) for s in CATALOGUE if s.name in chosen]
