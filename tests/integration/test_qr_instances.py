"""Two provider instances on one Redis (issue 7): the browser waits on one, the phone approves on
the other (design §4 cases 12 and 52). Real HTTP, real PostgreSQL and Redis."""

import base64
import hashlib
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt as pyjwt
import pytest
import requests
from live import free_port, outbox_path, serve, walk_login, write_config
from phone import Phone
from walker import read_forms

PHONE_SCOPE = "openid profile national_id offline_access device:register qr:approve"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def requests_http(base: str):
    session = requests.Session()

    def http(method, path, body, token):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = session.request(method, base + path, json=body, headers=headers, timeout=10)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, None

    return http


@pytest.fixture
def instances(tmp_path, services_database):
    from conftest import _reset_services

    from idp import create_app
    from idp.settings import load_settings

    # The run's scratch database (tests/conftest.py), emptied, not the shared one.
    _reset_services(services_database)
    port_a, port_b = free_port(), free_port()
    config = write_config(tmp_path, port=port_a, services=True,
                          extra={"database": {"url": services_database}}, clients=[
        {"client_id": "rp", "client_secret": "rp-secret", "name": "سامانه آزمایشی",
         "redirect_uris": ["https://rp.example/cb"], "first_party": True,
         "scope": "openid profile"},
        {"client_id": "phone", "name": "دولت همراه", "public": True, "first_party": True,
         "redirect_uris": ["https://phone.example/cb"], "scope": PHONE_SCOPE}])

    settings = load_settings(config, environ={})
    first = create_app(settings)
    second = create_app(load_settings(config, environ={}))
    with serve(first, port_a) as a, serve(second, port_b) as b:
        yield {"a": a, "b": b, "issuer": settings.server.issuer, "outbox": outbox_path(config),
               "config": config}
    for app in (first, second):
        app.extensions["idp"].db.engine.dispose()


def pair_phone(site) -> Phone:
    verifier, challenge = pkce()
    url = site["a"] + "/authorize?" + urlencode({
        "response_type": "code", "client_id": "phone", "redirect_uri": "https://phone.example/cb",
        "scope": PHONE_SCOPE, "state": "s", "nonce": "n", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    back = walk_login(requests.Session(), url, redirect_uri="https://phone.example/cb",
                      outbox=site["outbox"])
    code = parse_qs(urlsplit(back).query)["code"][0]
    tokens = requests.post(site["a"] + "/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": "phone",
        "redirect_uri": "https://phone.example/cb", "code_verifier": verifier}, timeout=10).json()
    sub = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})["sub"]
    phone = Phone(requests_http(site["a"]), site["issuer"], token=tokens["access_token"], sub=sub)
    phone.pair()
    return phone


def test_the_browser_waits_on_one_instance_while_the_phone_approves_on_the_other(instances):
    site = instances
    phone = pair_phone(site)
    browser = requests.Session()
    b = site["b"]
    page = browser.get(b + "/authorize?" + urlencode({
        "response_type": "code", "client_id": "rp", "redirect_uri": "https://rp.example/cb",
        "scope": "openid profile", "state": "st", "nonce": "nonce-1"}), timeout=10)
    form = next(f for f in read_forms(page.text) if f["action"].startswith("/login/qr/start"))
    started = browser.post(b + form["action"], data=form["fields"], allow_redirects=False,
                           timeout=10)
    assert started.status_code == 302
    qr_page = browser.get(b + started.headers["Location"], timeout=10)
    url = re.search(r'data-url="([^"]+)"', qr_page.text).group(1)
    assert url.startswith(site["issuer"] + "/q/1/")
    query = urlsplit(qr_page.url).query
    with browser.get(f"{b}/login/qr/events?{query}", stream=True, timeout=30) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines(decode_unicode=True)
        events = []

        def next_state() -> str:
            for line in lines:
                if line.startswith("data:"):
                    events.append(line)
                    return re.search(r'"state": "(\w+)"', line).group(1)
            raise AssertionError("the stream ended")

        assert next_state() == "pending"
        phone.approve(url)  # on instance A
        assert next_state() == "scanned"
        assert next_state() == "approved"
    # Instance A knows it too: no state in either process's memory (case 52).
    assert browser.get(f"{site['a']}/login/qr/status?{query}", timeout=10).json()["state"] == \
        "approved"
    token = re.search(r'name="csrf_token" value="([^"]+)"', qr_page.text).group(1)
    response = browser.post(f"{b}/login/qr/complete?{query}", data={"csrf_token": token},
                            allow_redirects=False, timeout=10)
    while not response.headers["Location"].startswith("https://rp.example/cb"):
        response = browser.get(b + response.headers["Location"], allow_redirects=False,
                               timeout=10)
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    tokens = requests.post(site["a"] + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example/cb"},
        auth=("rp", "rp-secret"), timeout=10).json()
    jwks = requests.get(site["a"] + "/jwks.json", timeout=10).json()
    header = pyjwt.get_unverified_header(tokens["id_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = pyjwt.decode(tokens["id_token"], pyjwt.PyJWK(key).key, algorithms=[header["alg"]],
                          audience="rp", issuer=site["issuer"])
    assert claims["amr"] == ["swk"] and claims["nonce"] == "nonce-1"
    assert claims["sub"] == phone.sub


def test_idp_events_serves_the_streams_with_gevent(instances):
    """The production event-stream server (README): a stream there follows a flow started on
    another instance."""
    site = instances
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "idp"), "--config",
                               str(site["config"]), "events", "--port", str(port)],
                              cwd=site["config"].parent, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    events = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(events + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                assert time.monotonic() < deadline, "idp events did not start"
                time.sleep(0.2)
        browser = requests.Session()
        page = browser.get(site["a"] + "/authorize?" + urlencode({
            "response_type": "code", "client_id": "rp", "redirect_uri": "https://rp.example/cb",
            "scope": "openid", "state": "s", "nonce": "n"}), timeout=10)
        form = next(f for f in read_forms(page.text) if f["action"].startswith("/login/qr/"))
        started = browser.post(site["a"] + form["action"], data=form["fields"],
                               allow_redirects=False, timeout=10)
        query = urlsplit(started.headers["Location"]).query
        assert requests.get(f"{events}/login/qr/events?{query}", timeout=10).status_code == 403
        with browser.get(f"{events}/login/qr/events?{query}", stream=True, timeout=10) as stream:
            assert stream.status_code == 200
            for line in stream.iter_lines(decode_unicode=True):
                if line.startswith("data:"):
                    assert '"state": "pending"' in line
                    break
    finally:
        server.terminate()
        server.wait(timeout=20)
