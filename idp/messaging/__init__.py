"""SMS and e-mail gateways (SPEC §5): a development outbox file, Kavenegar, SMS.ir (one failing
over to the other), SMTP."""

from pathlib import Path

from idp.messaging.base import Mailer, MessagingUnavailable, SmsSender
from idp.messaging.failover import FailoverSms
from idp.messaging.kavenegar import KavenegarSms
from idp.messaging.outbox import OutboxMailer, OutboxSms, read_outbox
from idp.messaging.smsir import SmsIrSms
from idp.messaging.smtp import SmtpMailer
from idp.settings import ConfigurationError, EmailSettings, SmsSettings

__all__ = [
    "FailoverSms",
    "KavenegarSms",
    "Mailer",
    "MessagingUnavailable",
    "OutboxMailer",
    "OutboxSms",
    "SmsIrSms",
    "SmsSender",
    "SmtpMailer",
    "breaker_states",
    "build_mailer",
    "build_sms_sender",
    "read_outbox",
]


def build_sms_sender(sms: SmsSettings, base_dir: Path) -> SmsSender:
    """The SMS gateway named by ``[sms] backend`` (``outbox``, ``kavenegar`` or ``smsir``),
    failing over to the one named by ``[sms] fallback`` when that is set."""
    primary = _gateway(sms.backend, sms, base_dir)
    if not sms.fallback:
        return primary
    if sms.fallback == sms.backend:
        raise ConfigurationError(f"sms: fallback {sms.fallback!r} is the backend itself")
    return FailoverSms([(sms.backend, primary),
                        (sms.fallback, _gateway(sms.fallback, sms, base_dir))],
                       sms.timeout_seconds, sms.breaker_failures, sms.breaker_seconds)


def _gateway(name: str, sms: SmsSettings, base_dir: Path) -> SmsSender:
    if name == "outbox":
        return OutboxSms((base_dir / sms.outbox_path).resolve())
    if name == "kavenegar":
        return KavenegarSms(sms.kavenegar_api_key, sms.kavenegar_base_url,
                            sms.kavenegar_template, sms.timeout_seconds)
    if name == "smsir":
        return SmsIrSms(sms.smsir_api_key, sms.smsir_base_url, sms.smsir_template_id,
                        sms.smsir_code_parameter, sms.smsir_line_number, sms.timeout_seconds)
    raise ConfigurationError(f"sms: unknown backend {name!r} (outbox, kavenegar or smsir)")


def breaker_states(sender: SmsSender) -> dict[str, str]:
    """Each SMS gateway's circuit breaker (closed, open, half-open), where codes fail over from
    one gateway to another; a single gateway has none (every code is tried on it)."""
    return sender.breaker_states() if hasattr(sender, "breaker_states") else {}


def build_mailer(email: EmailSettings, base_dir: Path) -> Mailer:
    """The e-mail gateway named by ``[email] backend``: ``outbox`` or ``smtp``."""
    if email.backend == "outbox":
        return OutboxMailer((base_dir / email.outbox_path).resolve())
    if email.backend == "smtp":
        return SmtpMailer(email.smtp_host, email.smtp_port, email.smtp_username,
                          email.smtp_password, email.sender, email.smtp_tls,
                          email.timeout_seconds)
    raise ConfigurationError(f"email: unknown backend {email.backend!r} (outbox or smtp)")
