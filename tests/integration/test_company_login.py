"""Company (legal-entity) login by its CEO (issue 8), through the provider's HTTP surface.

The demo sandbox (idp/registries/sandbox_demo.toml): the demo citizen 0499370899 is the CEO of
10408552260 and 10173048674, not of 10085761056 (another demo person is); 10380284790 has a
valid check digit and is in no registry. Tokens are read with PyJWT, not the provider's signer.
"""

import base64
import time
from pathlib import Path

import jwt as pyjwt
import pytest
from flow import (
    DEMO,
    authorize_url,
    csrf,
    exchange,
    follow,
    get,
    login,
    pkce,
    redirect_params,
)
from live import serve
from sqlalchemy import select

from idp.models import AuditEvent, CompanyLink
from idp.registries import load_sandbox
from idp.registries.http import http_registries
from idp.settings import DEMO_SANDBOX

CORP = {"client_id": "corp-rp", "client_secret": "corp-rp-secret", "name": "سامانه شرکت‌ها",
        "redirect_uris": ["https://corp.example/cb"],
        "scope": "openid profile company offline_access", "first_party": True}
EMPLOYER = {"client_id": "employer-rp", "client_secret": "employer-rp-secret",
            "name": "سامانه کارفرمایان", "redirect_uris": ["https://employer.example/cb"],
            "scope": "openid profile offline_access", "legal_entity": True}
CEO_OF = "10408552260"
ALSO_CEO_OF = "10173048674"
NOT_CEO_OF = "10085761056"
UNKNOWN = "10380284790"
BOARD_MESSAGE = "کاربر گرامی در صورتی که تغییرات هیات مدیره و افزایش / کاهش سرمایه از سال ۹۳"
ONLY_CEO = "فقط شخص مدیرعامل امکان ورود به صورت حقوقی را دارا می باشد"
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def app(settings):
    from idp import create_app

    settings.clients = [*settings.clients, CORP, EMPLOYER]
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["idp"].db.engine.dispose()


def corp_url(**extra) -> str:
    return authorize_url(client_id="corp-rp", redirect_uri="https://corp.example/cb",
                         scope=extra.pop("scope", "openid profile company offline_access"),
                         **extra)


def employer_url(**extra) -> str:
    return authorize_url(client_id="employer-rp", redirect_uri="https://employer.example/cb",
                         scope=extra.pop("scope", "openid profile offline_access"), **extra)


def company_login(client, app, url: str, company):
    """Log in (a fresh login or single sign-on) answering the company step with ``company``."""
    return login(client, app, url, {**DEMO, "company": company})


def basic(client_id: str, secret: str) -> dict:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def tokens_for(client, params: dict, client_def: dict) -> dict:
    response = exchange(client, params["code"], client_id=client_def["client_id"],
                        secret=client_def["client_secret"],
                        redirect_uri=client_def["redirect_uris"][0])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def verified(client, token: str, audience: str) -> dict:
    """A JWT checked with PyJWT against the provider's published keys."""
    jwks = client.get("/jwks.json").get_json()
    header = pyjwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=[header["alg"]],
                        audience=audience, issuer="http://localhost")


def company_claim(national_id: str, name: str) -> dict:
    return {"national_id": national_id, "name": name, "role": "ceo"}


def events(app, name: str) -> list[AuditEvent]:
    with app.app_context():
        db = app.extensions["idp"].db.session
        return list(db.scalars(select(AuditEvent).where(AuditEvent.event == name)))


def links(app) -> list[str]:
    with app.app_context():
        db = app.extensions["idp"].db.session
        return sorted(link.national_id for link in db.scalars(select(CompanyLink)))


def company_page(client) -> str:
    page = client.get("/login/company")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def post_company(client, data: dict):
    return client.post("/login/company", data={"csrf_token": csrf(company_page(client)), **data})


def refuse_registry(app, base_url: str, timeout: float = 0.3) -> None:
    """Point the provider's company registry at the HTTP adapter on ``base_url``."""
    app.extensions["idp"].registries.companies = http_registries(base_url, "t", timeout).companies


