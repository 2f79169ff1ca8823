"""``verified_claims``: the registry checks as OpenID Connect for Identity Assurance 1.0 (issue 11).

A client asks through the ``claims`` parameter (OIDC Core §5.5) for
``"verified_claims": {"verification": {…}, "claims": {…}}`` (or an array of them) under
``id_token`` or ``userinfo``. :func:`check_request` refuses what the OIDF request schema
(``verified_claims_request.json``) refuses, except that ``trust_framework`` may be left out;
:func:`answer` builds the answer from the account's latest verification
(:mod:`idp.verification`): only what was asked for, ``trust_framework`` always, and an element
whose constraints cannot be met left out, never an error (OIDC4IDA §6.7).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from idp.identifiers import normalize_mobile, normalize_name, to_ascii_digits
from idp.models import Account, Verification
from idp.settings import Settings
from idp.verification import CIVIL, FOREIGNERS, SHAHKAR, timestamp


@dataclass(frozen=True)
class VerifiedClaim:
    name: str
    scope: str  # the client must be registered for it, as for the claim outside
    description: object  # a lazy translation, for the consent page


# The claims that may be inside verified_claims, in reading order (discovery, consent page).
CATALOGUE: tuple[VerifiedClaim, ...] = (
    VerifiedClaim("given_name", "profile", _l("نام")),
    VerifiedClaim("family_name", "profile", _l("نام خانوادگی")),
    VerifiedClaim("name", "profile", _l("نام و نام خانوادگی")),
    VerifiedClaim("birthdate", "profile", _l("تاریخ تولد")),
    VerifiedClaim("gender", "profile", _l("جنسیت")),
    VerifiedClaim("father_name", "profile", _l("نام پدر")),
    VerifiedClaim("nationalities", "profile", _l("تابعیت")),
    VerifiedClaim("national_code", "national_id", _l("کد ملی")),
    VerifiedClaim("fida_code", "national_id", _l("کد فیدا")),
    VerifiedClaim("phone_number", "phone", _l("شماره تلفن همراه")),
    VerifiedClaim("address", "address", _l("کد پستی نشانی محل اقامت")),
)
CLAIMS_IN_VERIFIED_CLAIMS = tuple(claim.name for claim in CATALOGUE)
EVIDENCE_SUPPORTED = ("electronic_record",)
ELECTRONIC_RECORDS_SUPPORTED = ("population_register", "mno")
# The evidence types the OIDF request schema knows (verified_claims_request.json).
EVIDENCE_TYPES = ("document", "electronic_record", "vouch", "electronic_signature")
NAMES = {"given_name", "family_name", "name", "father_name"}
SCALARS = (str, int, float, bool)


# --- the request ---------------------------------------------------------------------------------

def _fail(where: str, problem: str) -> None:
    raise ValueError(f"{where} {problem}")


def _object(where: str, value: object) -> dict:
    if not isinstance(value, dict):
        _fail(where, "must be an object")
    return value


def _simple(where: str, value: object) -> dict:
    """null or ``{"essential": boolean}``: the simple element of the request schema."""
    if value is None:
        return {}
    spec = _object(where, value)
    if "essential" in spec and not isinstance(spec["essential"], bool):
        _fail(f"{where}.essential", "must be a boolean")
    return spec


def _constrainable(where: str, value: object) -> None:
    spec = _simple(where, value)
    if "value" in spec and not isinstance(spec["value"], str):
        _fail(f"{where}.value", "must be a string")
    values = spec.get("values")
    if "values" in spec and not (isinstance(values, list) and values and
                                 all(isinstance(v, str) for v in values)):
        _fail(f"{where}.values", "must be a non-empty array of strings")


def _datetime(where: str, value: object) -> None:
    spec = _simple(where, value)
    if "max_age" in spec and _seconds(spec["max_age"]) is None:
        # OIDC4IDA §6.6.2 and the request schema: max_age is a non-negative integer.
        _fail(f"{where}.max_age", "must be a non-negative integer")


def _seconds(value: object) -> int | None:
    """A JSON integer of seconds (``5.0`` is one, as in JSON Schema), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if value >= 0 else None


