"""What the login journey needs from SMS and e-mail, independent of the gateway (SPEC §5)."""

from typing import Protocol


class MessagingUnavailable(Exception):
    """The message could not be handed to the gateway.

    The message names the gateway and the kind of failure only: never the code, the recipient or
    an API key, because it ends up in logs.
    """


class SmsSender(Protocol):
    def send(self, to: str, text: str, *, code: str | None, purpose: str) -> None:
        """Send ``text`` to the E.164 mobile ``to``; ``code`` is the one-time code it carries."""
        ...


class Mailer(Protocol):
    def send(self, to: str, subject: str, text: str, *, code: str | None = None,
             purpose: str = "") -> None:
        """Send a plain-text e-mail; ``code`` is the one-time code it carries, if any, and
        ``purpose`` what it is for (``login``, ``email_verify``, …), as for an SMS."""
        ...
