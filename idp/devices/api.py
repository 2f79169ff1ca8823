"""The phone app's JSON interface (issue 7, fixed): pairing under /api/devices, QR under /api/qr.

Every call carries the app's bearer access token. ``device:register`` and ``qr:approve`` are
granted only to public first-party clients registered with them (:mod:`idp.registration`);
the check here repeats it, so a token of any other client is refused even if one was minted.
Errors are ``{"error", "error_description"}``; a missing or bad token is 401 with
``WWW-Authenticate: Bearer``, a token without the scope 403 ``insufficient_scope`` (RFC 6750 §3).
"""

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from functools import wraps

from flask import Response, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from idp.audit import record
from idp.authn import METHODS
from idp.devices import bp
from idp.devices import qrlogin as qr
from idp.devices.models import PLATFORMS, Device
from idp.devices.signatures import (
    APPROVAL_TYP,
    PROOF_TYP,
    SignatureRefused,
    import_public_key,
    is_number,
    thumbprint,
    unverified_header,
    verify,
)
from idp.messaging import MessagingUnavailable
from idp.models import Account
from idp.models.base import utcnow
from idp.oidc.revocation import revoke_grant
from idp.oidc.tokens import AccessToken, AccessTokenValidator
from idp.ratelimit import exhausted, spend, take
from idp.services import services
from idp.store import StoreUnavailable

log = logging.getLogger(__name__)

NONCE_SECONDS = 300
PROOF_SKEW_SECONDS = 300


class ApiError(Exception):
    def __init__(self, error: str, status: int, description: str,
                 headers: dict | None = None) -> None:
        super().__init__(description)
        self.error, self.status, self.description = error, status, description
        self.headers = headers or {}


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    response = jsonify(error=error.error, error_description=error.description)
    response.status_code = error.status
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(qr.QrError)
def _qr_error(error: qr.QrError):
    return _api_error(ApiError(error.error, error.status, error.description))


@bp.errorhandler(StoreUnavailable)
def _store_down(_error: StoreUnavailable):
    # design §4 case 39: the app is told; nothing was half-written (each change is one write).
    services().db.session.rollback()
    return _api_error(ApiError("temporarily_unavailable", 503,
                               "The service is temporarily unavailable; try again."))


def _realm() -> str:
    return f'Bearer realm="{services().settings.server.issuer}"'


def bearer(scope: str) -> Callable:
    """Require an access token with ``scope`` of a public first-party client; sets g.token and
    g.account."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            kind, _, value = header.partition(" ")
            if kind.lower() != "bearer" or not value.strip():
                raise ApiError("invalid_token", 401, "A bearer access token is required.",
                               {"WWW-Authenticate": _realm()})
            token: AccessToken | None = AccessTokenValidator().authenticate_token(value.strip())
            account = services().db.session.get(Account, token.claims["sub"]) if token else None
            if token is None or token.is_expired() or token.is_revoked() or account is None:
                raise ApiError("invalid_token", 401, "The access token is invalid.",
                               {"WWW-Authenticate": f'{_realm()}, error="invalid_token"'})
            client = token.get_client()
            if scope not in token.scope.split() or not (
                    client.public and client.first_party and scope in client.scope.split()):
                raise ApiError("insufficient_scope", 403, f"The token lacks the {scope} scope.",
                               {"WWW-Authenticate":
                                f'{_realm()}, error="insufficient_scope", scope="{scope}"'})
            g.token, g.account = token, account
            return view(*args, **kwargs)

        return guarded

    return decorator


def _json() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("invalid_request", 400, "The body must be a JSON object.")
    return body


def _limited(budgets: list[tuple[str, str]]) -> None:
    spent = spend(budgets)
    if spent:
        record("qr.ratelimit.hit", account_id=g.account.id, budget=spent)
        services().db.session.commit()
        raise ApiError("slow_down", 429, "Too many requests; try again later.")


def _commit() -> None:
    services().db.session.commit()


# --- pairing ------------------------------------------------------------------------------------

def _nonce_key(nonce: str) -> str:
    return "device-nonce:" + hashlib.sha256(nonce.encode()).hexdigest()


@bp.route("/api/devices/challenge", methods=["POST"])
@bearer("device:register")
def challenge():
    """A single-use nonce for the proof of possession, bound to this login's grant."""
    _limited([("device_pair_per_account", g.account.id)])
    nonce = secrets.token_urlsafe(32)
    services().store.put(_nonce_key(nonce), {"account_id": g.account.id,
                                             "grant_id": g.token.claims.get("gid")}, NONCE_SECONDS)
    record("device.pair.challenge", account_id=g.account.id, client_id=g.token.client_id)
    _commit()
    return jsonify(nonce=nonce, expires_in=NONCE_SECONDS)


def _pairing_refused(reason: str, description: str, error: str = "invalid_proof",
                     status: int = 400) -> ApiError:
    record("device.pair.rejected", account_id=g.account.id, client_id=g.token.client_id,
           reason=reason)
    _commit()
    return ApiError(error, status, description)


