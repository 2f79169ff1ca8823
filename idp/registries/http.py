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

Anything else (connection error, deadline passed, another status, a body that is not this JSON,
an answer about someone else) raises :class:`RegistryUnavailable`, after retries and through
each registry's circuit breaker (docs/registries.md). Log lines and exception messages name the
registry and the failure class only: URLs carry national codes, so the original exception is
not chained.
"""

import logging
import threading
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from idp import identifiers, outbound
from idp.registries.base import Company, Person, Registries, RegistryUnavailable
from idp.settings import ConfigurationError

log = logging.getLogger(__name__)
T = TypeVar("T")

_PERSON_TEXT = ("first_name", "last_name", "father_name")
# Answers another attempt may not get again: the registry or a proxy in front of it failed.
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class _Garbage(outbound.Failed):
    """The registry answered, but not with the documented JSON."""


class HttpClient:
    """One pooled session for every registry (base URL, bearer token), and per registry one
    :class:`~idp.outbound.OutsideService`: the lookup's deadline, its retries, its breaker.

    An adapter added later (a new registry) gets all three by calling :meth:`get` with its name.
    """

    def __init__(self, base_url: str, token: str, timeout: float,
                 session: requests.Session | None = None, *, retries: int = 2,
                 breaker_failures: int = 5, breaker_seconds: float = 30.0) -> None:
        if not base_url:
            raise ConfigurationError("registries: http_base_url is required for the http backend")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Each attempt's ``timeout`` is a total deadline, not a per-read time-out (idp.outbound).
        self.session = session or outbound.session()
        self.session.headers.update({"Accept": "application/json"})
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self._options = {"retries": retries, "breaker_failures": breaker_failures,
                         "breaker_seconds": breaker_seconds}
        self._services: dict[str, outbound.OutsideService] = {}
        self._lock = threading.Lock()

    def service(self, registry: str) -> outbound.OutsideService:
        """The registry's deadline, retries and breaker, made on its first use."""
        with self._lock:
            if registry not in self._services:
                self._services[registry] = outbound.OutsideService(
                    f"registry {registry}", self.timeout, **self._options)
            return self._services[registry]

    def breaker_state(self, registry: str) -> str:
        return self.service(registry).breaker.state

    def get(self, registry: str, path: str, params: dict[str, str],
            read: Callable[[dict[str, Any]], T]) -> T | None:
        """``read`` applied to the JSON object of a 200 answer, or None for 404.

        A lookup is idempotent: a refused connection or a 5xx is tried again while its deadline
        lasts. Anything else, and ``read`` finding the answer malformed (:class:`_Garbage`),
        is unavailable at once; each failed lookup counts towards the registry's breaker.
        """
        def attempt(seconds: float) -> T | None:
            return self._get_once(path, params, seconds, read)

        try:
            return self.service(registry).call(attempt, idempotent=True)
        except outbound.Failed as exc:
            raise unavailable(registry, exc.reason) from None

    def _get_once(self, path: str, params: dict[str, str], seconds: float,
                  read: Callable[[dict[str, Any]], T]) -> T | None:
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=seconds)
        except requests.ConnectionError as exc:
            raise outbound.Retryable(type(exc).__name__) from None
        except requests.RequestException as exc:
            raise outbound.Failed(type(exc).__name__) from None
        if response.status_code == 404:
            return None
        if response.status_code in RETRY_STATUSES:
            raise outbound.Retryable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise _Garbage(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise _Garbage(type(exc).__name__) from None
        if not isinstance(body, dict):
            raise _Garbage("not a JSON object")
        return read(body)


def unavailable(registry: str, reason: str) -> RegistryUnavailable:
    """Log the failure (registry and failure class only) and build the exception to raise."""
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


class _HttpRegistry:
    """What every registry adapter over HTTP shares: the client and its breaker's state."""

    name: str

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    @property
    def breaker_state(self) -> str:
        return self.client.breaker_state(self.name)


class HttpCivilRegistry(_HttpRegistry):
    name = "civil"

    def find_person(self, national_code: str, birth_date: date) -> Person | None:
        code = identifiers.normalize_national_code(national_code)
        if code is None:
            return None

        def read(body: dict[str, Any]) -> Person:
            if body.get("national_code") != code:
                raise _Garbage("answer is about another national code")
            return Person(identity_type="iranian", national_code=code, fida_code=None,
                          nationality="IR", **_person_fields(body, birth_date))

        return self.client.get(self.name, f"/civil/persons/{quote(code, safe='')}",
                               {"birth_date": birth_date.isoformat()}, read)


class HttpForeignersRegistry(_HttpRegistry):
    name = "foreigners"

    def find_foreigner(self, fida_code: str, birth_date: date, id_type: str,
                       id_value: str) -> Person | None:
        code = identifiers.normalize_fida_code(fida_code)
        value = identifiers.normalize_secondary_id(id_type, id_value)
        if code is None or value is None:
            return None

        def read(body: dict[str, Any]) -> Person:
            if body.get("fida_code") != code:
                raise _Garbage("answer is about another FIDA code")
            nationality = _text(body, "nationality")
            if not (len(nationality) == 2 and nationality.isascii() and nationality.isupper()):
                raise _Garbage("field nationality invalid")
            return Person(identity_type="foreign", national_code=None, fida_code=code,
                          nationality=nationality, **_person_fields(body, birth_date))

        return self.client.get(self.name, f"/foreigners/{quote(code, safe='')}",
                               {"birth_date": birth_date.isoformat(), "id_type": id_type,
                                "id_value": value}, read)


class HttpShahkar(_HttpRegistry):
    name = "shahkar"

    def owns(self, mobile_e164: str, identity_type: str, code: str) -> bool:
        mobile = identifiers.normalize_mobile(mobile_e164)
        if mobile is None:
            return False

        def read(body: dict[str, Any]) -> bool:
            match = body.get("match")
            if not isinstance(match, bool):
                raise _Garbage("field match missing")
            return match

        match = self.client.get(self.name, "/shahkar/match",
                                {"mobile": mobile, "id_type": identity_type, "code": code}, read)
        if match is None:
            raise unavailable(self.name, "HTTP 404")
        return match


class HttpCompanyRegistry(_HttpRegistry):
    name = "companies"

    def find_company(self, national_id: str) -> Company | None:
        company_id = identifiers.normalize_company_id(national_id)
        if company_id is None:
            return None

        def read(body: dict[str, Any]) -> Company:
            if body.get("national_id") != company_id:
                raise _Garbage("answer is about another company")
            ceo = identifiers.normalize_national_code(_text(body, "ceo_national_code"))
            if ceo is None:
                raise _Garbage("field ceo_national_code invalid")
            return Company(national_id=company_id, name=_text(body, "name"),
                           ceo_national_code=ceo)

        return self.client.get(self.name, f"/companies/{quote(company_id, safe='')}", {}, read)


def http_registries(base_url: str, token: str, timeout: float, **resilience: Any) -> Registries:
    """The four registries sharing one HTTP session; ``resilience``: HttpClient's retries and
    breaker options."""
    client = HttpClient(base_url, token, timeout, **resilience)
    return Registries(civil=HttpCivilRegistry(client), foreigners=HttpForeignersRegistry(client),
                      shahkar=HttpShahkar(client), companies=HttpCompanyRegistry(client))
