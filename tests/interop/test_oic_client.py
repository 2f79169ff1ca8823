"""A certified relying-party library that is not Authlib logs in against the running provider.

pyoidc (``oic``, OpenID Foundation certified RP) reads only the discovery document and the JWKS,
so whatever the provider's own Authlib code agrees with itself on, this test checks it against a
second reading of the specifications. PyJWT then verifies the tokens once more, independently of
both, including the access token's RFC 9068 profile.
"""

import base64
import hashlib
import secrets
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from live import demo_person, free_port, serve, walk_login
from oic.oauth2.message import ErrorResponse
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from oic.utils.settings import OicClientSettings

pytestmark = pytest.mark.interop

CLIENT_ID = "pyoidc-rp"
REDIRECT_URI = "https://pyoidc-rp.example/cb"
SCOPE = "openid profile phone address national_id"


@pytest.fixture
def provider(settings):
    """The provider on a real port, with one confidential client registered for pyoidc; on the
    embedded defaults and, when configured, on PostgreSQL + Redis (conftest's ``settings``)."""
    from idp import create_app

    port = free_port()
    secret = secrets.token_urlsafe(24)
    settings.server.issuer = f"http://127.0.0.1:{port}"
    settings.clients = [{
        "client_id": CLIENT_ID, "client_secret": secret, "name": "سامانه آزمون pyoidc",
        "redirect_uris": [REDIRECT_URI], "scope": SCOPE,
    }]
    app = create_app(settings)
    with serve(app, port) as issuer:
        yield {"issuer": issuer, "secret": secret,
               "outbox": settings.path(settings.sms.outbox_path)}
    app.extensions["idp"].db.engine.dispose()


def left_half_hash(value: str) -> str:
    """OIDC Core §3.1.3.6 ``at_hash`` for RS256/PS256/ES256 (SHA-256)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def test_pyoidc_completes_the_code_flow_with_pkce(provider):
    issuer = provider["issuer"]
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD,
                    settings=OicClientSettings(timeout=10))
    discovery = client.provider_config(issuer)
    assert discovery["issuer"] == issuer
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert "plain" not in discovery["code_challenge_methods_supported"]  # SPEC §4
    assert "client_secret_basic" in discovery["token_endpoint_auth_methods_supported"]
    client.store_registration_info(RegistrationResponse(
        client_id=CLIENT_ID, client_secret=provider["secret"], redirect_uris=[REDIRECT_URI],
        token_endpoint_auth_method="client_secret_basic"))

    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    pkce_args, code_verifier = client.add_code_challenge()
    assert pkce_args["code_challenge_method"] == "S256"
    request_args = {"response_type": "code", "scope": SCOPE, "state": state, "nonce": nonce,
                    "redirect_uri": REDIRECT_URI, **pkce_args}
    authorization_request = client.construct_AuthorizationRequest(request_args=request_args)
    # Lets pyoidc's own nonce check in do_access_token_request run as well as ours.
    client.state2nonce[state] = nonce
    login_url = authorization_request.request(client.authorization_endpoint)

    final = walk_login(requests.Session(), login_url, redirect_uri=REDIRECT_URI,
                       outbox=provider["outbox"], person=demo_person)
    authorization = client.parse_response(AuthorizationResponse, info=urlsplit(final).query,
                                          sformat="urlencoded")
    assert isinstance(authorization, AuthorizationResponse), authorization.to_dict()
    assert authorization["state"] == state
    if discovery.get("authorization_response_iss_parameter_supported"):
        assert authorization["iss"] == issuer  # RFC 9207

    # pyoidc checks the signature with the JWKS, iss, aud, exp, at_hash and the nonce here.
    tokens = client.do_access_token_request(
        state=state, authn_method="client_secret_basic",
        request_args={"code": authorization["code"], "redirect_uri": REDIRECT_URI,
                      "code_verifier": code_verifier})
    assert isinstance(tokens, AccessTokenResponse), tokens.to_dict()
    assert tokens["token_type"].lower() == "bearer"
    id_token = tokens["id_token"]
    client.verify_id_token(id_token, authorization_request)
    assert id_token["nonce"] == nonce
    assert id_token["iss"] == issuer
    assert CLIENT_ID in id_token["aud"]
    assert id_token["sub"]
    assert {"otp", "sms"} <= set(id_token["amr"])  # SPEC §4, RFC 8176
    assert isinstance(id_token["acr"], str) and id_token["acr"]
    if discovery.get("acr_values_supported"):
        assert id_token["acr"] in discovery["acr_values_supported"]

    userinfo = client.do_user_info_request(state=state, method="GET",
                                           behavior="use_authorization_header")
    assert not isinstance(userinfo, ErrorResponse), userinfo.to_dict()
    assert userinfo["sub"] == id_token["sub"]
    assert userinfo["national_code"] == demo_person["national_code"]
    assert userinfo["identity_type"] == "iranian"
    assert userinfo["phone_number"] == "+98" + demo_person["mobile"][1:]
    assert userinfo["phone_number_verified"] is True
    assert userinfo["given_name"] == demo_person["given_name"]
    assert userinfo["family_name"] == demo_person["family_name"]
    assert userinfo["birthdate"] == "1981-03-21"  # 1360-01-01 (Jalali) as ISO Gregorian
    assert userinfo["address"]["postal_code"] == demo_person["postal_code"]

    # pyoidc keeps the ID token as received for id_token_hint (RP-Initiated Logout).
    verify_with_pyjwt(discovery.to_dict(), raw_id_token=tokens["id_token_jwt"],
                      access_token=tokens["access_token"], sub=id_token["sub"], nonce=nonce)


def verify_with_pyjwt(discovery: dict, *, raw_id_token: str, access_token: str, sub: str,
                      nonce: str) -> None:
    """The same tokens through PyJWT, a JOSE library that neither side of the flow uses."""
    issuer = discovery["issuer"]
    keys = jwt.PyJWKClient(discovery["jwks_uri"])
    algorithms = discovery["id_token_signing_alg_values_supported"]

    header = jwt.get_unverified_header(raw_id_token)
    assert header.get("kid"), header  # a key set with rotation needs kid
    assert header["alg"] in algorithms
    claims = jwt.decode(raw_id_token, keys.get_signing_key_from_jwt(raw_id_token).key,
                        algorithms=algorithms, audience=CLIENT_ID, issuer=issuer,
                        options={"require": ["iss", "sub", "aud", "exp", "iat"]})
    assert claims["sub"] == sub
    assert claims["nonce"] == nonce
    if "at_hash" in claims:
        assert claims["at_hash"] == left_half_hash(access_token)

    header = jwt.get_unverified_header(access_token)
    assert header.get("kid"), header
    assert header.get("typ", "").lower() in {"at+jwt", "application/at+jwt"}, header  # RFC 9068
    assert header["alg"] != "none"
    claims = jwt.decode(access_token, keys.get_signing_key_from_jwt(access_token).key,
                        algorithms=[header["alg"]], issuer=issuer,
                        options={"verify_aud": False,
                                 "require": ["iss", "exp", "aud", "sub", "client_id", "iat",
                                             "jti"]})
    # RFC 9068 §2.2: the claims a resource server relies on.
    assert claims["sub"] == sub
    assert claims["client_id"] == CLIENT_ID
    assert "openid" in claims.get("scope", "").split()
