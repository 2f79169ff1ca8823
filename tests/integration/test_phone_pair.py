"""``idp-phone pair`` through the real provider's login pages (captcha, one-time code from the
SMS outbox, identity, postal code), with the device API played by the test double until the
provider serves it: the login, PKCE, the ID-token check and the refresh are the provider's own.
"""

import json
import os
import shutil
import stat

import jwt
import pytest
from click.testing import CliRunner
from live import demo_person, free_port, outbox_path, serve, write_config
from phone_double import PhoneApiDouble

from clients.phone.app import Phone
from clients.phone.cli import main
from clients.phone.login import Answers, OutboxCodes
from clients.phone.messages import Exit, PhoneError

REDIRECT_URI = "http://127.0.0.1/idp-phone/callback"
# The provider of this branch does not know the device scopes yet; the double does not ask.
SCOPE = "openid profile national_id offline_access"


@pytest.fixture
def provider(tmp_path, key_folder, monkeypatch):
    """The provider and the double behind one origin: ``/api/…`` is the double's."""
    from idp import create_app
    from idp.settings import load_settings

    # Every captcha drawn in this test is 55555 (the image is still drawn and fetched).
    monkeypatch.setattr("idp.captcha.choice", lambda alphabet: "5")
    port = free_port()
    shutil.copytree(key_folder, tmp_path / "keys", dirs_exist_ok=True)
    config = write_config(tmp_path, port=port, captcha=True, clients=[{
        "client_id": "phone-app", "name": "دولت همراه", "public": True, "first_party": True,
        "redirect_uris": [REDIRECT_URI], "scope": SCOPE}, {
        "client_id": "other-app", "name": "برنامه دیگر", "public": True,
        "redirect_uris": [REDIRECT_URI], "scope": SCOPE}])
    app = create_app(load_settings(config))
    jwks = jwt.PyJWKSet.from_dict(app.test_client().get("/jwks.json").get_json())

    def verify(token: str) -> dict | None:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next(k for k in jwks.keys if k.key_id == kid)
        return jwt.decode(token, key.key, algorithms=["RS256", "ES256"],
                          options={"verify_aud": False})

    double = PhoneApiDouble(f"http://127.0.0.1:{port}", verify_token=verify)
    api, site = double.app().wsgi_app, app.wsgi_app

    def both(environ, start_response):
        inner = api if environ.get("PATH_INFO", "").startswith("/api/") else site
        return inner(environ, start_response)

    app.wsgi_app = both
    with serve(app, port) as issuer:
        yield issuer, double, outbox_path(config)
    app.extensions["idp"].db.engine.dispose()


def test_pair_with_the_library(provider, tmp_path):
    issuer, double, outbox = provider
    images = []

    def captcha(image: bytes) -> str:
        images.append(image)
        return "55555"

    person = demo_person
    phone = Phone(tmp_path / "phone" / "state.json")
    device = phone.pair(issuer, "phone-app", redirect_uri=REDIRECT_URI, scope=SCOPE,
                        display_name="گوشی علی", platform="android",
                        answers=Answers(mobile=person["mobile"],
                                        national_code=person["national_code"],
                                        birth=person["birth"], otp=OutboxCodes(outbox),
                                        captcha=captcha))
    assert images and images[0].startswith(b"\x89PNG")
    registered = double.devices[device.device_id]
    assert registered["display_name"] == "گوشی علی" and registered["platform"] == "android"
    state = phone.state
    assert state.sub == registered["sub"] and state.tokens.refresh_token
    path = tmp_path / "phone" / "state.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert not (path.parent / "captcha.png").exists()

    # The provider rotates the refresh token; the app keeps the new one.
    old = state.tokens
    assert phone.access_token(force_refresh=True) != old.access_token
    saved = json.loads(path.read_text())["tokens"]
    assert saved["refresh_token"] not in (None, old.refresh_token)
    assert Phone(path).devices()[0]["device_id"] == device.device_id