def test_ceo_logs_in_and_every_token_names_the_company(client, app):
    # Persian digits typed in the field (SPEC §8).
    params = redirect_params(company_login(client, app, corp_url(), CEO_OF.translate(PERSIAN)))
    expected = company_claim(CEO_OF, "شرکت نمونه‌سازان آزمایشی")
    tokens = tokens_for(client, params, CORP)
    id_token = verified(client, tokens["id_token"], "corp-rp")
    access = verified(client, tokens["access_token"], "corp-rp")
    assert id_token["company"] == expected and access["company"] == expected
    assert id_token["acr"] == "urn:idp:loa:2"  # acr stays an assurance level
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.get_json()["company"] == expected
    # A refresh keeps the company of the login it came from.
    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": tokens["refresh_token"]},
                            headers=basic("corp-rp", "corp-rp-secret")).get_json()
    assert verified(client, refreshed["access_token"], "corp-rp")["company"] == expected
    assert links(app) == [CEO_OF]
    assert [e.detail["company"] for e in events(app, "company.linked")] == [CEO_OF]


def test_single_sign_on_goes_straight_to_the_company_step_and_offers_linked_companies(
        client, app):
    company_login(client, app, corp_url(), CEO_OF)
    # A later login for another company gives that company; no mobile or code asked again.
    response = follow(client, get(client, corp_url(prompt=None)))
    assert response.request.path == "/login/company"
    html = response.get_data(as_text=True)
    assert f'name="company_national_id" value="{CEO_OF}"' in html
    assert ONLY_CEO not in html and BOARD_MESSAGE not in html  # shown on refusal, not before
    second = post_company(client, {"company_national_id": ALSO_CEO_OF.translate(ARABIC_INDIC)})
    tokens = tokens_for(client, redirect_params(follow(client, second)), CORP)
    assert verified(client, tokens["id_token"], "corp-rp")["company"]["national_id"] == \
        ALSO_CEO_OF
    # The linked company's button works with the text field left empty.
    follow(client, get(client, corp_url()))
    third = post_company(client, {"company_national_id": ["", CEO_OF]})
    tokens = tokens_for(client, redirect_params(follow(client, third)), CORP)
    assert verified(client, tokens["access_token"], "corp-rp")["company"]["national_id"] == \
        CEO_OF
    assert links(app) == sorted([CEO_OF, ALSO_CEO_OF])
    assert [e.detail["refreshed"] for e in events(app, "company.linked")] == [False, False, True]


def test_not_the_ceo_sees_the_seed_messages_and_nothing_is_linked(client, app):
    company_login(client, app, corp_url(), None)
    refused = post_company(client, {"company_national_id": NOT_CEO_OF})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert BOARD_MESSAGE in html and "irsherkat.ssaa.ir" in html and ONLY_CEO in html
    assert links(app) == []
    assert events(app, "company.refused")[0].detail == {"company": NOT_CEO_OF,
                                                        "reason": "not_ceo"}
    # The citizen may try another company: the CEO's one goes on.
    accepted = post_company(client, {"company_national_id": CEO_OF})
    assert "code" in redirect_params(follow(client, accepted))


@pytest.mark.parametrize(("typed", "message"), [
    (UNKNOWN, "شرکتی با این شناسه ملی یافت نشد"),
    ("10408552261", "شناسه ملی شرکت معتبر نیست"),  # bad check digit (SPEC §8)
    ("1040855226", "شناسه ملی شرکت باید ۱۱ رقم باشد"),
    ("", "شناسه ملی شرکت باید ۱۱ رقم باشد"),
])
def test_bad_company_ids_each_get_their_message(client, app, typed, message):
    company_login(client, app, corp_url(), None)
    refused = post_company(client, {"company_national_id": typed})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert message in html and ONLY_CEO not in html
    assert links(app) == []


def test_cancel_ends_the_login_with_access_denied_and_no_code(client, app):
    url = corp_url()
    response = company_login(client, app, url, {"decision": "cancel"})
    params = redirect_params(response)
    assert params["error"] == "access_denied" and "code" not in params
    assert params["state"] == dict(p.split("=") for p in url.split("?")[1].split("&"))["state"]
    assert params["iss"] == "http://localhost"
    assert len(events(app, "company.cancelled")) == 1


