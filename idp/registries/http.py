"""The registries over HTTP: a small JSON API in front of the real systems (SPEC §5).

Every request carries ``Authorization: Bearer <token>`` and ``Accept: application/json``. Dates
are Gregorian ISO ``YYYY-MM-DD``. Codes in paths and queries are the normalised ASCII forms.

``GET {base}/civil/persons/{national_code}?birth_date=YYYY-MM-DD``
    200 ``{"national_code", "birth_date", "first_name", "last_name", "father_name",
    "gender": "male"|"female", "postal_code": "…"|null, "email": "…"|null}`` (``email``, the
    national e-mail, may be absent); 404 when the registry does not hold
    this national code with this birth date.

``GET {base}/foreigners/{fida_code}?birth_date=…&id_type=passport|naja|unique_id&id_value=…``
    200 ``{"fida_code", "birth_date", "first_name", "last_name", "father_name", "gender",
    "nationality": "AF", "postal_code": …}``; 404 when code, birth date and identifier do not
    all match one person.

``GET {base}/shahkar/match?mobile=+989…&id_type=iranian|foreign&code=…``
    200 ``{"match": true|false}``.

``GET {base}/companies/{national_id}``
    200 ``{"national_id", "name", "ceo_national_code"}``; 404 when unknown.

Anything else (connection error, timeout, another status, a body that is not this JSON, an
answer about someone else) raises :class:`RegistryUnavailable`. Log lines and exception
messages name the registry and the failure class only: URLs carry national codes, so the
original exception is not chained.
"""

import logging
from datetime import date
from typing import Any
from urllib.parse import quote

import requests

from idp import identifiers
from idp.registries.base import Company, Person, Registries, RegistryUnavailable

log = logging.getLogger(__name__)

_PERSON_TEXT = ("first_name", "last_name", "father_name")


class _Garbage(Exception):
    """The registry answered, but not with the documented JSON."""


class HttpClient:
    """One pooled session for all four registries (base URL, bearer token, timeout)."""

    def __init__(self, base_url: str, token: str, timeout: float,
                 session: requests.Session | None = None) -> None:
        if not base_url:
            raise ValueError("registries: http_base_url is required for the http backend")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json"})
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, registry: str, path: str, params: dict[str, str]) -> dict[str, Any] | None:
        """The JSON object of a 200 answer, or None for 404; anything else is unavailable."""
        try:
            response = self.session.get(self.base_url + path, params=params,
                                        timeout=self.timeout)
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise _Garbage(f"HTTP {response.status_code}")
            body = response.json()
            if not isinstance(body, dict):
                raise _Garbage("not a JSON object")
            return body
        except (requests.RequestException, ValueError, _Garbage) as exc:
            raise unavailable(registry, exc) from None


def unavailable(registry: str, exc: Exception) -> RegistryUnavailable:
    """Log the failure (registry and error class only) and build the exception to raise."""
    reason = str(exc) if isinstance(exc, _Garbage) else type(exc).__name__
    log.warning("registry unavailable: %s (%s)", registry, reason)
    return RegistryUnavailable(f"{registry} registry unavailable: {reason}")


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Garbage(f"field {key} missing")
    return value.strip()


def _person_fields(body: dict[str, Any], birth_date: date) -> dict[str, Any]:
    """The fields every person answer shares, checked against what was asked."""
    gender = body.get("gender")
    if gender not in ("male", "female"):
        raise _Garbage("field gender invalid")
    try:
        answered = date.fromisoformat(_text(body, "birth_date"))
    except ValueError:
        raise _Garbage("field birth_date invalid") from None
    if answered != birth_date:
        raise _Garbage("answer is about another birth date")
    postal_code = body.get("postal_code")
    if postal_code is not None:
        postal_code = identifiers.normalize_postal_code(postal_code) if isinstance(
            postal_code, str) else None
        if postal_code is None:
            raise _Garbage("field postal_code invalid")
    email = body.get("email")
    if email is not None:
        email = identifiers.normalize_email(email) if isinstance(email, str) else None
        if email is None:
            raise _Garbage("field email invalid")
    fields = {key: identifiers.normalize_name(_text(body, key)) for key in _PERSON_TEXT}
    return fields | {"gender": gender, "birth_date": answered, "postal_code": postal_code,
                     "email": email}


class HttpCivilRegistry:
    name = "civil"

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def find_person(self, national_code: str, birth_date: date) -> Person | None:
        code = identifiers.normalize_national_code(national_code)
        if code is None:
            return None
        body = self.client.get(self.name, f"/civil/persons/{quote(code, safe='')}",
                               {"birth_date": birth_date.isoformat()})
        if body is None:
            return None
        try:
            if body.get("national_code") != code:
                raise _Garbage("answer is about another national code")
            return Person(identity_type="iranian", national_code=code, fida_code=None,
                          nationality="IR", **_person_fields(body, birth_date))
        except _Garbage as exc:
            raise unavailable(self.name, exc) from None


class HttpForeignersRegistry:
    name = "foreigners"

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def find_foreigner(self, fida_code: str, birth_date: date, id_type: str,
                       id_value: str) -> Person | None:
        code = identifiers.normalize_fida_code(fida_code)
        value = identifiers.normalize_secondary_id(id_type, id_value)
        if code is None or value is None:
            return None
        body = self.client.get(self.name, f"/foreigners/{quote(code, safe='')}",
                               {"birth_date": birth_date.isoformat(), "id_type": id_type,
                                "id_value": value})
        if body is None:
            return None
        try:
            if body.get("fida_code") != code:
                raise _Garbage("answer is about another FIDA code")
            nationality = _text(body, "nationality")
            if not (len(nationality) == 2 and nationality.isascii() and nationality.isupper()):
                raise _Garbage("field nationality invalid")
            return Person(identity_type="foreign", national_code=None, fida_code=code,
                          nationality=nationality, **_person_fields(body, birth_date))
        except _Garbage as exc:
            raise unavailable(self.name, exc) from None


class HttpShahkar:
    name = "shahkar"

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def owns(self, mobile_e164: str, identity_type: str, code: str) -> bool:
        mobile = identifiers.normalize_mobile(mobile_e164)
        if mobile is None:
            return False
        body = self.client.get(self.name, "/shahkar/match",
                               {"mobile": mobile, "id_type": identity_type, "code": code})
        match = body.get("match") if body is not None else None
        if not isinstance(match, bool):
            raise unavailable(self.name, _Garbage("field match missing"))
        return match


class HttpCompanyRegistry:
    name = "companies"

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def find_company(self, national_id: str) -> Company | None:
        company_id = identifiers.normalize_company_id(national_id)
        if company_id is None:
            return None
        body = self.client.get(self.name, f"/companies/{quote(company_id, safe='')}", {})
        if body is None:
            return None
        try:
            if body.get("national_id") != company_id:
                raise _Garbage("answer is about another company")
            ceo = identifiers.normalize_national_code(_text(body, "ceo_national_code"))
            if ceo is None:
                raise _Garbage("field ceo_national_code invalid")
            return Company(national_id=company_id, name=_text(body, "name"),
                           ceo_national_code=ceo)
        except _Garbage as exc:
            raise unavailable(self.name, exc) from None


def http_registries(base_url: str, token: str, timeout: float) -> Registries:
    """The four registries sharing one HTTP session."""
    client = HttpClient(base_url, token, timeout)
    return Registries(civil=HttpCivilRegistry(client), foreigners=HttpForeignersRegistry(client),
                      shahkar=HttpShahkar(client), companies=HttpCompanyRegistry(client))
