"""The claims themselves, for the ID token and UserInfo, and the ``claims`` request (SPEC §4).

Claims are computed in one place for the ID token and for UserInfo. The ``claims`` request
parameter (OIDC Core §5.5) can ask for single claims; it releases only claims of scopes the
client is registered for, which the consent page lists. It can also ask for ``verified_claims``
(:mod:`idp.oidc.verified_claims`, issue 11).
"""

import json
import time
from collections.abc import Iterable

import jdatetime
from authlib.oidc.core import UserInfo

from idp.models import Account
from idp.oidc import verified_claims
from idp.scopes import SCOPE_CLAIMS, claims_of, scopes_releasing
from idp.services import services
from idp.verification import latest_verification

CLAIMS_SUPPORTED = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
                    "sid", *(c for claims in SCOPE_CLAIMS.values() for c in claims),
                    "verified_claims")


class ClaimsRequestError(ValueError):
    """The ``claims`` parameter is not the JSON object OIDC Core §5.5 describes."""


# The claims parameter is small by nature (a few claim names per member); these bounds keep a
# crafted one from costing memory, recursion or a 500 (issue 6: crafted input). The depth is
# the deepest path of the OIDF verified_claims request schema (issue 11): claims, id_token,
# the array, its element, verification, assurance_process, assurance_details, its entry,
# evidence_ref, its entry, evidence_metadata, evidence_classification, its values.
CLAIMS_MAX_CHARS = 4096
CLAIMS_MAX_DEPTH = 13
CLAIMS_MAX_OBJECTS = 256
SCALARS = (str, int, float, bool)


def _depth(value: object) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _check_claim_spec(where: str, spec: object) -> None:
    """OIDC Core §5.5.1: null, or an object with ``essential``, ``value`` or ``values``."""
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise ClaimsRequestError(f"{where} must be null or an object")
    if "essential" in spec and not isinstance(spec["essential"], bool):
        raise ClaimsRequestError(f"{where}.essential must be a boolean")
    if "value" in spec and not isinstance(spec["value"], SCALARS):
        raise ClaimsRequestError(f"{where}.value must be a string, number or boolean")
    if "values" in spec and not (isinstance(spec["values"], list) and
                                 all(isinstance(v, SCALARS) for v in spec["values"])):
        raise ClaimsRequestError(f"{where}.values must be an array of strings or numbers")


def parse_claims_request(raw: str | None) -> dict | None:
    """Parse the ``claims`` request parameter (OIDC Core §5.5), bounded in size and depth."""
    if not raw:
        return None
    if len(raw) > CLAIMS_MAX_CHARS:
        raise ClaimsRequestError("claims is too long")
    # Counting brackets bounds the nesting before the parser recurses into it.
    if raw.count("{") + raw.count("[") > CLAIMS_MAX_OBJECTS:
        raise ClaimsRequestError("claims is nested too deeply")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ClaimsRequestError("claims is not JSON") from exc
    if not isinstance(value, dict):
        raise ClaimsRequestError("claims must be a JSON object")
    if _depth(value) > CLAIMS_MAX_DEPTH:
        raise ClaimsRequestError("claims is nested too deeply")
    for member in ("userinfo", "id_token"):
        part = value.get(member)
        if part is not None and not isinstance(part, dict):
            raise ClaimsRequestError(f"claims.{member} must be an object")
        for name, spec in (part or {}).items():
            if name == "verified_claims":
                try:
                    verified_claims.check_request(f"claims.{member}.{name}", spec)
                except ValueError as exc:
                    raise ClaimsRequestError(str(exc)) from exc
            else:
                _check_claim_spec(f"claims.{member}.{name}", spec)
    return value


def essential_acr_values(claims_request: dict | None) -> list[str] | None:
    """The acr values a ``claims`` request demands as essential (OIDC Core §5.5.1.1)."""
    spec = ((claims_request or {}).get("id_token") or {}).get("acr")
    if not spec or not spec.get("essential"):
        return None
    if "value" in spec:
        return [str(spec["value"])]
    return [str(v) for v in spec.get("values") or []]


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
    if account.verified_email:
        # OIDC Core §5.4: only a verified address (national or confirmed by the citizen).
        claims["email"] = account.verified_email
        claims["email_verified"] = True
    if account.registry_postal_code and \
            account.confirmed_postal_code == account.registry_postal_code:
        # SPEC §4: the registry's postal code, once the citizen confirmed it; a code they typed
        # instead is a pending address-update request, theirs alone (their account page).
        # An Iranian postal code is an address in Iran, whatever the citizen's nationality.
        claims["address"] = {"postal_code": account.registry_postal_code, "country": "IR"}
    if account.national_code:
        claims["national_code"] = account.national_code
    if account.fida_code:
        claims["fida_code"] = account.fida_code
    if company:
        claims["company"] = company
    return claims


def _verified_claims(account: Account, request: object, allowed_scopes: Iterable[str],
                     requested_at: int | None) -> dict | list | None:
    """The answer to a ``verified_claims`` request, from the account's latest verification."""
    verification = latest_verification(account.id)
    if verification is None:
        return None
    return verified_claims.answer(request, verified_claims.Facts(
        account=account, verification=verification, settings=services().settings,
        allowed_scopes=set(allowed_scopes),
        requested_at=int(time.time()) if requested_at is None else requested_at))


def user_claims(account: Account, scopes: Iterable[str], *, member: str = "userinfo",
                claims_request: dict | None = None, allowed_scopes: Iterable[str] = (),
                locale: str = "fa", company: dict | None = None,
                requested_at: int | None = None) -> UserInfo:
    """The claims released for ``scopes`` (plus single claims named in a ``claims`` request,
    ``verified_claims`` measured against ``requested_at``, when the request was made), and
    ``company`` when this login was a company login."""
    names = claims_of(scopes)
    asked = ((claims_request or {}).get(member)) or {}
    allowed = claims_of(allowed_scopes)
    names |= set(asked) & allowed
    if company:
        # Issue 8: a company login always says so, also to a legal-entity client that did not
        # ask for the ``company`` scope.
        names.add("company")
    values = _all_claims(account, locale, company)
    info = UserInfo(sub=account.id)
    info.update({name: values[name] for name in sorted(names) if name in values})
    if "verified_claims" in asked:
        answer = _verified_claims(account, asked["verified_claims"], allowed_scopes,
                                  requested_at)
        if answer is not None:
            info["verified_claims"] = answer
    return info