def test_ceo_replaced_between_two_logins_is_refused_and_the_link_dropped(client, app, tmp_path):
    company_login(client, app, corp_url(), CEO_OF)
    assert links(app) == [CEO_OF]
    # A board meeting names someone else; the registry says so at the next login.
    changed = tmp_path / "sandbox.toml"
    changed.write_text(DEMO_SANDBOX.read_text(encoding="utf-8").replace(
        'national_id = "10408552260"\nname = "شرکت نمونه‌سازان آزمایشی"\n'
        'ceo_national_code = "0499370899"',
        'national_id = "10408552260"\nname = "شرکت نمونه‌سازان آزمایشی"\n'
        'ceo_national_code = "1214792235"'), encoding="utf-8")
    app.extensions["idp"].registries.companies = load_sandbox(changed).companies
    follow(client, get(client, corp_url()))
    refused = post_company(client, {"company_national_id": ["", CEO_OF]})
    assert refused.status_code == 422 and ONLY_CEO in refused.get_data(as_text=True)
    assert links(app) == []
    assert f'value="{CEO_OF}"' not in company_page(client)  # no longer offered
    assert events(app, "company.unlinked")[0].detail == {"company": CEO_OF, "reason": "not_ceo"}


def test_a_crafted_post_of_a_company_the_citizen_may_not_use_is_refused(client, app):
    company_login(client, app, corp_url(), CEO_OF)
    follow(client, get(client, corp_url()))
    assert f'value="{NOT_CEO_OF}"' not in company_page(client)
    # As if the page had offered it as a linked company's button.
    crafted = post_company(client, {"company_national_id": ["", NOT_CEO_OF]})
    assert crafted.status_code == 422 and BOARD_MESSAGE in crafted.get_data(as_text=True)
    assert links(app) == [CEO_OF]


def test_a_post_to_the_company_step_before_the_journey_reached_it_changes_nothing(client, app):
    first = get(client, corp_url())
    assert first.headers["Location"].split("?")[0].endswith("/login/mobile")
    page = client.get("/login/mobile").get_data(as_text=True)
    early = client.post("/login/company", data={"csrf_token": csrf(page),
                                                "company_national_id": CEO_OF})
    assert early.status_code == 302 and "/login/mobile" in early.headers["Location"]
    assert links(app) == [] and events(app, "company.linked") == []


def test_registry_down_is_the_try_again_later_page(client, app):
    company_login(client, app, corp_url(), None)
    with serve(lambda environ, start: start("500 Internal Server Error", []) or [b""]) as url:
        refuse_registry(app, url)
        down = post_company(client, {"company_national_id": CEO_OF})
    assert down.status_code == 503
    assert "چند دقیقه دیگر دوباره تلاش کنید" in down.get_data(as_text=True)
    assert links(app) == [] and events(app, "company.linked") == []


def test_registry_slow_is_the_try_again_later_page(client, app):
    company_login(client, app, corp_url(), None)

    def slow(environ, start):
        time.sleep(1.0)
        start("200 OK", [("Content-Type", "application/json")])
        return [b'{"national_id": "10408552260", "name": "x", "ceo_national_code": "0499370899"}']

    with serve(slow) as url:
        refuse_registry(app, url, timeout=0.2)
        slow_answer = post_company(client, {"company_national_id": CEO_OF})
    assert slow_answer.status_code == 503
    assert "چند دقیقه دیگر دوباره تلاش کنید" in slow_answer.get_data(as_text=True)
    assert links(app) == []


def test_legal_entity_client_always_gets_a_company_login(client, app):
    consent = login(client, app, employer_url(), {**DEMO, "company": CEO_OF}, consent=None)
    # The consent page says the company is read, though the scope was not asked for.
    assert 'data-scope="company"' in consent.get_data(as_text=True)
    params = redirect_params(follow(client, client.post("/login/consent", data={
        "csrf_token": csrf(consent.get_data(as_text=True)), "decision": "allow",
        "client_id": "employer-rp"})))
    tokens = tokens_for(client, params, EMPLOYER)
    expected = company_claim(CEO_OF, "شرکت نمونه‌سازان آزمایشی")
    # As if it had asked for the company scope, which it did not.
    assert verified(client, tokens["id_token"], "employer-rp")["company"] == expected
    assert verified(client, tokens["access_token"], "employer-rp")["company"] == expected
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.get_json()["company"] == expected
    # prompt=none cannot show the company step.
    none = redirect_params(get(client, employer_url(prompt="none")))
    assert none["error"] == "interaction_required"


