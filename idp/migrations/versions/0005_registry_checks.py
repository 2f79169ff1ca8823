"""Registry checks and verifications per account; grants remember when they were requested.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-30 02:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verifications",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("account_id", sa.String(length=32),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=False),
        sa.Column("mobile", sa.String(length=16), nullable=False),
    )
    op.create_index("ix_verifications_account_id", "verifications", ["account_id"])
    op.create_index("ix_verifications_verified_at", "verifications", ["verified_at"])
    op.create_table(
        "registry_checks",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("account_id", sa.String(length=32),
                  sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("verification_id", sa.String(length=32),
                  sa.ForeignKey("verifications.id", ondelete="CASCADE"), nullable=True),
    )
    op.create_index("ix_registry_checks_account_id", "registry_checks", ["account_id"])
    op.create_index("ix_registry_checks_verification_id", "registry_checks",
                    ["verification_id"])
    op.add_column("grants", sa.Column("requested_at", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("requested_at")
    op.drop_table("registry_checks")
    op.drop_table("verifications")
