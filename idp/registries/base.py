"""What the provider needs from the outside registries (SPEC §5), independent of how they answer.

Adapters return ``None`` for "the registry does not hold this" and raise
:class:`RegistryUnavailable` when they cannot tell (down, slow, garbage), so callers can tell a
citizen's mistake from an outage.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

IdentityType = Literal["iranian", "foreign"]
Gender = Literal["male", "female"]


@dataclass(frozen=True, slots=True)
class Person:
    """A person as a registry holds them; Iranians have a national code, foreigners a FIDA code.

    Slotted: a sandbox file's thousands of people sit in every worker (issue 9: memory).
    """

    identity_type: IdentityType
    national_code: str | None
    fida_code: str | None
    first_name: str
    last_name: str
    father_name: str
    gender: Gender
    birth_date: date  # Gregorian
    postal_code: str | None
    nationality: str  # ISO 3166 alpha-2, "IR" for Iranians
    # The national e-mail (ایمیل ملی) on the record, when there is one (issue 12).
    email: str | None = None


@dataclass(frozen=True)
class Company:
    national_id: str
    name: str
    ceo_national_code: str


class RegistryUnavailable(Exception):
    """An outside registry is down, too slow or answered garbage.

    The message names the registry and the kind of failure only, never personal data, because it
    ends up in logs and error pages.
    """


class CivilRegistry(Protocol):
    """ثبت احوال: Iranians by national code and birth date."""

    def find_person(self, national_code: str, birth_date: date) -> Person | None: ...


class ForeignersRegistry(Protocol):
    """Foreign nationals (اتباع) by FIDA code, birth date and one secondary identifier."""

    def find_foreigner(self, fida_code: str, birth_date: date, id_type: str,
                       id_value: str) -> Person | None: ...


class MobileOwnership(Protocol):
    """Shahkar (شاهکار): is this mobile line registered to this national code / FIDA code."""

    def owns(self, mobile_e164: str, identity_type: str, code: str) -> bool: ...


class CompanyRegistry(Protocol):
    """The companies registry: a company's name and its registered CEO."""

    def find_company(self, national_id: str) -> Company | None: ...


@dataclass
class Registries:
    """The four outside registries the journey consults, built once at start."""

    civil: CivilRegistry
    foreigners: ForeignersRegistry
    shahkar: MobileOwnership
    companies: CompanyRegistry

    def breaker_states(self) -> dict[str, str]:
        """Each registry's circuit breaker (closed, open, half-open), for those that have one
        (the HTTP adapters; a sandbox file cannot be down)."""
        return {name: adapter.breaker_state for name, adapter in vars(self).items()
                if hasattr(adapter, "breaker_state")}