def test_a_login_without_company_carries_no_company(client, app):
    company_login(client, app, corp_url(), CEO_OF)
    verifier, challenge = pkce()
    plain = redirect_params(login(client, app, authorize_url(
        code_challenge=challenge, code_challenge_method="S256",
        scope="openid profile offline_access")))
    tokens = exchange(client, plain["code"], verifier=verifier).get_json()
    assert "company" not in verified(client, tokens["id_token"], "test-rp")
    assert "company" not in verified(client, tokens["access_token"], "test-rp")
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert "company" not in info.get_json()


def account_tab(client) -> str:
    page = client.get("/account/companies")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_account_tab_lists_adds_and_removes_companies(client, app):
    assert client.get("/account/companies").headers["Location"].endswith("/account")
    company_login(client, app, corp_url(), CEO_OF)
    html = account_tab(client)
    assert "حقوقی" in html and "شرکت نمونه‌سازان آزمایشی" in html
    added = client.post("/account/companies", data={
        "csrf_token": csrf(html), "company_national_id": ALSO_CEO_OF.translate(PERSIAN)})
    assert added.status_code == 200 and "شرکت حمل‌ونقل آزمایشی" in added.get_data(as_text=True)
    refused = client.post("/account/companies", data={
        "csrf_token": csrf(html), "company_national_id": NOT_CEO_OF})
    assert refused.status_code == 422 and ONLY_CEO in refused.get_data(as_text=True)
    bad = client.post("/account/companies", data={
        "csrf_token": csrf(html), "company_national_id": "10408552261"})
    assert bad.status_code == 422 and "شناسه ملی شرکت معتبر نیست" in bad.get_data(as_text=True)
    assert links(app) == sorted([CEO_OF, ALSO_CEO_OF])
    removed = client.post("/account/companies", data={"csrf_token": csrf(html),
                                                      "remove": CEO_OF})
    assert removed.status_code == 302
    assert links(app) == [ALSO_CEO_OF]
    assert events(app, "company.unlinked")[0].detail == {"company": CEO_OF,
                                                         "reason": "by_citizen"}
    assert "شرکت نمونه‌سازان آزمایشی" not in account_tab(client)
    # Without the CSRF token nothing is removed.
    assert client.post("/account/companies", data={"remove": ALSO_CEO_OF}).status_code == 400
    assert links(app) == [ALSO_CEO_OF]


def test_account_tab_registry_down(client, app):
    company_login(client, app, corp_url(), CEO_OF)
    html = account_tab(client)
    with serve(lambda environ, start: start("502 Bad Gateway", []) or [b""]) as url:
        refuse_registry(app, url)
        down = client.post("/account/companies", data={"csrf_token": csrf(html),
                                                       "company_national_id": ALSO_CEO_OF})
    assert down.status_code == 503 and "دوباره تلاش کنید" in down.get_data(as_text=True)
    assert links(app) == [CEO_OF]


def test_sandbox_demo_file_is_the_company_registry():
    registry = load_sandbox(Path(DEMO_SANDBOX)).companies
    assert registry.find_company(CEO_OF).ceo_national_code == "0499370899"
    assert registry.find_company(UNKNOWN) is None


def test_company_lookups_are_rate_limited(settings):
    from idp import create_app

    settings.clients = [*settings.clients, CORP]
    settings.ratelimit.enabled = True
    settings.ratelimit.company_per_ip = "3 per 10 minutes"
    app = create_app(settings)
    client = app.test_client()
    company_login(client, app, corp_url(), None)
    statuses = [post_company(client, {"company_national_id": NOT_CEO_OF}).status_code
                for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    assert len(events(app, "company.refused")) == 3  # the fourth never reached the registry
    app.extensions["idp"].db.engine.dispose()
