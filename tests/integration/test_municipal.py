"""The municipal service (seed 000) and the shared relying-party base, over real HTTP: the
provider and the app on their own ports, a ``requests`` session as the citizen's browser."""

import json
import secrets
import time

import jwt as pyjwt
import pytest
import requests
from live import demo_person
from relying_parties import (
    csrf_of,
    fa,
    give_email,
    log_in,
    log_out,
    services_on,
    sessions_in,
)
from sqlalchemy import create_engine, text

from clients.common.backchannel import BACKCHANNEL_EVENT


@pytest.fixture(params=["embedded", "services"])
def sites(request, tmp_path):
    with services_on(request, tmp_path) as running:
        yield running


def test_first_login_fills_the_registration_from_the_provider_and_asks_only_the_email(sites):
    http = requests.Session()
    home = http.get(sites["municipal"] + "/", timeout=10)
    assert 'dir="rtl"' in home.text and "ورود با پنجره ملی" in home.text
    assert "کلمه عبور *" not in home.text  # no password registration any more

    callback = log_in(http, sites)
    assert callback.status_code == 302
    assert callback.headers["Location"].endswith("/email")
    # Until it is given, the home page asks for it again (once per citizen, not per login).
    assert http.get(sites["municipal"] + "/", allow_redirects=False,
                    timeout=10).headers["Location"].endswith("/email")

    page = http.get(sites["municipal"] + "/email", timeout=10)
    assert "تکمیل ثبت نام" in page.text
    refused = http.post(sites["municipal"] + "/email", timeout=10,
                        data={"csrf_token": csrf_of(page), "email": "ali@example"})
    assert refused.status_code == 400
    assert "پست الکترونیک وارد شده معتبر نیست" in refused.text
    no_csrf = http.post(sites["municipal"] + "/email", timeout=10, data={"email": "a@b.ir"})
    assert no_csrf.status_code == 400

    # A bidi mark and spaces from a phone keyboard are trimmed.
    give_email(http, sites, " \u200fAli@Example.ir ")
    services = http.get(sites["municipal"] + "/", timeout=10)
    assert services.status_code == 200
    assert "ثبت نام شما در سامانه حساب شهروندی تکمیل شد" in services.text
    for service in ("service-profile", "service-email", "service-support"):
        assert service in services.text
    assert demo_person["given_name"] in services.text

    profile = http.get(sites["municipal"] + "/profile", timeout=10).text
    for value in (fa(demo_person["national_code"]), fa("1360/01/01"),
                  fa(demo_person["postal_code"]), fa(demo_person["mobile"]), "مرد",
                  demo_person["family_name"], "ali@example.ir"):
        assert value in profile, value


def test_the_email_is_not_asked_again_on_a_later_login(sites):
    http = requests.Session()
    log_in(http, sites)
    give_email(http, sites)
    log_out(http, sites)

    again = requests.Session()  # another browser, a new provider session
    callback = log_in(again, sites)
    assert callback.headers["Location"] == "/"
    assert "service-profile" in again.get(sites["municipal"] + "/", timeout=10).text


def test_logout_ends_the_session_here_and_at_the_provider(sites):
    http = requests.Session()
    log_in(http, sites)
    give_email(http, sites)
    cookie = http.cookies.get("municipal_session")
    home = log_out(http, sites)
    assert "خارج شدید" in home.text
    assert "citizen-name" not in home.text
    assert sessions_in(sites) == 0

    # The old cookie, replayed, no longer names a login (the session was server-side).
    replay = requests.get(sites["municipal"] + "/profile", allow_redirects=False, timeout=10,
                          cookies={"municipal_session": cookie})
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]
    # And the provider asks for a new login.
    start = http.get(sites["municipal"] + "/login", timeout=10)
    assert "/login/mobile" in start.url


def test_logout_at_the_provider_ends_the_service_session_by_back_channel(sites):
    http = requests.Session()
    log_in(http, sites)
    give_email(http, sites)
    assert sessions_in(sites) == 1

    confirm = http.get(sites.issuer + "/logout", timeout=10)
    done = http.post(sites.issuer + "/logout", timeout=10,
                     data={"csrf_token": csrf_of(confirm), "confirm": "yes"})
    assert done.status_code == 200
    assert sessions_in(sites) == 0
    page = http.get(sites["municipal"] + "/", timeout=10)
    assert "citizen-name" not in page.text and 'id="login"' in page.text


def test_refresh_renews_the_access_token_and_a_revoked_grant_ends_the_login(sites):
    http = requests.Session()
    log_in(http, sites)
    give_email(http, sites)
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    with engine.begin() as conn:
        old_access, old_refresh = conn.execute(
            text("SELECT access_token, refresh_token FROM login_sessions")).one()
        assert old_refresh
        conn.execute(text("UPDATE login_sessions SET access_expires_at = :t"),
                     {"t": int(time.time()) - 1})

    profile = http.get(sites["municipal"] + "/profile", timeout=10)
    refreshed = http.post(sites["municipal"] + "/profile/refresh", timeout=10,
                          data={"csrf_token": csrf_of(profile)})
    assert "به‌روز شد" in refreshed.text
    with engine.begin() as conn:
        access, refresh = conn.execute(
            text("SELECT access_token, refresh_token FROM login_sessions")).one()
        assert access != old_access and refresh != old_refresh  # rotated (SPEC §4)
        conn.execute(text("UPDATE login_sessions SET access_expires_at = :t"),
                     {"t": int(time.time()) - 1})

    # The citizen revokes the service at the provider (RFC 7009, as the account page does).
    secret = sites.secrets["municipal"]
    revoked = requests.post(sites.issuer + "/revoke", auth=("municipal", secret), timeout=10,
                            data={"token": refresh, "token_type_hint": "refresh_token"})
    assert revoked.status_code == 200
    ended = http.post(sites["municipal"] + "/profile/refresh", timeout=10,
                      data={"csrf_token": csrf_of(profile)})
    assert "نشست شما پایان یافته است" in ended.text
    assert sessions_in(sites) == 0


