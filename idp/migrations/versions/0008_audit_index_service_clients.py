"""The audit trail is queried by client over a time range (``idp audit --client``); clients
name the grants they may use (service clients: ``client_credentials``).

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-30 02:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

clients = sa.table("clients", sa.column("grant_types", sa.JSON))


def upgrade() -> None:
    op.create_index("ix_audit_events_client_id_at", "audit_events", ["client_id", "at"])
    op.add_column("clients", sa.Column("grant_types", sa.JSON(), nullable=True))
    # Every client before this revision logged citizens in.
    op.execute(clients.update().values(grant_types=["authorization_code", "refresh_token"]))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("grant_types")
    op.drop_index("ix_audit_events_client_id_at", table_name="audit_events")