@bp.route("/api/devices", methods=["POST"])
@bearer("device:register")
def register():
    """Pair a new ES256 key: proof of possession over a fresh nonce (issue 7)."""
    body = _json()
    name = body.get("display_name")
    platform = body.get("platform")
    attestation = body.get("attestation", {"fmt": "none"})
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise ApiError("invalid_request", 400, "display_name must be 1 to 100 characters.")
    if platform not in PLATFORMS:
        raise ApiError("invalid_request", 400, "platform must be android, ios or cli.")
    if not isinstance(attestation, dict) or attestation.get("fmt") != "none":
        # Attestation (android-key, apple-appattest) is later work: verified there, not here.
        raise ApiError("invalid_request", 400, "Only attestation {\"fmt\": \"none\"} is "
                       "supported.")
    grant_id = g.token.claims.get("gid")
    amr = g.token.claims.get("amr") or []
    if "otp" not in amr or not grant_id:
        # design §2.1: a device is paired from a login proved by a one-time code.
        raise _pairing_refused("amr", "Pairing needs a login with a one-time code.",
                               "invalid_request")
    try:
        key = import_public_key(body.get("public_jwk"))
        jkt = thumbprint(key)
        signed = verify(body.get("proof"), key, PROOF_TYP)
    except SignatureRefused as refused:
        raise _pairing_refused(refused.reason, refused.description) from None
    claims, issuer, now = signed.claims, services().settings.server.issuer, time.time()
    if claims.get("jkt") != jkt:
        raise _pairing_refused("jkt", "jkt is not the thumbprint of public_jwk")
    if claims.get("aud") != f"{issuer}/api/devices":
        raise _pairing_refused("aud", "aud must be ISSUER/api/devices")
    if not is_number(claims.get("iat")) or abs(claims["iat"] - now) > PROOF_SKEW_SECONDS:
        raise _pairing_refused("time", "iat is missing or too far from the server's clock")
    nonce = claims.get("nonce")
    issued = services().store.take(_nonce_key(nonce)) if isinstance(nonce, str) else None
    if issued is None or issued != {"account_id": g.account.id, "grant_id": grant_id}:
        raise _pairing_refused("nonce", "the nonce is unknown, used or expired")
    session = services().db.session
    if session.scalars(select(Device.id).where(Device.kid == jkt)).first():
        raise _pairing_refused("key_known", "this key is already paired")
    if session.scalars(select(Device.id).where(Device.grant_id == grant_id)).first():
        raise _pairing_refused("grant_used", "this login has already paired a device; log in "
                               "again to pair another", "invalid_request")
    # Counted under a lock on the citizen's row: two pairings at once cannot both be the 5th.
    session.scalars(select(Account.id).where(Account.id == g.account.id).with_for_update()).all()
    active = session.scalar(select(func.count()).select_from(Device).where(
        Device.account_id == g.account.id, Device.status == "active"))
    limit = services().settings.qr.max_devices
    if active >= limit:
        raise _pairing_refused("too_many", f"At most {limit} active devices; revoke one first.",
                               "too_many_devices", 409)
    device = Device(account_id=g.account.id, kid=jkt, public_jwk=key.as_dict(private=False),
                    alg="ES256", key_protection="unknown", attestation_fmt="none",
                    platform=platform, display_name=name.strip(), pairing_amr=list(amr),
                    pairing_acr=g.token.claims.get("acr"), client_id=g.token.client_id,
                    grant_id=grant_id, created_ip=request.remote_addr)
    session.add(device)
    session.flush()
    record("device.paired", account_id=g.account.id, client_id=g.token.client_id,
           device_id=device.id, platform=platform, key_protection="unknown",
           attestation_ok=False)
    _commit()
    _notify_paired(g.account, device)
    return jsonify(device_id=device.id, kid=jkt), 201


def _notify_paired(account: Account, device: Device) -> None:
    """design §2.1 step 5: an SMS that a device was paired, and where to revoke it."""
    if not account.mobile:
        return
    text = _("دستگاه «%(name)s» برای ورود با کد QR به حساب شما در پنجره ملی خدمات دولت هوشمند "
             "افزوده شد. اگر شما نبودید، آن را از بخش دستگاه‌ها در حساب کاربری حذف کنید: %(url)s",
             name=device.display_name,
             url=services().settings.server.issuer + "/account/devices")
    try:
        services().sms.send(account.mobile, text, code=None, purpose="device_paired")
    except MessagingUnavailable:
        log.warning("device pairing notice not sent: sms gateway unavailable")
        return
    record("device.notice.sent", account_id=account.id, device_id=device.id)
    _commit()


def device_json(device: Device) -> dict:
    return {"device_id": device.id, "display_name": device.display_name,
            "platform": device.platform, "created_at": _iso(device.created_at),
            "last_used_at": _iso(device.last_used_at)}


def _iso(moment) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def active_devices(account_id: str) -> list[Device]:
    return list(services().db.session.scalars(select(Device).where(
        Device.account_id == account_id, Device.status == "active")
        .order_by(Device.created_at)))


@bp.route("/api/devices", methods=["GET"])
@bearer("device:register")
def list_devices():
    response = jsonify(devices=[device_json(d) for d in active_devices(g.account.id)])
    response.headers["Cache-Control"] = "no-store"
    return response


