"""The insurance service (seed 001) over real HTTP, beside the municipal one: single sign-on
between them, its records after login, the booklet request, and logout at one ending the other
(back-channel)."""

import pytest
import requests
from live import demo_person
from relying_parties import (
    FATEMEH,
    MARYAM,
    MOHAMMADREZA,
    csrf_of,
    fa,
    give_email,
    log_in,
    services_on,
    sessions_in,
    single_sign_on,
)
from sqlalchemy import text


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path):
    with services_on(request, tmp_path) as running:
        yield running


def test_single_sign_on_from_municipal_into_insurance_shows_no_form(sites):
    http = requests.Session()
    log_in(http, sites, "municipal")
    give_email(http, sites)

    passed = single_sign_on(http, sites, "insurance")
    assert not [url for url in passed if "/login/" in url], passed  # no journey step
    assert any(url.startswith(sites.issuer + "/authorize") for url in passed)
    page = http.get(sites["insurance"] + "/", timeout=10).text
    assert fa("1234567890") in page  # his insurance number
    assert "شرکت نمونه‌سازان آزمایشی" in page  # his current employer
    assert demo_person["family_name"] in page
    assert "بیمه شده گرامی:" in page  # the insurer's own salutation (seed 001)


def test_history_by_employer_and_month(sites):
    http = requests.Session()
    log_in(http, sites, "insurance")
    history = http.get(sites["insurance"] + "/history", timeout=10).text
    assert "خلاصه سوابق به تفکیک کارگاه" in history
    assert "شرکت داده‌پردازان آزمایشی" in history and "شرکت نمونه‌سازان آزمایشی" in history
    assert fa("1040855226") in history
    assert fa("95,000,000") in history
    engine = sites.apps["insurance"].extensions["rp"].db.engine
    with engine.connect() as conn:
        total, months = conn.execute(text(
            "SELECT sum(days), count(*) FROM insurance_months WHERE national_code = :code"),
            {"code": demo_person["national_code"]}).one()
    assert months == 120  # 60 months at one workshop, then 60 at another
    assert f"کل سابقه: {fa(str(total))} روز" in history
    assert history.count('<tr class="month-row">') == months


def test_booklet_request_is_filed_once_and_tracked(sites):
    http = requests.Session()
    log_in(http, sites, "insurance")
    page = http.get(sites["insurance"] + "/booklet", timeout=10)
    assert "تحویل شده" in page.text  # his earlier booklet
    assert fa(demo_person["postal_code"]) in page.text  # sent to the address he confirmed
    filed = http.post(sites["insurance"] + "/booklet", timeout=10,
                      data={"csrf_token": csrf_of(page)})
    assert "درخواست شما با موفقیت ثبت گردید" in filed.text
    assert "ثبت شده، در انتظار بررسی" in filed.text
    again = http.post(sites["insurance"] + "/booklet", timeout=10,
                      data={"csrf_token": csrf_of(page)})
    assert "هنوز در جریان است" in again.text
    assert again.text.count("ثبت شده، در انتظار بررسی") == 1
    forged = http.post(sites["insurance"] + "/booklet", timeout=10, data={})
    assert forged.status_code == 400


@pytest.mark.parametrize("person, reason", [
    (MARYAM, "هنوز در جریان است"),  # her booklet is being printed
    (MOHAMMADREZA, "در سه ماه اخیر حق بیمه‌ای پرداخت نشده است"),  # insured only in the past
])
def test_booklet_refused_with_the_reason(sites, person, reason):
    http = requests.Session()
    log_in(http, sites, "insurance", person=person)
    page = http.get(sites["insurance"] + "/booklet", timeout=10)
    assert reason in page.text
    assert 'id="request-booklet"' not in page.text
    refused = http.post(sites["insurance"] + "/booklet", timeout=10,
                        data={"csrf_token": csrf_of(page)})
    assert reason in refused.text
    assert "با موفقیت ثبت گردید" not in refused.text


def test_a_citizen_without_a_record_is_told_what_to_do(sites):
    http = requests.Session()
    log_in(http, sites, "insurance", person=FATEMEH)
    for path in ("/", "/history", "/booklet"):
        page = http.get(sites["insurance"] + path, timeout=10).text
        assert "سابقه‌ای با کد ملی شما در سامانه سازمان تأمین اجتماعی ثبت نشده است" in page
        assert "نزدیکترین شعبه" in page
        assert FATEMEH["given_name"] in page  # logged in all the same


def test_logout_at_municipal_ends_insurance_by_back_channel(sites):
    http = requests.Session()
    log_in(http, sites, "municipal")
    give_email(http, sites)
    single_sign_on(http, sites, "insurance")
    assert sessions_in(sites, "insurance") == 1

    page = http.get(sites["municipal"] + "/", timeout=10)
    http.post(sites["municipal"] + "/logout", data={"csrf_token": csrf_of(page)}, timeout=10)
    assert sessions_in(sites, "municipal") == 0
    assert sessions_in(sites, "insurance") == 0
    insurance = http.get(sites["insurance"] + "/", timeout=10).text
    assert 'id="login"' in insurance and "citizen-name" not in insurance


def test_logout_at_insurance_ends_municipal_by_back_channel(sites):
    http = requests.Session()
    log_in(http, sites, "insurance")
    callback = single_sign_on(http, sites, "municipal")
    assert callback[-1].endswith("/email")
    page = http.get(sites["insurance"] + "/", timeout=10)
    http.post(sites["insurance"] + "/logout", data={"csrf_token": csrf_of(page)}, timeout=10)
    assert sessions_in(sites, "insurance") == 0
    assert sessions_in(sites, "municipal") == 0
