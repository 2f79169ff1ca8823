"""The citizen's account page through HTTP (issue 12): profile, mobile change, e-mail, services,
sessions and history, with their bad inputs. Runs on embedded defaults and on PostgreSQL + Redis.
"""

import json
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from conftest import TEST_CLIENTS, make_settings
from flow import (
    DEMO,
    authorize_url,
    csrf,
    exchange,
    login,
    outbox_codes,
    pkce,
    redirect_params,
)
from live import free_port, serve

from idp.models import Account, AuditEvent

MARYAM = {"mobile": "09350000002", "national_code": "1214792235", "birth": (1365, 5, 20)}
MARYAM_EMAIL = "maryam.ahmadi@example.ir"
HOSSEIN = {"mobile": "09350000005", "national_code": "1371522200", "birth": (1340, 3, 30)}
BASIC = "Basic dGVzdC1ycDp0ZXN0LXJwLXNlY3JldA=="  # test-rp:test-rp-secret


class LogoutCatcher:
    """A relying party's back-channel logout endpoint: keeps every logout token it receives."""

    def __init__(self) -> None:
        self.tokens: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        from urllib.parse import parse_qs

        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = parse_qs(environ["wsgi.input"].read(size).decode())
        token = body.get("logout_token", [""])[0]
        with self.lock:
            self.tokens.append(pyjwt.decode(token, options={"verify_signature": False}))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]


@pytest.fixture
def backchannel():
    catcher = LogoutCatcher()
    port = free_port()
    with serve(catcher, port) as url:
        catcher.url = url + "/backchannel-logout"
        yield catcher


@pytest.fixture
def settings(request, tmp_path, key_folder, backend, backchannel):
    """The shared settings, with test-rp asking for back-channel logout."""
    clients = [dict(c) for c in TEST_CLIENTS]
    clients[0]["backchannel_logout_uri"] = backchannel.url
    if backend == "services":
        from conftest import REDIS_URL, _reset_services

        database_url = request.getfixturevalue("services_database")
        _reset_services(database_url)
        return make_settings(tmp_path, key_folder, database_url=database_url,
                             redis_url=REDIS_URL, clients=clients)
    return make_settings(tmp_path, key_folder, clients=clients)


def mail_outbox(app) -> list[dict]:
    settings = app.extensions["idp"].settings
    path = settings.path(settings.email.outbox_path)
    if not path.exists():
        return []
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def sms_outbox(app) -> list[dict]:
    settings = app.extensions["idp"].settings
    path = settings.path(settings.sms.outbox_path)
    if not path.exists():
        return []
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def cool_down_over(app, person) -> None:
    """The SMS cool-down of a citizen's earlier login is over (another login may follow)."""
    app.extensions["idp"].store.delete(f"otp-cooldown:+98{person['mobile'][1:]}")


def account_login(client, app, person=DEMO):
    """Log in to the provider itself (the account page's button) and land on /account."""
    cool_down_over(app, person)
    page = client.get("/account")
    start = client.post("/account", data={"csrf_token": csrf(page.get_data(as_text=True))})
    assert start.status_code == 302
    landed = login(client, app, "/login/mobile", person)
    assert landed.status_code == 200 and urlsplit(landed.request.url).path == "/account"
    return landed


def rp_login(client, app, person=DEMO, scope="openid profile offline_access"):
    """Log in at test-rp (consent given) and exchange the code; returns the token response."""
    cool_down_over(app, person)
    verifier, challenge = pkce()
    url = authorize_url(scope=scope, code_challenge=challenge, code_challenge_method="S256")
    params = redirect_params(login(client, app, url, person))
    tokens = exchange(client, params["code"], verifier=verifier)
    assert tokens.status_code == 200, tokens.get_json()
    return tokens.get_json()


def post(client, url: str, page_url: str, data: dict | None = None):
    """POST a form of the account page with the CSRF token of ``page_url``."""
    token = csrf(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})})


def text(response) -> str:
    return response.get_data(as_text=True)


