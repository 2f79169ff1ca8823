"""The phone app as a library: pairing, scanning, approving and device management over the
provider's fixed HTTP interface (issue 7, "The phone app's interface"), with the state kept in
the app's own file. The command line (``clients.phone.cli``) and the tests drive this class::

    phone = Phone("~/.config/idp-phone/state.json")
    phone.pair("https://my.gov.ir", "phone-app", answers=Answers(mobile="09…", …))
    scan = phone.scan(phone.read_code("screenshot.png"))
    phone.decide(scan, approve=True)
"""

import base64
import hashlib
import json
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from clients.phone import state as statefile
from clients.phone.login import (
    Answers,
    Browser,
    Prompter,
    authorization_url,
    pkce_pair,
    redirect_params,
)
from clients.phone.messages import MESSAGES, Exit, PhoneError, printable, text
from clients.phone.qrurl import BadQr, decode_image, parse_login_url
from clients.phone.state import Device, State, StateFileError, Tokens

DEFAULT_SCOPE = "openid profile national_id offline_access device:register qr:approve"
NEEDED_SCOPES = {"device:register", "qr:approve"}
# A loopback redirect (RFC 8252 §7.3): the command line reads the code from the redirect
# itself, so nothing needs to listen there. Register the phone client with this URI.
DEFAULT_REDIRECT_URI = "http://127.0.0.1/idp-phone/callback"
PLATFORMS = ("android", "ios", "cli")
APPROVAL_SECONDS = 60          # issue 7: exp - iat ≤ 60
REFRESH_MARGIN_SECONDS = 30    # refresh an access token this long before it runs out
ID_TOKEN_ALGORITHMS = ["RS256", "ES256", "PS256"]
LEEWAY_SECONDS = 60


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def check_issuer(issuer: str) -> str:
    """``issuer`` when it is https, or http on loopback (RFC 8252 §8.3); else PhoneError."""
    parts = urlsplit(issuer)
    loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if not parts.hostname or parts.query or parts.fragment or parts.username or \
            not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise PhoneError("net.insecure_issuer", Exit.USAGE, issuer=issuer)
    return issuer


@dataclass(frozen=True)
class Scan:
    """A scanned login code: what ``POST /api/qr/scan`` answered for ``qid``."""

    qid: str
    chal: str
    ctx_blob: bytes              # the exact bytes the provider sent, decoded from base64url
    context: dict                # ctx_blob parsed, to show the citizen
    approve_by: int
    nm_choices: tuple[int, ...] = ()   # number matching, when the provider asks for it


