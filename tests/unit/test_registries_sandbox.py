"""The sandbox registries: lookups, mismatches, Shahkar, loud failures, a large file."""

import textwrap
from datetime import date
from pathlib import Path

import jdatetime
import pytest

from idp.identifiers import (
    company_id_check_digit,
    national_code_check_digit,
    normalize_company_id,
    normalize_mobile,
    normalize_national_code,
    normalize_postal_code,
)
from idp.registries import Company, Registries, build_registries
from idp.registries.sandbox import SandboxError, load_sandbox
from idp.settings import DEMO_SANDBOX, RegistrySettings


def jalali(year: int, month: int, day: int) -> date:
    return jdatetime.date(year, month, day).togregorian()


PERSON = """
[[person]]
national_code = "0499370899"
birth_date = "1360-01-01"
first_name = "علي"
last_name = "آزمایشی"
father_name = "حسن"
gender = "male"
postal_code = "1968913141"
mobiles = ["09120000001", "۰۹۴۱۰۰۰۰۰۰۱"]
"""
FOREIGNER = """
[[foreigner]]
fida_code = "300000000101"
birth_date = "1368-02-02"
passport = "p01234567"
naja_number = "7000000101"
first_name = "احمد"
last_name = "آزمایشی"
father_name = "محمود"
gender = "male"
nationality = "AF"
mobiles = ["09350000101"]
"""
COMPANY = """
[[company]]
national_id = "10380284790"
name = "شرکت آزمایشی"
ceo_national_code = "0499370899"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sandbox.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def registries(tmp_path) -> Registries:
    return load_sandbox(write(tmp_path, PERSON + FOREIGNER + COMPANY))


def test_find_person(registries):
    person = registries.civil.find_person("0499370899", jalali(1360, 1, 1))
    assert person is not None
    assert person.identity_type == "iranian" and person.nationality == "IR"
    assert (person.national_code, person.fida_code) == ("0499370899", None)
    assert person.birth_date == date(1981, 3, 21)
    assert person.first_name == "علی"  # Arabic ي normalised
    assert (person.last_name, person.father_name, person.gender) == ("آزمایشی", "حسن", "male")
    assert person.postal_code == "1968913141"


def test_person_may_carry_a_national_email(tmp_path, registries):
    # Issue 12: the civil-registry record gains an optional national e-mail.
    assert registries.civil.find_person("0499370899", jalali(1360, 1, 1)).email is None
    found = load_sandbox(write(tmp_path, PERSON + 'email = "Ali@Example.IR"\n'))
    assert found.civil.find_person("0499370899", jalali(1360, 1, 1)).email == "Ali@example.ir"


def test_find_person_wrong_birth_date_or_unknown_code(registries):
    assert registries.civil.find_person("0499370899", jalali(1360, 1, 2)) is None
    assert registries.civil.find_person("0790419904", jalali(1360, 1, 1)) is None
    assert registries.civil.find_person("not a code", jalali(1360, 1, 1)) is None


def test_find_foreigner_needs_all_three(registries):
    born = jalali(1368, 2, 2)
    person = registries.foreigners.find_foreigner("300000000101", born, "passport", "P01234567")
    assert person is not None
    assert person.identity_type == "foreign" and person.nationality == "AF"
    assert (person.fida_code, person.national_code, person.postal_code) == (
        "300000000101", None, None)
    assert registries.foreigners.find_foreigner("300000000101", born, "passport",
                                                "p0123 4567") == person
    assert registries.foreigners.find_foreigner("300000000101", born, "naja",
                                                "۷۰۰۰۰۰۰۱۰۱") == person
    # Wrong secondary value, a kind the person has not, wrong birth date, unknown code.
    assert registries.foreigners.find_foreigner("300000000101", born, "passport",
                                                "P01234568") is None
    assert registries.foreigners.find_foreigner("300000000101", born, "unique_id",
                                                "7000000101") is None
    assert registries.foreigners.find_foreigner("300000000101", jalali(1368, 2, 3),
                                                "passport", "P01234567") is None
    assert registries.foreigners.find_foreigner("300000000102", born, "passport",
                                                "P01234567") is None


def test_shahkar(registries):
    shahkar = registries.shahkar
    assert shahkar.owns("+989120000001", "iranian", "0499370899")
    assert shahkar.owns("+989410000001", "iranian", "0499370899")  # second line, Persian digits
    assert shahkar.owns("+989350000101", "foreign", "300000000101")
    assert not shahkar.owns("+989120000001", "iranian", "0790419904")
    assert not shahkar.owns("+989120000001", "foreign", "0499370899")
    assert not shahkar.owns("+989350000101", "iranian", "0499370899")
    assert not shahkar.owns("+989129999999", "iranian", "0499370899")


def test_find_company(registries):
    assert registries.companies.find_company("10380284790") == Company(
        "10380284790", "شرکت آزمایشی", "0499370899")
    assert registries.companies.find_company("۱۰۳۸۰۲۸۴۷۹۰") is not None
    assert registries.companies.find_company("10408552260") is None
    assert registries.companies.find_company("10380284791") is None


def test_unquoted_toml_date_is_still_jalali(tmp_path):
    registries = load_sandbox(write(tmp_path, PERSON.replace('"1360-01-01"', "1360-01-01")))
    assert registries.civil.find_person("0499370899", date(1981, 3, 21)) is not None


def test_build_registries_sandbox_and_unknown_backend(tmp_path):
    path = write(tmp_path, PERSON)
    registries = build_registries(RegistrySettings(sandbox_path=path.name), path.parent)
    assert registries.civil.find_person("0499370899", date(1981, 3, 21)) is not None
    with pytest.raises(ValueError, match="unknown backend"):
        build_registries(RegistrySettings(backend="ldap"), path.parent)


@pytest.mark.parametrize(("text", "where", "what"), [
    (PERSON.replace("0499370899", "0499370898"), r"\[\[person\]\] entry 1", "national_code"),
    (PERSON.replace("1360-01-01", "1360-13-01"), r"\[\[person\]\] entry 1", "birth_date"),
    (PERSON.replace("1360-01-01", "1360/01/01"), r"\[\[person\]\] entry 1", "birth_date"),
    (PERSON.replace('"male"', '"m"'), r"\[\[person\]\] entry 1", "gender"),
    (PERSON.replace("1968913141", "2968913141"), r"\[\[person\]\] entry 1", "postal_code"),
    (PERSON.replace("09120000001", "0812000000"), r"\[\[person\]\] entry 1", r"mobiles\[1\]"),
    (PERSON.replace('father_name = "حسن"', ""), r"\[\[person\]\] entry 1", "father_name"),
    (PERSON.replace("mobiles", "mobile"), r"\[\[person\]\] entry 1", "unknown keys"),
    (PERSON + 'email = "not an address"\n', r"\[\[person\]\] entry 1", "email"),
    (PERSON + PERSON, r"\[\[person\]\] entry 2", "appears twice"),
    (PERSON + PERSON.replace("0499370899", "0790419904"), r"\[\[person\]\] entry 2",
     "already belongs"),
    (FOREIGNER.replace("300000000101", "30000000010"), r"\[\[foreigner\]\] entry 1",
     "fida_code"),
    (FOREIGNER.replace('"AF"', '"Afghanistan"'), r"\[\[foreigner\]\] entry 1", "nationality"),
    (FOREIGNER.replace("p01234567", "P1"), r"\[\[foreigner\]\] entry 1", "passport"),
    (COMPANY.replace("10380284790", "10380284791"), r"\[\[company\]\] entry 1", "national_id"),
    (COMPANY.replace('ceo_national_code = "0499370899"', 'ceo_national_code = "1111111111"'),
     r"\[\[company\]\] entry 1", "ceo_national_code"),
    ("[[people]]\nx = 1\n", "unknown tables", "people"),
    ("[[person]\n", "sandbox file", "line 1"),
])
def test_malformed_file_fails_loudly(tmp_path, text, where, what):
    path = write(tmp_path, text)
    with pytest.raises(SandboxError, match=where) as raised:
        load_sandbox(path)
    assert str(path) in str(raised.value)
    assert raised.match(what)


def test_error_names_the_entry_index_among_good_ones(tmp_path):
    good = PERSON
    bad = PERSON.replace("0499370899", "0790419904").replace("1360-01-01", "1360-12-31")
    bad = bad.replace("09120000001", "09120000002").replace("۰۹۴۱۰۰۰۰۰۰۱", "09410000002")
    with pytest.raises(SandboxError, match=r"\[\[person\]\] entry 2: birth_date"):
        load_sandbox(write(tmp_path, good + bad))


def test_missing_file(tmp_path):
    with pytest.raises(SandboxError, match="sandbox file"):
        load_sandbox(tmp_path / "nope.toml")


def test_demo_file_loads_and_holds_the_documented_demo_person():
    registries = load_sandbox(DEMO_SANDBOX)
    person = registries.civil.find_person("0499370899", jalali(1360, 1, 1))
    assert person is not None and "آزمایشی" in person.last_name
    assert registries.shahkar.owns("+989120000001", "iranian", "0499370899")
    data = registries.civil.data
    assert len(data.people) == 8 and len(data.foreigners) == 2 and len(data.companies) == 4
    assert {f.person.nationality for f in data.foreigners.values()} == {"AF", "IQ"}
    for foreigner in data.foreigners.values():
        assert "passport" in foreigner.secondary_ids and len(foreigner.secondary_ids) == 2
    # Issue 8: a company a demo person runs, and one whose CEO is no demo person.
    ceos = [company.ceo_national_code for company in data.companies.values()]
    assert "0499370899" in ceos and any(ceo not in data.people for ceo in ceos)
    assert normalize_national_code(ceos[-1]) == ceos[-1]
    owners = list(data.mobiles.values())
    assert any(owners.count(owner) == 2 for owner in owners)  # someone has two lines
    assert any(p.postal_code == "1968913141" for p in data.people.values())
    for person in data.people.values():
        assert "آزمایشی" in person.last_name
        assert 1340 <= jdatetime.date.fromgregorian(date=person.birth_date).year <= 1385


def _generated_people(count: int) -> str:
    """``count`` distinct valid people, each with one mobile."""
    entries = []
    for n in range(count):
        first_nine = f"{100000000 + n * 37:09d}"
        code = first_nine + str(national_code_check_digit(first_nine))
        entries.append(
            f'[[person]]\nnational_code = "{code}"\nbirth_date = "1370-01-{n % 28 + 1:02d}"\n'
            f'first_name = "نام"\nlast_name = "آزمایشی {n}"\nfather_name = "پدر"\n'
            f'gender = "{"male" if n % 2 else "female"}"\npostal_code = "1968913141"\n'
            f'mobiles = ["0912{n:07d}"]\n')
    return "\n".join(entries)


def test_twenty_thousand_people_load_and_are_indexed(tmp_path):
    registries = load_sandbox(write(tmp_path, _generated_people(20_000)))
    data = registries.civil.data
    assert len(data.people) == 20_000 and len(data.mobiles) == 20_000
    last = f"{100000000 + 19_999 * 37:09d}"
    last += str(national_code_check_digit(last))
    person = registries.civil.find_person(last, jalali(1370, 1, 19_999 % 28 + 1))
    assert person is not None and person.last_name == "آزمایشی 19999"
    assert registries.shahkar.owns(normalize_mobile("09120019999"), "iranian", last)


def test_demo_company_ids_have_valid_check_digits():
    data = load_sandbox(DEMO_SANDBOX).companies.data
    for national_id in data.companies:
        assert normalize_company_id(national_id) == national_id
        assert company_id_check_digit(national_id[:10]) == int(national_id[10])
    for person in data.people.values():
        assert normalize_postal_code(person.postal_code) == person.postal_code


def test_a_file_is_parsed_once_per_version_and_each_app_gets_its_own_indexes(tmp_path):
    """Issue 9: the production server parses the file before its workers fork and they share
    what it parsed; a change to one app's indexes stays in that app; a changed file is read
    again."""
    path = write(tmp_path, PERSON)
    first, second = load_sandbox(path), load_sandbox(path)
    assert first.civil.data.people["0499370899"] is second.civil.data.people["0499370899"]
    del first.shahkar.data.mobiles["+989120000001"]
    assert second.shahkar.owns("+989120000001", "iranian", "0499370899")
    write(tmp_path, PERSON.replace("حسن", "حسین"))
    assert load_sandbox(path).civil.find_person("0499370899", jalali(1360, 1, 1)).father_name \
        == "حسین"



def test_people_hold_no_string_of_the_parsed_file_for_their_gender(tmp_path):
    """Issue 9: a string of the parse held by each person kept the whole parse's pages resident
    in every worker; people of one gender share one string."""
    data = load_sandbox(write(tmp_path, _generated_people(4))).civil.data
    genders = {}
    for person in data.people.values():
        assert genders.setdefault(person.gender, person.gender) is person.gender
    assert set(genders) == {"male", "female"}


def test_a_read_file_keeps_no_conversion_cached_and_its_people_have_no_dict(tmp_path):
    """Issue 9: the name and date conversions cached for one parse (about 1 MB with 6,450
    people) and a dict per person sat in every worker."""
    from idp.registries import sandbox

    data = load_sandbox(write(tmp_path, _generated_people(4))).civil.data
    assert sandbox._name.cache_info().currsize == sandbox._gregorian.cache_info().currsize == 0
    person = next(iter(data.people.values()))
    assert not hasattr(person, "__dict__")
