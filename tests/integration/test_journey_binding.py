"""Each form answers the journey that showed it (issue 6): several tabs, a copied cookie, a
stuffed /authorize request, a bare visit to the account page."""

from urllib.parse import urlencode

from flow import (
    DEMO,
    authorize_url,
    follow,
    get,
    login,
    outbox_codes,
    pkce,
    post_form,
    redirect_params,
    submit_mobile,
)
from sqlalchemy import select

from idp import create_app
from idp.models import Account, Consent

COOKIE = "idp_session"


def text(response) -> str:
    return response.get_data(as_text=True)


def journey_keys(app) -> list[str]:
    return [k.decode() for k in app.extensions["idp"].store.redis.scan_iter("idp:journey:*")]


def consent_form_action(html: str) -> str:
    marker = 'action="'
    start = html.index(marker, html.index('name="decision"') - 600) + len(marker)
    return html[start:html.index('"', start)].replace("&amp;", "&")


def test_consent_answers_the_tab_that_showed_it(client, app):
    redirect_params(login(client, app, authorize_url()))  # logged in; test-rp consented
    _verifier, challenge = pkce()
    tab_a = follow(client, get(client, authorize_url(
        client_id="test-public", redirect_uri="https://app.example/cb", scope="openid profile",
        code_challenge=challenge, code_challenge_method="S256")))
    assert tab_a.request.path == "/login/consent"
    tab_b = follow(client, get(client, authorize_url(prompt="consent")))
    assert tab_b.request.path == "/login/consent"
    page_a = text(tab_a)
    response = post_form(client, consent_form_action(page_a), page_a,
                         {"decision": "allow", "client_id": "test-public"})
    assert response.headers["Location"].startswith("https://app.example/cb?")
    assert "code" in redirect_params(response)
    with app.app_context():
        granted = app.extensions["idp"].db.session.scalars(select(Consent.client_id)).all()
    assert sorted(granted) == ["test-public", "test-rp"]
    # Tab B's journey is still pending and still for test-rp.
    page_b = text(tab_b)
    response = post_form(client, consent_form_action(page_b), page_b,
                         {"decision": "allow", "client_id": "test-rp"})
    assert response.headers["Location"].startswith("https://rp.example/cb?")


def test_a_consent_form_naming_another_client_gives_nothing(client, app):
    redirect_params(login(client, app, authorize_url()))
    page = follow(client, get(client, authorize_url(prompt="consent")))
    html = text(page)
    response = post_form(client, consent_form_action(html), html,
                         {"decision": "allow", "client_id": "test-public"})
    assert response.status_code == 409
    assert "Location" not in response.headers


def test_a_cookie_copied_before_the_code_cannot_finish_the_login(client, app):
    follow(client, get(client, authorize_url()))
    follow(client, submit_mobile(client, app, DEMO["mobile"]))
    stolen = client.get_cookie(COOKIE).value
    attacker = app.test_client()
    attacker.set_cookie(COOKIE, stolen)
    assert attacker.get("/login/otp").status_code == 200  # the same journey, before the proof
    page = client.get("/login/otp")
    response = follow(client, post_form(client, "/login/otp", text(page),
                                        {"otp": outbox_codes(app, DEMO["mobile"])[-1]}))
    assert response.request.path == "/login/identity"
    taken = attacker.get("/login/identity")
    assert taken.status_code == 410
    assert attacker.get("/login/postal").status_code == 410
    with app.app_context():
        assert app.extensions["idp"].db.session.scalars(select(Account)).all() == []


def test_authorize_keeps_only_what_it_understands(client, app):
    stuffing = urlencode({f"x{i}": "y" * 1000 for i in range(60)})
    query = authorize_url().split("?", 1)[1] + "&" + stuffing
    response = client.post("/authorize", data=query,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert len(client.get_cookie(COOKIE).value) < 300
    [key] = journey_keys(app)
    stored = app.extensions["idp"].store.redis.get(key)
    assert len(stored) < 2000
    assert b"x0" not in stored


def test_an_oversized_parameter_is_an_error_for_the_client(client):
    response = get(client, authorize_url(state="s" * 5000))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://rp.example/cb?")
    assert redirect_params(response)["error"] == "invalid_request"


def test_a_bare_visit_to_the_account_page_starts_no_journey(client, app):
    page = client.get("/account")
    assert page.status_code == 200
    assert journey_keys(app) == []
    response = post_form(client, "/account", text(page), {})
    assert response.headers["Location"].startswith("/login/mobile")
    assert len(journey_keys(app)) == 1


def test_authorize_is_rate_limited_per_address(settings):
    settings.ratelimit.enabled = True
    settings.ratelimit.authorize_per_ip = "3 per minute"
    app = create_app(settings)
    client = app.test_client()
    statuses = [get(client, authorize_url()).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
