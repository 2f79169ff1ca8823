"""Identifier rules of SPEC §8, including the Persian-digit and invisible-character traps."""

import pytest

from idp.identifiers import (
    company_id_check_digit,
    mobile_local,
    national_code_check_digit,
    normalize_company_id,
    normalize_fida_code,
    normalize_mobile,
    normalize_name,
    normalize_national_code,
    normalize_postal_code,
    normalize_secondary_id,
    to_ascii_digits,
)

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
ZWNJ, LRM, RLM = "\u200c", "\u200e", "\u200f"


def test_to_ascii_digits_translates_and_strips():
    assert to_ascii_digits("۰۱۲۳۴۵۶۷۸۹") == "0123456789"
    assert to_ascii_digits("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert to_ascii_digits(f"\u202b۰۹۱۲{ZWNJ}-۱۲۳\u00a0۴۵ ۶۷{LRM}{RLM}\u202c") == "09121234567"
    for mark in "\u202a\u202b\u202c\u202d\u202e":
        assert to_ascii_digits(f"12{mark}34") == "1234"
    assert to_ascii_digits("abc+") == "abc+"


def test_python_digit_trap_is_real():
    # The reason for the whole module: Python takes these as digits.
    assert "۱۲۳".isdigit() and int("۱۲۳") == 123


@pytest.mark.parametrize("typed", [
    "09121234567", "9121234567", "989121234567", "+989121234567", "00989121234567",
    "0912 123 4567", "0912-123-4567", "+98 912 123 4567", "+98 0912 123 4567",
    "۰۹۱۲۱۲۳۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "+۹۸۹۱۲۱۲۳۴۵۶۷", f"{LRM}۰۹۱۲{ZWNJ}۱۲۳۴۵۶۷{RLM}",
])
def test_mobile_spellings(typed):
    assert normalize_mobile(typed) == "+989121234567"


@pytest.mark.parametrize("prefix", ["0941", "0990", "0901", "0935", "0921", "0999"])
def test_any_09_prefix_is_a_mobile(prefix):
    assert normalize_mobile(prefix + "1234567") == "+98" + prefix[1:] + "1234567"


@pytest.mark.parametrize("typed", [
    "", "0912123456", "091212345678", "08121234567", "02112345678", "+9121234567",
    "00912123456", "+979121234567", "0912123456a", "09121234567#", "0912.123.4567",
    "٩٨" + "9121234567" + "0", "+98-", "989",
])
def test_bad_mobiles(typed):
    assert normalize_mobile(typed) is None


def test_mobile_local():
    assert mobile_local("+989121234567") == "09121234567"
    assert mobile_local("+989411234567") == "09411234567"
    with pytest.raises(ValueError):
        mobile_local("+441234567890")


@pytest.mark.parametrize("code", ["0499370899", "0790419904", "0013542419"])
def test_valid_national_codes(code):
    assert normalize_national_code(code) == code
    assert normalize_national_code(code.translate(PERSIAN)) == code
    assert normalize_national_code(code.translate(ARABIC)) == code
    assert normalize_national_code(f"{code[:3]}-{code[3:9]}-{code[9]}") == code


def test_national_code_leading_zeros_restored():
    assert normalize_national_code("13542419") == "0013542419"
    assert normalize_national_code("499370899") == "0499370899"
    assert normalize_national_code("۱۳۵۴۲۴۱۹") == "0013542419"
    assert normalize_national_code("3542419") is None  # 7 digits: too short to pad


@pytest.mark.parametrize("digit", "0123456789")
def test_repeated_digit_codes_refused_although_checksum_passes(digit):
    code = digit * 10
    assert national_code_check_digit(code[:9]) == int(digit)
    assert normalize_national_code(code) is None
    assert normalize_national_code(code.translate(PERSIAN)) is None


@pytest.mark.parametrize("code", [
    "0499370898", "0499370890", "04993708999", "049937089", "049937089x", "", "abcdefghij",
    "0499370899\n0",
])
def test_invalid_national_codes(code):
    assert normalize_national_code(code) is None


def test_other_unicode_digits_are_not_accepted():
    # Devanagari and fullwidth digits are digits to Python but not to us.
    assert "०४९९३७०८९९".isdigit()
    assert normalize_national_code("०४९९३७०८९९") is None
    assert normalize_national_code("０４９９３７０８９９") is None
    assert normalize_mobile("０９１２１２３４５６７") is None
    assert normalize_postal_code("１９６８９１３１４１") is None


def test_check_digit_rule_spec_examples():
    # SPEC §8: r = Σ d[i]·(10−i) mod 11; check digit r if r < 2 else 11 − r.
    assert national_code_check_digit("049937089") == 9
    assert national_code_check_digit("001354241") == 9
    assert company_id_check_digit("1038028479") == 0


def test_company_id():
    assert normalize_company_id("10380284790") == "10380284790"
    assert normalize_company_id("۱۰۳۸۰۲۸۴۷۹۰") == "10380284790"
    assert normalize_company_id("103-8028-4790") == "10380284790"
    for bad in ("10380284791", "1038028479", "103802847900", "1038028479a", ""):
        assert normalize_company_id(bad) is None


def test_company_id_check_digit_ten_becomes_zero():
    # Find a prefix whose sum is 10 mod 11: its check digit must be 0.
    for n in range(10000000, 10010000):
        prefix = f"10{n}"
        d = int(prefix[9]) + 2
        weights = (29, 27, 23, 19, 17)
        if sum((int(c) + d) * weights[i % 5] for i, c in enumerate(prefix)) % 11 == 10:
            break
    assert company_id_check_digit(prefix) == 0
    assert normalize_company_id(prefix + "0") == prefix + "0"


def test_postal_code():
    assert normalize_postal_code("1968913141") == "1968913141"
    assert normalize_postal_code("۱۹۶۸۹-۱۳۱۴۱") == "1968913141"
    assert normalize_postal_code("١٩٦٨٩١٣١٤١") == "1968913141"
    for bad in (
        "196891314",    # 9 digits
        "19689131411",  # 11 digits
        "1111913141",   # first four digits repeated
        "2968913141",   # 2 not allowed in the first four
        "0968913141",   # 0 not allowed in the first four
        "1968213141",   # 5th digit: no 2
        "1968513141",   # 5th digit: no 5
        "1968912141",   # last five: no 2
        "196891314a",
    ):
        assert normalize_postal_code(bad) is None, bad


def test_fida_code():
    assert normalize_fida_code("300000000101") == "300000000101"
    assert normalize_fida_code("۳۰۰۰۰۰۰۰۰۱۰۱") == "300000000101"
    for bad in ("30000000010", "3000000001011", "30000000010a", ""):
        assert normalize_fida_code(bad) is None


def test_secondary_ids():
    assert normalize_secondary_id("passport", " p0123-4567 ") == "P01234567"
    assert normalize_secondary_id("passport", "p۰۱۲۳۴۵۶۷") == "P01234567"
    assert normalize_secondary_id("naja", "۷۰۰۰۰۰۰۱۰۱") == "7000000101"
    assert normalize_secondary_id("unique_id", "8000 000 202") == "8000000202"
    assert normalize_secondary_id("passport", "P123") is None
    assert normalize_secondary_id("passport", "P" * 21) is None
    assert normalize_secondary_id("passport", "پاس12345") is None
    # "ı".upper() == "I" and "ſ".upper() == "S": non-ASCII letters must not sneak in.
    assert normalize_secondary_id("passport", "ıab12345") is None
    assert normalize_secondary_id("passport", "ſab12345") is None
    assert normalize_secondary_id("naja", "A1234567") is None
    assert normalize_secondary_id("naja", "1234") is None
    assert normalize_secondary_id("unique_id", "1" * 21) is None
    with pytest.raises(ValueError):
        normalize_secondary_id("driving_licence", "12345678")


def test_normalize_name():
    assert normalize_name("علي") == normalize_name("علی") == "علی"
    assert normalize_name("مرتضى") == "مرتضی"
    assert normalize_name("كريمي") == "کریمی"
    assert normalize_name(f"  {ZWNJ}محمد  {ZWNJ}رضا{ZWNJ}  ") == "محمد رضا"
    assert normalize_name(f"نمونه{ZWNJ}{ZWNJ}ای") == f"نمونه{ZWNJ}ای"
    assert normalize_name(f"{RLM}زهرا\u00a0\u00a0احمدی{LRM}") == "زهرا احمدی"
    assert normalize_name("علـــی") == "علی"  # kashida
    assert normalize_name("\ufee3\ufeae\ufef3\ufee1") == "مریم"  # presentation forms


def test_normalize_email():
    # Issue 12: a national or personal e-mail; the domain is lower-cased, the syntax checked.
    from idp.identifiers import normalize_email

    assert normalize_email(" Ali@Example.IR ") == "Ali@example.ir"
    for bad in ("", "ali", "ali@", "@example.ir", "a b@example.ir", "a" * 250 + "@e.ir"):
        assert normalize_email(bad) is None, bad
