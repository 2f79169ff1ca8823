"""Alembic environment: the URL comes from the caller, the metadata from ``idp.models``."""

from alembic import context
from sqlalchemy import create_engine

import idp.models  # noqa: F401 - registers every table on Base.metadata
from idp.db import Base

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.attributes["database_url"])
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
