"""E-mail over SMTP (SPEC §5): STARTTLS on submission ports, implicit TLS on 465 (RFC 8314)."""

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from idp import outbound
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
        # ``timeout`` bounds the whole delivery, not each read (idp.outbound).
        with outbound.watchdog(self.timeout) as watch:
            try:
                with self._connect(watch) as smtp:
                    if self.use_tls and self.port != IMPLICIT_TLS_PORT:
                        smtp.starttls(context=ssl.create_default_context())
                        watch.guard(smtp.sock)
                    if self.username:
                        smtp.login(self.username, self.password)
                    smtp.send_message(message)
            except (smtplib.SMTPException, OSError) as exc:
                late = watch.fired or isinstance(exc, outbound.ResolutionTimeout)
                reason = "DeadlineExceeded" if late else type(exc).__name__
                log.warning("smtp delivery failed: %s", reason)
                raise MessagingUnavailable(f"smtp failed: {reason}") from None

    def _connect(self, watch: outbound.Watchdog) -> smtplib.SMTP:
        implicit = self.use_tls and self.port == IMPLICIT_TLS_PORT
        smtp = _GuardedSmtpSsl(context=ssl.create_default_context(), timeout=self.timeout) \
            if implicit else _GuardedSmtp(timeout=self.timeout)
        smtp.watch = watch
        smtp.connect(self.host, self.port)
        return smtp


class _GuardedSmtp(smtplib.SMTP):
    """Its socket is guarded by a watchdog from the moment it connects (the greeting too)."""

    watch: outbound.Watchdog

    def _get_socket(self, host, port, timeout):
        # The name is resolved within the deadline too; TLS still checks the name (``_host``).
        failure: OSError | None = None
        for address in outbound.addresses(host, port, self.watch.remaining()):
            try:
                sock = super()._get_socket(address, port, timeout)
            except OSError as exc:
                failure = exc
                continue
            self.watch.guard(sock)
            return sock
        raise failure or OSError(f"no address for {host}")


class _GuardedSmtpSsl(_GuardedSmtp, smtplib.SMTP_SSL):
    pass