def test_a_refused_login_is_explained_and_starts_nothing(sites):
    http = requests.Session()
    answer = http.get(sites["municipal"] + "/callback?error=access_denied&state=x", timeout=10)
    assert answer.status_code == 400
    assert "ورود انجام نشد" in answer.text
    forged = http.get(sites["municipal"] + "/callback?code=abc&state=forged", timeout=10)
    assert forged.status_code == 400
    mixup = http.get(sites["municipal"] + "/callback?code=abc&state=x&iss=https://evil.example",
                     timeout=10)
    assert mixup.status_code == 400
    assert sessions_in(sites) == 0


def test_english_pages_and_the_language_reaches_the_provider(sites):
    http = requests.Session()
    assert fa("42580190") in http.get(sites["municipal"] + "/support", timeout=10).text
    switched = http.get(sites["municipal"] + "/lang/en?next=/support", timeout=10)
    assert switched.url == sites["municipal"] + "/support"
    assert 'lang="en" dir="ltr"' in switched.text
    assert "Support" in switched.text
    # The same template, first shown in Persian, now has English digits.
    assert "42580190" in switched.text and "from 8 to 17" in switched.text
    assert "//evil.example" not in http.get(
        sites["municipal"] + "/lang/fa?next=//evil.example", allow_redirects=False,
        timeout=10).headers["Location"]
    http.get(sites["municipal"] + "/lang/en", timeout=10)
    start = http.get(sites["municipal"] + "/login", allow_redirects=False, timeout=10)
    assert "ui_locales=en" in start.headers["Location"]


def test_unknown_pages_and_an_unreachable_provider_are_persian_pages(tmp_path):
    from clients.municipal import create_app

    app = create_app("http://127.0.0.1:9", "municipal", "secret", "http://127.0.0.1:8",
                     f"sqlite:///{tmp_path / 'm.sqlite'}")
    client = app.test_client()
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "صفحه مورد نظر یافت نشد" in missing.text
    down = client.get("/login")
    assert down.status_code == 502 and "ارتباط با پنجره ملی" in down.text
    # A logout token that cannot be checked (no keys) is answered as an API, not a page.
    token = pyjwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "k1"})
    unchecked = client.post("/backchannel-logout", data={"logout_token": token})
    assert unchecked.status_code == 503
    assert unchecked.json["error"] == "temporarily_unavailable"
    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    with engine.connect() as conn:  # the service's own database, created on start
        tables = {row[0] for row in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type='table'"))}
    assert {"citizens", "login_sessions", "seen_logout_tokens"} <= tables


def provider_signed(sites, tmp_path, **claims) -> str:
    """A logout token signed with the provider's own current key (read from its key folder),
    by PyJWT: the service must accept what the provider would send and nothing else."""
    path = sorted((tmp_path / "keys").glob("*-RS256-*.jwk.json"))[-1]
    stored = json.loads(path.read_text())
    jwk = stored.get("jwk", stored)
    key = pyjwt.PyJWK.from_json(json.dumps(jwk)).key
    now = int(time.time())
    payload = {"iss": sites.issuer, "aud": "municipal", "iat": now, "exp": now + 120,
               "jti": secrets.token_urlsafe(8), "events": {BACKCHANNEL_EVENT: {}}, **claims}
    return pyjwt.encode(payload, key, algorithm="RS256",
                        headers={"kid": jwk["kid"], "typ": "logout+jwt"})


def test_back_channel_logout_ends_the_named_session_once(sites, tmp_path):
    browsers = [requests.Session(), requests.Session()]
    for http in browsers:
        log_in(http, sites)
    engine = sites.apps["municipal"].extensions["rp"].db.engine
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT subject, provider_sid FROM login_sessions")).all()
    assert len(rows) == 2 and rows[0].subject == rows[1].subject
    endpoint = sites["municipal"] + "/backchannel-logout"

    token = provider_signed(sites, tmp_path, sid=rows[0].provider_sid, sub=rows[0].subject)
    assert requests.post(endpoint, data={"logout_token": token}, timeout=10).status_code == 200
    assert sessions_in(sites) == 1
    replayed = requests.post(endpoint, data={"logout_token": token}, timeout=10)
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_request"
    assert replayed.headers["Cache-Control"] == "no-store"

    for bad in (provider_signed(sites, tmp_path, sub=rows[1].subject, nonce="n"),
                provider_signed(sites, tmp_path, sub=rows[1].subject, aud="insurance"),
                "garbage", ""):
        assert requests.post(endpoint, data={"logout_token": bad}, timeout=10).status_code == 400
    assert sessions_in(sites) == 1

    # A token with only the subject ends every session of that citizen.
    token = provider_signed(sites, tmp_path, sub=rows[1].subject)
    assert requests.post(endpoint, data={"logout_token": token}, timeout=10).status_code == 200
    assert sessions_in(sites) == 0
