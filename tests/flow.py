"""Walking the login journey through the provider's real HTML forms, for the tests."""

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from walker import Failed, Follow, Submit, Walk, answers, read_forms, step_of
from walker import outbox_codes as read_outbox_codes

DEMO = {"mobile": "09120000001", "national_code": "0499370899", "birth": (1360, 1, 1)}
PROVIDER = "http://localhost"  # the test client's origin
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token in page"
    return match.group(1)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_url(client_id: str = "test-rp", redirect_uri: str = "https://rp.example/cb",
                  scope: str = "openid profile phone national_id", **extra) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": scope, "state": "st-" + secrets.token_hex(4),
              "nonce": "n-" + secrets.token_hex(4)}
    params.update({k: v for k, v in extra.items() if v is not None})
    return "/authorize?" + urlencode(params)


def outbox_codes(app, mobile_local: str) -> list[str]:
    settings = app.extensions["idp"].settings
    return read_outbox_codes(settings.path(settings.sms.outbox_path), mobile_local)


def get(client, url: str):
    return client.get(url, follow_redirects=False)


def follow(client, response):
    """Follow provider-internal redirects; stop at one that leaves for a relying party."""
    while response.status_code in (301, 302, 303):
        location = response.headers["Location"]
        if location.startswith("http") and not location.startswith("http://localhost"):
            return response
        response = client.get(location.replace("http://localhost", ""))
    return response


def post_form(client, url: str, page_html: str, data: dict):
    return client.post(url, data={"csrf_token": csrf(page_html), **data})


def submit_mobile(client, app, mobile: str):
    page = client.get("/login/mobile")
    assert page.status_code == 200
    return post_form(client, "/login/mobile", page.get_data(as_text=True), {"mobile": mobile})


def submit_otp(client, app, code: str):
    page = client.get("/login/otp")
    return post_form(client, "/login/otp", page.get_data(as_text=True), {"otp": code})


def submit_identity(client, national_code: str, birth: tuple[int, int, int]):
    page = client.get("/login/identity")
    return post_form(client, "/login/identity", page.get_data(as_text=True), {
        "identity_type": "iranian", "national_code": national_code,
        "birth_year": str(birth[0]), "birth_month": str(birth[1]), "birth_day": str(birth[2])})


def confirm_postal(client, postal_code: str | None = None):
    page = client.get("/login/postal")
    html = page.get_data(as_text=True)
    if postal_code is None:
        form = next(f for f in read_forms(html) if step_of(f["action"]) == "postal")
        postal_code = form["fields"]["postal_code"]
    return post_form(client, "/login/postal", html, {"postal_code": postal_code})


def give_consent(client, decision: str = "allow"):
    page = client.get("/login/consent")
    html = page.get_data(as_text=True)
    client_id = re.search(r'name="client_id" value="([^"]*)"', html).group(1)
    return post_form(client, "/login/consent", html,
                     {"decision": decision, "client_id": client_id})


def _local(url: str) -> str:
    """The path and query the test client asks for."""
    split = urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")


def login(client, app, url: str, person: dict = DEMO, consent: str | None = "allow", qr=None):
    """From ``url`` (``/authorize?…``) through the journey, driven by the shared walker
    (tests/walker.py), to the redirect back at the relying party; returns that response.
    With ``consent=None`` it stops on the consent page and returns it; a walk that ends on
    another provider page (``/account``) returns that page. A refused step fails the test.
    With ``qr`` (called with each QR code's URL), the login goes by the QR tab instead."""
    table = answers({**person, "consent": consent}, lambda mobile: outbox_codes(app, mobile)[-1],
                    qr=qr)
    walk = Walk(table, provider=PROVIDER)
    response = get(client, url)
    while True:
        action = walk.step(response.request.url, response.status_code,
                           "" if response.is_json else response.get_data(as_text=True),
                           response.headers.get("Location"))
        if isinstance(action, Follow):
            response = get(client, _local(action.url))
        elif isinstance(action, Submit):
            response = client.post(_local(action.url), data=action.fields)
        elif isinstance(action, Failed):
            raise AssertionError(action.reason)
        else:  # Done at the relying party, or Landed on a page on purpose
            return response


def redirect_params(response) -> dict:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def exchange(client, code: str, *, client_id="test-rp", secret="test-rp-secret",
             redirect_uri="https://rp.example/cb", verifier: str | None = None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    auth = (client_id, secret) if secret else None
    if auth is None:
        data["client_id"] = client_id
    headers = {}
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return client.post("/token", data=data, headers=headers)
