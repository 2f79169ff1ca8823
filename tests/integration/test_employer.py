"""The employer portal (clients/employer, issue 8) over real HTTP: a legal-entity client whose
CEO logs in through the provider's company step, sends the monthly insurance list and reads it
back by tracking number; a login without the ``company`` claim is refused."""

import pytest
import requests
from live import demo_person
from relying_parties import (
    csrf_of,
    fa,
    log_in,
    log_out,
    running_services,
    services_on,
    sessions_in,
)
from sqlalchemy import text

from clients.employer.lists import current_month, month_days

CEO_OF = "10408552260"
COMPANY_NAME = "شرکت نمونه‌سازان آزمایشی"
CEO = {**demo_person, "company": CEO_OF}
# A month that has ended: the first month of last year.
YEAR, MONTH = current_month()[0] - 1, 1


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path):
    with services_on(request, tmp_path, names=("employer",)) as running:
        yield running


def employer_list(http, sites, rows: list[tuple[str, str, str]], *, year=YEAR, month=MONTH,
                  extra: dict | None = None) -> requests.Response:
    page = http.get(sites["employer"] + "/lists/new", timeout=10)
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page), "year": str(year), "month": str(month), **(extra or {})}
    for index, (code, days, wage) in enumerate(rows):
        data |= {f"employees-{index}-national_code": code, f"employees-{index}-days": days,
                 f"employees-{index}-wage": wage}
    return http.post(sites["employer"] + "/lists/new", data=data, timeout=10,
                     allow_redirects=False)


def listed(sites) -> list[tuple]:
    engine = sites.apps["employer"].extensions["rp"].db.engine
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT l.company_national_id, l.year, l.month, l.tracking_number, e.national_code, "
            "e.days, e.wage FROM monthly_lists l JOIN listed_employees e ON e.list_id = l.id "
            "ORDER BY e.id")).all()


def test_ceo_sees_the_company_and_sends_a_monthly_list(sites):
    http = requests.Session()
    assert log_in(http, sites, "employer", CEO).status_code == 302
    home = http.get(sites["employer"] + "/", timeout=10).text
    assert COMPANY_NAME in home and fa(CEO_OF) in home
    assert "مدیرعامل" in home and demo_person["family_name"] in home
    sent = employer_list(http, sites, [
        ("۰۴۹۹۳۷۰۸۹۹", "۳۱", "۱۲۰٬۰۰۰٬۰۰۰"),  # Persian digits and separators
        ("1214792235", "20", "95,000,000"),
        ("", "", ""),  # a blank row is ignored
    ])
    assert sent.status_code == 302 and "/lists/" in sent.headers["Location"]
    rows = listed(sites)
    tracking = rows[0][3]
    assert [r[:3] + r[4:] for r in rows] == [
        (CEO_OF, YEAR, MONTH, "0499370899", 31, 120_000_000),
        (CEO_OF, YEAR, MONTH, "1214792235", 20, 95_000_000)]
    shown = http.get(sites["employer"] + sent.headers["Location"], timeout=10).text
    assert fa(tracking) in shown and fa("215,000,000") in shown
    assert fa(tracking) in http.get(sites["employer"] + "/", timeout=10).text
    # The same month again is refused, naming the list already sent.
    again = employer_list(http, sites, [("2607114462", "10", "50000000")])
    assert again.status_code == 422 and fa(tracking) in again.text
    assert len(listed(sites)) == 2
    # A tracking number of no list of this company is not found.
    assert http.get(sites["employer"] + "/lists/999999999999", timeout=10).status_code == 404


@pytest.mark.parametrize(("rows", "month", "message"), [
    ([("0499370898", "30", "1000")], MONTH, "کد ملی باید ۱۰ رقم و معتبر باشد"),
    ([("1111111111", "30", "1000")], MONTH, "کد ملی باید ۱۰ رقم و معتبر باشد"),
    ([("0499370899", "32", "1000")], MONTH, "روزهای کارکرد باید عددی از ۱ تا ۳۱ باشد"),
    ([("0499370899", "31", "1000")], 7, "روزهای کارکرد باید عددی از ۱ تا ۳۰ باشد"),
    ([("0499370899", "0", "1000")], MONTH, "روزهای کارکرد باید عددی از ۱ تا ۳۱ باشد"),
    ([("0499370899", "30", "0")], MONTH, "دستمزد ماهانه باید عددی بزرگ‌تر از صفر به ریال باشد"),
    ([("0499370899", "30", "abc")], MONTH, "دستمزد ماهانه باید عددی بزرگ‌تر از صفر به ریال باشد"),
    ([("0499370899", "30", "")], MONTH, "کد ملی، روزهای کارکرد و دستمزد هر ردیف را کامل کنید"),
    ([("0499370899", "30", "1000"), ("0499370899", "20", "1000")], MONTH,
     "این کد ملی در این لیست تکراری است"),
    ([], MONTH, "دست کم یک بیمه‌شده را در لیست وارد کنید"),
    ([("0499370899", "30", "1000")], 13, "ماه را به درستی انتخاب کنید"),
])
def test_bad_lists_are_refused_with_their_message(sites, rows, month, message):
    http = requests.Session()
    log_in(http, sites, "employer", CEO)
    refused = employer_list(http, sites, rows, month=month)
    assert refused.status_code == 422 and message in refused.text
    assert listed(sites) == []


def test_a_month_not_yet_ended_and_a_year_out_of_range_are_refused(sites):
    http = requests.Session()
    log_in(http, sites, "employer", CEO)
    year, month = current_month()
    row = [("0499370899", "1", "1000")]
    assert "نمی‌توان ارسال کرد" in employer_list(http, sites, row, year=year, month=month).text
    assert "سال را به درستی وارد کنید" in employer_list(http, sites, row, year=year + 1).text
    assert "سال را به درستی وارد کنید" in employer_list(http, sites, row, year=1300).text
    assert listed(sites) == []
    assert month_days(1403, 12) == 30 and month_days(1402, 12) == 29


def test_more_rows_keep_what_was_typed(sites):
    http = requests.Session()
    log_in(http, sites, "employer", CEO)
    more = employer_list(http, sites, [("0499370899", "30", "1000")], extra={"more": "1"})
    assert more.status_code == 200 and 'name="employees-9-wage"' in more.text
    assert 'value="0499370899"' in more.text and listed(sites) == []


def test_lists_need_a_login(sites):
    answer = requests.get(sites["employer"] + "/lists/new", allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_logout_goes_through_the_provider(sites):
    http = requests.Session()
    log_in(http, sites, "employer", CEO)
    assert sessions_in(sites, "employer") == 1
    log_out(http, sites, "employer")
    assert sessions_in(sites, "employer") == 0
    # The provider's session ended too: logging in again asks for the mobile.
    start = http.get(sites["employer"] + "/login", allow_redirects=False, timeout=10)
    journey = http.get(start.headers["Location"], allow_redirects=True, timeout=10)
    assert "/login/mobile" in journey.url


def test_a_login_without_the_company_claim_is_refused(tmp_path):
    # Registered as an ordinary client, the provider makes no company login for it.
    with running_services(tmp_path, names=("employer",),
                          registered={"employer": {"legal_entity": False}}) as sites:
        http = requests.Session()
        answer = log_in(http, sites, "employer", demo_person)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/no-company")
        refused = http.get(sites["employer"] + "/no-company", timeout=10)
        assert refused.status_code == 403 and "ورود حقوقی" in refused.text
        assert sessions_in(sites, "employer") == 0
        assert http.get(sites["employer"] + "/lists/new", allow_redirects=False,
                        timeout=10).status_code == 302