def account_of(app, national_code: str) -> Account:
    with app.app_context():
        from sqlalchemy import select

        session = app.extensions["idp"].db.session
        account = session.scalars(select(Account).where(
            Account.national_code == national_code)).one()
        session.expunge(account)
        return account


def events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        from sqlalchemy import select

        return list(app.extensions["idp"].db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == name)))


# --- the page itself --------------------------------------------------------------------------

def test_every_tab_needs_a_login_and_has_its_own_url(client, app):
    for path in ("/account/profile", "/account/services", "/account/sessions",
                 "/account/history"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account"
    account_login(client, app)
    bar = text(client.get("/account"))
    for path in ("/account/profile", "/account/services", "/account/sessions",
                 "/account/history"):
        assert f'href="{path}"' in bar
        assert client.get(path).status_code == 200
    assert 'href="/account/profile" aria-current="page"' in bar  # /account opens the first tab


def test_account_forms_refuse_a_post_without_csrf(client, app):
    account_login(client, app)
    for path in ("/account/mobile", "/account/email", "/account/services/revoke",
                 "/account/sessions/end", "/account/sessions/end-all"):
        response = client.post(path, data={"target": "x", "mobile": "09120000003"})
        assert response.status_code == 400, path
        assert "اعتبار فرم" in text(response)
    assert client.get("/account/profile").status_code == 200  # still logged in


def test_profile_shows_the_registry_record_and_the_national_email(client, app):
    account_login(client, app, MARYAM)
    page = text(client.get("/account/profile"))
    assert "مریم" in page and "احمدی آزمایشی" in page
    assert "۱۲۱۴۷۹۲۲۳۵" in page  # national code in Persian digits
    assert MARYAM_EMAIL in page and "ایمیل ملی" in page
    client.get("/language/en?next=/account/profile")
    english = text(client.get("/account/profile"))
    assert 'lang="en"' in english and 'dir="ltr"' in english
    assert "1214792235" in english and "National e-mail" in english


# --- e-mail: the national one, the claims, the login fallback -----------------------------------

def test_email_scope_releases_the_national_email_only_when_there_is_one(client, app):
    body = rp_login(client, app, MARYAM, scope="openid email")
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.get_json()["email"] == MARYAM_EMAIL
    assert info.get_json()["email_verified"] is True

    other = app.test_client()
    body = rp_login(other, app, DEMO, scope="openid email")
    info = other.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert "email" not in info.get_json() and "email_verified" not in info.get_json()


def start_returning_login(client, app, person):
    """A returning citizen's second login, stopped on the one-time-code page."""
    client.post("/logout", data={"csrf_token": csrf(text(client.get("/account"))),
                                 "confirm": "yes"})
    cool_down_over(app, person)
    page = client.get("/account")
    client.post("/account", data={"csrf_token": csrf(text(page))})
    mobile_page = client.get("/login/mobile")
    sent = client.post("/login/mobile", data={"csrf_token": csrf(text(mobile_page)),
                                              "mobile": person["mobile"]})
    assert sent.status_code == 302
    return client.get("/login/otp")


def test_returning_citizen_can_have_the_code_sent_to_the_email_at_once(client, app):
    account_login(client, app, MARYAM)
    otp_page = start_returning_login(client, app, MARYAM)
    html = text(otp_page)
    assert "ارسال ایمیل" in html and "m•••@example.ir" in html
    assert MARYAM_EMAIL not in html  # masked, never shown whole before the code

    # Usable at once after the SMS: the e-mail has its own cool-down.
    sent = client.post("/login/otp/email", data={"csrf_token": csrf(html)})
    assert sent.status_code == 302
    mail = mail_outbox(app)[-1]
    assert set(mail) == {"to", "subject", "text", "code", "purpose", "at"}
    assert mail["to"] == MARYAM_EMAIL and mail["purpose"] == "login"
    assert mail["code"] and mail["code"] in mail["text"]
    page = text(client.get("/login/otp"))
    assert "کد تایید به ایمیل" in page

    again = client.post("/login/otp/email", data={"csrf_token": csrf(page)})
    assert again.status_code == 429 and "ثانیه صبر کنید" in text(again)
    assert len([m for m in mail_outbox(app) if m["purpose"] == "login"]) == 1

    done = client.post("/login/otp", data={"csrf_token": csrf(page), "otp": mail["code"]})
    assert done.status_code == 302
    history = text(client.get("/account/history"))
    assert "رمز یکبار مصرف (ایمیل)" in history


def test_a_new_citizen_is_not_offered_the_email(client, app):
    page = client.get("/account")
    client.post("/account", data={"csrf_token": csrf(text(page))})
    mobile_page = client.get("/login/mobile")
    client.post("/login/mobile", data={"csrf_token": csrf(text(mobile_page)),
                                       "mobile": MARYAM["mobile"]})
    html = text(client.get("/login/otp"))
    assert "ارسال ایمیل" not in html and "•••" not in html
    refused = client.post("/login/otp/email", data={"csrf_token": csrf(html)})
    assert refused.status_code == 302 and mail_outbox(app) == []


# --- mobile change ---------------------------------------------------------------------------

def test_mobile_change_refuses_a_number_shahkar_does_not_give_the_citizen(client, app):
    account_login(client, app, MARYAM)
    before = len(sms_outbox(app))
    response = post(client, "/account/mobile", "/account/profile", {"mobile": "09120000003"})
    assert response.status_code == 422
    assert "عدم تطابق شماره تلفن همراه با کد ملی" in text(response)
    assert len(sms_outbox(app)) == before  # no code to a number that is not hers
    assert events(app, "account.mobile_change_refused")
    bad = post(client, "/account/mobile", "/account/profile", {"mobile": "12345"})
    assert bad.status_code == 422 and "۱۱ رقمی" in text(bad)
    same = post(client, "/account/mobile", "/account/profile", {"mobile": MARYAM["mobile"]})
    assert same.status_code == 422


def test_mobile_change_by_code_to_the_new_number_and_the_old_one_is_told(client, app):
    account_login(client, app, MARYAM)
    new = "09410000002"  # her second line at Shahkar
    sent = post(client, "/account/mobile", "/account/profile", {"mobile": "۰۹۴۱۰۰۰۰۰۰۲"})
    assert sent.status_code == 302
    code = outbox_codes(app, new)[-1]
    assert sms_outbox(app)[-1]["purpose"] == "mobile_change"
    page = text(client.get("/account/profile"))
    assert "۰۹۴۱۰۰۰۰۰۰۲" in page  # the pending number, waiting for its code

    wrong = post(client, "/account/mobile/confirm", "/account/profile",
                 {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and "صحیح نیست" in text(wrong)
    assert account_of(app, MARYAM["national_code"]).mobile == "+989350000002"

    again = post(client, "/account/mobile", "/account/profile", {"mobile": new})
    assert again.status_code == 429  # the SMS cool-down of that number

    done = post(client, "/account/mobile/confirm", "/account/profile", {"code": code})
    assert done.status_code == 302
    assert account_of(app, MARYAM["national_code"]).mobile == "+989410000002"
    told = sms_outbox(app)[-1]
    assert told["to"] == MARYAM["mobile"] and told["purpose"] == "mobile_changed"
    assert told["code"] is None and "تغییر کرد" in told["text"]
    assert events(app, "account.mobile_changed")
    replay = post(client, "/account/mobile/confirm", "/account/profile", {"code": code})
    assert replay.status_code == 422  # single use


def test_mobile_change_with_an_expired_code(client, app):
    account_login(client, app, MARYAM)
    post(client, "/account/mobile", "/account/profile", {"mobile": "09410000002"})
    code = outbox_codes(app, "09410000002")[-1]
    account = account_of(app, MARYAM["national_code"])
    app.extensions["idp"].store.delete(f"otp:mobile-change:{account.id}")  # its time ran out
    expired = post(client, "/account/mobile/confirm", "/account/profile", {"code": code})
    assert expired.status_code == 422 and "منقضی" in text(expired)
    assert account_of(app, MARYAM["national_code"]).mobile == "+989350000002"


def test_a_pending_mobile_change_can_be_cancelled(client, app):
    account_login(client, app, MARYAM)
    post(client, "/account/mobile", "/account/profile", {"mobile": "09410000002"})
    code = outbox_codes(app, "09410000002")[-1]
    assert post(client, "/account/mobile/cancel", "/account/profile").status_code == 302
    page = text(client.get("/account/profile"))
    assert "تایید شماره جدید" not in page and "تغییر شماره تلفن همراه" in page
    late = post(client, "/account/mobile/confirm", "/account/profile", {"code": code})
    assert late.status_code == 422
    assert account_of(app, MARYAM["national_code"]).mobile == "+989350000002"


# --- personal e-mail -------------------------------------------------------------------------

def test_personal_email_verified_by_code_then_released_in_claims(client, app):
    account_login(client, app, DEMO)
    bad = post(client, "/account/email", "/account/profile", {"email": "not-an-address"})
    assert bad.status_code == 422 and "معتبر نیست" in text(bad)
    sent = post(client, "/account/email", "/account/profile", {"email": "Ali@Example.IR"})
    assert sent.status_code == 302
    mail = mail_outbox(app)[-1]
    assert mail["to"] == "Ali@example.ir" and mail["purpose"] == "email_verify"
    assert "/account/email/verify/" in mail["text"]

    # Not the account's until verified.
    body = rp_login(app.test_client(), app, DEMO, scope="openid email")
    assert "email" not in pyjwt.decode(body["id_token"], options={"verify_signature": False})

    wrong = post(client, "/account/email/confirm", "/account/profile",
                 {"email_code": "000000" if mail["code"] != "000000" else "111111"})
    assert wrong.status_code == 422 and "صحیح نیست" in text(wrong)
    cooled = post(client, "/account/email", "/account/profile", {"email": "Ali@example.IR"})
    assert cooled.status_code == 429 and "ثانیه صبر کنید" in text(cooled)  # e-mail cool-down

    done = post(client, "/account/email/confirm", "/account/profile",
                {"email_code": mail["code"]})
    assert done.status_code == 302
    assert "ایمیل شما تایید شد" in text(client.get("/account/profile"))
    account = account_of(app, DEMO["national_code"])
    assert account.email == "Ali@example.ir" and account.email_verified
    other = app.test_client()
    body = rp_login(other, app, DEMO, scope="openid email")
    info = other.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.get_json()["email"] == "Ali@example.ir"
    assert info.get_json()["email_verified"] is True

    link = re.search(r"http\S+/account/email/verify/\S+", mail["text"]).group(0)
    used = client.get(urlsplit(link).path)
    assert used.status_code == 410  # the code retired the link


def test_personal_email_verified_by_link_in_another_browser(client, app):
    account_login(client, app, DEMO)
    post(client, "/account/email", "/account/profile", {"email": "ali@example.ir"})
    mail = mail_outbox(app)[-1]
    link = urlsplit(re.search(r"http\S+/account/email/verify/\S+", mail["text"]).group(0)).path

    phone = app.test_client()  # the mail is read elsewhere, not logged in
    page = phone.get(link)
    assert page.status_code == 200 and "ali@example.ir" in text(page)
    assert not account_of(app, DEMO["national_code"]).email_verified  # a GET verifies nothing
    tampered = phone.get(link[:-3] + "abc")
    assert tampered.status_code == 410
    done = phone.post(link, data={"csrf_token": csrf(text(page))})
    assert done.status_code == 200 and "تایید شد" in text(done)
    assert account_of(app, DEMO["national_code"]).email == "ali@example.ir"
    assert phone.post(link, data={"csrf_token": csrf(text(page))}).status_code == 410

    # Changing it needs verification again: the verified one stays until the new one is proved.
    app.extensions["idp"].store.delete("otp-email-cooldown:other@example.ir")
    post(client, "/account/email", "/account/profile", {"email": "other@example.ir"})
    account = account_of(app, DEMO["national_code"])
    assert account.email == "ali@example.ir" and account.email_verified
    key = f"otp:email-verify:{account.id}"
    app.extensions["idp"].store.delete(key)  # the code expired
    expired = post(client, "/account/email/confirm", "/account/profile",
                   {"email_code": mail_outbox(app)[-1]["code"]})
    assert expired.status_code == 422 and "منقضی" in text(expired)
    assert account_of(app, DEMO["national_code"]).email == "ali@example.ir"


# --- services --------------------------------------------------------------------------------

def test_revoking_a_service_ends_its_tokens_and_tells_it(client, app, backchannel):
    tokens = rp_login(client, app, DEMO, scope="openid profile phone offline_access")
    page = text(client.get("/account/services"))
    assert "سامانه آزمایشی" in page and "شماره تلفن همراه" in page
    assert "لغو دسترسی" in page

    revoked = post(client, "/account/services/revoke", "/account/services",
                   {"target": "test-rp"})
    assert revoked.status_code == 303
    shown = text(client.get("/account/services"))
    assert "لغو شد" in shown and "هنوز به سامانه‌ای اجازه دسترسی نداده‌اید" in shown

    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]},
                            headers={"Authorization": BASIC})
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 401
    [logout] = backchannel.tokens
    claims = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert logout["aud"] == "test-rp" and logout["sub"] == claims["sub"]
    assert logout["sid"] == claims["sid"]
    assert "http://schemas.openid.net/event/backchannel-logout" in logout["events"]
    assert events(app, "consent.revoked")

    # Revoking twice: nothing left to revoke, said plainly, nothing sent.
    twice = post(client, "/account/services/revoke", "/account/services", {"target": "test-rp"})
    assert twice.status_code == 303
    assert "دسترسی ندارد" in text(client.get("/account/services"))
    assert len(backchannel.tokens) == 1
    # The next login asks for consent again.
    cool_down_over(app, DEMO)
    consent = login(client, app, authorize_url(), DEMO, consent=None)
    assert urlsplit(consent.request.url).path == "/login/consent"


