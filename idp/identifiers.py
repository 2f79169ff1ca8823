"""Validation and normalisation of the identifiers citizens type (SPEC §8).

Python's ``\\d``, ``str.isdigit()`` and ``int()`` accept Persian and Arabic-Indic digits, so
every check here first translates those digits to ASCII with :func:`to_ascii_digits` and then
matches ``[0-9]`` only. Each ``normalize_*`` function returns the canonical form to store, or
``None`` when the input is not a valid identifier of that kind.
"""

import re
import unicodedata

# Persian ۰-۹ (U+06F0…) and Arabic-Indic ٠-٩ (U+0660…) to ASCII.
_DIGITS = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DIGITS.update({ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")})

_ZWNJ = "\u200c"
# Invisible characters that copy-paste from Persian text carries along: ZWNJ/ZWJ, the bidi
# marks, embeddings and isolates, the Arabic letter mark and the byte-order mark. SPEC §8
_INVISIBLE = (_ZWNJ + "\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
              "\u2066\u2067\u2068\u2069\u061c\ufeff")
# Separators people type inside numbers: spaces (incl. no-break and thin), dashes.
_SEPARATORS = (" \t\r\n\u00a0\u2007\u2009\u202f"
               "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u00ad")
_ASCII_TABLE = dict(_DIGITS)
_ASCII_TABLE.update({ord(c): None for c in _INVISIBLE + _SEPARATORS})

_MOBILE = re.compile(r"(?:(?:\+|00)?98)?0?(9[0-9]{9})")
_NATIONAL_CODE = re.compile(r"[0-9]{8,10}")
_COMPANY_ID = re.compile(r"[0-9]{11}")
_COMPANY_WEIGHTS = (29, 27, 23, 19, 17)
_POSTAL_CODE = re.compile(r"[0-9]{10}")
# SPEC §8: the common stricter pattern; the first four digits are not one digit repeated.
_POSTAL_STRICT = re.compile(r"(?!([0-9])\1{3})[13-9]{4}[1346-9][013-9]{5}")
_FIDA_CODE = re.compile(r"[0-9]{12}")
_PASSPORT = re.compile(r"[A-Za-z0-9]{5,20}")
_DIGIT_ID = re.compile(r"[0-9]{5,20}")
SECONDARY_ID_KINDS = ("passport", "naja", "unique_id")

_NAME_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "\u0640": None})
_NAME_INVISIBLE = {ord(c): None for c in _INVISIBLE if c != _ZWNJ}


def to_ascii_digits(text: str) -> str:
    """Translate Persian/Arabic-Indic digits to ASCII and drop separators and invisible marks."""
    return text.translate(_ASCII_TABLE)


def normalize_mobile(text: str) -> str | None:
    """An Iranian mobile in any usual spelling, as E.164 ``+989XXXXXXXXX``.

    Any ``09`` + 9 digits is accepted (SPEC §8: libraries such as ``phonenumbers`` reject real
    prefixes like 0941).
    """
    match = _MOBILE.fullmatch(to_ascii_digits(text))
    return "+98" + match.group(1) if match else None


def mobile_local(e164: str) -> str:
    """The display form ``09XXXXXXXXX`` of a mobile (SPEC §8)."""
    normalized = normalize_mobile(e164)
    if normalized is None:
        raise ValueError("not an Iranian mobile number")
    return "0" + normalized[3:]


def national_code_check_digit(first_nine: str) -> int:
    """The check digit of a national code (SPEC §8)."""
    r = sum(int(d) * (10 - i) for i, d in enumerate(first_nine)) % 11
    return r if r < 2 else 11 - r


def normalize_national_code(text: str) -> str | None:
    """A 10-digit national code (کد ملی) with a valid check digit, or None."""
    digits = to_ascii_digits(text)
    if not _NATIONAL_CODE.fullmatch(digits):
        return None
    code = digits.zfill(10)  # SPEC §8: 8–9 typed digits lost their leading zeros
    # SPEC §8: the ten codes of one repeated digit pass the checksum but are not issued.
    if len(set(code)) == 1:
        return None
    return code if national_code_check_digit(code[:9]) == int(code[9]) else None


def company_id_check_digit(first_ten: str) -> int:
    """The check digit of a company national ID (SPEC §8)."""
    d = int(first_ten[9]) + 2
    s = sum((int(c) + d) * _COMPANY_WEIGHTS[i % 5] for i, c in enumerate(first_ten))
    return s % 11 % 10


def normalize_company_id(text: str) -> str | None:
    """An 11-digit company national ID (شناسه ملی) with a valid check digit, or None."""
    digits = to_ascii_digits(text)
    if not _COMPANY_ID.fullmatch(digits):
        return None
    return digits if company_id_check_digit(digits[:10]) == int(digits[10]) else None


def normalize_postal_code(text: str) -> str | None:
    """A 10-digit postal code that also fits the stricter national pattern (SPEC §8), or None."""
    digits = to_ascii_digits(text)
    if not _POSTAL_CODE.fullmatch(digits) or not _POSTAL_STRICT.fullmatch(digits):
        return None
    return digits


def normalize_fida_code(text: str) -> str | None:
    """A 12-digit FIDA code; no public checksum is known, so only the form is checked (SPEC §8)."""
    digits = to_ascii_digits(text)
    return digits if _FIDA_CODE.fullmatch(digits) else None


def normalize_secondary_id(kind: str, text: str) -> str | None:
    """A foreign national's second identifier: passport, NAJA number or unique ID.

    Raises ValueError for an unknown ``kind``: that is a programming error, not bad input.
    """
    value = to_ascii_digits(text)
    if kind == "passport":
        # Checked before upper-casing: "ı".upper() is the ASCII "I".
        return value.upper() if _PASSPORT.fullmatch(value) else None
    if kind in ("naja", "unique_id"):
        return value if _DIGIT_ID.fullmatch(value) else None
    raise ValueError(f"unknown secondary identifier kind {kind!r}")


def normalize_name(text: str) -> str:
    """A name in the form used to compare names: Persian ی/ک, single spaces, no stray marks.

    SPEC §8: Arabic ي/ى and ك are the same letters as Persian ی and ک; the keyboard decides.
    """
    text = unicodedata.normalize("NFKC", text).translate(_NAME_LETTERS)
    words = text.translate(_NAME_INVISIBLE).split()
    cleaned = (re.sub(_ZWNJ + "+", _ZWNJ, word).strip(_ZWNJ) for word in words)
    return " ".join(word for word in cleaned if word)


def normalize_email(text: str) -> str | None:
    """An e-mail address as ``email-validator`` normalises it (domain lower-cased, IDNA), or
    None. Only the syntax is checked: whether it receives mail is what verification proves."""
    # Imported here: its quarter-second import is paid only where an address is typed.
    from email_validator import EmailNotValidError, validate_email

    try:
        address = validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None
    return address if len(address) <= 254 else None
