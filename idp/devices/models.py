"""A paired device: the phone app's ES256 public key, bound to one citizen (design qr-login §2.1).

The private key never leaves the phone; the row keeps the public JWK, its RFC 7638 thumbprint
(the ``kid`` approvals name) and the grant of the login that paired it, so revoking the device
also revokes the tokens that login gave the app (issue 7).
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base
from idp.models.base import new_id, utcnow

PLATFORMS = ("android", "ios", "cli")


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    # RFC 7638 thumbprint of public_jwk; a key is paired once, ever.
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict] = mapped_column(JSON)
    # The one algorithm approvals are verified with, pinned here, never read from a header.
    alg: Mapped[str] = mapped_column(String(8), default="ES256")
    # Attestation is later work (issue 7): until then every key is "unknown" and amr says swk.
    key_protection: Mapped[str] = mapped_column(String(16), default="unknown")
    attestation_fmt: Mapped[str] = mapped_column(String(32), default="none")
    platform: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(100))
    # How the pairing login was proved (e.g. ["otp", "sms"]) and at which level.
    pairing_amr: Mapped[list] = mapped_column(JSON, default=list)
    pairing_acr: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    # The token family of the pairing login, revoked with the device.
    grant_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_ip: Mapped[str | None] = mapped_column(String(45))
    last_used_at: Mapped[datetime | None] = mapped_column()
    last_used_ip: Mapped[str | None] = mapped_column(String(45))
    status: Mapped[str] = mapped_column(String(8), default="active", index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    @property
    def active(self) -> bool:
        return self.status == "active"
