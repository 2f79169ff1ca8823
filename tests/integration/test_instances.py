"""Identical instances: two apps on one keys folder and one database agree on what they sign
with, publish, and which clients exist."""

import time

import jwt
import pytest

from idp import create_app
from idp.keys import JWKS_MAX_AGE_SECONDS, KeyRing


class Clock:
    """A wall clock the test moves by hand, shared by every instance's key ring."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


SERVICE = {"client_id": "tax-backend", "client_secret": "tax-backend-secret",
           "name": "سامانه مالیات (سرور)", "grant_types": ["client_credentials"],
           "resources": ["https://api.tax.example/"]}


@pytest.fixture
def two_apps(settings):
    """Two instances built from the same settings: one database, one Redis, one keys folder."""
    settings.clients = [*settings.clients, SERVICE]
    apps = [create_app(settings), create_app(settings)]
    for app in apps:
        app.config["TESTING"] = True
    yield apps
    for app in apps:
        app.extensions["idp"].db.engine.dispose()


def test_no_instance_signs_with_a_key_another_instance_does_not_publish(two_apps, settings):
    clock = Clock(time.time())
    rings = [app.extensions["idp"].keys for app in two_apps]
    for ring in rings:
        ring.clock = clock
    # The instances re-read the folder on their own timers, 15 s apart.
    rings[0].reload(force=True)
    clock.advance(15)
    rings[1].reload(force=True)
    operator = KeyRing.from_settings(settings)  # `idp keys rotate`, run elsewhere
    operator.clock = clock
    browsers = [app.test_client() for app in two_apps]
    first = {alg: rings[0].signing_kid(alg) for alg in ("RS256", "ES256")}
    served: list[tuple[float, set[str]]] = []
    signed: list[tuple[float, str]] = []
    upcoming: dict[str, str] = {}
    for step in range(300):  # 7 s a step: rotation, activation, retirement and removal
        if step == 5:
            upcoming = {k["alg"]: k["kid"] for k in operator.rotate()}
        for ring, browser in zip(rings, browsers, strict=True):
            served.append((clock.now, {k["kid"] for k in
                                       browser.get("/jwks.json").get_json()["keys"]}))
            signed.extend((clock.now, ring.signing_kid(alg)) for alg in ("RS256", "ES256"))
            if step % 4 == 0:  # and a real token, as a service would get it
                token = browser.post("/token", data={"grant_type": "client_credentials"},
                                     auth=("tax-backend", "tax-backend-secret")).get_json()
                signed.append((clock.now, jwt.get_unverified_header(token["access_token"])[
                    "kid"]))
        clock.advance(7)
    # A relying party may hold any JWKS either instance served within its max-age.
    for signed_at, kid in signed:
        for served_at, kids in served:
            if signed_at - JWKS_MAX_AGE_SECONDS <= served_at <= signed_at:
                assert kid in kids, f"{kid} signed at {signed_at} missing from a JWKS " \
                                    f"served at {served_at}"
    # The rotation did happen on both, and the retired keys left once their tokens expired.
    assert {kid for _, kid in signed[-4:]} == set(upcoming.values())  # 299 % 4: no token
    assert not set(first.values()) & served[-1][1] and not set(first.values()) & served[-2][1]
    assert set(first.values()) <= {kid for _, kid in signed}


def test_client_registrations_and_removals_reach_the_other_instance_within_a_minute(
        two_apps, settings):
    from flow import authorize_url

    from idp.db import Database
    from idp.registration import register_client, remove_client

    second = two_apps[1]
    server = second.extensions["idp"].oauth_server
    clock = Clock(1000.0)
    server.clock = clock
    browser = second.test_client()
    url = authorize_url(client_id="tax-office", redirect_uri="https://tax.example/cb",
                        scope="openid")
    assert browser.get(url).status_code == 400  # unknown here (and that is cached)

    # `idp clients add` on another machine: the first instance's database session.
    admin = Database(settings.database_url)
    with admin.sessionmaker() as session:
        register_client(session, name="اداره مالیات", redirect_uris=["https://tax.example/cb"],
                        client_id="tax-office", scope="openid")
        session.commit()
    clock.advance(59)
    answer = browser.get(url)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]

    with admin.sessionmaker() as session:
        assert remove_client(session, "tax-office")
        session.commit()
    clock.advance(59)
    assert browser.get(url).status_code == 400
    admin.engine.dispose()


def test_a_flood_of_unknown_client_ids_does_not_grow_the_cache(app, monkeypatch):
    from idp.oidc import server as server_module

    monkeypatch.setattr(server_module, "CLIENT_CACHE_ENTRIES", 50)
    server = app.extensions["idp"].oauth_server
    with app.app_context():
        for number in range(120):
            assert server.find_client(f"made-up-{number}") is None
            assert len(server._clients) <= 50
        assert server.find_client("test-rp") is not None


def test_a_login_alternates_between_two_instances_on_one_postgresql_and_redis(
        tmp_path, services_database):
    """Two providers on their own ports, every request of one citizen's login and every call
    of the relying party going to the other instance than the last (round robin)."""
    import itertools
    from urllib.parse import parse_qs, urlsplit

    import jwt as pyjwt
    import requests
    from conftest import _reset_services
    from flow import authorize_url, pkce
    from live import free_port, outbox_path, serve, walk_login, write_config

    from idp.settings import load_settings

    _reset_services(services_database)
    public_port = free_port()
    client = {"client_id": "city", "client_secret": "city-secret", "name": "شهرداری",
              "redirect_uris": ["https://city.example/cb"],
              "scope": "openid profile phone national_id offline_access"}
    config = write_config(tmp_path, port=public_port, clients=[client], services=True,
                          extra={"database": {"url": services_database}})
    apps = [create_app(load_settings(config)), create_app(load_settings(config))]
    public = f"http://127.0.0.1:{public_port}"
    with serve(apps[0]) as first, serve(apps[1]) as second:
        turns = itertools.cycle([first, second])
        answered_by: list[str] = []

        def route(url: str) -> str:
            instance = next(turns)
            answered_by.append(instance)
            return url.replace(public, instance, 1)

        verifier, challenge = pkce()
        url = public + authorize_url(client_id="city", redirect_uri="https://city.example/cb",
                                     scope="openid profile national_id offline_access",
                                     code_challenge=challenge, code_challenge_method="S256")
        final = walk_login(requests.Session(), url, redirect_uri="https://city.example/cb",
                           outbox=outbox_path(config), route=route)
        assert {first, second} <= set(answered_by) and len(answered_by) >= 6
        code = parse_qs(urlsplit(final).query)["code"][0]
        auth = ("city", "city-secret")
        tokens = requests.post(route(f"{public}/token"), auth=auth, timeout=10, data={
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": "https://city.example/cb", "code_verifier": verifier}).json()
        jwks = pyjwt.PyJWKClient(route(f"{public}/jwks.json"))
        claims = pyjwt.decode(tokens["id_token"], jwks.get_signing_key_from_jwt(
            tokens["id_token"]).key, algorithms=["RS256"], audience="city", issuer=public)
        info = requests.get(route(f"{public}/userinfo"), timeout=10,
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
        assert info.status_code == 200 and info.json()["sub"] == claims["sub"]
        assert info.json()["national_code"] == "0499370899"
        refreshed = requests.post(route(f"{public}/token"), auth=auth, timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200
        # The spent refresh token is refused by either instance (one family, one store).
        replay = requests.post(route(f"{public}/token"), auth=auth, timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    for app in apps:
        app.extensions["idp"].db.engine.dispose()
