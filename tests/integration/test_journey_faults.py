"""Bad input and faults on the journey: each gets its Persian message and changes nothing."""

import dataclasses
import textwrap
import time

import pytest
from flow import (
    authorize_url,
    confirm_postal,
    follow,
    get,
    login,
    outbox_codes,
    pkce,
    post_form,
    redirect_params,
    submit_identity,
    submit_mobile,
    submit_otp,
)
from sqlalchemy import select

from idp import create_app
from idp.models import Account, AddressUpdateRequest
from idp.registries import RegistryUnavailable

SANDBOX = textwrap.dedent("""
    [[person]]
    national_code = "1234567891"
    birth_date = "1365-05-20"
    first_name = "مریم"
    last_name = "آزمایشی"
    father_name = "علی"
    gender = "female"
    postal_code = "1968913141"
    mobiles = ["09351110001", "09351110002"]

    [[person]]
    national_code = "9876543210"
    birth_date = "1370-10-11"
    first_name = "رضا"
    last_name = "نمونه"
    father_name = "حسن"
    gender = "male"
    postal_code = "1587634561"
    mobiles = ["09351110003"]

    [[foreigner]]
    fida_code = "123456789012"
    birth_date = "1368-02-02"
    passport = "P1234567"
    first_name = "احمد"
    last_name = "آزمایشی"
    father_name = "محمود"
    gender = "male"
    nationality = "AF"
    postal_code = "1968913141"
    mobiles = ["09351110004"]
""")
MARYAM = {"mobile": "09351110001", "national_code": "1234567891", "birth": (1365, 5, 20)}


@pytest.fixture
def sandbox(tmp_path):
    path = tmp_path / "people.toml"
    path.write_text(SANDBOX, encoding="utf-8")
    return path


@pytest.fixture
def settings(settings, sandbox):
    """The shared settings (embedded, and PostgreSQL + Redis when given) with these people."""
    settings.registries.sandbox_path = str(sandbox)
    return settings


def start(client, app, mobile: str):
    follow(client, get(client, authorize_url()))
    follow(client, submit_mobile(client, app, mobile))


def text(response) -> str:
    return response.get_data(as_text=True)


def test_wrong_code_then_exhausted_then_a_new_code_after_cooldown(client, app):
    start(client, app, MARYAM["mobile"])
    right = outbox_codes(app, MARYAM["mobile"])[-1]
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        response = submit_otp(client, app, wrong)
        assert response.status_code == 422
        assert "رمز یکبار مصرف وارد شده صحیح نیست" in text(response)
    response = submit_otp(client, app, wrong)
    assert "تعداد دفعات مجاز" in text(response)
    # Even the right code is useless now.
    assert submit_otp(client, app, right).status_code == 422
    # The re-send waits for the cool-down.
    page = client.get("/login/otp")
    response = post_form(client, "/login/otp/resend", text(page), {})
    assert response.status_code == 429
    assert len(outbox_codes(app, MARYAM["mobile"])) == 1


def test_expired_code(client, app):
    start(client, app, MARYAM["mobile"])
    code = outbox_codes(app, MARYAM["mobile"])[-1]
    store = app.extensions["idp"].store
    with app.test_request_context():
        journey_key = next(k.decode() for k in store.redis.scan_iter("idp:otp:*"))
    store.redis.delete(journey_key)
    response = submit_otp(client, app, code)
    assert "منقضی" in text(response)


def test_code_typed_in_persian_digits(client, app):
    start(client, app, MARYAM["mobile"])
    code = outbox_codes(app, MARYAM["mobile"])[-1]
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    response = follow(client, submit_otp(client, app, persian))
    assert response.request.path == "/login/identity"


