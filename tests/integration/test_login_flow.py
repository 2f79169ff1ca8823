"""The whole login through the HTTP surface, tokens checked with PyJWT (not the signer's joserfc).

Runs on embedded defaults and, when configured, on PostgreSQL + Redis.
"""

import json
import time
from urllib.parse import urlencode, urlsplit

import jwt as pyjwt
import pytest
from flow import (
    DEMO,
    authorize_url,
    exchange,
    follow,
    get,
    login,
    outbox_codes,
    pkce,
    post_form,
    redirect_params,
    submit_mobile,
)

from idp.models import AuditEvent, Grant


def verify_id_token(client, token: str, audience: str = "test-rp") -> dict:
    jwks = client.get("/jwks.json").get_json()
    header = pyjwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=[header["alg"]],
                        audience=audience, issuer="http://localhost")


def full_login(client, app, **extra):
    verifier, challenge = pkce()
    url = authorize_url(code_challenge=challenge, code_challenge_method="S256", **extra)
    params = redirect_params(login(client, app, url))
    return params, verifier, url


def test_discovery_advertises_every_endpoint(client):
    doc = client.get("/.well-known/openid-configuration").get_json()
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                "revocation_endpoint", "introspection_endpoint", "end_session_endpoint"):
        assert doc[key].startswith("http://localhost/")
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["request_parameter_supported"] is False
    assert doc["request_uri_parameter_supported"] is False
    assert "urn:idp:loa:2" in doc["acr_values_supported"]
    assert "offline_access" in doc["scopes_supported"]


def test_new_citizen_logs_in_and_tokens_verify_independently(client, app):
    verifier, challenge = pkce()
    url = authorize_url(code_challenge=challenge, code_challenge_method="S256",
                        scope="openid profile phone address national_id offline_access")
    response = login(client, app, url)
    params = redirect_params(response)
    assert response.headers["Location"].startswith("https://rp.example/cb?")
    assert params["state"] in url
    tokens = exchange(client, params["code"], verifier=verifier)
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    assert "refresh_token" in body
    claims = verify_id_token(client, body["id_token"])
    assert claims["nonce"] in url
    assert claims["amr"] == ["otp", "sms"]
    assert claims["acr"] == "urn:idp:loa:2"
    # OIDC Core §5.4: scope claims come from UserInfo when an access token is issued.
    assert "national_code" not in claims and "phone_number" not in claims
    assert abs(claims["auth_time"] - time.time()) < 60
    access = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert pyjwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    assert access["aud"] == "test-rp" and access["client_id"] == "test-rp"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    user = info.get_json()
    assert user["sub"] == claims["sub"]
    assert user["address"]["postal_code"]
    assert user["national_code"] == DEMO["national_code"]
    assert user["phone_number"] == "+989120000001"
    assert user["birthdate_jalali"] == "1360-01-01"
    assert user["birthdate"] == "1981-03-21"


def test_no_refresh_token_without_offline_access(client, app):
    params, verifier, _ = full_login(client, app)
    body = exchange(client, params["code"], verifier=verifier).get_json()
    assert "refresh_token" not in body


def test_code_replay_fails_and_revokes_what_it_issued(client, app):
    params, verifier, _ = full_login(client, app, scope="openid profile offline_access")
    first = exchange(client, params["code"], verifier=verifier).get_json()
    again = exchange(client, params["code"], verifier=verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert info.status_code == 401
    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": first["refresh_token"]},
                            headers={"Authorization": "Basic dGVzdC1ycDp0ZXN0LXJwLXNlY3JldA=="})
    assert refreshed.status_code == 400


def refresh(client, token: str):
    return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": token},
                       headers={"Authorization": "Basic dGVzdC1ycDp0ZXN0LXJwLXNlY3JldA=="})


