"""Clients name the resources (RFC 8707) whose audience their access tokens may carry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 01:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

clients = sa.table("clients", sa.column("resources", sa.JSON))


def upgrade() -> None:
    op.add_column("clients", sa.Column("resources", sa.JSON(), nullable=True))
    # Every client before this revision had no registered resource.
    op.execute(clients.update().values(resources=[]))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("resources")