def _members(where: str, value: object, rules: dict) -> None:
    """An object whose known members follow ``rules``; the request schema lets others be."""
    for name, member in _object(where, value).items():
        if name in rules:
            rules[name](f"{where}.{name}", member)


def _array(where: str, value: object, item) -> None:
    if not isinstance(value, list) or not value:
        _fail(where, "must be a non-empty array")
    for index, entry in enumerate(value):
        item(f"{where}[{index}]", entry)


def _check_detail(where: str, value: object) -> None:
    if "check_method" not in _object(where, value):
        _fail(where, "must name check_method")
    _members(where, value, {"check_method": _constrainable, "check_id": _constrainable,
                            "organization": _constrainable, "time": _datetime})


SOURCE_MEMBERS = ("country", "country_code", "formatted", "jurisdiction", "locality", "name",
                  "postal_code", "region", "street_address")


def _source(where: str, value: object) -> None:
    _members(where, value, dict.fromkeys(SOURCE_MEMBERS, _simple))


def _record(where: str, value: object) -> None:
    _members(where, value, {"type": _constrainable, "created_at": _datetime,
                            "date_of_expiry": _datetime, "source": _source})


def _evidence_type(where: str, value: object) -> None:
    spec = _object(where, value)
    # OIDC4IDA §6.5: the evidence type is named with value; values shall not be used.
    if "values" in spec:
        _fail(f"{where}.values", "must not be used for the evidence type")
    if "value" in spec and spec["value"] not in EVIDENCE_TYPES:
        _fail(f"{where}.value", "is not an evidence type")
    _simple(where, spec)


def _evidence(where: str, value: object) -> None:
    if "type" not in _object(where, value):
        _fail(where, "must name its type")
    _members(where, value, {"type": _evidence_type, "record": _record,
                            "check_details": lambda w, v: _array(w, v, _check_detail)})


def _claim(where: str, value: object) -> None:
    # OIDC Core §5.5.1 for each claim: null, or essential, value or values.
    spec = _simple(where, value)
    if "value" in spec and not isinstance(spec["value"], SCALARS):
        _fail(f"{where}.value", "must be a string, number or boolean")
    if "values" in spec and not (isinstance(spec["values"], list) and
                                 all(isinstance(v, SCALARS) for v in spec["values"])):
        _fail(f"{where}.values", "must be an array of strings or numbers")


def _verification(where: str, value: object) -> None:
    _members(where, value, {
        "trust_framework": _constrainable, "assurance_level": _constrainable,
        "time": _datetime, "verification_process": _simple,
        "evidence": lambda w, v: _array(w, v, _evidence)})


def _element(where: str, value: object) -> None:
    element = _object(where, value)
    for member in ("verification", "claims"):
        if member not in element:
            _fail(where, f"must have {member}")
    _verification(f"{where}.verification", element["verification"])
    claims = element["claims"]
    if claims is not None:
        if not _object(f"{where}.claims", claims):
            _fail(f"{where}.claims", "must name at least one claim")
        for name, spec in claims.items():
            _claim(f"{where}.claims.{name}", spec)


def check_request(where: str, value: object) -> None:
    """Raise ValueError unless ``value`` is a ``verified_claims`` request (an object or an
    array of them, OIDC4IDA §6.1-§6.7)."""
    if isinstance(value, list):
        for index, element in enumerate(value):
            _element(f"{where}[{index}]", element)
    elif isinstance(value, dict):
        _element(where, value)
    else:
        _fail(where, "must be an object or an array")


def elements(request: object) -> list[dict]:
    """The request's elements, whether it is one object or an array."""
    return request if isinstance(request, list) else [request]


def strictest_max_age(claims_request: dict | None) -> int | None:
    """The smallest ``verification.time.max_age`` the ``claims`` request names, if any."""
    ages = []
    for member in ("id_token", "userinfo"):
        request = ((claims_request or {}).get(member) or {}).get("verified_claims")
        for element in elements(request) if request is not None else ():
            spec = element["verification"].get("time") or {}
            if "max_age" in spec:
                ages.append(_seconds(spec["max_age"]))
    return min(ages, default=None)


# An Iranian has a national code, a foreign national a FIDA code: never both.
NOT_HELD = {"iranian": "fida_code", "foreign": "national_code"}