def test_pair_on_the_command_line_in_persian(provider, tmp_path):
    issuer, double, outbox = provider
    person = demo_person
    state = tmp_path / "state.json"
    result = CliRunner().invoke(main, [
        "--state", str(state), "pair", "--issuer", issuer, "--client-id", "phone-app",
        "--redirect-uri", REDIRECT_URI, "--scope", SCOPE, "--mobile", "۰۹۱۲۰۰۰۰۰۰۱",
        "--national-code", person["national_code"], "--birth-date", "۱۳۶۰/۰۱/۰۱",
        "--outbox", str(outbox)], input="55555\n")
    assert result.exit_code == 0, result.output
    assert "تصویر کد امنیتی در این فایل ذخیره شد" in result.output
    assert "رمز یکبار مصرف از صندوق پیامک خوانده شد" in result.output
    device_id = json.loads(state.read_text())["device"]["device_id"]
    assert f"شناسه دستگاه: {device_id}" in result.output and device_id in double.devices

    again = CliRunner().invoke(main, ["--state", str(state), "pair", "--issuer", issuer,
                                      "--client-id", "phone-app"])
    assert again.exit_code == 2 and "از قبل" in again.output


def test_a_wrong_captcha_is_asked_again(provider, tmp_path):
    issuer, double, outbox = provider
    person = demo_person
    result = CliRunner().invoke(main, [
        "--lang", "en", "--state", str(tmp_path / "s.json"), "pair", "--issuer", issuer,
        "--client-id", "phone-app", "--redirect-uri", REDIRECT_URI, "--scope", SCOPE,
        "--mobile", person["mobile"], "--national-code", person["national_code"],
        "--outbox", str(outbox)], input="22222\n55555\n1\n۱\n1360\n")
    assert result.exit_code == 0, result.output
    # The birth date was asked with the page's labels; the month chosen from its list.
    assert "Date of birth — Month (Choose one): ۱" in result.output
    assert "12) Esfand" in result.output
    # The page's own message was shown before the captcha was asked again.
    assert "The provider says: The security code entered is not correct" in result.output
    assert len(double.devices) == 1


def test_without_a_terminal_a_question_fails_clearly(provider, tmp_path):
    issuer, double, _ = provider
    phone = Phone(tmp_path / "state.json")
    with pytest.raises(PhoneError) as caught:
        phone.pair(issuer, "phone-app", redirect_uri=REDIRECT_URI, scope=SCOPE,
                   answers=Answers(mobile=demo_person["mobile"]))
    assert caught.value.exit_code == Exit.LOGIN_FAILED
    assert "کد امنیتی" in caught.value.message("en") and not double.devices


def test_stopping_at_a_question_is_cancelled(provider, tmp_path):
    issuer, double, _ = provider
    result = CliRunner().invoke(main, ["--lang", "en", "--state", str(tmp_path / "s.json"),
                                       "pair", "--issuer", issuer, "--client-id", "phone-app",
                                       "--redirect-uri", REDIRECT_URI, "--scope", SCOPE],
                                input="")
    assert result.exit_code == Exit.CANCELLED, result.output
    assert "Cancelled; nothing was recorded." in result.output and not double.devices


def test_a_client_the_provider_does_not_know_stops_the_login(provider, tmp_path):
    issuer, _, _ = provider
    result = CliRunner().invoke(main, ["--lang", "en", "--state", str(tmp_path / "s.json"),
                                       "pair", "--issuer", issuer, "--client-id", "nobody"])
    assert result.exit_code == 5, result.output
    assert "The login failed" in result.output


def test_a_consent_page_is_answered_and_a_denial_is_the_providers_error(provider, tmp_path):
    issuer, double, outbox = provider
    person = demo_person
    phone = Phone(tmp_path / "state.json")
    with pytest.raises(PhoneError) as caught:
        phone.pair(issuer, "other-app", redirect_uri=REDIRECT_URI, scope=SCOPE,
                   answers=Answers(mobile=person["mobile"], national_code=person["national_code"],
                                   birth=person["birth"], otp=OutboxCodes(outbox),
                                   captcha=lambda image: "55555", fields={"decision": "deny"}))
    assert caught.value.exit_code == Exit.LOGIN_FAILED
    assert caught.value.error == "access_denied"
    assert not double.devices and not (tmp_path / "state.json").exists()
