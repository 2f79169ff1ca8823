"""Alembic environment of the municipal app: its own schema (``clients.municipal.models``), on
the connection the caller hands over, with its own version table so that it can share a
PostgreSQL database with another application."""

from alembic import context

from clients.municipal.models import Base
from clients.municipal.schema import VERSION_TABLE

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
