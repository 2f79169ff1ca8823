"""A test device for the phone app's interface (issue 7): an ES256 key, signed with PyJWT.

The provider verifies with joserfc; the tests sign with PyJWT and compute the RFC 7638
thumbprint by hand, so neither side checks itself. ``http(method, path, json, token)`` is the
transport (the Flask test client or ``requests``) and returns ``(status, json_or_None)``.
"""

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec

Http = Callable[[str, str, dict | None, str | None], tuple[int, dict | None]]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big"))}


def thumbprint(jwk: dict) -> str:
    """RFC 7638 §3: the required members, sorted, no whitespace, SHA-256."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")},
                           separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def hs256(header: dict, claims: dict, secret: str) -> str:
    """An HS256 JWS keyed with ``secret`` (the public key as an HMAC secret: alg confusion),
    made by hand: PyJWT rightly refuses to do it."""
    import hmac

    signing_input = ".".join(b64url(json.dumps(part).encode())
                             for part in ({**header, "alg": "HS256"}, claims))
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def qid_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


@dataclass
class Phone:
    http: Http
    issuer: str
    token: str = ""
    sub: str = ""
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(
        ec.SECP256R1()))
    device_id: str = ""
    scans: dict = field(default_factory=dict)

    @property
    def jwk(self) -> dict:
        return public_jwk(self.key)

    @property
    def kid(self) -> str:
        return thumbprint(self.jwk)

    def proof(self, nonce: str, **overrides) -> str:
        claims = {"nonce": nonce, "jkt": self.kid, "iat": int(time.time()),
                  "aud": f"{self.issuer}/api/devices", **overrides}
        return pyjwt.encode(claims, self.key, algorithm="ES256",
                            headers={"typ": "device-proof+jwt"})

    def challenge(self) -> str:
        status, body = self.http("POST", "/api/devices/challenge", None, self.token)
        assert status == 200, body
        return body["nonce"]

    def register(self, proof: str | None = None, **body) -> tuple[int, dict | None]:
        payload = {"public_jwk": self.jwk, "proof": proof or self.proof(self.challenge()),
                   "display_name": "گوشی آزمایشی", "platform": "cli",
                   "attestation": {"fmt": "none"}, **body}
        return self.http("POST", "/api/devices", payload, self.token)

    def pair(self) -> str:
        status, body = self.register()
        assert status == 201, body
        assert body["kid"] == self.kid
        self.device_id = body["device_id"]
        return self.device_id

    def scan(self, url_or_qid: str) -> tuple[int, dict | None]:
        qid = qid_of(url_or_qid)
        status, body = self.http("POST", "/api/qr/scan", {"qid": qid,
                                                          "device_id": self.device_id},
                                 self.token)
        if status == 200:
            self.scans[qid] = body
        return status, body

    def approval(self, qid: str, dec: str = "approve", *, headers: dict | None = None,
                 key=None, algorithm: str = "ES256", **overrides) -> str:
        """The signed decision for a scanned ``qid``; ``overrides`` replace claims."""
        scanned = self.scans[qid]
        now = int(time.time())
        ctx = b64url(hashlib.sha256(base64.urlsafe_b64decode(
            scanned["ctx_blob"] + "=" * (-len(scanned["ctx_blob"]) % 4))).digest())
        claims = {"iss": self.device_id, "sub": self.sub, "aud": f"{self.issuer}/login/qr",
                  "qid": qid, "chal": scanned["chal"], "ctx": ctx, "dec": dec, "iat": now,
                  "exp": min(now + 60, scanned["approve_by"]), "jti": secrets.token_urlsafe(16)}
        claims.update(overrides)
        header = {"typ": "qr-approval+jwt", "kid": self.kid, **(headers or {})}
        if algorithm == "HS256":
            return hs256(header, claims, json.dumps(self.jwk))
        return pyjwt.encode(claims, key or self.key, algorithm=algorithm, headers=header)

    def post_approval(self, jws: str) -> tuple[int, dict | None]:
        return self.http("POST", "/api/qr/approve", {"jws": jws}, self.token)

    def approve(self, url: str, dec: str = "approve") -> None:
        """Scan ``url`` and sign the decision, as the app does after the citizen's choice."""
        status, body = self.scan(url)
        assert status == 200, body
        status, body = self.post_approval(self.approval(qid_of(url), dec))
        assert status == 200, body
        assert body == {"status": "approved" if dec == "approve" else "denied"}
