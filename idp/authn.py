"""The authentication record: how and when the citizen proved who they are.

It is made once, by the step that proves the citizen (the one-time code today; a QR approval,
a password later), and carried whole by the journey, the provider session, the authorization
code and the refresh-token grant, so ``amr``, ``acr`` and ``auth_time`` have one source.
The company of a company login (issue 8) rides on the record of that one login: the session
keeps the proof, each login for a relying party names its own company.
"""

import time
from dataclasses import asdict, dataclass, replace

# The assurance level of a login proved by a one-time code to the citizen's own mobile, whose
# owner the registries confirmed (SPEC §3 steps 2–3).
LOA_OTP = "urn:idp:loa:2"
ACR_VALUES_SUPPORTED = (LOA_OTP,)

# The one rule that maps a login method to its amr (RFC 8176 §2) and acr.
METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "sms_otp": (("otp", "sms"), LOA_OTP),
    # seed 002 §2.1: the same code, sent to the national e-mail instead of the mobile.
    "email_otp": (("otp",), LOA_OTP),
    # Issue 7 / design qr-login §2.13: an approval signed by a paired device key. Without
    # attestation the key is only known to be a software key ("swk"); "user" (a user-presence
    # test) is not claimed, since nothing the server can verify shows the key demanded one.
    # The level stays the one-time code's: the device was paired by one (never higher).
    "qr": (("swk",), LOA_OTP),
}


@dataclass(frozen=True)
class Authentication:
    """One proof of identity: what the ID token's ``amr``, ``acr`` and ``auth_time`` say."""

    method: str
    amr: tuple[str, ...]
    acr: str
    auth_time: int
    # ``{"national_id", "name", "role": "ceo"}``: the company this login is for (issue 8).
    company: dict | None = None

    def for_company(self, company: dict | None) -> "Authentication":
        """This proof, for a login on behalf of ``company`` (or for the citizen alone)."""
        return replace(self, company=company)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["amr"] = list(self.amr)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Authentication":
        return cls(**{**data, "amr": tuple(data["amr"])})


def authenticate(method: str, *, at: int | None = None) -> Authentication:
    """The record of a proof by ``method`` made now (or at ``at``)."""
    amr, acr = METHODS[method]
    return Authentication(method=method, amr=amr, acr=acr,
                          auth_time=int(time.time()) if at is None else at)
