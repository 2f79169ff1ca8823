"""The sandbox registries: every outside registry answered from one TOML file (SPEC §5, §6).

The file is read and checked once at start and indexed by code, so a sandbox of tens of
thousands of people answers in constant time. A malformed entry stops the start with an error
naming the entry, because a silently skipped person is a login that mysteriously fails later.

Format (birth dates are Jalali ``YYYY-MM-DD``)::

    [[person]]                  # civil registry + Shahkar
    national_code = "0499370899"
    birth_date = "1360-01-01"
    first_name = "…"
    last_name = "…"
    father_name = "…"
    gender = "male"             # or "female"
    postal_code = "1968913141"  # optional
    email = "ali@example.ir"    # optional: the national e-mail (ایمیل ملی)
    mobiles = ["09120000001"]   # the lines Shahkar registers to this person

    [[foreigner]]               # foreign-nationals registry + Shahkar
    fida_code = "…"             # 12 digits
    birth_date = "…"
    passport = "…"              # passport, naja_number, unique_id: each optional
    naja_number = "…"
    unique_id = "…"
    first_name = "…"
    last_name = "…"
    father_name = "…"
    gender = "…"
    nationality = "AF"          # ISO 3166 alpha-2
    postal_code = "…"           # optional
    email = "…"                 # optional
    mobiles = ["09…"]

    [[company]]
    national_id = "…"           # 11 digits with check digit
    name = "…"
    ceo_national_code = "…"
"""

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import jdatetime

from idp import identifiers
from idp.registries.base import Company, Person, Registries
from idp.settings import ConfigurationError

_JALALI = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_COUNTRY = re.compile(r"[A-Z]{2}")
_PERSON_KEYS = {"national_code", "birth_date", "first_name", "last_name", "father_name",
                "gender", "postal_code", "email", "mobiles"}
_FOREIGNER_KEYS = (_PERSON_KEYS - {"national_code"}) | {
    "fida_code", "passport", "naja_number", "unique_id", "nationality"}
_COMPANY_KEYS = {"national_id", "name", "ceo_national_code"}
_GENDERS = {"male": "male", "female": "female"}
# Secondary identifier kind (form field value) -> key in the sandbox file.
_SECONDARY_KEYS = {"passport": "passport", "naja": "naja_number", "unique_id": "unique_id"}


# Names and birth dates repeat a lot across a large file; converting each once keeps the start fast
# (emptied after each file is read: kept, they held 1 MB in every worker, issue 9).
_name = lru_cache(maxsize=8192)(identifiers.normalize_name)


@lru_cache(maxsize=32768)
def _gregorian(year: int, month: int, day: int) -> date:
    return jdatetime.date(year, month, day).togregorian()


