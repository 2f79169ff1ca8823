"""The citizen's account page: the national e-mail on the account, the browser on audit rows.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-30 02:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("national_email", sa.String(254), nullable=True))
    op.add_column("audit_events", sa.Column("user_agent", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("user_agent")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("national_email")