def test_another_citizens_service_cannot_be_revoked(client, app):
    rp_login(client, app, DEMO)
    other = app.test_client()
    account_login(other, app, MARYAM)
    response = post(other, "/account/services/revoke", "/account/services",
                    {"target": "test-rp"})
    assert response.status_code == 303
    assert "سامانه آزمایشی" in text(client.get("/account/services"))


# --- sessions --------------------------------------------------------------------------------

def session_ids(page: str) -> list[str]:
    return re.findall(r'name="target" value="([^"]+)"', page)


def test_sessions_are_listed_and_one_can_be_ended_from_another_browser(client, app,
                                                                       backchannel):
    rp_login(client, app, DEMO)  # the laptop, also logged in at test-rp
    phone = app.test_client()
    account_login(phone, app, DEMO)
    page = text(phone.get("/account/sessions", headers={"User-Agent": "Mozilla/5.0"}))
    ids = session_ids(page)
    assert len(ids) == 2
    assert "همین مرورگر" in page and "همین رایانه" in page and "۱۲۷.۰.۰.۱" in page
    assert "سامانه آزمایشی" in page  # the laptop's session's service

    mine = text(client.get("/account/sessions"))
    laptop_id = re.search(r'class="item current".*?name="target" value="([^"]+)"', mine,
                          re.S).group(1)
    ended = post(phone, "/account/sessions/end", "/account/sessions", {"target": laptop_id})
    assert ended.status_code == 303
    assert client.get("/account/profile").status_code == 302  # the laptop is logged out
    assert len(session_ids(text(phone.get("/account/sessions")))) == 1
    assert [t["aud"] for t in backchannel.tokens] == ["test-rp"]
    assert events(app, "session.ended")


