"""The audit trail is queried by client over a time range (``idp audit --client``).

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-30 02:30:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_events_client_id_at", "audit_events", ["client_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_client_id_at", table_name="audit_events")
