"""Identity assurance (issue 11): the registry checks as OpenID Connect ``verified_claims``.

Every answer is validated against the OIDF schema (tests/oidf_ida, vendored from
openid/eKYC-IDA), ID tokens are verified with PyJWT, and everything goes through HTTP.
"""

import json
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt as pyjwt
import pytest
from conftest import TEST_CLIENTS
from flow import authorize_url, exchange, get, login, pkce, redirect_params
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import select

from idp.models import AuditEvent, Verification
from idp.registries import RegistryUnavailable

SCHEMAS = Path(__file__).parent.parent / "oidf_ida"
_LOADED = [json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS.glob("*.json")]
_REGISTRY = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in _LOADED)
_BY_NAME = {schema["$id"].rsplit("/", 1)[-1]: schema for schema in _LOADED}
ANSWER_SCHEMA = Draft202012Validator(_BY_NAME["verified_claims.json"], registry=_REGISTRY)
REQUEST_SCHEMA = Draft202012Validator(_BY_NAME["verified_claims_request.json"],
                                      registry=_REGISTRY)
EXAMPLE_REQUESTS = sorted((SCHEMAS / "requests").glob("*.json"))

SANDBOX = textwrap.dedent("""
    [[person]]
    national_code = "0499370899"
    birth_date = "1360-01-01"
    first_name = "علی"
    last_name = "محمدی آزمایشی"
    father_name = "حسن"
    gender = "male"
    postal_code = "1968913141"
    mobiles = ["09120000001"]

    [[foreigner]]
    fida_code = "300000000101"
    birth_date = "1368-02-02"
    passport = "P01234567"
    first_name = "احمد"
    last_name = "هراتی آزمایشی"
    father_name = "محمود"
    gender = "male"
    nationality = "AF"
    postal_code = "9414105549"
    mobiles = ["09350000101"]
""")
ALI = {"mobile": "09120000001", "national_code": "0499370899", "birth": (1360, 1, 1)}
AHMAD = {"mobile": "09350000101", "fida_code": "300000000101",
         "secondary_id": ("passport", "P01234567"), "birth": (1368, 2, 2)}
# Registered without national_id, phone and address.
NARROW = {"client_id": "narrow-rp", "client_secret": "narrow-secret", "name": "سامانه محدود",
          "redirect_uris": ["https://narrow.example/cb"], "scope": "openid profile"}
FRAMEWORK = "http://localhost/assurance/trust-framework"
EVERYTHING = {
    "verification": {
        "trust_framework": None, "time": None, "verification_process": None,
        "evidence": [{"type": {"value": "electronic_record"},
                      "check_details": [{"check_method": None, "check_id": None,
                                         "time": None}],
                      "record": {"type": None, "source": {"name": None,
                                                          "country_code": None}}}]},
    "claims": {name: None for name in (
        "given_name", "family_name", "name", "birthdate", "gender", "father_name",
        "nationalities", "national_code", "fida_code", "phone_number", "address")},
}


@pytest.fixture
def settings(settings, tmp_path):
    sandbox = tmp_path / "people.toml"
    sandbox.write_text(SANDBOX, encoding="utf-8")
    settings.registries.sandbox_path = str(sandbox)
    settings.clients = [*TEST_CLIENTS, NARROW]
    return settings


def claims_param(id_token=None, userinfo=None) -> str:
    claims = {}
    if id_token is not None:
        claims["id_token"] = {"verified_claims": id_token}
    if userinfo is not None:
        claims["userinfo"] = {"verified_claims": userinfo}
    # Valid under the OIDF request schema, except that trust_framework may be left out.
    named = json.loads(json.dumps(claims))
    for part in named.values():
        for element in [vc] if isinstance(vc := part["verified_claims"], dict) else vc:
            element["verification"].setdefault("trust_framework", None)
    REQUEST_SCHEMA.validate(named)
    return json.dumps(claims)


def verify(client, token: str, audience: str = "test-rp") -> dict:
    jwks = client.get("/jwks.json").get_json()
    header = pyjwt.get_unverified_header(token)
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    return pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=[header["alg"]],
                        audience=audience, issuer="http://localhost")


