"""E-mail over SMTP (SPEC §5): STARTTLS on submission ports, implicit TLS on 465 (RFC 8314)."""

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from idp.messaging.base import MessagingUnavailable

log = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 465


class SmtpMailer:
    def __init__(self, host: str, port: int, username: str, password: str, sender: str,
                 use_tls: bool, timeout: float) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.sender = sender
        self.use_tls = use_tls
        self.timeout = timeout

    def send(self, to: str, subject: str, text: str, *, code: str | None = None,
             purpose: str = "") -> None:
        # The code travels in the text; ``code`` and ``purpose`` matter to the outbox only.
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(text)
        try:
            with self._connect() as smtp:
                if self.use_tls and self.port != IMPLICIT_TLS_PORT:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("smtp delivery failed: %s", type(exc).__name__)
            raise MessagingUnavailable(f"smtp failed: {type(exc).__name__}") from None

    def _connect(self) -> smtplib.SMTP:
        if self.use_tls and self.port == IMPLICIT_TLS_PORT:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)
