"""The property registry the e-services check applicants against (seed 003 «انتخاب آپارتمان»).

The app sees it only through :class:`PropertyRegistry`; :class:`TomlRegistry` is the sandbox
one, read from a TOML file of ``[[property]]`` tables::

    [[property]]
    renovation_code = "10-123-456-7"     # کدنوسازی
    address = "تهران، ..."
    owners = ["0499370899"]              # national codes
    attorneys = ["1214792235"]           # holders of a registered وکالتنامه
    dues_rials = 12500000                # unpaid عوارض نوسازی
    [[property.request]]                 # requests the municipality answered
    number = "1402-55871"
    certificate = "گواهی پایان کار"       # optional: the certificate's title
    issued = "1402/06/11"                # optional: Jalali
"""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import jdatetime

Role = Literal["owner", "attorney"]
DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# What people type between the groups of a code: spaces, dashes, slashes, dots, ZWNJ, bidi marks.
SEPARATORS = re.compile(r"[\s\-_/.\\\u060c,\u200c\u200e\u200f\u202a-\u202e\u2010-\u2015]+")
NATIONAL_CODE = re.compile(r"^[0-9]{10}$", re.ASCII)
JALALI = re.compile(r"^([0-9]{4})/([0-9]{2})/([0-9]{2})$", re.ASCII)
PROPERTY_KEYS = {"renovation_code", "address", "owners", "attorneys", "dues_rials", "request"}
REQUEST_KEYS = {"number", "certificate", "issued"}


class RegistryError(ValueError):
    """A registry file the app cannot start with (one line, naming the file and the fault)."""


def normalise(text: str) -> str:
    """A code as compared: Persian/Arabic digits as ASCII, separators gone, letters upper-case."""
    return SEPARATORS.sub("", (text or "").translate(DIGITS)).upper()


@dataclass(frozen=True)
class AnsweredRequest:
    number: str  # as the registry writes it
    certificate: str | None
    issued: jdatetime.date | None


@dataclass(frozen=True)
class Property:
    renovation_code: str  # as the registry writes it
    address: str
    owners: frozenset[str]
    attorneys: frozenset[str]
    dues_rials: int
    requests: tuple[AnsweredRequest, ...]

    def role_of(self, national_code: str | None) -> Role | None:
        if national_code in self.owners:
            return "owner"
        if national_code in self.attorneys:
            return "attorney"
        return None

    def answered(self, number: str) -> AnsweredRequest | None:
        wanted = normalise(number)
        return next((r for r in self.requests if normalise(r.number) == wanted), None) \
            if wanted else None

    def latest_certificate(self) -> AnsweredRequest | None:
        issued = [r for r in self.requests if r.certificate and r.issued]
        return max(issued, key=lambda r: r.issued.togregorian()) if issued else None


class PropertyRegistry(Protocol):
    def find(self, renovation_code: str) -> Property | None:
        """The property of this code (compared after :func:`normalise`), or None."""


class TomlRegistry:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_code = _load(path)

    def find(self, renovation_code: str) -> Property | None:
        code = normalise(renovation_code)
        return self._by_code.get(code) if code else None


def _load(path: Path) -> dict[str, Property]:
    def fail(message: str) -> RegistryError:
        return RegistryError(f"property registry {path}: {message}")

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise fail(f"cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise fail(f"not valid TOML ({error})") from None
    if set(data) - {"property"} or not isinstance(data.get("property", []), list):
        raise fail("only [[property]] tables are allowed")
    found: dict[str, Property] = {}
    for index, entry in enumerate(data.get("property", []), start=1):
        where = f"property {index}"
        if not isinstance(entry, dict):
            raise fail(f"{where} is not a table")
        if set(entry) - PROPERTY_KEYS:
            raise fail(f"{where}: unknown keys {sorted(set(entry) - PROPERTY_KEYS)}")
        code = entry.get("renovation_code")
        if not isinstance(code, str) or not normalise(code).isalnum():
            raise fail(f"{where}: renovation_code missing or not a code")
        if normalise(code) in found:
            raise fail(f"{where}: renovation_code {code!r} appears twice")
        address = entry.get("address")
        if not isinstance(address, str) or not address.strip():
            raise fail(f"{where}: address missing")
        people = {}
        for key in ("owners", "attorneys"):
            codes = entry.get(key, [])
            if not isinstance(codes, list) or not all(
                    isinstance(c, str) and NATIONAL_CODE.match(c) for c in codes):
                raise fail(f"{where}: {key} must be a list of 10-digit national codes")
            people[key] = frozenset(codes)
        if not people["owners"]:
            raise fail(f"{where}: at least one owner is needed")
        dues = entry.get("dues_rials", 0)
        if not isinstance(dues, int) or isinstance(dues, bool) or dues < 0:
            raise fail(f"{where}: dues_rials must be a whole number of rials, 0 or more")
        requests = entry.get("request", [])
        if not isinstance(requests, list):
            raise fail(f"{where}: request must be [[property.request]] tables")
        found[normalise(code)] = Property(
            renovation_code=code, address=address.strip(), owners=people["owners"],
            attorneys=people["attorneys"], dues_rials=dues,
            requests=tuple(_request(r, f"{where} request {n}", fail)
                           for n, r in enumerate(requests, start=1)))
    return found


def _request(entry: object, where: str, fail) -> AnsweredRequest:
    if not isinstance(entry, dict) or set(entry) - REQUEST_KEYS:
        raise fail(f"{where}: a table of {sorted(REQUEST_KEYS)} expected")
    number = entry.get("number")
    if not isinstance(number, str) or not normalise(number):
        raise fail(f"{where}: number missing")
    certificate = entry.get("certificate")
    if certificate is not None and (not isinstance(certificate, str) or not certificate.strip()):
        raise fail(f"{where}: certificate must be its title")
    issued = entry.get("issued")
    if issued is not None:
        issued = parse_jalali(issued) if isinstance(issued, str) else None
        if issued is None:
            raise fail(f"{where}: issued must be a Jalali date like \"1402/06/11\"")
    return AnsweredRequest(number=number, certificate=certificate, issued=issued)


def parse_jalali(text: str) -> jdatetime.date | None:
    """``1404/02/15`` (any digits) as a Jalali date, or None if it is not a real day."""
    match = JALALI.match((text or "").strip().translate(DIGITS))
    if not match:
        return None
    try:
        return jdatetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
