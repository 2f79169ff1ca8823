"""Issue 6: lock-out of a mobile's owner, SMS budgets, and a captcha that people can use.

Everything through the real HTTP surface (the Flask test client), on the embedded defaults and,
when configured, on PostgreSQL + Redis.
"""

import io
import time
import wave

import pytest
from flow import (
    authorize_url,
    follow,
    get,
    outbox_codes,
    post_form,
    submit_identity,
    submit_mobile,
    submit_otp,
)
from PIL import Image
from test_journey_faults import MARYAM, sandbox, settings  # noqa: F401  (fixtures)

from idp import captcha as captcha_module
from idp import create_app

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


def text(response) -> str:
    return response.get_data(as_text=True)


def browser(app, address: str = OWNER):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def begin(client, app, mobile: str, url: str | None = None):
    follow(client, get(client, url or authorize_url()))
    return submit_mobile(client, app, mobile)


def mobile_with_captcha(client, mobile: str, answer: str):
    """Post the mobile page as a person does: the page, its captcha image, then the form."""
    page = client.get("/login/mobile")
    client.get("/login/captcha.png")
    return post_form(client, "/login/mobile", text(page), {"mobile": mobile, "captcha": answer})


@pytest.fixture
def limited(settings):  # noqa: F811
    """Rate limits on with their defaults; a one-second cool-down so tests need not wait."""
    settings.ratelimit.enabled = True
    settings.otp.resend_cooldown_seconds = 1
    return settings


