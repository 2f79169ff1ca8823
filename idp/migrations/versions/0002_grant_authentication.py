"""Grants keep the whole authentication record instead of auth_time, amr and acr.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 00:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

grants = sa.table("grants", sa.column("id", sa.String), sa.column("auth_time", sa.Integer),
                  sa.column("amr", sa.JSON), sa.column("acr", sa.String),
                  sa.column("authentication", sa.JSON))


def upgrade() -> None:
    op.add_column("grants", sa.Column("authentication", sa.JSON(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(grants.c.id, grants.c.auth_time, grants.c.amr,
                                        grants.c.acr)).all()
    for row in rows:
        # Every grant before this revision came from a one-time code sent by SMS.
        record = {"method": "sms_otp", "amr": list(row.amr or []), "acr": row.acr or "",
                  "auth_time": row.auth_time}
        connection.execute(grants.update().where(grants.c.id == row.id)
                           .values(authentication=record))
    with op.batch_alter_table("grants") as batch:
        batch.alter_column("authentication", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("auth_time")
        batch.drop_column("amr")
        batch.drop_column("acr")


def downgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("auth_time", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("amr", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("acr", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(grants.c.id, grants.c.authentication)).all():
        record = row.authentication
        connection.execute(grants.update().where(grants.c.id == row.id).values(
            auth_time=record["auth_time"], amr=record["amr"], acr=record["acr"]))
    with op.batch_alter_table("grants") as batch:
        batch.alter_column("auth_time", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("authentication")