class Phone:
    """One installation of the app: its state file, its HTTP client and its language."""

    def __init__(self, state_path: str | Path | None = None, *,
                 http: requests.Session | None = None, lang: str = "fa",
                 prompter: Prompter | None = None, clock: Callable[[], float] = time.time,
                 timeout: float = 10.0) -> None:
        self.state_path = Path(state_path).expanduser() if state_path else \
            statefile.default_path()
        self.http = http or requests.Session()
        self.lang = lang
        self.prompter = prompter or Prompter()
        self.clock = clock
        self.timeout = timeout
        self._state: State | None = None
        self._loaded = False

    # --- the state file -------------------------------------------------------------------

    @property
    def state(self) -> State | None:
        if not self._loaded:
            try:
                self._state = statefile.load(self.state_path)
            except StateFileError as exc:
                raise self._state_error(exc) from exc
            self._loaded = True
        return self._state

    def _save(self, state: State | None) -> None:
        try:
            if state is None:
                statefile.forget(self.state_path)
            else:
                statefile.save(self.state_path, state)
        except StateFileError as exc:
            raise self._state_error(exc) from exc
        self._state, self._loaded = state, True

    @staticmethod
    def _state_error(exc: StateFileError) -> PhoneError:
        if exc.kind == "open_mode":
            return PhoneError("state.open_mode", Exit.STATE, path=exc.path, mode=exc.mode)
        return PhoneError(f"state.{exc.kind}", Exit.STATE, path=exc.path, reason=exc.reason)

    def _paired(self) -> tuple[State, Device]:
        state = self.state
        if state is None or state.device is None:
            raise PhoneError("state.not_paired", Exit.NOT_PAIRED)
        return state, state.device

    # --- HTTP ------------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            return self.http.request(method, url, timeout=self.timeout,
                                     allow_redirects=False, **kwargs)
        except requests.RequestException as exc:
            raise PhoneError("net.unreachable", Exit.NETWORK, url=url,
                             reason=type(exc).__name__) from exc

    @staticmethod
    def _json(response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise PhoneError("net.bad_answer", Exit.NETWORK, url=response.url,
                             status=response.status_code)
        return body

    def _refused(self, response: requests.Response) -> PhoneError:
        """The provider's JSON error (or, for a bare status, a code that names it)."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        error = str(body.get("error") or "")
        if not error and response.status_code == 401:
            error = "invalid_token"
        if not error:
            error = {404: "not_found", 429: "rate_limited"}.get(response.status_code,
                                                                  f"http_{response.status_code}")
        key = f"error.{error}" if f"error.{error}" in MESSAGES else "error.other"
        return PhoneError(key, Exit.REFUSED, error=error, status=response.status_code,
                          description=str(body.get("error_description") or "") or None)

    def discover(self, issuer: str) -> dict:
        """The provider's discovery document, which must name ``issuer`` exactly (OIDC
        Discovery §4.3)."""
        check_issuer(issuer)
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = self._send("GET", url)
        if response.status_code != 200:
            raise PhoneError("net.bad_answer", Exit.NETWORK, url=url,
                             status=response.status_code)
        document = self._json(response)
        if document.get("issuer") != issuer:
            raise PhoneError("net.issuer_mismatch", Exit.NETWORK,
                             found=document.get("issuer"))
        return document

    def _api(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        """A call of the phone app's interface with a fresh bearer token; one refresh and
        retry when the provider says the token is no longer good (401)."""
        state = self.state
        if state is None or state.tokens is None:
            raise PhoneError("state.not_logged_in", Exit.NOT_PAIRED)
        url = state.issuer.rstrip("/") + path
        for attempt in range(2):
            token = self.access_token(force_refresh=attempt == 1)
            response = self._send(method, url, json=body,
                                  headers={"Authorization": f"Bearer {token}",
                                           "Accept": "application/json"})
            if response.status_code != 401:
                return response
        raise PhoneError("session.ended", Exit.SIGNED_OUT, error="invalid_token")

    # --- tokens ----------------------------------------------------------------------------

    def access_token(self, *, force_refresh: bool = False) -> str:
        """The current access token, refreshed (and the rotated refresh token saved) when it
        runs out within half a minute."""
        state = self.state
        if state is None or state.tokens is None:
            raise PhoneError("state.not_logged_in", Exit.NOT_PAIRED)
        tokens = state.tokens
        if not force_refresh and tokens.expires_at - REFRESH_MARGIN_SECONDS > self.clock():
            return tokens.access_token
        if not tokens.refresh_token:
            raise PhoneError("session.ended", Exit.SIGNED_OUT, error="no_refresh_token")
        endpoint = state.endpoints.get("token_endpoint") or \
            self.discover(state.issuer)["token_endpoint"]
        response = self._send("POST", endpoint, data={
            "grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
            "client_id": state.client_id})
        if response.status_code in (400, 401):
            refused = self._refused(response)
            raise PhoneError("session.ended", Exit.SIGNED_OUT, error=refused.error)
        if response.status_code != 200:
            raise PhoneError("net.bad_answer", Exit.NETWORK, url=endpoint,
                             status=response.status_code)
        answer = self._json(response)
        state.tokens = self._tokens(answer, previous=tokens)
        self._save(state)
        return state.tokens.access_token

    def _tokens(self, answer: dict, previous: Tokens | None = None) -> Tokens:
        if not isinstance(answer.get("access_token"), str):
            raise PhoneError("net.bad_answer", Exit.NETWORK, url="token", status=200)
        return Tokens(
            access_token=answer["access_token"],
            expires_at=int(self.clock()) + int(answer.get("expires_in") or 300),
            # RFC 6749 §6: a refresh answer without a new refresh token keeps the old one.
            refresh_token=answer.get("refresh_token") or (previous.refresh_token
                                                          if previous else None),
            id_token=answer.get("id_token") or (previous.id_token if previous else None),
            scope=answer.get("scope") or (previous.scope if previous else ""))

    # --- pairing ---------------------------------------------------------------------------

    def login(self, issuer: str, client_id: str, *, redirect_uri: str = DEFAULT_REDIRECT_URI,
              scope: str = DEFAULT_SCOPE, answers: Answers | None = None) -> State:
        """Log in through the provider's pages (PKCE S256) and keep the tokens; returns the
        new state (no device yet)."""
        document = self.discover(issuer)
        verifier, challenge = pkce_pair()
        request_state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        answers = answers or Answers()
        # The mobile is the login hint the provider pre-fills (SPEC §4: login_hint).
        hint = {"login_hint": answers.mobile} if answers.mobile else {}
        url = authorization_url(
            document["authorization_endpoint"], response_type="code", client_id=client_id,
            redirect_uri=redirect_uri, scope=scope, state=request_state, nonce=nonce,
            code_challenge=challenge, code_challenge_method="S256",
            ui_locales="en" if self.lang == "en" else "fa", **hint)
        browser = Browser(self.http, issuer, redirect_uri, answers, self.prompter,
                          self.state_path.parent / "captcha.png",
                          lambda key, **kw: text(self.lang, key, **kw), timeout=self.timeout)
        try:
            landed = browser.run(url)
        except requests.RequestException as exc:
            raise PhoneError("net.unreachable", Exit.NETWORK, url=issuer,
                             reason=type(exc).__name__) from exc
        finally:
            (self.state_path.parent / "captcha.png").unlink(missing_ok=True)
        params = redirect_params(landed)
        if params.get("state") != request_state:
            raise PhoneError("login.state_mismatch", Exit.LOGIN_FAILED)
        # RFC 9207 §2.4: a response naming another issuer is refused, and so is one without
        # iss from a provider that says it sends it.
        promised = document.get("authorization_response_iss_parameter_supported") is True
        if params.get("iss", issuer if not promised else None) != issuer:
            raise PhoneError("login.iss_mismatch", Exit.LOGIN_FAILED)
        if "error" in params:
            raise PhoneError("login.error_answer", Exit.LOGIN_FAILED, error=params["error"],
                             description=params.get("error_description", ""))
        response = self._send("POST", document["token_endpoint"], data={
            "grant_type": "authorization_code", "code": params.get("code", ""),
            "redirect_uri": redirect_uri, "client_id": client_id, "code_verifier": verifier})
        if response.status_code != 200:
            refused = self._refused(response)
            refused.exit_code = Exit.LOGIN_FAILED
            raise refused
        answer = self._json(response)
        tokens = self._tokens(answer)
        claims = self._verify_id_token(answer.get("id_token"), document, issuer, client_id,
                                       nonce)
        # The token endpoint is kept for refreshing; discovery is read again only without it.
        endpoints = {"token_endpoint": document["token_endpoint"]}
        return State(issuer=issuer, client_id=client_id, redirect_uri=redirect_uri,
                     sub=str(claims["sub"]), tokens=tokens, endpoints=endpoints)

    def _verify_id_token(self, id_token: object, document: dict, issuer: str,
                         client_id: str, nonce: str) -> dict:
        """The ID token's claims, checked as OIDC Core §3.1.3.7 asks of a client."""
        if not isinstance(id_token, str):
            raise PhoneError("login.bad_id_token", Exit.LOGIN_FAILED, reason="missing")
        response = self._send("GET", document["jwks_uri"])
        try:
            keys = KeySet.import_key_set(self._json(response))
            claims = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS).claims
        except (JoseError, ValueError, TypeError) as exc:
            raise PhoneError("login.bad_id_token", Exit.LOGIN_FAILED,
                             reason=type(exc).__name__) from exc
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        problems = [name for name, ok in (
            ("iss", claims.get("iss") == issuer), ("aud", client_id in audiences),
            ("exp", int(claims.get("exp") or 0) + LEEWAY_SECONDS > self.clock()),
            ("nonce", claims.get("nonce") == nonce), ("sub", bool(claims.get("sub"))))
            if not ok]
        if problems:
            raise PhoneError("login.bad_id_token", Exit.LOGIN_FAILED, reason=", ".join(problems))
        return claims

    def pair(self, issuer: str, client_id: str, *, redirect_uri: str = DEFAULT_REDIRECT_URI,
             scope: str = DEFAULT_SCOPE, display_name: str | None = None,
             platform: str = "cli", answers: Answers | None = None) -> Device:
        """Log in, then register a new ES256 device key with a proof of possession."""
        if platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {PLATFORMS}")
        current = self.state
        if current is not None and current.device is not None:
            try:
                self.access_token()
            except PhoneError as exc:
                if exc.exit_code != Exit.SIGNED_OUT:
                    raise
            else:
                raise PhoneError("pair.already", Exit.USAGE, issuer=current.issuer,
                                 device_id=current.device.device_id)
        self.prompter.say(text(self.lang, "pair.start", issuer=issuer))
        fresh = self.login(issuer, client_id, redirect_uri=redirect_uri, scope=scope,
                           answers=answers)
        # Saved before registering: a refused registration (a sixth device) leaves a login
        # that can list and unpair the other devices.
        self._save(fresh)
        # RFC 6749 §5.1: the token answer names the scope when it differs from the request.
        granted = set((fresh.tokens.scope or scope).split())
        missing = (NEEDED_SCOPES & set(scope.split())) - granted
        if missing:
            raise PhoneError("login.scope_missing", Exit.LOGIN_FAILED,
                             scopes=" ".join(sorted(missing)))
        return self.register_device(display_name or default_display_name(), platform)

    def register_device(self, display_name: str, platform: str = "cli") -> Device:
        """Generate a key and register it for the logged-in citizen (the interface's
        ``POST /api/devices/challenge`` then ``POST /api/devices``)."""
        state = self.state
        if state is None or state.tokens is None:
            raise PhoneError("state.not_logged_in", Exit.NOT_PAIRED)
        key = ECKey.generate_key("P-256", private=True)
        public_jwk = key.as_dict(private=False)
        kid = key.thumbprint()    # RFC 7638
        response = self._api("POST", "/api/devices/challenge")
        if response.status_code != 200:
            raise self._refused(response)
        nonce = self._json(response).get("nonce")
        proof = sign(key, {"alg": "ES256", "typ": "device-proof+jwt"}, {
            "nonce": nonce, "jkt": kid, "iat": int(self.clock()),
            "aud": state.issuer.rstrip("/") + "/api/devices"})
        response = self._api("POST", "/api/devices", {
            "public_jwk": public_jwk, "proof": proof, "display_name": display_name,
            "platform": platform, "attestation": {"fmt": "none"}})
        if response.status_code != 201:
            error = self._refused(response)
            self.prompter.say(text(self.lang, "pair.tokens_kept"))
            raise error
        answer = self._json(response)
        if answer.get("kid") != kid or not answer.get("device_id"):
            raise PhoneError("pair.kid_mismatch", Exit.REFUSED)
        state.device = Device(device_id=str(answer["device_id"]), kid=kid,
                              private_jwk=key.as_dict(private=True),
                              display_name=display_name, platform=platform,
                              paired_at=int(self.clock()))
        self._save(state)
        return state.device

    # --- QR login --------------------------------------------------------------------------

    def read_code(self, image_or_url: str) -> str:
        """The QID of a login code given as an image file or as its URL, checked strictly
        against the paired issuer; nothing is sent for a code that is refused."""
        state, _ = self._paired()
        path = Path(image_or_url).expanduser()
        if "://" not in image_or_url and not path.is_file():
            raise PhoneError("scan.not_found", Exit.BAD_QR, path=printable(image_or_url))
        if "://" not in image_or_url:
            try:
                found = decode_image(path)
            except (OSError, ValueError) as exc:
                raise PhoneError("scan.bad_image", Exit.BAD_QR, path=path,
                                 reason=type(exc).__name__) from exc
            if not found:
                raise PhoneError("scan.no_qr", Exit.BAD_QR, path=path)
            if len(set(found)) > 1:
                raise PhoneError("scan.many_qr", Exit.BAD_QR, path=path)
            url = found[0]
        else:
            url = image_or_url
        try:
            return parse_login_url(url, state.issuer)
        except BadQr as exc:
            raise PhoneError("scan.bad_qr", Exit.BAD_QR, issuer=state.issuer,
                             reason=exc.explain(self.lang)) from exc

    def scan(self, qid: str) -> Scan:
        """Claim the code for this device (``POST /api/qr/scan``) and read its context."""
        _, device = self._paired()
        response = self._api("POST", "/api/qr/scan", {"qid": qid, "device_id": device.device_id})
        if response.status_code != 200:
            raise self._refused(response)
        answer = self._json(response)
        try:
            blob = b64url_decode(str(answer["ctx_blob"]))
            context = json.loads(blob.decode("utf-8"))
            choices = tuple(int(n) for n in answer.get("nm_choices") or ())
            scan = Scan(qid=qid, chal=str(answer["chal"]), ctx_blob=blob,
                        context=context if isinstance(context, dict) else {},
                        approve_by=int(answer["approve_by"]), nm_choices=choices)
        except (KeyError, ValueError, TypeError) as exc:
            raise PhoneError("net.bad_answer", Exit.NETWORK, url=response.url,
                             status=response.status_code) from exc
        return scan

    def approval(self, scan: Scan, decision: str, *, nm: int | None = None,
                 now: int | None = None) -> str:
        """The signed approval of issue 7 / design §2.7 for ``scan``: ``decision`` is
        ``approve`` or ``deny``."""
        state, device = self._paired()
        issued = int(self.clock()) if now is None else now
        expires = min(issued + APPROVAL_SECONDS, scan.approve_by)
        if expires <= issued:
            raise PhoneError("scan.too_late", Exit.EXPIRED)
        payload = {
            "iss": device.device_id, "sub": state.sub,
            "aud": state.issuer.rstrip("/") + "/login/qr",
            "qid": scan.qid, "chal": scan.chal,
            # The hash of the exact bytes shown, never of a re-serialisation (test case 51).
            "ctx": b64url(hashlib.sha256(scan.ctx_blob).digest()),
            "dec": decision, "iat": issued, "exp": expires,
            "jti": b64url(secrets.token_bytes(16))}
        if nm is not None:
            payload["nm"] = nm
        return sign(self.device_key(),
                    {"alg": "ES256", "typ": "qr-approval+jwt", "kid": device.kid}, payload)

    def device_key(self) -> ECKey:
        """The paired device's private key (for test tools that sign their own variants)."""
        _, device = self._paired()
        return ECKey.import_key(device.private_jwk)

    def decide(self, scan: Scan, approve: bool, *, nm: int | None = None) -> str:
        """Sign and send the decision (``POST /api/qr/approve``); returns the provider's
        status, ``approved`` or ``denied``."""
        token = self.approval(scan, "approve" if approve else "deny", nm=nm)
        response = self._api("POST", "/api/qr/approve", {"jws": token})
        if response.status_code != 200:
            raise self._refused(response)
        status = self._json(response).get("status")
        if status not in ("approved", "denied"):
            raise PhoneError("net.bad_answer", Exit.NETWORK, url=response.url, status=200)
        return status

    # --- devices ---------------------------------------------------------------------------

    def devices(self) -> list[dict]:
        """The citizen's active devices (``GET /api/devices``)."""
        response = self._api("GET", "/api/devices")
        if response.status_code != 200:
            raise self._refused(response)
        found = self._json(response).get("devices")
        if not isinstance(found, list):
            raise PhoneError("net.bad_answer", Exit.NETWORK, url=response.url, status=200)
        return [d for d in found if isinstance(d, dict)]

    def unpair(self, device_id: str | None = None) -> bool:
        """Unpair ``device_id`` (default: this one). Unpairing this device also forgets its
        key and tokens (the provider revokes them); returns whether that happened."""
        state = self.state
        own = state.device.device_id if state and state.device else None
        target = device_id or own
        if target is None:
            raise PhoneError("state.not_paired", Exit.NOT_PAIRED)
        response = self._api("DELETE", f"/api/devices/{requests.utils.quote(target, safe='')}")
        if response.status_code != 204:
            raise self._refused(response)
        if target == own:
            self._save(None)
            return True
        return False

    def forget(self) -> bool:
        """Remove the local key and tokens without asking the provider."""
        existed = self.state is not None
        self._save(None)
        return existed


def sign(key: ECKey, header: dict, payload: dict) -> str:
    """A compact ES256 JWS of ``payload`` (as JSON) with exactly ``header``."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return jws.serialize_compact(header, body, key, algorithms=["ES256"])


def default_display_name() -> str:
    return f"idp-phone ({socket.gethostname()})"
