"""The QR login's shared state, in the store only (design qr-login §2.2–§2.7).

Any instance serves any request: a flow, its current code, the one scan, the one decision and
the one-time ticket are store keys with lifetimes, each transition one atomic operation
(``SET NX`` for the scan and the decision, ``GETDEL`` for the ticket), and every change is
published on the flow's channel so that an event stream on another instance wakes up.

Keys (raw QR ids are never stored as key names or logged; only their SHA-256):

- ``qrflow:{fid}``: the flow — its journey, the hash of the browser's binding secret, the
  client, the browser, the current code and how often it was renewed;
- ``qr:{sha256(qid)}``: which flow a code belongs to, until the code's end plus a short grace;
- ``qrscan:{fid}``: the one scan (device, challenge, the context shown on the phone);
- ``qrdecision:{fid}``: the one decision (approve or deny);
- ``qrticket:{fid}``: what the browser redeems, once, within ``[qr] ticket_seconds``;
- ``qrjti:{device}:{jti}``: approvals already seen;
- channel ``qrch:{fid}``.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass

from idp.services import services

# design §2.5: a code is still accepted this long after its end (the phone's network latency).
SCAN_GRACE_SECONDS = 5
# design §2.7 step 4: an approval's iat within this of the server's clock; exp - iat at most.
CLOCK_SKEW_SECONDS = 60
MAX_APPROVAL_LIFETIME = 60
# design §2.11: approvals' jti kept this long.
JTI_SECONDS = 180
# design §2.6: the page polls this often (seconds), and is told slow_down when faster.
POLL_INTERVAL = 2
QID = re.compile(r"[A-Za-z0-9_-]{22}\Z")
# The Flask config key saying whether this process serves the QR page's event streams
# (False under granian, whose threads are few: idp.production, idp.events_server).
EVENTS_CONFIG = "QR_EVENTS"


def qr_path_prefix() -> str:
    return "/q/1/"


def qr_url(qid: str) -> str:
    """What the QR code encodes (issue 7): the issuer, a version, the code; nothing else."""
    return services().settings.server.issuer + qr_path_prefix() + qid


def qid_hash(qid: str) -> str:
    return hashlib.sha256(qid.encode()).hexdigest()


def audit_ref(qid: str) -> str:
    """How audit rows name a code: a prefix of its hash (design §2.12: never the raw qid)."""
    return qid_hash(qid)[:16]


def binding_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class QrError(Exception):
    """A refusal the phone app is told about as ``{"error", "error_description"}``."""

    def __init__(self, error: str, status: int, description: str, reason: str = "") -> None:
        super().__init__(description)
        self.error = error
        self.status = status
        self.description = description
        self.reason = reason or error


@dataclass
class Flow:
    id: str
    journey_id: str
    bind_h: str
    client_id: str | None
    client_name: str | None
    ip: str | None
    ua: str
    created: int
    qid: str
    qid_exp: int
    rotations: int
    # When the journey (and so the flow) ends.
    ends: int

    def bound_to(self, secret: str | None) -> bool:
        """True for the browser holding the binding secret (design §2.9, constant time)."""
        return bool(secret) and hmac.compare_digest(binding_hash(secret), self.bind_h)


def _settings():
    return services().settings.qr


def _channel(fid: str) -> str:
    return f"qrch:{fid}"


def start_flow(*, journey_id: str, ends: int, binding_secret: str, client_id: str | None,
               client_name: str | None, ip: str | None, ua: str) -> Flow:
    """A new flow with its first code, living as long as the journey it belongs to."""
    now = int(time.time())
    flow = Flow(id=secrets.token_urlsafe(16), journey_id=journey_id,
                bind_h=binding_hash(binding_secret), client_id=client_id,
                client_name=client_name, ip=ip, ua=ua[:300], created=now,
                qid=secrets.token_urlsafe(16), qid_exp=now + _settings().code_lifetime_seconds,
                rotations=0, ends=ends)
    services().store.batch().put(f"qrflow:{flow.id}", asdict(flow), ends - now).put(
        f"qr:{qid_hash(flow.qid)}", {"fid": flow.id, "exp": flow.qid_exp},
        flow.qid_exp + SCAN_GRACE_SECONDS - now).execute()
    return flow


def load_flow(fid: str | None) -> Flow | None:
    data = services().store.get(f"qrflow:{fid}") if fid else None
    return Flow(**data) if data else None


def end_flow(flow: Flow) -> None:
    """The flow is over (redeemed or abandoned): its code can no longer be scanned."""
    services().store.delete(f"qrflow:{flow.id}", f"qr:{qid_hash(flow.qid)}")
    services().store.publish(_channel(flow.id), "ended")


def _rotate(flow: Flow, now: int) -> Flow:
    """The next code of the flow; of two requests rotating at once, both get the same one."""
    store = services().store
    number = flow.rotations + 1
    candidate = {"qid": secrets.token_urlsafe(16),
                 "exp": now + _settings().code_lifetime_seconds}
    if not store.add(f"qrrotation:{flow.id}:{number}", candidate, flow.ends - now + 1):
        candidate = store.get(f"qrrotation:{flow.id}:{number}") or candidate
    # The old code's reference lives out its grace by itself (design §2.5).
    flow.qid, flow.qid_exp, flow.rotations = candidate["qid"], candidate["exp"], number
    store.batch().put(f"qrflow:{flow.id}", asdict(flow), flow.ends - now).put(
        f"qr:{qid_hash(flow.qid)}", {"fid": flow.id, "exp": flow.qid_exp},
        flow.qid_exp + SCAN_GRACE_SECONDS - now).execute()
    return flow


@dataclass(frozen=True)
class Status:
    """What the browser may know: a state name and, while pending, the code to show."""

    state: str  # pending | scanned | approved | denied | expired
    flow: Flow
    seconds_left: int = 0
    # Set once by the call that renewed the code, so that the caller can audit it.
    rotated: bool = False


def status(flow: Flow) -> Status:
    """The flow's state; a pending code past its end is renewed here, up to the limit."""
    now = int(time.time())
    store = services().store
    scan, decision, ticket_left = store.batch().get(f"qrscan:{flow.id}").get(
        f"qrdecision:{flow.id}").ttl(f"qrticket:{flow.id}").execute()
    if now >= flow.ends:
        return Status("expired", flow)
    if decision is not None:
        if decision["dec"] == "deny":
            return Status("denied", flow)
        return Status("approved", flow, ticket_left) if ticket_left else Status("expired", flow)
    if scan is not None:
        left = scan["approve_by"] - now
        return Status("scanned", flow, left) if left > 0 else Status("expired", flow)
    if now >= flow.qid_exp:
        if flow.rotations >= _settings().max_rotations:
            return Status("expired", flow)
        flow = _rotate(flow, now)
        return Status("pending", flow, flow.qid_exp - now, rotated=True)
    return Status("pending", flow, flow.qid_exp - now)


