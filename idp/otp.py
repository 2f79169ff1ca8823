"""One-time codes (SPEC §3 step 2, §7): issued, paid for from the send budgets, checked once.

Shared by the login journey and the account page (a new mobile, a personal e-mail), so a code
is as scarce and as short-lived wherever it is sent. A code is bound to a *key* (a pending login,
an account's pending change) and to its *receiver* (the mobile or address it was sent to),
stored only as an HMAC, allowed a bounded number of tries and taken on success.

Each channel has its own cool-down per receiver: the SMS one and the e-mail one (issue 12: the
code may be sent to the e-mail at once after the SMS, then waits its own cool-down).
"""

import hmac
import secrets
from dataclasses import dataclass
from enum import Enum
from hashlib import sha256

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idp.ratelimit import spend
from idp.services import services


class Check(Enum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


MESSAGES = {
    Check.WRONG: _l("رمز یکبار مصرف وارد شده صحیح نیست"),
    Check.EXPIRED: _l("رمز یکبار مصرف منقضی شده است. لطفا رمز جدید دریافت کنید."),
    Check.EXHAUSTED: _l("تعداد دفعات مجاز ورود رمز به پایان رسید. لطفا رمز جدید دریافت کنید."),
}


@dataclass
class CooldownActive(Exception):
    seconds: int


@dataclass
class SendBudgetSpent(Exception):
    """A send budget (``[ratelimit]`` setting ``budget``) is used up; nothing was sent."""

    budget: str


def by_email(method: str) -> bool:
    return method.startswith("email")


def cooldown_key(receiver: str, method: str) -> str:
    """The cool-down of one channel to one receiver, shared by every code sent that way."""
    return f"otp-email-cooldown:{receiver}" if by_email(method) else f"otp-cooldown:{receiver}"


def cooldown_left(receiver: str, method: str) -> int:
    return services().store.ttl(cooldown_key(receiver, method))


def send_budgets(receiver: str, method: str) -> list[tuple[str, str]]:
    """The budgets one code costs: the receiver's (against bombing one citizen) and, for an SMS,
    its number range's and everyone's (against SMS pumping, OWASP)."""
    budgets = [("otp_send_per_mobile", receiver)]
    if not by_email(method):
        digits = services().settings.ratelimit.otp_send_prefix_digits
        budgets += [("otp_send_per_prefix", receiver.lstrip("+")[:digits]),
                    ("otp_send_global", "all")]
    return budgets


def sends_for(key: str) -> int:
    """How many codes have been issued for ``key``."""
    return int(services().store.get(f"otp-sends:{key}") or 0)


def _digest(receiver: str, code: str) -> str:
    secret = services().settings.server.secret_key.encode()
    return hmac.new(secret, f"{receiver}:{code}".encode(), sha256).hexdigest()


def issue_code(key: str, receiver: str, method: str = "sms_otp", *,
               lifetime: int | None = None, budget_key: str | None = None) -> str:
    """A new code for ``key``, bound to ``receiver``, unless the channel's cool-down runs.

    ``method`` is how it travels (idp.authn.METHODS), so a login records how it was proved.
    ``budget_key`` names whose send budget pays (the receiver unless said otherwise).
    Raises CooldownActive or SendBudgetSpent; then nothing is issued.
    """
    svc = services()
    settings = svc.settings.otp
    cooldown = settings.email_resend_cooldown_seconds if by_email(method) \
        else settings.resend_cooldown_seconds
    # A cool-down of 0 means none (a test or a demo that logs in again at once).
    if cooldown and not svc.store.add(cooldown_key(receiver, method), 1, cooldown):
        raise CooldownActive(cooldown_left(receiver, method))
    # Taken only for a code that is really issued: a refused captcha or a cool-down costs no one.
    spent = spend(send_budgets(budget_key or receiver, method))
    if spent:
        svc.store.delete(cooldown_key(receiver, method))
        raise SendBudgetSpent(spent)
    code = "".join(secrets.choice("0123456789") for _ in range(settings.length))
    svc.store.batch().put(
        f"otp:{key}", {"mobile": receiver, "digest": _digest(receiver, code), "method": method},
        lifetime or settings.lifetime_seconds).delete(f"otp-attempts:{key}").incr(
        f"otp-sends:{key}", max(lifetime or 0, svc.settings.journey.lifetime_seconds)).execute()
    return code


def withdraw(key: str, receiver: str, method: str) -> None:
    """Forget a code that could not be sent, and its cool-down: the citizen may try at once."""
    services().store.delete(cooldown_key(receiver, method), f"otp:{key}")


def check_code(key: str, receiver: str, code: str) -> tuple[Check, str | None]:
    """Compare a typed code; the right one is taken so it works only once.

    Returns the outcome and, when it is OK, the method the code travelled by.
    """
    svc = services()
    settings = svc.settings.otp
    # Every comparison counts, so the attempts are counted with the read (one round trip). The
    # count outlives any code (each new code starts it again), so waiting never buys more tries.
    longest = max(settings.lifetime_seconds, svc.settings.email.verification_lifetime_seconds)
    stored, attempts = svc.store.batch().get(f"otp:{key}").incr(
        f"otp-attempts:{key}", longest).execute()
    if stored is None or stored["mobile"] != receiver:
        return Check.EXPIRED, None
    if attempts > settings.max_attempts:
        svc.store.delete(f"otp:{key}")
        return Check.EXHAUSTED, None
    if not hmac.compare_digest(stored["digest"], _digest(receiver, code)):
        if attempts == settings.max_attempts:
            svc.store.delete(f"otp:{key}")
            return Check.EXHAUSTED, None
        return Check.WRONG, None
    if svc.store.take(f"otp:{key}") is None:
        return Check.EXPIRED, None
    return Check.OK, stored["method"]


def pending_receiver(key: str) -> str | None:
    """The receiver of the live code for ``key``, if there is one."""
    stored = services().store.get(f"otp:{key}")
    return stored["mobile"] if stored else None


def code_text(code: str) -> str:
    """The message that carries a login code (SMS or e-mail)."""
    host = services().settings.server.issuer.split("://", 1)[-1].split("/", 1)[0]
    # The last line lets browsers offer the code (WebOTP: "@host #code").
    return _("رمز یکبار مصرف ورود به پنجره ملی خدمات دولت هوشمند: %(code)s\n"
             "این رمز را در اختیار هیچ کس قرار ندهید.", code=code) + f"\n\n@{host} #{code}"


def cannot_send_message(error: Exception) -> str:
    """What a citizen is told when a code was not sent (cool-down or a spent budget)."""
    if isinstance(error, CooldownActive):
        return _("برای دریافت رمز جدید لطفا %(seconds)s ثانیه صبر کنید", seconds=error.seconds)
    if isinstance(error, SendBudgetSpent) and error.budget == "otp_send_per_mobile":
        return _("تعداد درخواست‌های رمز یکبار مصرف برای این شماره بیش از حد مجاز است. "
                 "لطفا بعدا دوباره تلاش کنید.")
    return _("به دلیل درخواست‌های زیاد، ارسال پیامک موقتا محدود شده است. لطفا چند "
             "دقیقه دیگر دوباره تلاش کنید.")


def mask_email(address: str) -> str:
    """``a•••@example.ir``: enough for the citizen to recognise, not to harvest (issue 12)."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"