def released_claims(claims_request: dict | None, allowed_scopes: Iterable[str],
                    identity_type: str | None = None) -> list:
    """The catalogue entries a ``claims`` request asks for inside verified_claims that the
    client may receive (for the consent page), of a citizen of ``identity_type``."""
    allowed = set(allowed_scopes)
    wanted: set[str] = set()
    for member in ("id_token", "userinfo"):
        request = ((claims_request or {}).get(member) or {}).get("verified_claims")
        for element in elements(request) if request is not None else ():
            names = element["claims"]
            wanted |= set(CLAIMS_IN_VERIFIED_CLAIMS if names is None else names)
    wanted.discard(NOT_HELD.get(identity_type))
    return [c for c in CATALOGUE if c.name in wanted and c.scope in allowed]


# --- the answer ----------------------------------------------------------------------------------

def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _alpha3(alpha2: str) -> str:
    import pycountry  # here: only a foreigner's verified claims need it (issue 9: memory)

    country = pycountry.countries.get(alpha_2=alpha2)
    return country.alpha_3 if country else alpha2


def _evidence_of(verification: Verification, settings: Settings) -> list[dict]:
    """Every evidence entry of the verification: the person's record first, then Shahkar."""
    assurance = settings.assurance
    records = {CIVIL: ("population_register", assurance.civil_registry_name),
               FOREIGNERS: ("population_register", assurance.foreigners_registry_name),
               SHAHKAR: ("mno", assurance.mobile_registry_name)}
    entries = []
    for check in sorted(verification.checks, key=lambda c: c.source == SHAHKAR):
        detail = {"check_method": "data", "check_id": check.id, "time": _iso(check.checked_at)}
        if assurance.check_organization:
            detail["organization"] = assurance.check_organization
        kind, name = records[check.source]
        entries.append({"type": "electronic_record", "check_details": [detail],
                        "record": {"type": kind,
                                   "source": {"name": name, "country_code": "IRN"}}})
    return entries


def _claim_values(account: Account, verification: Verification) -> dict:
    values = {
        "given_name": account.first_name, "family_name": account.last_name,
        "name": account.full_name, "birthdate": account.birth_date.isoformat(),
        "gender": account.gender, "father_name": account.father_name,
        "nationalities": [_alpha3(account.nationality)],
        "national_code": account.national_code, "fida_code": account.fida_code,
        "phone_number": verification.mobile,
    }
    if account.registry_postal_code:
        # The registry's code, never one the citizen typed (a pending update request).
        values["address"] = {"postal_code": account.registry_postal_code,
                             "country_code": "IRN"}
    return {name: value for name, value in values.items() if value}


def _constraint(spec: object) -> list | None:
    """The values a request element allows (OIDC Core §5.5.1), None when it allows any."""
    if not isinstance(spec, dict):
        return None
    if "value" in spec:
        return [spec["value"]]
    return spec.get("values")


def _meets(actual: object, spec: object) -> bool:
    allowed = _constraint(spec)
    return allowed is None or actual in allowed


def _same_name(a: str, b: str) -> bool:
    # SPEC §8: Arabic ي/ى and ك are Persian ی and ک; spaces and ZWNJ do not count.
    def key(text: str) -> str:
        return normalize_name(text).replace(" ", "").replace("\u200c", "")
    return key(a) == key(b)


def _claim_meets(name: str, actual: object, spec: object) -> bool:
    allowed = _constraint(spec)
    if allowed is None:
        return True
    for candidate in allowed:
        if name in NAMES and isinstance(candidate, str) and _same_name(candidate, actual):
            return True
        if name == "nationalities" and isinstance(candidate, str) and \
                candidate.upper() in actual:
            return True
        if name in ("national_code", "fida_code") and isinstance(candidate, str) and \
                to_ascii_digits(candidate) == actual:
            return True
        if name == "phone_number" and isinstance(candidate, str) and \
                normalize_mobile(candidate) == actual:
            return True
        if candidate == actual:
            return True
    return False


def _older_than(at: datetime, spec: object, requested_at: int) -> bool:
    """Whether ``at`` is older than the spec's ``max_age`` at ``requested_at``."""
    max_age = _seconds(spec.get("max_age")) if isinstance(spec, dict) else None
    return max_age is not None and requested_at - timestamp(at) > max_age


