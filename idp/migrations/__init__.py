"""Alembic migrations, run from code: ``idp db upgrade`` and every start on an empty database.

Several gunicorn workers may start together; the upgrade takes a lock first (an advisory lock
on PostgreSQL, a file lock beside a SQLite file) so only one of them migrates at a time.
"""

import fcntl
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from idp.db import protect_sqlite_file

HERE = Path(__file__).resolve().parent
LOCK_ID = 0x1DB0  # an arbitrary constant shared by every worker of this provider


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["database_url"] = database_url
    return config


@contextmanager
def _upgrade_lock(database_url: str):
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        lock_path = Path(database + ".lock") if database and database != ":memory:" else None
        if lock_path is None:
            yield
            return
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    engine = create_engine(database_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
    engine.dispose()


def upgrade(database_url: str) -> None:
    """Bring the database to the newest schema (a no-op when it already is)."""
    protect_sqlite_file(database_url)
    with _upgrade_lock(database_url):
        command.upgrade(alembic_config(database_url), "head")