def authorize(client, app, claims: str, person=ALI, client_id="test-rp",
              secret="test-rp-secret", redirect_uri="https://rp.example/cb",
              scope="openid profile", **extra) -> tuple[dict, dict]:
    """Log in (or single sign-on) asking ``claims``; the verified ID token claims and the
    UserInfo answer of its access token."""
    verifier, challenge = pkce()
    params = redirect_params(login(client, app, authorize_url(
        client_id=client_id, redirect_uri=redirect_uri, scope=scope, claims=claims,
        code_challenge=challenge, code_challenge_method="S256", **extra), person))
    tokens = exchange(client, params["code"], client_id=client_id, secret=secret,
                      redirect_uri=redirect_uri, verifier=verifier).get_json()
    id_token = verify(client, tokens["id_token"], client_id)
    info = client.get("/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    for answer in (id_token, info):
        if "verified_claims" in answer:
            ANSWER_SCHEMA.validate({"verified_claims": answer["verified_claims"]})
    info["access_token"] = tokens["access_token"]
    return id_token, info


def audit(app, event: str) -> list[tuple[str | None, dict]]:
    """(account id, detail) of each audit row of ``event``, oldest first."""
    with app.app_context():
        rows = app.extensions["idp"].db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)).all()
        return [(row.account_id, row.detail) for row in rows]


def age_verifications(app, seconds: int) -> None:
    """Make every verification ``seconds`` older, as if made that long ago."""
    with app.app_context():
        session = app.extensions["idp"].db.session
        for row in session.scalars(select(Verification)).all():
            row.verified_at -= timedelta(seconds=seconds)
        session.commit()


def verified_at(app) -> int:
    """The (one) verification's time."""
    with app.app_context():
        at = app.extensions["idp"].db.session.scalars(select(Verification.verified_at)).one()
        return int(at.replace(tzinfo=UTC).timestamp())


