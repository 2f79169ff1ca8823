"""The claims themselves, for the ID token and UserInfo, and the ``claims`` request (SPEC §4).

Claims are computed in one place for the ID token and for UserInfo. The ``claims`` request
parameter (OIDC Core §5.5) can ask for single claims; it releases only claims of scopes the
client is registered for, which the consent page lists.
"""

import json
from collections.abc import Iterable

import jdatetime
from authlib.oidc.core import UserInfo

from idp.models import Account
from idp.scopes import SCOPE_CLAIMS, claims_of, scopes_releasing

CLAIMS_SUPPORTED = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
                    "sid", *(c for claims in SCOPE_CLAIMS.values() for c in claims))


class ClaimsRequestError(ValueError):
    """The ``claims`` parameter is not the JSON object OIDC Core §5.5 describes."""


def parse_claims_request(raw: str | None) -> dict | None:
    """Parse the ``claims`` request parameter (OIDC Core §5.5)."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ClaimsRequestError("claims is not JSON") from exc
    if not isinstance(value, dict):
        raise ClaimsRequestError("claims must be a JSON object")
    for member in ("userinfo", "id_token"):
        part = value.get(member)
        if part is not None and not isinstance(part, dict):
            raise ClaimsRequestError(f"claims.{member} must be an object")
        for name, spec in (part or {}).items():
            if spec is not None and not isinstance(spec, dict):
                raise ClaimsRequestError(f"claims.{member}.{name} must be null or an object")
    return value


def essential_acr_values(claims_request: dict | None) -> list[str] | None:
    """The acr values a ``claims`` request demands as essential (OIDC Core §5.5.1.1)."""
    spec = ((claims_request or {}).get("id_token") or {}).get("acr")
    if not spec or not spec.get("essential"):
        return None
    if "value" in spec:
        return [spec["value"]]
    return list(spec.get("values") or [])


def scopes_for_claims(claims_request: dict | None) -> set[str]:
    """The scopes whose claims a ``claims`` request names individually."""
    wanted = set()
    for member in ("userinfo", "id_token"):
        wanted |= set((claims_request or {}).get(member) or {})
    return scopes_releasing(wanted)


def requested_scopes(params: dict) -> set[str]:
    """The scopes a request asks for, directly or through the ``claims`` parameter."""
    scopes = set(params.get("scope", "").split())
    return scopes | scopes_for_claims(parse_claims_request(params.get("claims")))


def _gender(value: str) -> str:
    return value if value in {"male", "female"} else "other"


def _all_claims(account: Account, locale: str, company: dict | None) -> dict:
    claims: dict = {
        "name": account.full_name,
        "given_name": account.first_name,
        "family_name": account.last_name,
        "gender": _gender(account.gender),
        "birthdate": account.birth_date.isoformat(),
        "birthdate_jalali": jdatetime.date.fromgregorian(date=account.birth_date).isoformat(),
        "father_name": account.father_name,
        "locale": locale,
        "identity_type": account.identity_type,
    }
    if account.mobile:
        claims["phone_number"] = account.mobile
        claims["phone_number_verified"] = True
    if account.email and account.email_verified:
        claims["email"] = account.email
        claims["email_verified"] = True
    if account.confirmed_postal_code:
        # An Iranian postal code is an address in Iran, whatever the citizen's nationality.
        claims["address"] = {"postal_code": account.confirmed_postal_code, "country": "IR"}
    if account.national_code:
        claims["national_code"] = account.national_code
    if account.fida_code:
        claims["fida_code"] = account.fida_code
    if company:
        claims["company"] = company
    return claims


def user_claims(account: Account, scopes: Iterable[str], *, member: str = "userinfo",
                claims_request: dict | None = None, allowed_scopes: Iterable[str] = (),
                locale: str = "fa", company: dict | None = None) -> UserInfo:
    """The claims released for ``scopes`` (plus single claims named in a ``claims`` request)."""
    names = claims_of(scopes)
    requested = set(((claims_request or {}).get(member)) or {})
    allowed = claims_of(allowed_scopes)
    names |= requested & allowed
    values = _all_claims(account, locale, company)
    info = UserInfo(sub=account.id)
    info.update({name: values[name] for name in sorted(names) if name in values})
    return info

