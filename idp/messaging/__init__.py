"""SMS and e-mail gateways (SPEC §5): a development outbox file, Kavenegar, SMTP."""

from pathlib import Path

from idp.messaging.base import Mailer, MessagingUnavailable, SmsSender
from idp.messaging.kavenegar import KavenegarSms
from idp.messaging.outbox import OutboxMailer, OutboxSms, read_outbox
from idp.messaging.smtp import SmtpMailer
from idp.settings import EmailSettings, SmsSettings

__all__ = [
    "KavenegarSms",
    "Mailer",
    "MessagingUnavailable",
    "OutboxMailer",
    "OutboxSms",
    "SmsSender",
    "SmtpMailer",
    "build_mailer",
    "build_sms_sender",
    "read_outbox",
]


def build_sms_sender(sms: SmsSettings, base_dir: Path) -> SmsSender:
    """The SMS gateway named by ``[sms] backend``: ``outbox`` or ``kavenegar``."""
    if sms.backend == "outbox":
        return OutboxSms((base_dir / sms.outbox_path).resolve())
    if sms.backend == "kavenegar":
        return KavenegarSms(sms.kavenegar_api_key, sms.kavenegar_base_url,
                            sms.kavenegar_template, sms.timeout_seconds)
    raise ValueError(f"sms: unknown backend {sms.backend!r} (outbox or kavenegar)")


def build_mailer(email: EmailSettings, base_dir: Path) -> Mailer:
    """The e-mail gateway named by ``[email] backend``: ``outbox`` or ``smtp``."""
    if email.backend == "outbox":
        return OutboxMailer((base_dir / email.outbox_path).resolve())
    if email.backend == "smtp":
        return SmtpMailer(email.smtp_host, email.smtp_port, email.smtp_username,
                          email.smtp_password, email.sender, email.smtp_tls,
                          email.timeout_seconds)
    raise ValueError(f"email: unknown backend {email.backend!r} (outbox or smtp)")