class SandboxError(ConfigurationError):
    """The sandbox file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class _Foreigner:
    person: Person
    secondary_ids: dict[str, str]  # kind -> normalised value


@dataclass
class SandboxData:
    """The indexed content of one sandbox file."""

    people: dict[str, Person] = field(default_factory=dict)
    foreigners: dict[str, _Foreigner] = field(default_factory=dict)
    # Shahkar: E.164 mobile -> (identity type, national code or FIDA code) of its one owner.
    mobiles: dict[str, tuple[str, str]] = field(default_factory=dict)
    companies: dict[str, Company] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> "SandboxData":
        try:
            with open(path, "rb") as handle:
                document = tomllib.load(handle)
        except OSError as exc:
            raise SandboxError(f"sandbox file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SandboxError(f"sandbox file {path}: {exc}") from None
        unknown = set(document) - {"person", "foreigner", "company"}
        if unknown:
            raise SandboxError(f"sandbox file {path}: unknown tables {sorted(unknown)}")
        data = cls()
        for section, add in (("person", data._add_person), ("foreigner", data._add_foreigner),
                             ("company", data._add_company)):
            entries = document.get(section, [])
            if not isinstance(entries, list):
                raise SandboxError(f"sandbox file {path}: use [[{section}]] tables")
            for index, entry in enumerate(entries, start=1):
                try:
                    add(_Entry(entry))
                except ValueError as exc:
                    raise SandboxError(
                        f"sandbox file {path}: [[{section}]] entry {index}: {exc}") from None
        return data

    def copy(self) -> "SandboxData":
        """The same people in indexes of its own: a change to one app's indexes (a test that
        takes a mobile away) stays in that app."""
        return SandboxData(dict(self.people), dict(self.foreigners), dict(self.mobiles),
                           dict(self.companies))

    def _add_person(self, entry: "_Entry") -> None:
        entry.check_keys(_PERSON_KEYS)
        code = entry.identifier("national_code", identifiers.normalize_national_code)
        if code in self.people:
            raise ValueError("national_code appears twice")
        person = Person(
            identity_type="iranian", national_code=code, fida_code=None,
            nationality="IR", **entry.person_fields())
        self._add_mobiles(entry, ("iranian", code))
        self.people[code] = person

    def _add_foreigner(self, entry: "_Entry") -> None:
        entry.check_keys(_FOREIGNER_KEYS)
        code = entry.identifier("fida_code", identifiers.normalize_fida_code)
        if code in self.foreigners:
            raise ValueError("fida_code appears twice")
        nationality = entry.text("nationality")
        if not _COUNTRY.fullmatch(nationality):
            raise ValueError("nationality must be an ISO 3166 alpha-2 code such as AF")
        secondary = {}
        for kind, key in _SECONDARY_KEYS.items():
            if key in entry.values:
                secondary[kind] = entry.identifier(
                    key, lambda text, kind=kind: identifiers.normalize_secondary_id(kind, text))
        person = Person(
            identity_type="foreign", national_code=None, fida_code=code,
            nationality=nationality, **entry.person_fields())
        self._add_mobiles(entry, ("foreign", code))
        self.foreigners[code] = _Foreigner(person, secondary)

    def _add_company(self, entry: "_Entry") -> None:
        entry.check_keys(_COMPANY_KEYS)
        national_id = entry.identifier("national_id", identifiers.normalize_company_id)
        if national_id in self.companies:
            raise ValueError("national_id appears twice")
        self.companies[national_id] = Company(
            national_id=national_id, name=entry.text("name"),
            ceo_national_code=entry.identifier("ceo_national_code",
                                               identifiers.normalize_national_code))

    def _add_mobiles(self, entry: "_Entry", owner: tuple[str, str]) -> None:
        mobiles = entry.values.get("mobiles", [])
        if not isinstance(mobiles, list):
            raise ValueError("mobiles must be a list of strings")
        for position, raw in enumerate(mobiles, start=1):
            mobile = identifiers.normalize_mobile(raw) if isinstance(raw, str) else None
            if mobile is None:
                raise ValueError(f"mobiles[{position}] is not a mobile number (09…)")
            # Shahkar registers a line to exactly one person.
            if self.mobiles.get(mobile, owner) != owner:
                raise ValueError(f"mobiles[{position}] already belongs to another entry")
            self.mobiles[mobile] = owner


# One parse per process and version of the file: the production server checks the file before it
# forks its workers, and they share what it parsed (copy-on-write) instead of each parsing it
# again — a parse costs a worker some 2 KB a person, and its garbage as much again (issue 9).
@lru_cache(maxsize=4)
def _read(path: Path, modified_ns: int, size: int) -> SandboxData:
    try:
        return SandboxData.load(path)
    finally:
        _name.cache_clear()
        _gregorian.cache_clear()


class _Entry:
    """One table of the file, with readers that say which key is wrong.

    Error messages name keys, not values: the file may hold realistic test data.
    """

    def __init__(self, values: object) -> None:
        if not isinstance(values, dict):
            raise ValueError("not a table")
        self.values = values

    def check_keys(self, allowed: set[str]) -> None:
        unknown = set(self.values) - allowed
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} is missing or empty")
        return value.strip()

    def identifier(self, key: str, normalize: Callable[[str], str | None]) -> str:
        value = normalize(self.text(key))
        if value is None:
            raise ValueError(f"{key} is not valid")
        return value

    def jalali_date(self, key: str) -> date:
        value = self.values.get(key)
        # An unquoted TOML date arrives as a date object: its numbers are still Jalali.
        if isinstance(value, date):
            parts = (value.year, value.month, value.day)
        else:
            match = _JALALI.fullmatch(value) if isinstance(value, str) else None
            if match is None:
                raise ValueError(f"{key} must be a Jalali date YYYY-MM-DD")
            parts = (int(match[1]), int(match[2]), int(match[3]))
        try:
            return _gregorian(*parts)
        except ValueError:
            raise ValueError(f"{key} is not a valid Jalali date") from None

    def person_fields(self) -> dict:
        # The program's own string, not the file's: one string of the parsed file held by every
        # person kept the pages of the whole parse around it resident, some 6 MB in each worker
        # with 6,450 people (issue 9: memory).
        gender = _GENDERS.get(self.text("gender"))
        if gender is None:
            raise ValueError("gender must be male or female")
        postal_code = None
        if "postal_code" in self.values:
            postal_code = self.identifier("postal_code", identifiers.normalize_postal_code)
        email = None
        if "email" in self.values:
            email = identifiers.normalize_email(self.text("email"))
            if email is None:
                raise ValueError("email is not an e-mail address")
        return {
            "email": email,
            "first_name": _name(self.text("first_name")),
            "last_name": _name(self.text("last_name")),
            "father_name": _name(self.text("father_name")),
            "gender": gender,
            "birth_date": self.jalali_date("birth_date"),
            "postal_code": postal_code,
        }


class SandboxCivilRegistry:
    def __init__(self, data: SandboxData) -> None:
        self.data = data

    def find_person(self, national_code: str, birth_date: date) -> Person | None:
        code = identifiers.normalize_national_code(national_code)
        person = self.data.people.get(code) if code else None
        return person if person is not None and person.birth_date == birth_date else None


class SandboxForeignersRegistry:
    def __init__(self, data: SandboxData) -> None:
        self.data = data

    def find_foreigner(self, fida_code: str, birth_date: date, id_type: str,
                       id_value: str) -> Person | None:
        code = identifiers.normalize_fida_code(fida_code)
        found = self.data.foreigners.get(code) if code else None
        if found is None or found.person.birth_date != birth_date:
            return None
        value = identifiers.normalize_secondary_id(id_type, id_value)
        if value is None or found.secondary_ids.get(id_type) != value:
            return None
        return found.person


class SandboxShahkar:
    def __init__(self, data: SandboxData) -> None:
        self.data = data

    def owns(self, mobile_e164: str, identity_type: str, code: str) -> bool:
        mobile = identifiers.normalize_mobile(mobile_e164)
        return mobile is not None and self.data.mobiles.get(mobile) == (identity_type, code)


class SandboxCompanyRegistry:
    def __init__(self, data: SandboxData) -> None:
        self.data = data

    def find_company(self, national_id: str) -> Company | None:
        company_id = identifiers.normalize_company_id(national_id)
        return self.data.companies.get(company_id) if company_id else None


def load_sandbox(path: Path) -> Registries:
    """Answer all four registries from ``path``, read once per version of the file."""
    try:
        version = path.stat()
    except OSError as exc:
        raise SandboxError(f"sandbox file {path}: {exc.strerror}") from None
    data = _read(path, version.st_mtime_ns, version.st_size).copy()
    return Registries(civil=SandboxCivilRegistry(data),
                      foreigners=SandboxForeignersRegistry(data),
                      shahkar=SandboxShahkar(data),
                      companies=SandboxCompanyRegistry(data))