def test_another_citizens_session_id_ends_nothing(client, app):
    account_login(client, app, DEMO)
    other = app.test_client()
    account_login(other, app, MARYAM)
    [theirs] = session_ids(text(other.get("/account/sessions")))
    response = post(client, "/account/sessions/end", "/account/sessions", {"target": theirs})
    assert response.status_code == 303
    assert "پیدا نشد" in text(client.get("/account/sessions"))
    assert other.get("/account/profile").status_code == 200
    unknown = post(client, "/account/sessions/end", "/account/sessions", {"target": "nope"})
    assert unknown.status_code == 303


def test_log_out_everywhere_ends_every_session_this_one_included(client, app, backchannel):
    rp_login(client, app, DEMO)
    phone = app.test_client()
    account_login(phone, app, DEMO)
    response = post(phone, "/account/sessions/end-all", "/account/sessions")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert phone.get("/account/profile").status_code == 302
    assert client.get("/account/profile").status_code == 302
    assert [t["aud"] for t in backchannel.tokens] == ["test-rp"]
    assert len(events(app, "session.ended")) == 2


def test_ending_this_browsers_own_session_logs_it_out(client, app):
    account_login(client, app, DEMO)
    [mine] = session_ids(text(client.get("/account/sessions")))
    response = post(client, "/account/sessions/end", "/account/sessions", {"target": mine})
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert client.get("/account/sessions").status_code == 302