def test_not_in_registry_gets_seed_004_wording(client, app):
    start(client, app, MARYAM["mobile"])
    follow(client, submit_otp(client, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    response = submit_identity(client, MARYAM["national_code"], (1365, 5, 21))
    assert response.status_code == 422
    assert "اطلاعات وارد شده با اطلاعات موجود در ثبت احوال همخوانی ندارد" in text(response)
    with app.app_context():
        assert app.extensions["idp"].db.session.scalars(select(Account)).all() == []


def test_mobile_of_someone_else_is_refused(client, app):
    start(client, app, "09351110003")  # Reza's mobile
    follow(client, submit_otp(client, app, outbox_codes(app, "09351110003")[-1]))
    response = submit_identity(client, MARYAM["national_code"], MARYAM["birth"])
    assert response.status_code == 422
    assert "عدم تطابق شماره تلفن همراه با کد ملی" in text(response)


def test_invalid_national_code_checksum(client, app):
    start(client, app, MARYAM["mobile"])
    follow(client, submit_otp(client, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    response = submit_identity(client, "1234567890", MARYAM["birth"])
    assert response.status_code == 422
    for repeated in ("1111111111", "12345"):
        assert submit_identity(client, repeated, MARYAM["birth"]).status_code == 422


def test_foreign_national_logs_in_with_fida_code(client, app):
    start(client, app, "09351110004")
    follow(client, submit_otp(client, app, outbox_codes(app, "09351110004")[-1]))
    page = client.get("/login/identity?tab=foreign")
    response = follow(client, post_form(client, "/login/identity", text(page), {
        "identity_type": "foreign", "fida_code": "۱۲۳۴۵۶۷۸۹۰۱۲",
        "secondary_id_type": "passport", "secondary_id": "P1234567",
        "birth_year": "1368", "birth_month": "2", "birth_day": "2"}))
    assert response.request.path == "/login/postal"
    with app.app_context():
        account = app.extensions["idp"].db.session.scalars(select(Account)).one()
        assert account.identity_type == "foreign" and account.fida_code == "123456789012"


def test_registry_down_gives_a_page_and_no_account(client, app, monkeypatch):
    start(client, app, MARYAM["mobile"])
    follow(client, submit_otp(client, app, outbox_codes(app, MARYAM["mobile"])[-1]))

    def down(*_args, **_kwargs):
        raise RegistryUnavailable("civil registry timed out")

    monkeypatch.setattr(app.extensions["idp"].registries.civil, "find_person", down)
    response = submit_identity(client, MARYAM["national_code"], MARYAM["birth"])
    assert response.status_code == 503
    assert "Traceback" not in text(response)
    with app.app_context():
        assert app.extensions["idp"].db.session.scalars(select(Account)).all() == []


def test_postal_correction_files_an_update_request_and_still_logs_in(client, app):
    start(client, app, MARYAM["mobile"])
    follow(client, submit_otp(client, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    follow(client, submit_identity(client, MARYAM["national_code"], MARYAM["birth"]))
    response = follow(client, confirm_postal(client, "1587634561"))
    assert response.request.path == "/login/consent"
    with app.app_context():
        requests = app.extensions["idp"].db.session.scalars(select(AddressUpdateRequest)).all()
        assert [r.postal_code for r in requests] == ["1587634561"]


def test_returning_citizen_with_a_new_mobile_is_relinked(client, app):
    _verifier, challenge = pkce()
    url = authorize_url(code_challenge=challenge, code_challenge_method="S256")
    redirect_params(login(client, app, url, MARYAM))
    second = app.test_client()
    other = dict(MARYAM, mobile="09351110002")
    redirect_params(login(second, app, url, other))
    with app.app_context():
        account = app.extensions["idp"].db.session.scalars(select(Account)).one()
        assert account.mobile == "+989351110002"


def test_recycled_mobile_never_reaches_the_old_account(client, app, monkeypatch):
    _verifier, challenge = pkce()
    url = authorize_url(code_challenge=challenge, code_challenge_method="S256")
    redirect_params(login(client, app, url, MARYAM))
    shahkar = app.extensions["idp"].registries.shahkar
    monkeypatch.setattr(shahkar, "owns", lambda mobile, kind, code: code == "9876543210")
    app.extensions["idp"].store.delete("otp-cooldown:+989351110001")
    newcomer = app.test_client()
    follow(newcomer, get(newcomer, url))
    follow(newcomer, submit_mobile(newcomer, app, MARYAM["mobile"]))
    response = follow(newcomer, submit_otp(newcomer, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    assert response.request.path == "/login/identity"
    with app.app_context():
        account = app.extensions["idp"].db.session.scalars(select(Account)).one()
        assert account.mobile is None


def test_captcha_is_checked_before_any_sms(settings):
    settings.captcha.enabled = True
    app = create_app(settings)
    client = app.test_client()
    follow(client, get(client, authorize_url()))
    page = client.get("/login/mobile")
    assert "/login/captcha.png" in text(page)
    image = client.get("/login/captcha.png")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    response = post_form(client, "/login/mobile", text(page),
                         {"mobile": MARYAM["mobile"], "captcha": "00000"})
    assert response.status_code == 422
    assert "کد امنیتی" in text(response)
    assert outbox_codes(app, MARYAM["mobile"]) == []


def test_rate_limit_on_sending_codes(settings):
    settings.ratelimit.enabled = True
    settings.ratelimit.otp_send_per_mobile = "2 per 10 minutes"
    settings.otp.resend_cooldown_seconds = 1
    app = create_app(settings)
    statuses = []
    for _ in range(3):
        client = app.test_client()
        follow(client, get(client, authorize_url()))
        statuses.append(submit_mobile(client, app, MARYAM["mobile"]).status_code)
        time.sleep(1.1)
    assert statuses[:2] == [302, 302] and statuses[2] == 429
    assert len(outbox_codes(app, MARYAM["mobile"])) == 2


def test_expired_journey_restarts_cleanly(client, app):
    follow(client, get(client, authorize_url()))
    store = app.extensions["idp"].store
    [key] = [k.decode().removeprefix("idp:") for k in store.redis.scan_iter("idp:journey:*")]
    journey = store.get(key)
    journey["created_at"] -= app.extensions["idp"].settings.journey.lifetime_seconds + 1
    store.put(key, journey, 60)
    response = client.get("/login/mobile")
    assert response.status_code == 410
    assert "/authorize?" in text(response)
    # A journey gone from the store entirely still gets the page, with no request to resume.
    store.redis.flushdb()
    response = client.get("/login/mobile")
    assert response.status_code == 410


def test_postal_confirmation_comes_again_only_when_the_registry_changes(client, app, monkeypatch):
    url = authorize_url(code_challenge=pkce()[1], code_challenge_method="S256")
    redirect_params(login(client, app, url, MARYAM))

    def second_login():
        app.extensions["idp"].store.delete("otp-cooldown:+989351110001")
        browser = app.test_client()
        follow(browser, get(browser, url))
        follow(browser, submit_mobile(browser, app, MARYAM["mobile"]))
        return follow(browser, submit_otp(browser, app, outbox_codes(app, MARYAM["mobile"])[-1]))

    assert second_login().request.path != "/login/postal"
    civil = app.extensions["idp"].registries.civil
    original = civil.find_person

    def moved(code, birth_date):
        person = original(code, birth_date)
        return person and dataclasses.replace(person, postal_code="1587634561")

    monkeypatch.setattr(civil, "find_person", moved)
    assert second_login().request.path == "/login/postal"
