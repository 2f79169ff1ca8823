"""SMS and e-mail gateways (SPEC §5): a development outbox file, Kavenegar, SMTP."""

from pathlib import Path

from idp.messaging.base import Mailer, MessagingUnavailable, SmsSender
from idp.messaging.kavenegar import KavenegarSms
from idp.messaging.outbox import OutboxMailer, OutboxSms, read_outbox
from idp.messaging.smtp import SmtpMailer

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


def build_sms_sender(backend: str, *, outbox_path: Path, kavenegar_api_key: str,
                     kavenegar_base_url: str, kavenegar_template: str,
                     timeout: float) -> SmsSender:
    """The SMS gateway named by ``[sms] backend``: ``outbox`` or ``kavenegar``."""
    if backend == "outbox":
        return OutboxSms(outbox_path)
    if backend == "kavenegar":
        return KavenegarSms(kavenegar_api_key, kavenegar_base_url, kavenegar_template, timeout)
    raise ValueError(f"sms: unknown backend {backend!r} (outbox or kavenegar)")


def build_mailer(backend: str, *, outbox_path: Path, smtp_host: str, smtp_port: int,
                 smtp_username: str, smtp_password: str, smtp_tls: bool, sender: str,
                 timeout: float) -> Mailer:
    """The e-mail gateway named by ``[email] backend``: ``outbox`` or ``smtp``."""
    if backend == "outbox":
        return OutboxMailer(outbox_path)
    if backend == "smtp":
        return SmtpMailer(smtp_host, smtp_port, smtp_username, smtp_password, sender,
                          smtp_tls, timeout)
    raise ValueError(f"email: unknown backend {backend!r} (outbox or smtp)")