def revoke_device(device: Device, by: str) -> None:
    """Revoke a device and the tokens its pairing login gave the app (issue 7)."""
    if device.active:
        device.status, device.revoked_at, device.revoked_reason = "revoked", utcnow(), by
        revoke_grant(device.grant_id, "device_revoked")
        record("device.revoked", account_id=device.account_id, client_id=device.client_id,
               device_id=device.id, by=by)


@bp.route("/api/devices/<device_id>", methods=["DELETE"])
@bearer("device:register")
def delete_device(device_id: str):
    device = services().db.session.get(Device, device_id)
    if device is None or device.account_id != g.account.id:
        raise ApiError("not_found", 404, "No such device.")
    revoke_device(device, "app")
    _commit()
    return Response(status=204)


# --- QR scan and approval -----------------------------------------------------------------------

def _qr_enabled() -> None:
    if not services().settings.qr.enabled:
        raise ApiError("not_found", 404, "QR login is not enabled.")


def _use(device: Device) -> None:
    device.last_used_at, device.last_used_ip = utcnow(), request.remote_addr


@bp.route("/api/qr/scan", methods=["POST"])
@bearer("qr:approve")
def scan():
    _qr_enabled()
    body = _json()
    account = g.account
    device = services().db.session.get(Device, body.get("device_id")) \
        if isinstance(body.get("device_id"), str) else None
    if device is None or device.account_id != account.id or not device.active:
        record("qr.scan.rejected", account_id=account.id, reason="invalid_device")
        _commit()
        raise ApiError("invalid_device", 403, "The device is not an active device of this "
                       "citizen.")
    # design §2.10: enumeration (unknown codes) and repeated denials block the device a while.
    if exhausted("qr_unknown_per_device", device.id) or \
            exhausted("qr_denials_per_account", account.id):
        record("qr.ratelimit.hit", account_id=account.id, device_id=device.id,
               budget="qr_unknown_or_denials")
        _commit()
        raise ApiError("slow_down", 429, "Too many failed scans; try again later.")
    _limited([("qr_scan_per_device", device.id), ("qr_scan_per_account", account.id)])
    qid = body.get("qid")
    try:
        scanned = qr.scan(qid, device_id=device.id, account_id=account.id,
                          phone_ip=request.remote_addr, acr=METHODS["qr"][1])
    except qr.QrError as refused:
        if refused.error == "unknown_qr":
            take("qr_unknown_per_device", device.id)
        record("qr.scan.rejected", account_id=account.id, device_id=device.id,
               reason=refused.error,
               qr=qr.audit_ref(qid) if isinstance(qid, str) else None)
        _commit()
        raise
    _use(device)
    if not scanned.get("retried"):
        record("qr.scanned", account_id=account.id, device_id=device.id, fid=scanned["fid"],
               qr=qr.audit_ref(qid), phone_ip=request.remote_addr,
               proximity=scanned["proximity"], nm_required=False)
    _commit()
    return jsonify(chal=scanned["chal"], ctx_blob=scanned["ctx_blob"],
                   approve_by=scanned["approve_by"])


@bp.route("/api/qr/approve", methods=["POST"])
@bearer("qr:approve")
def approve():
    _qr_enabled()
    body = _json()
    account = g.account
    compact = body.get("jws")
    device = None

    def refuse(reason: str, description: str) -> ApiError:
        record("qr.approval.rejected", account_id=account.id,
               device_id=device.id if device else None, reason=reason)
        _commit()
        return ApiError("invalid_approval", 400, description)

    try:
        kid = unverified_header(compact).get("kid")
    except SignatureRefused as refused:
        raise refuse(refused.reason, refused.description) from None
    device = services().db.session.scalars(select(Device).where(Device.kid == kid)).first() \
        if isinstance(kid, str) else None
    if device is None or device.account_id != account.id:
        raise refuse("device", "kid is not a device of this citizen")
    if not device.active:
        raise refuse("revoked", "the device is revoked")
    _limited([("qr_approve_per_device", device.id), ("qr_approve_per_account", account.id)])
    try:
        signed = verify(compact, import_public_key(device.public_jwk), APPROVAL_TYP)
        decision, flow = qr.decide(signed.claims, device_id=device.id, account_id=account.id)
    except SignatureRefused as refused:
        raise refuse(refused.reason, refused.description) from None
    except qr.QrError as refused:
        raise refuse(refused.reason, refused.description) from None
    _use(device)
    if decision == "deny":
        take("qr_denials_per_account", account.id)
    record("qr.approved" if decision == "approve" else "qr.denied", account_id=account.id,
           client_id=flow.client_id, device_id=device.id, fid=flow.id,
           jti=signed.claims.get("jti"), uv=signed.claims.get("uv"))
    _commit()
    return jsonify(status="approved" if decision == "approve" else "denied")


# Bearer-token JSON endpoints: no cookie authenticates them, so no CSRF token is asked for.
JSON_VIEWS = (challenge, register, list_devices, delete_device, scan, approve)