# --- history ---------------------------------------------------------------------------------

def test_history_lists_logins_newest_first_in_jalali_and_pages(client, app):
    account_login(client, app, DEMO)
    page = text(client.get("/account/history", headers={"User-Agent": "x"}))
    assert "ورود موفق" in page and "رمز یکبار مصرف (پیامک)" in page
    assert re.search(r"۱۴[۰-۹]{2}/[۰-۹]{2}/[۰-۹]{2} [۰-۹]{2}:[۰-۹]{2}", page)  # Jalali
    assert "token.issued" not in page

    account = account_of(app, DEMO["national_code"])
    with app.app_context():
        session = app.extensions["idp"].db.session
        for number in range(20):
            session.add(AuditEvent(event="login.otp_failed", account_id=account.id,
                                   detail={"reason": "wrong", "n": number}))
        session.commit()
    first = text(client.get("/account/history"))
    assert first.count("رمز یکبار مصرف نادرست") == 15 and "ناموفق" in first
    assert 'rel="next"' in first and "صفحه ۱ از ۲" in first
    second = text(client.get("/account/history?page=2"))
    assert "ورود موفق" in second and 'rel="prev"' in second
    for odd in ("abc", "-1", "۲۲", "999"):
        assert client.get(f"/account/history?page={odd}").status_code == 200


