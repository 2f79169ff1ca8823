"""The code that proves the owner's phone in «انتخاب کارشناس بازدید» (issue 10), kept the way
the provider keeps its login codes: only an HMAC of it, for ``code_lifetime_seconds``, five
tries, a cool-down between texts, and limits on texts per number and per citizen."""

import hmac
import secrets
import time
from dataclasses import dataclass
from hashlib import sha256

from limits import parse
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

LENGTH = 6
MAX_TRIES = 5
COOLDOWN_SECONDS = 60
SENDS_PER_NUMBER = parse("5/hour")
SENDS_PER_CITIZEN = parse("10/hour")


@dataclass(frozen=True)
class Issued:
    code: str
    record: dict  # what the draft keeps: no code, only its digest


class SendLimits:
    """Texts per number and per citizen, counted in ``storage``: the one all the app's
    workers share (``[municipal] ratelimit_storage_uri``)."""

    def __init__(self, storage: Storage) -> None:
        self.limiter = MovingWindowRateLimiter(storage)

    def allow(self, mobile: str, citizen_id: int) -> bool:
        return (self.limiter.test(SENDS_PER_NUMBER, "visit-code-number", mobile)
                and self.limiter.test(SENDS_PER_CITIZEN, "visit-code-citizen", str(citizen_id)))

    def spend(self, mobile: str, citizen_id: int) -> None:
        self.limiter.hit(SENDS_PER_NUMBER, "visit-code-number", mobile)
        self.limiter.hit(SENDS_PER_CITIZEN, "visit-code-citizen", str(citizen_id))


def digest(key: bytes, draft_id: str, mobile: str, code: str) -> str:
    return hmac.new(key, f"{draft_id}:{mobile}:{code}".encode(), sha256).hexdigest()


def cooldown_left(record: dict | None, now: float | None = None) -> int:
    if not record:
        return 0
    now = time.time() if now is None else now
    return max(0, int(record["sent_at"] + COOLDOWN_SECONDS - now + 0.999))


def issue(key: bytes, draft_id: str, mobile: str, lifetime: int) -> Issued:
    code = "".join(secrets.choice("0123456789") for _ in range(LENGTH))
    now = time.time()
    return Issued(code, {"mobile": mobile, "digest": digest(key, draft_id, mobile, code),
                         "sent_at": now, "expires_at": now + lifetime, "tries": 0})


def check(key: bytes, draft_id: str, record: dict | None, mobile: str,
          code: str) -> tuple[str, dict | None]:
    """("ok" | "wrong" | "expired" | "spent" | "none", the record to keep)."""
    if not record or record["mobile"] != mobile:
        return "none", record
    if record["tries"] >= MAX_TRIES:
        return "spent", record
    if time.time() > record["expires_at"]:
        return "expired", record
    record = {**record, "tries": record["tries"] + 1}
    if hmac.compare_digest(record["digest"], digest(key, draft_id, mobile, code)):
        return "ok", None  # a code is used once
    return ("spent" if record["tries"] >= MAX_TRIES else "wrong"), record
