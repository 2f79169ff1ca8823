"""Every rule of OIDC Back-Channel Logout 1.0 §2.6 that a relying party of ``clients/`` checks,
without HTTP. Tokens are signed with PyJWT, not the library the check uses."""

import json
import time

import jwt as pyjwt
import pytest
from joserfc.jwk import KeySet, RSAKey

from clients.common.backchannel import BACKCHANNEL_EVENT, InvalidLogoutToken, validate_logout_token

ISSUER = "https://sso.example"
CLIENT = "municipal"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def provider_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


@pytest.fixture(scope="module")
def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


def public_set(*keys: RSAKey) -> KeySet:
    return KeySet.import_key_set({"keys": [key.as_dict(private=False) for key in keys]})


def claims(**changes) -> dict:
    base = {"iss": ISSUER, "aud": CLIENT, "iat": NOW, "exp": NOW + 120, "jti": "j-1",
            "sub": "subject-1", "sid": "sid-1", "events": {BACKCHANNEL_EVENT: {}}}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def sign(key: RSAKey, payload: dict, *, typ: str | None = "logout+jwt", kid: str = "k1") -> str:
    headers = {"kid": kid} | ({"typ": typ} if typ else {})
    private = pyjwt.PyJWK.from_json(json.dumps(key.as_dict(private=True))).key
    return pyjwt.encode(payload, private, algorithm="RS256", headers=headers)


def check(token: str, keys: KeySet, **kwargs):
    return validate_logout_token(token, issuer=ISSUER, client_id=CLIENT,
                                 keys=lambda refresh: keys, algorithms=["RS256", "ES256"],
                                 now=kwargs.pop("now", NOW), **kwargs)


def test_a_valid_token_names_its_session_and_subject(provider_key):
    result = check(sign(provider_key, claims()), public_set(provider_key))
    assert (result.sid, result.sub, result.jti) == ("sid-1", "subject-1", "j-1")
    only_sub = check(sign(provider_key, claims(sid=None)), public_set(provider_key))
    assert only_sub.sid is None and only_sub.sub == "subject-1"
    aud_list = check(sign(provider_key, claims(aud=[CLIENT, "other"])), public_set(provider_key))
    assert aud_list.jti == "j-1"


@pytest.mark.parametrize("changes, reason", [
    ({"iss": "https://evil.example"}, "iss"),
    ({"aud": "insurance"}, "aud"),
    ({"iat": None}, "iat"),
    ({"iat": NOW - 3600}, "iat"),
    ({"iat": NOW + 3600}, "iat"),
    ({"exp": NOW - 3600}, "exp"),
    ({"jti": None}, "jti"),
    ({"events": None}, "events"),
    ({"events": {"http://schemas.openid.net/event/other": {}}}, "events"),
    ({"events": {BACKCHANNEL_EVENT: "yes"}}, "events"),
    ({"sid": None, "sub": None}, "neither sid nor sub"),
    ({"nonce": "n-1"}, "nonce"),
])
def test_a_token_breaking_a_rule_is_refused(provider_key, changes, reason):
    with pytest.raises(InvalidLogoutToken, match=reason):
        check(sign(provider_key, claims(**changes)), public_set(provider_key))


def test_an_id_token_or_a_forged_signature_is_refused(provider_key, other_key):
    with pytest.raises(InvalidLogoutToken, match="typ"):
        check(sign(provider_key, claims(), typ="JWT"), public_set(provider_key))
    with pytest.raises(InvalidLogoutToken, match="signature"):
        check(sign(other_key, claims()), public_set(provider_key))
    with pytest.raises(InvalidLogoutToken, match="signature"):
        check("not-a-token", public_set(provider_key))
    unsigned = pyjwt.encode(claims(), None, algorithm="none")
    with pytest.raises(InvalidLogoutToken, match="signature"):
        check(unsigned, public_set(provider_key))


def test_a_new_key_is_looked_up_once_and_only_when_its_kid_is_unknown(provider_key):
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    asked: list[bool] = []

    def keys(refresh: bool) -> KeySet:
        asked.append(refresh)
        return public_set(provider_key, rotated) if refresh else public_set(provider_key)

    token = sign(rotated, claims(), kid="k2")
    result = validate_logout_token(token, issuer=ISSUER, client_id=CLIENT, keys=keys,
                                   algorithms=["RS256"], now=NOW)
    assert result.jti == "j-1" and asked == [False, True]
    asked.clear()
    validate_logout_token(sign(provider_key, claims()), issuer=ISSUER, client_id=CLIENT,
                          keys=keys, algorithms=["RS256"], now=NOW)
    assert asked == [False]


def test_the_real_clock_is_what_the_caller_passes(provider_key):
    fresh = claims(iat=int(time.time()), exp=int(time.time()) + 60)
    assert check(sign(provider_key, fresh), public_set(provider_key),
                 now=int(time.time())).sid == "sid-1"