def test_demo_outbox_page_shows_the_test_emails(settings):
    from idp import create_app

    settings.server.demo = True
    app = create_app(settings)
    client = app.test_client()
    try:
        account_login(client, app, DEMO)
        post(client, "/account/email", "/account/profile", {"email": "ali@example.ir"})
        page = text(client.get("/dev/outbox"))
        assert "ali@example.ir" in page and mail_outbox(app)[-1]["code"] in page
    finally:
        app.extensions["idp"].db.engine.dispose()


def test_email_code_allows_five_tries_whatever_the_wait(client, app):
    account_login(client, app, DEMO)
    post(client, "/account/email", "/account/profile", {"email": "ali@example.ir"})
    code = mail_outbox(app)[-1]["code"]
    wrong = "000000" if code != "000000" else "111111"
    account = account_of(app, DEMO["national_code"])
    store = app.extensions["idp"].store
    for _ in range(4):
        assert post(client, "/account/email/confirm", "/account/profile",
                    {"email_code": wrong}).status_code == 422
    # The count lives as long as the code (half an hour), not the two minutes of a login code.
    assert store.ttl(f"otp-attempts:email-verify:{account.id}") > 120
    last = post(client, "/account/email/confirm", "/account/profile", {"email_code": wrong})
    assert "تعداد دفعات مجاز" in text(last)
    late = post(client, "/account/email/confirm", "/account/profile", {"email_code": code})
    assert late.status_code == 422
    assert not account_of(app, DEMO["national_code"]).email_verified
