"""Paired devices of the phone app, for QR login (issue 7).

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-30 02:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(32),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("kid", sa.String(64), nullable=False, unique=True),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("alg", sa.String(8), nullable=False),
        sa.Column("key_protection", sa.String(16), nullable=False),
        sa.Column("attestation_fmt", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("pairing_amr", sa.JSON(), nullable=False),
        sa.Column("pairing_acr", sa.String(64)),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("grant_id", sa.String(32), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_ip", sa.String(45)),
        sa.Column("last_used_at", sa.DateTime()),
        sa.Column("last_used_ip", sa.String(45)),
        sa.Column("status", sa.String(8), nullable=False, index=True),
        sa.Column("revoked_at", sa.DateTime()),
        sa.Column("revoked_reason", sa.String(32)),
        sa.CheckConstraint("alg = 'ES256'", name="devices_alg_es256"),
    )


def downgrade() -> None:
    op.drop_table("devices")