def test_refresh_rotates_and_reuse_revokes_the_family(client, app):
    params, verifier, _ = full_login(client, app, scope="openid profile offline_access")
    first = exchange(client, params["code"], verifier=verifier).get_json()
    second = refresh(client, first["refresh_token"])
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    reuse = refresh(client, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    # The whole family is gone: the newest refresh token and its access token too.
    assert refresh(client, second["refresh_token"]).status_code == 400
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert info.status_code == 401
    with app.app_context():
        session = app.extensions["idp"].db.session
        assert session.query(Grant).one().revoked_reason == "refresh_reuse"
        assert session.query(AuditEvent).filter_by(event="token.refresh_reuse").count() == 1


def test_wrong_redirect_uri_is_never_followed(client):
    url = authorize_url(redirect_uri="https://evil.example/cb")
    response = get(client, url)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "dir=\"rtl\"" in response.get_data(as_text=True)


def test_unknown_client_gets_a_page_not_a_redirect(client):
    response = get(client, authorize_url(client_id="nobody"))
    assert response.status_code == 400 and "Location" not in response.headers


def test_public_client_must_use_pkce(client):
    response = get(client, authorize_url(client_id="test-public",
                                         redirect_uri="https://app.example/cb"))
    assert redirect_params(response)["error"] == "invalid_request"


def test_plain_pkce_is_refused(client):
    response = get(client, authorize_url(code_challenge="a" * 43, code_challenge_method="plain"))
    assert redirect_params(response)["error"] == "invalid_request"


def test_pkce_verifier_is_checked(client, app):
    params, _verifier, _ = full_login(client, app)
    response = exchange(client, params["code"], verifier="wrong" * 10)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_prompt_none_without_session(client):
    params = redirect_params(get(client, authorize_url(prompt="none")))
    assert params["error"] == "login_required"
    assert params["state"].startswith("st-")


def test_request_objects_are_not_supported(client):
    assert redirect_params(get(client, authorize_url(request="x.y.z")))["error"] == \
        "request_not_supported"
    assert redirect_params(get(client, authorize_url(request_uri="https://x")))["error"] == \
        "request_uri_not_supported"


def test_scope_outside_the_clients_set_is_invalid_scope(client):
    params = redirect_params(get(client, authorize_url(scope="openid company")))
    assert params["error"] == "invalid_scope"


def test_essential_acr_that_cannot_be_met_is_an_error(client):
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": ["urn:idp:loa:4"]}}})
    params = redirect_params(get(client, authorize_url(claims=claims)))
    assert params["error"] == "unmet_authentication_requirements"


def test_single_sign_on_and_remembered_consent(client, app):
    full_login(client, app)
    # Same client again: no page at all, straight back with a code.
    response = follow(client, get(client, authorize_url(prompt="none")))
    assert "code" in redirect_params(response)
    # A first-party client: single sign-on, no consent.
    response = follow(client, get(client, authorize_url(
        client_id="test-first", redirect_uri="https://first.example/cb", scope="openid")))
    assert "code" in redirect_params(response)


def test_prompt_login_and_max_age_demand_a_fresh_login(client, app):
    full_login(client, app)
    response = follow(client, get(client, authorize_url(prompt="login")))
    assert response.request.path == "/login/mobile"
    response = follow(client, get(client, authorize_url(max_age="0")))
    assert response.request.path == "/login/mobile"


def test_prompt_consent_shows_consent_even_to_first_party(client, app):
    full_login(client, app)
    response = follow(client, get(client, authorize_url(
        client_id="test-first", redirect_uri="https://first.example/cb", scope="openid",
        prompt="consent")))
    assert response.request.path == "/login/consent"


def test_consent_denied_returns_access_denied(client, app):
    _verifier, challenge = pkce()
    response = login(client, app, authorize_url(code_challenge=challenge,
                                                code_challenge_method="S256"), consent="deny")
    assert redirect_params(response)["error"] == "access_denied"


def test_step_cannot_be_skipped(client, app):
    page = follow(client, get(client, authorize_url()))
    response = post_form(client, "/login/identity", page.get_data(as_text=True),
                         {"national_code": DEMO["national_code"]})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login/mobile"


def test_revocation_of_refresh_token_revokes_access_tokens(client, app):
    params, verifier, _ = full_login(client, app, scope="openid profile offline_access")
    body = exchange(client, params["code"], verifier=verifier).get_json()
    headers = {"Authorization": "Basic dGVzdC1ycDp0ZXN0LXJwLXNlY3JldA=="}
    introspected = client.post("/introspect", data={"token": body["access_token"]},
                               headers=headers).get_json()
    assert introspected["active"] is True and introspected["client_id"] == "test-rp"
    response = client.post("/revoke", data={"token": body["refresh_token"],
                                            "token_type_hint": "refresh_token"}, headers=headers)
    assert response.status_code == 200
    assert client.post("/introspect", data={"token": body["access_token"]},
                       headers=headers).get_json() == {"active": False}
    assert refresh(client, body["refresh_token"]).status_code == 400


def test_mobile_field_accepts_persian_digits_and_refuses_bad_format(client, app):
    follow(client, get(client, authorize_url()))
    bad = submit_mobile(client, app, "0812345678")
    assert bad.status_code == 422
    assert "شماره موبایل وارد شده باید ۱۱ رقمی باشد و با ۰۹ شروع شود" in bad.get_data(as_text=True)
    assert outbox_codes(app, "09120000001") == []
    good = submit_mobile(client, app, "۰۹۱۲۰۰۰۰۰۰۱")
    assert good.status_code == 302
    assert len(outbox_codes(app, "09120000001")) == 1


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_logout_with_hint_redirects_to_registered_uri_only(client, app):
    params, verifier, _ = full_login(client, app)
    id_token = exchange(client, params["code"], verifier=verifier).get_json()["id_token"]
    response = client.get("/logout?" + urlencode({
        "id_token_hint": id_token, "post_logout_redirect_uri": "https://rp.example/bye",
        "state": "s1"}))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://rp.example/bye?state=s1"
    # The session is over: prompt=none now needs a login.
    assert redirect_params(get(client, authorize_url(prompt="none")))["error"] == "login_required"


def test_login_hint_prefills_the_mobile(client):
    page = follow(client, get(client, authorize_url(login_hint="+989120000001")))
    assert 'value="09120000001"' in page.get_data(as_text=True)


def test_citizen_logs_in_to_the_provider_itself(client, app):
    page = client.get("/account")
    start = post_form(client, "/account", page.get_data(as_text=True), {})
    response = login(client, app, start.headers["Location"])
    assert response.request.path == "/account"
    html = response.get_data(as_text=True)
    assert "0499370899" in html or "۰۴۹۹۳۷۰۸۹۹" in html
    # The account page is a bar of tabs, each at its own URL; /account opens the first.
    assert 'href="/account/profile" aria-current="page"' in html
    assert 'href="/account/services"' in html
    services_tab = client.get("/account/services").get_data(as_text=True)
    assert 'href="/account/services" aria-current="page"' in services_tab


def test_account_tabs_need_a_login(client):
    for path in ("/account/profile", "/account/services"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/account")
