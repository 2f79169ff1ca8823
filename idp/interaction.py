"""Where the provider hands a login to the journey, and how the journey is reached.

The provider (``idp/``) validates an /authorize request and then needs a citizen; the journey
(``flows/``) finds one. The journey sits above the provider and implements this interface; the
app factory hands it to the provider, so nothing under ``idp/`` imports ``flows/``.
"""

from dataclasses import dataclass
from typing import Protocol

from flask.typing import ResponseReturnValue

from idp.sessions import SessionUser


@dataclass(frozen=True)
class LoginRequest:
    """A validated /authorize request, waiting for the citizen."""

    params: dict[str, str]
    client_id: str
    prompts: tuple[str, ...]
    # A provider session that may answer this request without a new login (single sign-on).
    session_user: SessionUser | None


class Interaction(Protocol):
    def begin(self, login: LoginRequest | None) -> ResponseReturnValue:
        """Start a journey for ``login``; ``None``: the citizen logs in to the provider itself."""
