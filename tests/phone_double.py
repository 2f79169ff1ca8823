"""A test double of the phone app's fixed interface (issue 7, "The phone app's interface"), for
testing ``idp-phone`` on its own: the device API and the QR scan/approve API, checking what the
app sends with PyJWT (a JOSE library the app does not use) exactly as the issue writes it.

Only the tests use it; the real provider's implementation is tested against the app in the QR
login's own end-to-end tests. Bearer tokens are issued by :meth:`PhoneApiDouble.token_for`, or,
given ``verify_token``, taken from a real provider. Everything it saw is kept for assertions.
"""

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt
from flask import Flask, jsonify, request


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: dict) -> str:
    """RFC 7638 §3.2 for an EC key, computed here independently of joserfc."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64url(hashlib.sha256(canonical).digest())


@dataclass
class Grant:
    sub: str
    scope: set[str]
    revoked: bool = False
    device_id: str | None = None


@dataclass
class Qr:
    context: dict
    state: str = "pending"
    device_id: str | None = None
    chal: str | None = None
    ctx_blob: bytes = b""
    approve_by: int = 0
    nm: int | None = None        # number matching (design §2.8), when asked for


@dataclass
class PhoneApiDouble:
    issuer: str
    verify_token: Callable[[str], dict | None] | None = None
    max_devices: int = 5
    grants: dict[str, Grant] = field(default_factory=dict)        # access token → grant
    refresh: dict[str, str] = field(default_factory=dict)         # refresh token → access
    nonces: set[str] = field(default_factory=set)
    devices: dict[str, dict] = field(default_factory=dict)
    qrs: dict[str, Qr] = field(default_factory=dict)
    jtis: set[str] = field(default_factory=set)
    approvals: list[tuple[dict, dict]] = field(default_factory=list)  # (header, payload)
    proofs: list[tuple[dict, dict]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)             # "METHOD /path"

    # --- what a test sets up ---------------------------------------------------------------

    def token_for(self, sub: str, scope: str = "openid device:register qr:approve") -> str:
        token = secrets.token_urlsafe(24)
        self.grants[token] = Grant(sub, set(scope.split()))
        return token

    def refresh_token_for(self, access_token: str) -> str:
        refresh = secrets.token_urlsafe(24)
        self.refresh[refresh] = access_token
        return refresh

    def new_qr(self, nm: int | None = None, **context) -> str:
        qid = b64url(secrets.token_bytes(16))
        self.qrs[qid] = Qr({"client_name": "سامانه شهرداری", "browser": "Chrome 131 / Windows",
                            "created_at": int(time.time()), **context}, nm=nm)
        return qid

    def add_device(self, sub: str, name: str = "گوشی دیگر") -> str:
        device_id = str(uuid.uuid4())
        self.devices[device_id] = {"device_id": device_id, "sub": sub, "jwk": {}, "kid": "x",
                                   "display_name": name, "platform": "android",
                                   "created_at": "2026-11-01T08:30:00Z",
                                   "last_used_at": None, "revoked": False}
        return device_id

    # --- the app ---------------------------------------------------------------------------

    def app(self) -> Flask:
        app = Flask("phone_double")
        app.before_request(lambda: self.requests.append(f"{request.method} {request.path}"))
        for rule, view, methods in (
                ("/api/devices/challenge", self.challenge, ["POST"]),
                ("/api/devices", self.register, ["POST"]),
                ("/api/devices", self.list_devices, ["GET"]),
                ("/api/devices/<device_id>", self.delete_device, ["DELETE"]),
                ("/api/qr/scan", self.scan, ["POST"]),
                ("/api/qr/approve", self.approve, ["POST"]),
                ("/token", self.token, ["POST"])):
            app.add_url_rule(rule, f"{view.__name__}-{methods[0]}", view, methods=methods)
        return app

    @staticmethod
    def error(status: int, error: str, description: str = ""):
        response = jsonify({"error": error, "error_description": description})
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = f'Bearer error="{error}"'
        return response

    def _grant(self, scope: str) -> Grant | tuple:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        grant = self.grants.get(token)
        if grant is None and token and self.verify_token:
            claims = self.verify_token(token)
            if claims:
                grant = self.grants[token] = Grant(claims["sub"], {scope})
        if grant is None or grant.revoked:
            return self.error(401, "invalid_token")
        if scope not in grant.scope:
            return self.error(403, "insufficient_scope")
        return grant

    def token(self):
        form = request.form
        access = self.refresh.pop(form.get("refresh_token", ""), None)
        if form.get("grant_type") != "refresh_token" or access is None or \
                self.grants[access].revoked:
            return self.error(400, "invalid_grant")
        old = self.grants[access]
        new = secrets.token_urlsafe(24)
        self.grants[new] = Grant(old.sub, old.scope, device_id=old.device_id)
        old.revoked = True
        return jsonify({"access_token": new, "token_type": "Bearer", "expires_in": 300,
                        "refresh_token": self.refresh_token_for(new),
                        "scope": " ".join(sorted(old.scope))})

    def challenge(self):
        grant = self._grant("device:register")
        if not isinstance(grant, Grant):
            return grant
        nonce = b64url(secrets.token_bytes(32))
        self.nonces.add(nonce)
        return jsonify({"nonce": nonce, "expires_in": 300})

    def register(self):
        grant = self._grant("device:register")
        if not isinstance(grant, Grant):
            return grant
        body = request.get_json()
        jwk = body["public_jwk"]
        try:
            key = jwt.PyJWK(jwk).key
            header = jwt.get_unverified_header(body["proof"])
            payload = jwt.decode(body["proof"], key, algorithms=["ES256"],
                                 audience=f"{self.issuer}/api/devices")
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            return self.error(400, "invalid_proof", type(exc).__name__)
        self.proofs.append((header, payload))
        kid = thumbprint(jwk)
        if header != {"alg": "ES256", "typ": "device-proof+jwt"} or payload["jkt"] != kid \
                or payload.get("nonce") not in self.nonces or \
                abs(payload["iat"] - time.time()) > 60 or \
                any(d["kid"] == kid for d in self.devices.values()):
            return self.error(400, "invalid_proof", "bad proof")
        self.nonces.discard(payload["nonce"])
        mine = [d for d in self.devices.values() if d["sub"] == grant.sub and not d["revoked"]]
        if len(mine) >= self.max_devices:
            return self.error(409, "too_many_devices")
        device_id = str(uuid.uuid4())
        self.devices[device_id] = {
            "device_id": device_id, "sub": grant.sub, "jwk": jwk, "kid": kid,
            "display_name": body["display_name"], "platform": body["platform"],
            "attestation": body["attestation"], "created_at": int(time.time()),
            "last_used_at": None, "revoked": False}
        grant.device_id = device_id
        response = jsonify({"device_id": device_id, "kid": kid})
        response.status_code = 201
        return response

    def list_devices(self):
        grant = self._grant("device:register")
        if not isinstance(grant, Grant):
            return grant
        fields = ("device_id", "display_name", "platform", "created_at", "last_used_at")
        return jsonify({"devices": [{k: d[k] for k in fields} for d in self.devices.values()
                                    if d["sub"] == grant.sub and not d["revoked"]]})

    def delete_device(self, device_id: str):
        grant = self._grant("device:register")
        if not isinstance(grant, Grant):
            return grant
        device = self.devices.get(device_id)
        if device is None or device["sub"] != grant.sub or device["revoked"]:
            return self.error(404, "not_found")
        device["revoked"] = True
        for other in self.grants.values():   # the device's login is revoked with it
            if other.device_id == device_id:
                other.revoked = True
        return "", 204

    def scan(self):
        grant = self._grant("qr:approve")
        if not isinstance(grant, Grant):
            return grant
        body = request.get_json()
        device = self.devices.get(body.get("device_id", ""))
        if device is None or device["sub"] != grant.sub or device["revoked"]:
            return self.error(403, "invalid_device")
        qr = self.qrs.get(body.get("qid", ""))
        if qr is None:
            return self.error(404, "unknown_qr")
        if qr.state != "pending":
            return self.error(409, "already_scanned")
        qr.state, qr.device_id = "scanned", device["device_id"]
        qr.chal = b64url(secrets.token_bytes(32))
        qr.ctx_blob = json.dumps(qr.context, ensure_ascii=False).encode("utf-8")
        qr.approve_by = int(time.time()) + 60
        answer = {"chal": qr.chal, "ctx_blob": b64url(qr.ctx_blob), "approve_by": qr.approve_by}
        if qr.nm is not None:
            answer["nm_choices"] = sorted({qr.nm, (qr.nm + 31) % 90 + 10, (qr.nm + 57) % 90 + 10})
        return jsonify(answer)

    def approve(self):
        grant = self._grant("qr:approve")
        if not isinstance(grant, Grant):
            return grant
        token = request.get_json().get("jws", "")
        try:
            header = jwt.get_unverified_header(token)
            device = next(d for d in self.devices.values() if d["kid"] == header.get("kid"))
            payload = jwt.decode(token, jwt.PyJWK(device["jwk"]).key, algorithms=["ES256"],
                                 audience=f"{self.issuer}/login/qr",
                                 options={"require": ["iat", "exp", "jti"]})
        except (jwt.PyJWTError, StopIteration, KeyError, ValueError) as exc:
            return self.error(400, "invalid_approval", type(exc).__name__)
        qr = self.qrs.get(payload.get("qid", ""))
        checks = {
            "typ": header == {"alg": "ES256", "typ": "qr-approval+jwt", "kid": device["kid"]},
            "device": payload.get("iss") == device["device_id"] and not device["revoked"]
            and device["sub"] == grant.sub,
            "sub": payload.get("sub") == grant.sub,
            "time": abs(payload["iat"] - time.time()) <= 60 and
            payload["exp"] - payload["iat"] <= 60,
            "state": qr is not None and qr.state == "scanned" and
            qr.device_id == device["device_id"],
            "chal": qr is not None and payload.get("chal") == qr.chal,
            "ctx": qr is not None and payload.get("ctx") == b64url(
                hashlib.sha256(qr.ctx_blob).digest()),
            "approve_by": qr is not None and payload["exp"] <= qr.approve_by,
            "dec": payload.get("dec") in ("approve", "deny"),
            "nm": qr is None or qr.nm is None or payload.get("dec") == "deny"
            or payload.get("nm") == qr.nm,
            "jti": payload["jti"] not in self.jtis,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            return self.error(400, "invalid_approval", ", ".join(failed))
        self.jtis.add(payload["jti"])
        self.approvals.append((header, payload))
        qr.state = "approved" if payload["dec"] == "approve" else "denied"
        return jsonify({"status": qr.state})


def paired_phone(double: "PhoneApiDouble", state_path, sub: str = "citizen-1", **phone_args):
    """A ``Phone`` logged in to ``double`` with a token of ``sub`` and a freshly registered key
    (through the app's own registration code)."""
    from clients.phone.app import Phone
    from clients.phone.state import State, Tokens, save

    access = double.token_for(sub)
    save(state_path, State(
        issuer=double.issuer, client_id="phone-app", redirect_uri="http://127.0.0.1/cb",
        sub=sub, tokens=Tokens(access_token=access, expires_at=int(time.time()) + 300,
                               refresh_token=double.refresh_token_for(access),
                               scope="openid device:register qr:approve"),
        endpoints={"token_endpoint": f"{double.issuer}/token"}))
    phone = Phone(state_path, **phone_args)
    phone.register_device("گوشی آزمایشی", "cli")
    return phone