def test_a_stranger_posting_garbage_and_wrong_codes_cannot_lock_the_owner_out(limited):
    app = create_app(limited)
    for _ in range(3):  # three attacker journeys at the owner's mobile, all spent
        attacker = browser(app, ATTACKER)
        assert begin(attacker, app, MARYAM["mobile"]).status_code == 302
        for _ in range(8):
            submit_otp(attacker, app, "abcdef")
        right = outbox_codes(app, MARYAM["mobile"])[-1]
        wrong = "000000" if right != "000000" else "111111"
        for _ in range(5):
            assert submit_otp(attacker, app, wrong).status_code in (422, 429)
        time.sleep(1.1)
    # The attacker's own address is now refused, even with a right code...
    attacker = browser(app, ATTACKER)
    assert begin(attacker, app, MARYAM["mobile"]).status_code == 302
    assert submit_otp(attacker, app, outbox_codes(app, MARYAM["mobile"])[-1]).status_code == 429
    time.sleep(1.1)
    # ...but the owner, from their own phone, logs in.
    owner = browser(app, OWNER)
    assert begin(owner, app, MARYAM["mobile"]).status_code == 302
    response = follow(owner, submit_otp(owner, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    assert response.status_code == 200 and response.request.path == "/login/identity"


def test_sixteen_malformed_codes_do_not_stop_the_owner(limited):
    """The probe of the issue: 16 posts of ``abcdef`` made the owner's right code answer 429."""
    app = create_app(limited)
    attacker = browser(app, ATTACKER)
    begin(attacker, app, MARYAM["mobile"])
    for _ in range(16):
        submit_otp(attacker, app, "abcdef")
    time.sleep(1.1)
    owner = browser(app, ATTACKER)  # even from the same address (a shared NAT)
    assert begin(owner, app, MARYAM["mobile"]).status_code == 302
    response = follow(owner, submit_otp(owner, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    assert response.request.path == "/login/identity"


def test_attempts_are_bounded_per_journey_across_re_sent_codes(limited):
    limited.ratelimit.otp_verify_per_mobile = "1000 per 10 minutes"  # only the journey's bound
    limited.ratelimit.otp_verify_per_journey = "12 per 10 minutes"
    app = create_app(limited)
    client = browser(app)
    begin(client, app, MARYAM["mobile"])
    for _ in range(3):
        right = outbox_codes(app, MARYAM["mobile"])[-1]
        wrong = "000000" if right != "000000" else "111111"
        for _ in range(4):
            assert submit_otp(client, app, wrong).status_code == 422
        time.sleep(1.1)
        page = client.get("/login/otp")
        assert post_form(client, "/login/otp/resend", text(page), {}).status_code == 302
    # Twelve posts spent: the journey's fourth code is refused, right as it is.
    response = submit_otp(client, app, outbox_codes(app, MARYAM["mobile"])[-1])
    assert response.status_code == 429


def test_a_wrong_captcha_does_not_spend_the_owners_send_budget(limited, monkeypatch):
    limited.captcha.enabled = True
    limited.ratelimit.otp_send_per_mobile = "2 per 10 minutes"
    monkeypatch.setattr(captcha_module, "choice", lambda _alphabet: "2")
    app = create_app(limited)
    attacker = browser(app, ATTACKER)
    follow(attacker, get(attacker, authorize_url()))
    for _ in range(5):
        assert mobile_with_captcha(attacker, MARYAM["mobile"], "33333").status_code == 422
    owner = browser(app)
    follow(owner, get(owner, authorize_url()))
    assert mobile_with_captcha(owner, MARYAM["mobile"], "۲۲۲۲۲").status_code == 302
    assert len(outbox_codes(app, MARYAM["mobile"])) == 1


def test_sms_budget_per_number_prefix(limited):
    limited.ratelimit.otp_send_per_prefix = "2 per hour"
    app = create_app(limited)
    # 0935111000x share the E.164 prefix 989351; 09120000001 does not.
    for mobile in ("09351110001", "09351110002"):
        assert begin(browser(app), app, mobile).status_code == 302
    response = begin(browser(app), app, "09351110003")
    assert response.status_code == 429
    assert "ارسال پیامک موقتا محدود شده است" in text(response)
    assert outbox_codes(app, "09351110003") == []
    assert begin(browser(app), app, "09120000001").status_code == 302


def test_global_sms_budget(limited):
    limited.ratelimit.otp_send_global = "3 per hour"
    app = create_app(limited)
    for mobile in ("09351110001", "09120000001", "09900000001"):
        assert begin(browser(app), app, mobile).status_code == 302
    response = begin(browser(app), app, "09010000001")
    assert response.status_code == 429
    assert outbox_codes(app, "09010000001") == []


def test_budget_refusal_in_english(limited):
    limited.ratelimit.otp_send_global = "0 per hour"
    app = create_app(limited)
    response = begin(browser(app), app, "09351110001", authorize_url(ui_locales="en"))
    assert response.status_code == 429
    assert "Too many requests: text messages are limited for now" in text(response)


def test_captcha_again_after_the_first_re_send(limited, monkeypatch):
    limited.captcha.enabled = True
    monkeypatch.setattr(captcha_module, "choice", lambda _alphabet: "2")
    app = create_app(limited)
    client = browser(app)
    follow(client, get(client, authorize_url()))
    assert mobile_with_captcha(client, MARYAM["mobile"], "22222").status_code == 302
    # The first re-send needs no new captcha.
    time.sleep(1.1)
    page = client.get("/login/otp")
    assert 'name="captcha"' not in text(page)
    assert post_form(client, "/login/otp/resend", text(page), {}).status_code == 302
    assert len(outbox_codes(app, MARYAM["mobile"])) == 2
    # The next one does: the form shows it, and a post without it sends nothing.
    time.sleep(1.1)
    page = client.get("/login/otp")
    html = text(page)
    assert 'name="captcha"' in html and "/login/captcha.png" in html
    response = post_form(client, "/login/otp/resend", html, {})
    assert response.status_code == 422 and "کد امنیتی وارد شده صحیح نیست" in text(response)
    assert len(outbox_codes(app, MARYAM["mobile"])) == 2
    page = client.get("/login/otp")
    client.get("/login/captcha.png")
    response = post_form(client, "/login/otp/resend", text(page), {"captcha": "٢٢٢٢٢"})
    assert response.status_code == 302
    assert len(outbox_codes(app, MARYAM["mobile"])) == 3
    # The newest code still logs in.
    response = follow(client, submit_otp(client, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    assert response.request.path == "/login/identity"


def test_captcha_image_has_every_digit_whole_and_no_look_alikes(settings, monkeypatch):  # noqa: F811
    settings.captcha.enabled = True
    answers = []
    original = captcha_module.draw
    monkeypatch.setattr(captcha_module, "draw", lambda answer: answers.append(answer)
                        or original(answer))
    app = create_app(settings)
    client = browser(app)
    follow(client, get(client, authorize_url()))
    for _ in range(25):
        image = client.get("/login/captcha.png")
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
        picture = Image.open(io.BytesIO(image.data)).convert("RGB")
        assert picture.size == (200, 70)
        width, height = picture.size
        rows, columns = (0, 1, 2, height - 3, height - 2, height - 1), (0, 1, 2, width - 3,
                                                                         width - 2, width - 1)
        frame = [(x, y) for x in range(width) for y in rows]
        frame += [(x, y) for y in range(height) for x in columns]
        # Digits are drawn dark; nothing dark touches the edge, so no digit is cut off there.
        assert all(max(picture.getpixel(p)) >= 140 for p in frame)
    assert not set("".join(answers)) & set("017")


def test_captcha_answer_in_any_digits(settings, monkeypatch):  # noqa: F811
    settings.captcha.enabled = True
    monkeypatch.setattr(captcha_module, "choice", lambda _alphabet: "5")
    app = create_app(settings)
    client = browser(app)
    follow(client, get(client, authorize_url()))
    assert mobile_with_captcha(client, MARYAM["mobile"], "٥٥٥٥٥").status_code == 302


@pytest.mark.skipif(not __import__("shutil").which("espeak-ng"), reason="espeak-ng not installed")
def test_captcha_spoken_in_persian(settings, monkeypatch):  # noqa: F811
    settings.captcha.enabled = True
    monkeypatch.setattr(captcha_module, "choice", lambda _alphabet: "4")
    app = create_app(settings)
    client = browser(app)
    follow(client, get(client, authorize_url()))
    page = text(client.get("/login/mobile"))
    assert 'src="/login/captcha.wav?' in page and "نسخه صوتی کد امنیتی" in page
    sound = client.get("/login/captcha.wav")
    assert sound.status_code == 200 and sound.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(sound.data)) as audio:
        assert audio.getnframes() / audio.getframerate() > 3
    # The sound speaks the challenge the answer is checked against.
    response = post_form(client, "/login/mobile", page,
                         {"mobile": MARYAM["mobile"], "captcha": "44444"})
    assert response.status_code == 302
    english = browser(app)
    follow(english, get(english, authorize_url(ui_locales="en")))
    assert "Audio version of the security code" in text(english.get("/login/mobile"))


@pytest.mark.parametrize("year", ["１３６５", "𝟏𝟑𝟔𝟓", "¹³⁶⁵"])
def test_birth_date_refuses_digits_other_than_ascii_persian_arabic(client, app, year):
    begin(client, app, MARYAM["mobile"])
    follow(client, submit_otp(client, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    response = submit_identity(client, MARYAM["national_code"], (year, 5, 20))
    assert response.status_code == 422
    assert "تاریخ تولد وارد شده معتبر نیست" in text(response)


def test_birth_date_in_persian_and_arabic_indic_digits(client, app):
    begin(client, app, MARYAM["mobile"])
    follow(client, submit_otp(client, app, outbox_codes(app, MARYAM["mobile"])[-1]))
    response = follow(client, submit_identity(client, MARYAM["national_code"],
                                              ("۱۳۶۵", "٥", "۲۰")))
    assert response.request.path == "/login/postal"
