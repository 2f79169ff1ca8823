"""The municipal app's database under Alembic: started, it brings its schema to the newest
revision in ``migrations/`` instead of creating tables from the models, so that a municipality's
existing database is upgraded in place (SQLite by default, PostgreSQL by URL)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from clients.common import Database

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "municipal_alembic_version"  # also in migrations/env.py
# The tables of the citizen account before it came under Alembic (revision 0001).
FIRST_TABLES = {"citizens", "login_sessions", "seen_logout_tokens"}


def alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class MigratedDatabase(Database):
    def create_all(self) -> None:
        """Upgrade to the newest schema (the shared base calls this on start)."""
        with self.engine.begin() as connection:
            config = alembic_config(connection)
            tables = set(inspect(connection).get_table_names())
            if tables >= FIRST_TABLES and VERSION_TABLE not in tables:
                # A database the account created before its schema was under Alembic.
                command.stamp(config, "0001")
            command.upgrade(config, "head")