def _shape_check(detail: dict, requests: list, checked_at: datetime,
                 requested_at: int) -> dict | None:
    """The check's details as the first request entry it meets shapes them (OR, §6.5)."""
    for request in requests:
        if not all(_meets(detail.get(name), request.get(name))
                   for name in ("check_method", "check_id", "organization")):
            continue
        if _older_than(checked_at, request.get("time"), requested_at):
            continue
        return {name: value for name, value in detail.items()
                if name == "check_method" or name in request}
    return None


def _shape_evidence(entry: dict, request: dict, checks: dict, requested_at: int) -> dict | None:
    """The entry as ``request`` filters and shapes it (OIDC4IDA §6.5), None when it does not
    meet the request's constraints."""
    if not _meets(entry["type"], request["type"]):
        return None
    shaped: dict = {"type": entry["type"]}
    if "check_details" in request:
        kept = [c for c in (_shape_check(detail, request["check_details"],
                                         checks[detail["check_id"]], requested_at)
                            for detail in entry["check_details"]) if c]
        if not kept:
            return None
        shaped["check_details"] = kept
    if "record" in request:
        record, wanted = entry["record"], request["record"]
        if wanted is None:
            shaped["record"] = record
        else:
            if not _meets(record["type"], wanted.get("type")):
                return None
            # The record's type is required in an answer (verified_claims.json).
            shaped["record"] = {"type": record["type"]}
            if "source" in wanted:
                source = record["source"] if wanted["source"] is None else {
                    k: v for k, v in record["source"].items() if k in wanted["source"]}
                if source:
                    shaped["record"]["source"] = source
    return shaped


def _has_constraint(spec: object) -> bool:
    if isinstance(spec, dict):
        return "value" in spec or "values" in spec or any(map(_has_constraint, spec.values()))
    if isinstance(spec, list):
        return any(map(_has_constraint, spec))
    return False


@dataclass
class Facts:
    """What an answer is made of."""

    account: Account
    verification: Verification
    settings: Settings
    allowed_scopes: set[str]
    requested_at: int


def _answer_element(element: dict, facts: Facts) -> dict | None:
    wanted = element["verification"]
    framework = facts.settings.trust_framework
    verified_at = facts.verification.verified_at
    # OIDC4IDA §6.7.4: an unmet requirement within verification omits the whole element.
    if not _meets(framework, wanted.get("trust_framework")):
        return None
    if _older_than(verified_at, wanted.get("time"), facts.requested_at):
        return None
    if any(_has_constraint(wanted.get(name)) for name in ("assurance_level",
                                                          "assurance_process")):
        return None  # no assurance level or process to meet them with
    verification: dict = {"trust_framework": framework}
    if "time" in wanted:
        verification["time"] = _iso(verified_at)
    if "verification_process" in wanted:
        verification["verification_process"] = facts.verification.id
    if "evidence" in wanted:
        checks = {c.id: c.checked_at for c in facts.verification.checks}
        evidence = []
        for entry in _evidence_of(facts.verification, facts.settings):
            shaped = next((s for s in (_shape_evidence(entry, request, checks,
                                                       facts.requested_at)
                                       for request in wanted["evidence"]) if s), None)
            if shaped:
                evidence.append(shaped)
        if not evidence:
            return None
        verification["evidence"] = evidence
    values = _claim_values(facts.account, facts.verification)
    requested = element["claims"]
    claims = {}
    for claim in CATALOGUE:
        if claim.scope not in facts.allowed_scopes or claim.name not in values:
            continue
        if requested is None or (claim.name in requested and _claim_meets(
                claim.name, values[claim.name], requested[claim.name])):
            claims[claim.name] = values[claim.name]
    if not claims:
        return None
    return {"verification": verification, "claims": claims}


def answer(request: object, facts: Facts) -> dict | list | None:
    """The ``verified_claims`` answer to ``request``, or None when nothing of it can be met."""
    if isinstance(request, list):
        answers = [a for a in (_answer_element(e, facts) for e in request) if a]
        return answers or None
    return _answer_element(request, facts)
