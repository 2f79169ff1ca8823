"""Device keys and the two things they sign: the pairing proof and the QR approval.

ES256 only (design qr-login §2.1, §2.7): the algorithm is pinned by the server, never taken from
a header, so ``none``, HS256-with-the-public-key and other curves are refused by construction.
"""

import json
from dataclasses import dataclass

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

ALGORITHMS = ["ES256"]
PROOF_TYP = "device-proof+jwt"
APPROVAL_TYP = "qr-approval+jwt"


class SignatureRefused(Exception):
    """A proof or approval that does not verify; ``reason`` is a short audit code."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


def import_public_key(public_jwk: object) -> ECKey:
    """An EC P-256 public key from its JWK; a private part or any other key type is refused."""
    if not isinstance(public_jwk, dict) or public_jwk.get("kty") != "EC" \
            or public_jwk.get("crv") != "P-256" or "d" in public_jwk:
        raise SignatureRefused("key", "public_jwk must be an EC P-256 public key")
    try:
        return ECKey.import_key({k: public_jwk[k] for k in ("kty", "crv", "x", "y")})
    except (JoseError, KeyError, ValueError, TypeError) as exc:
        raise SignatureRefused("key", "public_jwk is not a valid EC P-256 key") from exc


def thumbprint(key: ECKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the device's ``kid``."""
    return key.thumbprint()


def unverified_header(compact: object) -> dict:
    """The protected header of a compact JWS, read only to find the key that must verify it."""
    if not isinstance(compact, str) or compact.count(".") != 2 or len(compact) > 8192:
        raise SignatureRefused("format", "not a compact JWS")
    try:
        header = jws.extract_compact(compact.encode()).headers()
    except (JoseError, ValueError, TypeError) as exc:
        raise SignatureRefused("format", "not a compact JWS") from exc
    if not isinstance(header, dict):
        raise SignatureRefused("format", "not a compact JWS")
    return header


@dataclass(frozen=True)
class Signed:
    header: dict
    claims: dict


def verify(compact: str, key: ECKey, typ: str) -> Signed:
    """Verify ``compact`` with ``key`` as ES256 and return its header and JSON claims."""
    header = unverified_header(compact)
    if header.get("alg") not in ALGORITHMS:
        raise SignatureRefused("alg", "only ES256 is accepted")
    try:
        token = jws.deserialize_compact(compact, key, algorithms=ALGORITHMS)
    except JoseError as exc:
        raise SignatureRefused("bad_sig", "the signature does not verify") from exc
    if header.get("typ") != typ:
        raise SignatureRefused("typ", f"typ must be {typ}")
    try:
        claims = json.loads(token.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureRefused("format", "the payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise SignatureRefused("format", "the payload is not a JSON object")
    return Signed(header, claims)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
