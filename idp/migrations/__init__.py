"""Alembic migrations, run from code: ``idp db upgrade`` and every start on an empty database.

Several workers may start together; the upgrade takes a lock first (an advisory lock on
PostgreSQL, a file lock beside a SQLite file) so only one of them migrates at a time.

A database already at the newest revision is recognised with one query, without loading
Alembic: every worker process of a running provider is then some 11 MB smaller.
"""

from __future__ import annotations

import ast
import fcntl
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from idp.db import POSTGRES_CONNECT, protect_sqlite_file
from idp.settings import ConfigurationError

HERE = Path(__file__).resolve().parent
LOCK_ID = 0x1DB0  # an arbitrary constant shared by every worker of this provider

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

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
    engine = _engine(database_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
    engine.dispose()


def upgrade(database_url: str) -> None:
    """Bring the database to the newest schema (a no-op when it already is).

    The first thing every start does with the database: one that cannot be reached (or a URL
    that names none) is a :class:`ConfigurationError`, told in one line.
    """
    try:
        protect_sqlite_file(database_url)
        current = _current_revisions(database_url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigurationError(f"[database] url: {exc}") from None
    except OSError as exc:
        raise ConfigurationError(f"database file {exc.filename}: {exc.strerror}") from None
    except (OperationalError, InterfaceError) as exc:
        where = make_url(database_url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise ConfigurationError(f"database {where} cannot be reached: {reason}") from None
    if current == head_revisions():
        return
    from alembic import command

    with _upgrade_lock(database_url):
        command.upgrade(alembic_config(database_url), "head")


def _literal(node: ast.AST) -> set[str]:
    value = ast.literal_eval(node)
    if value is None:
        return set()
    return {value} if isinstance(value, str) else set(value)


@cache
def head_revisions() -> frozenset[str]:
    """The newest revisions of the scripts in ``versions/`` (those no other one follows)."""
    revisions, followed = set(), set()
    for path in (HERE / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if "revision" in names:
                    revisions |= _literal(node.value)
                elif "down_revision" in names:
                    followed |= _literal(node.value)
    return frozenset(revisions - followed)


def _engine(database_url: str):
    """An engine for one check or lock, giving up on a server that does not answer."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return create_engine(database_url, connect_args=POSTGRES_CONNECT)
    return create_engine(database_url)


def _current_revisions(database_url: str) -> frozenset[str] | None:
    """The revisions the database is at (None when it has no Alembic table yet)."""
    engine = _engine(database_url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version"))
            return frozenset(row[0] for row in rows)
    finally:
        engine.dispose()