def take_ticket(flow: Flow) -> dict | None:
    """The approval's ticket, taken once (GETDEL)."""
    return services().store.take(f"qrticket:{flow.id}")


def peek_ticket(flow: Flow) -> dict | None:
    return services().store.get(f"qrticket:{flow.id}")


def subscribe(flow: Flow):
    return services().store.subscribe(_channel(flow.id))


def wake(flow: Flow) -> None:
    """Wake the flow's streams to read the state again (a newer stream has opened)."""
    services().store.publish(_channel(flow.id), "wake")


def poll_too_fast(flow: Flow) -> bool:
    """True when the flow's status was asked for less than the interval ago (RFC 8628 §3.5)."""
    # One second shorter than the interval, so a page polling on time is never told to wait.
    return not services().store.add(f"qrpoll:{flow.id}", 1, max(1, POLL_INTERVAL - 1))


# --- the phone's side ---------------------------------------------------------------------------

def context_blob(flow: Flow, proximity: str, acr: str) -> str:
    """What the phone shows before the citizen decides (design §2.3, §2.8), as base64url of
    UTF-8 JSON; the approval signs the SHA-256 of exactly these bytes."""
    context = {"client_id": flow.client_id, "client_name": flow.client_name,
               "browser": describe_browser(flow.ua), "created_at": flow.created,
               "proximity": proximity, "acr": acr,
               # Number matching is later work (issue 7); the field is its place.
               "nm_required": False}
    raw = json.dumps(context, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return b64url(raw.encode())


def scan(qid: str, *, device_id: str, account_id: str, phone_ip: str | None,
         acr: str) -> dict:
    """Claim the flow of ``qid`` for this device (first scanner wins); returns the scan.

    Raises QrError: unknown_qr (404), already_scanned (409).
    """
    store = services().store
    now = int(time.time())
    unknown = QrError("unknown_qr", 404, "The QR code is unknown or has expired.")
    if not isinstance(qid, str) or not QID.match(qid):
        raise unknown
    ref = store.get(f"qr:{qid_hash(qid)}")
    if ref is None or now > ref["exp"] + SCAN_GRACE_SECONDS:
        raise unknown
    flow = load_flow(ref["fid"])
    if flow is None or now >= flow.ends:
        raise unknown
    approve_by = min(now + _settings().approval_seconds, flow.ends)
    record = {"qh": qid_hash(qid), "device_id": device_id, "account_id": account_id,
              "chal": b64url(secrets.token_bytes(32)), "approve_by": approve_by,
              "ctx_blob": context_blob(flow, proximity(flow.ip, phone_ip), acr),
              "scanned_at": now}
    keep = approve_by - now + _settings().ticket_seconds + SCAN_GRACE_SECONDS
    if not store.add(f"qrscan:{flow.id}", record, keep):
        existing = store.get(f"qrscan:{flow.id}")
        if existing and existing["device_id"] == device_id and existing["qh"] == record["qh"]:
            return {**existing, "fid": flow.id, "retried": True}  # the same scan, sent again
        raise QrError("already_scanned", 409, "The QR code has already been scanned.")
    # The code now lives as long as its approval window (design §2.2).
    store.put(f"qr:{qid_hash(qid)}", {"fid": flow.id, "exp": ref["exp"]}, keep)
    store.publish(_channel(flow.id), "scanned")
    return {**record, "fid": flow.id, "proximity": proximity(flow.ip, phone_ip)}


def decide(claims: dict, *, device_id: str, account_id: str) -> tuple[str, Flow]:
    """Apply a verified approval's claims (design §2.7 steps 4–12); returns (decision, flow).

    Each failed check raises QrError(invalid_approval) with its reason and changes nothing.
    """
    store = services().store
    now = int(time.time())

    def refuse(reason: str, description: str) -> QrError:
        return QrError("invalid_approval", 400, description, reason)

    issuer = services().settings.server.issuer
    if claims.get("iss") != device_id:
        raise refuse("device_mismatch", "iss is not the signing device")
    if claims.get("sub") != account_id:
        raise refuse("sub", "sub is not the token's citizen")
    if claims.get("aud") != f"{issuer}/login/qr":
        raise refuse("aud", "aud must be ISSUER/login/qr")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (_number(iat) and _number(exp)):
        raise refuse("time", "iat and exp are required numbers")
    if abs(iat - now) > CLOCK_SKEW_SECONDS:
        raise refuse("time", "iat is too far from the server's clock")
    if exp <= now:
        raise refuse("time", "the approval has expired")
    if exp - iat > MAX_APPROVAL_LIFETIME:
        raise refuse("time", "exp - iat must be at most 60 seconds")
    decision = claims.get("dec")
    if decision not in ("approve", "deny"):
        raise refuse("dec", "dec must be approve or deny")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 128:
        raise refuse("jti", "jti is required")
    # design §2.11: an approval is used once. Checked before the state, so a replay is named as
    # one; a refused approval's jti is spent, but any new approval has its own.
    if not store.add(f"qrjti:{device_id}:{jti}", 1, JTI_SECONDS):
        raise refuse("jti_replay", "this approval was already used")
    qid = claims.get("qid")
    ref = store.get(f"qr:{qid_hash(qid)}") if isinstance(qid, str) and QID.match(qid) else None
    flow = load_flow(ref["fid"]) if ref else None
    scanned = store.get(f"qrscan:{flow.id}") if flow else None
    if scanned is None or scanned["qh"] != qid_hash(qid):
        raise refuse("state", "the QR code was not scanned, or has expired")
    if scanned["device_id"] != device_id:
        raise refuse("device_mismatch", "the QR code was scanned by another device")
    if now > scanned["approve_by"]:
        raise refuse("time", "the time to approve has passed")
    if exp > scanned["approve_by"]:
        raise refuse("time", "exp is after approve_by")
    if not isinstance(claims.get("chal"), str) or not hmac.compare_digest(
            claims["chal"].encode(), scanned["chal"].encode()):
        raise refuse("chal", "chal is not this scan's challenge")
    expected_ctx = b64url(hashlib.sha256(b64url_decode(scanned["ctx_blob"])).digest())
    if not isinstance(claims.get("ctx"), str) or not hmac.compare_digest(
            claims["ctx"].encode(), expected_ctx.encode()):
        raise refuse("ctx", "ctx is not the hash of the context shown")
    if not store.add(f"qrdecision:{flow.id}", {"dec": decision, "at": now}, scanned["approve_by"]
                      - now + _settings().ticket_seconds + SCAN_GRACE_SECONDS):
        raise refuse("state", "the QR code was already decided")
    batch = store.batch()
    if decision == "approve":
        batch.put(f"qrticket:{flow.id}", {"account_id": account_id, "device_id": device_id,
                                          "auth_time": now}, _settings().ticket_seconds)
    # A decided code cannot be scanned again (design §4 case 9).
    batch.delete(f"qr:{qid_hash(qid)}").execute()
    store.publish(_channel(flow.id), "approved" if decision == "approve" else "denied")
    return decision, flow


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def proximity(browser_ip: str | None, phone_ip: str | None) -> str:
    """same-network (same /24 or /56) or unknown: without a GeoIP database the country cannot
    be told (design §2.8, case 50), and a mismatch is never a hard block."""
    import ipaddress

    try:
        a, b = ipaddress.ip_address(browser_ip or ""), ipaddress.ip_address(phone_ip or "")
    except ValueError:
        return "unknown"
    if a.version != b.version:
        return "unknown"
    prefix = 24 if a.version == 4 else 56
    same = ipaddress.ip_network(f"{a}/{prefix}", strict=False) == \
        ipaddress.ip_network(f"{b}/{prefix}", strict=False)
    return "same-network" if same else "unknown"


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe_browser(ua: str) -> str:
    """«Chrome / Windows» from a User-Agent: enough for the citizen to recognise their screen."""
    browser = next((name for token, name in _BROWSERS if token in ua), "")
    system = next((name for token, name in _SYSTEMS if token in ua), "")
    return " / ".join(part for part in (browser, system) if part) or "unknown"