def iso_seconds(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


# --- what is published -----------------------------------------------------------------------

def test_discovery_describes_identity_assurance(client):
    document = client.get("/.well-known/openid-configuration").get_json()
    assert document["verified_claims_supported"] is True
    assert document["trust_frameworks_supported"] == [FRAMEWORK]
    assert document["evidence_supported"] == ["electronic_record"]
    assert document["electronic_records_supported"] == ["population_register", "mno"]
    assert set(document["claims_in_verified_claims_supported"]) == set(EVERYTHING["claims"])
    assert "verified_claims" in document["claims_supported"]
    assert document["claims_parameter_supported"] is True


@pytest.mark.parametrize("locale", ["fa", "en"])
def test_the_trust_framework_page_says_what_is_checked_in_persian_and_english(client, locale):
    if locale == "en":
        client.get("/language/en")
    page = client.get("/assurance/trust-framework")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="fa" dir="rtl"' in html and 'lang="en" dir="ltr"' in html
    first = html.index('lang="fa" dir="rtl"') < html.index('lang="en" dir="ltr"')
    assert first == (locale == "fa")
    for text in ("چه چیزی بررسی می‌شود", "What is checked", "سازمان ثبت احوال کشور",
                 "سامانه شاهکار", "سامانه اتباع خارجی", "How the time is set", "UTC"):
        assert text in html


# --- answers ---------------------------------------------------------------------------------

def test_everything_asked_in_both_answers_matches_the_registries(client, app):
    started = int(time.time())
    id_token, info = authorize(client, app, claims_param(EVERYTHING, EVERYTHING),
                               scope="openid")
    finished = int(time.time())
    assert id_token["verified_claims"] == info["verified_claims"]
    answer = id_token["verified_claims"]
    verification = answer["verification"]
    assert verification["trust_framework"] == FRAMEWORK
    assert started <= iso_seconds(verification["time"]) <= finished
    assert answer["claims"] == {
        "given_name": "علی", "family_name": "محمدی آزمایشی", "name": "علی محمدی آزمایشی",
        "birthdate": "1981-03-21", "gender": "male", "father_name": "حسن",
        "nationalities": ["IRN"], "national_code": "0499370899",
        "phone_number": "+989120000001",
        "address": {"postal_code": "1968913141", "country_code": "IRN"}}
    civil, mno = verification["evidence"]
    assert civil["record"] == {"type": "population_register", "source": {
        "name": "سازمان ثبت احوال کشور", "country_code": "IRN"}}
    assert mno["record"] == {"type": "mno", "source": {"name": "سامانه شاهکار",
                                                       "country_code": "IRN"}}
    for entry in (civil, mno):
        [detail] = entry["check_details"]
        assert set(detail) == {"check_method", "check_id", "time"}  # no organization
        assert detail["check_method"] == "data"
        assert started <= iso_seconds(detail["time"]) <= iso_seconds(verification["time"])
    # Each check id and the verification are on the audit rows (for `idp audit`).
    checked = {detail["check_id"]: (account, detail)
               for account, detail in audit(app, "identity.checked")}
    for entry, registry in ((civil, "civil"), (mno, "shahkar")):
        account, detail = checked[entry["check_details"][0]["check_id"]]
        assert detail["registry"] == registry
        assert detail["verification_process"] == verification["verification_process"]
        assert account == id_token["sub"]


def test_only_what_was_asked_is_answered(client, app):
    request = {"verification": {}, "claims": {"given_name": None}}
    id_token, info = authorize(client, app, claims_param(id_token=request))
    assert id_token["verified_claims"] == {"verification": {"trust_framework": FRAMEWORK},
                                           "claims": {"given_name": "علی"}}
    assert "verified_claims" not in info
    request = {"verification": {"evidence": [{"type": {"value": "electronic_record"}}]},
               "claims": {"birthdate": {"essential": True}, "unknown_claim": {"essential": True},
                          "email": None}}
    _id_token, info = authorize(client, app, claims_param(userinfo=request))
    assert info["verified_claims"] == {
        "verification": {"trust_framework": FRAMEWORK,
                         "evidence": [{"type": "electronic_record"},
                                      {"type": "electronic_record"}]},
        "claims": {"birthdate": "1981-03-21"}}


def test_a_foreign_national_has_the_foreigners_registry_and_a_fida_code(client, app):
    id_token, _info = authorize(client, app, claims_param(id_token=EVERYTHING), person=AHMAD,
                                scope="openid")
    answer = id_token["verified_claims"]
    assert answer["claims"]["fida_code"] == "300000000101"
    assert "national_code" not in answer["claims"]
    assert answer["claims"]["nationalities"] == ["AFG"]
    assert answer["claims"]["phone_number"] == "+989350000101"
    first, second = answer["verification"]["evidence"]
    assert first["record"]["source"]["name"] == "سامانه اتباع خارجی"
    assert second["record"]["type"] == "mno"


def test_a_client_gets_only_the_verified_claims_of_its_registered_scopes(client, app):
    id_token, _info = authorize(client, app, claims_param(id_token=EVERYTHING),
                                client_id="narrow-rp", secret="narrow-secret",
                                redirect_uri="https://narrow.example/cb")
    claims = id_token["verified_claims"]["claims"]
    assert claims["given_name"] == "علی" and claims["nationalities"] == ["IRN"]
    assert not {"national_code", "phone_number", "address"} & set(claims)


def test_the_check_organization_is_named_when_set(client, app):
    app.extensions["idp"].settings.assurance.check_organization = "شرکت واسط آزمایشی"
    asked = {"type": {"value": "electronic_record"},
             "check_details": [{"check_method": None, "organization": None}]}
    id_token, _info = authorize(client, app, claims_param(
        id_token=_with({"evidence": [asked]})))
    for entry in id_token["verified_claims"]["verification"]["evidence"]:
        assert entry["check_details"] == [{"check_method": "data",
                                           "organization": "شرکت واسط آزمایشی"}]


# --- constraints -----------------------------------------------------------------------------

def _with(verification: dict, claims: dict | None = None) -> dict:
    return {"verification": verification, "claims": claims or {"given_name": None}}


def test_constraints_select_and_omit_never_fail(client, app):
    cases = [
        # An unmet trust framework omits the element; a met one keeps it.
        (_with({"trust_framework": {"value": "https://elsewhere.example/tf"}}), None),
        (_with({"trust_framework": {"values": ["x", FRAMEWORK]}}), {"given_name": "علی"}),
        # Evidence constraints are filters.
        (_with({"evidence": [{"type": {"value": "document"}}]}), None),
        (_with({"evidence": [{"type": {"value": "electronic_record"},
                              "record": {"type": {"value": "mno"}}}]}), ["mno"]),
        (_with({"evidence": [{"type": {"value": "electronic_record"},
                              "record": {"type": {"values": ["population_register"]}}}]}),
         ["population_register"]),
        (_with({"evidence": [{"type": {"value": "electronic_record"},
                              "check_details": [{"check_method": {"value": "vpip"}}]}]}),
         None),
        # A name written with Arabic letters (ي) and a stray space still matches.
        (_with({}, {"given_name": {"value": "علي "}, "family_name": {"value": "محمدي آزمايشي"},
                    "father_name": {"value": "رضا"}}),
         {"given_name": "علی", "family_name": "محمدی آزمایشی"}),
        # No requested claim left: the element goes.
        (_with({}, {"father_name": {"values": ["رضا", "محمود"]}}), None),
        (_with({"assurance_level": {"value": "high"}}), None),
    ]
    for request, expected in cases:
        id_token, _info = authorize(client, app, claims_param(id_token=request))
        answer = id_token.get("verified_claims")
        if expected is None:
            assert answer is None, request
        elif isinstance(expected, list):
            assert [e["record"]["type"] for e in answer["verification"]["evidence"]] == \
                expected, request
        else:
            assert answer["claims"] == expected, request


def test_an_array_request_answers_the_elements_it_can_meet(client, app):
    unmet = _with({"trust_framework": {"value": "gold"}})
    met = _with({"time": None}, {"family_name": None})
    id_token, _info = authorize(client, app, claims_param(id_token=[unmet, met, met]))
    answers = id_token["verified_claims"]
    assert isinstance(answers, list) and len(answers) == 2
    assert answers[0]["claims"] == {"family_name": "محمدی آزمایشی"}
    id_token, _info = authorize(client, app, claims_param(id_token=[unmet]))
    assert "verified_claims" not in id_token


def test_max_age_reruns_the_checks_without_a_page(client, app):
    authorize(client, app, claims_param(id_token=_with({})))
    age_verifications(app, 3600)
    first_checks = len(audit(app, "identity.checked"))
    request = _with({"time": {"max_age": 600}, "verification_process": None})
    asked = int(time.time())
    id_token, info = authorize(client, app, claims_param(request, request))
    # Single sign-on: no page was shown, and a new verification was made now.
    assert len(audit(app, "identity.checked")) == first_checks + 2
    verification = id_token["verified_claims"]["verification"]
    assert iso_seconds(verification["time"]) >= asked
    assert info["verified_claims"]["verification"] == verification
    # Without max_age, the latest verification is simply reported.
    id_token, _info = authorize(client, app, claims_param(id_token=_with({"time": None})))
    assert id_token["verified_claims"]["verification"]["time"] == verification["time"]


def test_a_failed_recheck_omits_verified_claims_and_is_audited(client, app):
    authorize(client, app, claims_param(id_token=_with({})))
    age_verifications(app, 3600)
    shahkar = app.extensions["idp"].registries.shahkar
    del shahkar.data.mobiles["+989120000001"]  # the mobile is no longer Ali's
    request = _with({"time": {"max_age": 60}})
    id_token, info = authorize(client, app, claims_param(request, request))
    assert "verified_claims" not in id_token and "verified_claims" not in info
    assert audit(app, "identity.recheck_failed") == [(id_token["sub"], {"reason": "shahkar"})]
    # Without max_age the old verification is still reported.
    id_token, _info = authorize(client, app, claims_param(id_token=_with({"time": None})))
    assert "verified_claims" in id_token


def test_a_registry_outage_during_the_recheck_still_logs_in(client, app, monkeypatch):
    authorize(client, app, claims_param(id_token=_with({})))
    age_verifications(app, 3600)

    def down(*_args):
        raise RegistryUnavailable("shahkar down")

    monkeypatch.setattr(app.extensions["idp"].registries.shahkar, "owns", down)
    id_token, _info = authorize(client, app, claims_param(id_token=_with({"time": {
        "max_age": 60}})))
    assert "verified_claims" not in id_token
    assert [d["reason"] for _a, d in audit(app, "identity.recheck_failed")] == ["unavailable"]


def test_a_failed_recheck_at_a_code_login_is_audited(client, app):
    authorize(client, app, claims_param(id_token=_with({})))
    del app.extensions["idp"].registries.shahkar.data.mobiles["+989120000001"]
    app.extensions["idp"].store.delete("otp-cooldown:+989120000001")
    # Another browser: the code login asks Shahkar again, which no longer names Ali, so the
    # walk is refused at the identity step.
    with pytest.raises(AssertionError, match="identity"):
        login(app.test_client(), app, authorize_url(), ALI)
    assert [d["reason"] for _a, d in audit(app, "identity.recheck_failed")] == ["shahkar"]


# --- other ways in ---------------------------------------------------------------------------

def test_single_sign_on_reads_the_older_time_and_userinfo_the_latest(client, app):
    id_token, first = authorize(client, app, claims_param(
        userinfo=_with({"time": None}), id_token=_with({"time": None})))
    age_verifications(app, 120)
    id_token, _info = authorize(client, app, claims_param(id_token=_with({"time": None})))
    time_ = iso_seconds(id_token["verified_claims"]["verification"]["time"])
    assert time_ == verified_at(app) < id_token["auth_time"]
    # A newer verification shows in UserInfo for the first login's access token.
    age_verifications(app, -120)
    info = client.get("/userinfo", headers={
        "Authorization": f"Bearer {first['access_token']}"}).get_json()
    assert iso_seconds(info["verified_claims"]["verification"]["time"]) > time_


# --- consent ---------------------------------------------------------------------------------

def test_the_consent_page_lists_the_verified_claims_it_will_release(client, app):
    page = login(client, app, authorize_url(
        client_id="narrow-rp", redirect_uri="https://narrow.example/cb", scope="openid",
        claims=claims_param(id_token=EVERYTHING)), ALI, consent=None)
    html = page.get_data(as_text=True)
    assert page.request.path == "/login/consent"
    assert "اطلاعات هویتی تأییدشده" in html
    assert 'data-verified-claim="given_name"' in html
    assert 'data-verified-claim="national_code"' not in html  # not registered for national_id
    # A foreign national is asked about a FIDA code, never a national code.
    page = login(app.test_client(), app, authorize_url(
        scope="openid", claims=claims_param(id_token=EVERYTHING)), AHMAD, consent=None)
    html = page.get_data(as_text=True)
    assert 'data-verified-claim="fida_code"' in html
    assert 'data-verified-claim="national_code"' not in html


# --- accepted and refused requests -----------------------------------------------------------

def test_every_oidf_example_request_is_accepted(client):
    assert len(EXAMPLE_REQUESTS) >= 20
    for example in EXAMPLE_REQUESTS:
        claims = json.loads(example.read_text(encoding="utf-8"))
        REQUEST_SCHEMA.validate(claims)
        response = get(client, authorize_url(claims=json.dumps(claims)))
        assert response.status_code == 302, example.name
        assert response.headers["Location"].startswith("/login/"), example.name


def _deep(levels: int) -> dict:
    spec: dict = {"essential": True}
    for _ in range(levels):
        spec = {"x": spec}
    return spec


BAD = {
    "string": '"yes"', "number": "5", "true": "true", "false": "false", "null": "null",
    "no verification": '{"claims": {"given_name": null}}',
    "no claims": '{"verification": {"trust_framework": null}}',
    "empty claims": '{"verification": {}, "claims": {}}',
    "claims not an object": '{"verification": {}, "claims": ["given_name"]}',
    "evidence not an array": '{"verification": {"evidence": {"type": {}}}, "claims": null}',
    "empty evidence": '{"verification": {"evidence": []}, "claims": null}',
    "evidence without type": '{"verification": {"evidence": [{"record": null}]}, '
                             '"claims": null}',
    "evidence type with values": '{"verification": {"evidence": [{"type": {"values": '
                                 '["electronic_record"]}}]}, "claims": null}',
    "negative max_age": '{"verification": {"time": {"max_age": -1}}, "claims": null}',
    "fractional max_age": '{"verification": {"time": {"max_age": 1.5}}, "claims": null}',
    "string max_age": '{"verification": {"time": {"max_age": "60"}}, "claims": null}',
    "boolean max_age": '{"verification": {"time": {"max_age": true}}, "claims": null}',
    "array of strings": '["verification"]',
    "too deep": json.dumps({"verification": {"evidence": [{"type": {}, "record": _deep(9)}]},
                            "claims": None}),
    "too long": json.dumps({"verification": {}, "claims": {
        f"c{i}": {"essential": True, "value": "x" * 20} for i in range(120)}}),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_verified_claims_requests_are_invalid_request(client, app, name):
    for member in ("id_token", "userinfo"):
        state = f"st-{member}"
        response = get(client, authorize_url(
            state=state, claims=f'{{"{member}": {{"verified_claims": {BAD[name]}}}}}'))
        params = redirect_params(response)
        assert response.headers["Location"].startswith("https://rp.example/cb?")
        assert params["error"] == "invalid_request", params
        assert params["state"] == state and params["iss"] == "http://localhost"
    store = app.extensions["idp"].store
    assert not list(store.redis.scan_iter("idp:journey:*"))
    with app.app_context():
        assert not app.extensions["idp"].db.session.scalars(select(AuditEvent)).all()
