"""Company login (issue 8): legal-entity clients, and the companies a citizen linked as CEO.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every client before this revision logs citizens in for themselves.
    op.add_column("clients", sa.Column("legal_entity", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        "company_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("national_id", sa.String(length=11), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("linked_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "national_id"),
    )
    op.create_index("ix_company_links_account_id", "company_links", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_company_links_account_id", table_name="company_links")
    op.drop_table("company_links")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("legal_entity")
