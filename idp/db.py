"""Database engine and sessions (SQLAlchemy 2).

One ``Database`` per app; a request gets one session (``db.session``) which is removed when the
app context ends. A step of the journey makes at most one commit, audit rows riding in it.
"""

import contextlib
import os
from pathlib import Path

from flask import Flask, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Declarative base of every durable model."""


# Per connection of the embedded default: WAL lets readers run beside the one writer, and
# synchronous=NORMAL makes a commit a write to the WAL without an fsync (the WAL is synced at
# checkpoints; a power cut may lose the last commits, never corrupt the file). A writer
# waits for another one up to busy_timeout instead of failing with "database is locked".
SQLITE_PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL",
                  "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=30000",
                  "PRAGMA temp_store=MEMORY")
# The production pool: one connection per thread serving requests in a worker, a few spare.
# A server that does not answer is an outage in seconds (a 503 page), not after the kernel's
# minutes of SYN retries, past the worker's time-out; nor does a request wait for a free
# connection longer than that.
POSTGRES_CONNECT = {"connect_timeout": 5}
POSTGRES_POOL = {"pool_size": 10, "max_overflow": 20, "pool_recycle": 1800,
                 "pool_pre_ping": True, "pool_timeout": 10, "connect_args": POSTGRES_CONNECT}


def _keep_loaded(session: Session, instance: object) -> None:
    """Hold each object a session loads for as long as the session lives.

    SQLAlchemy's identity map holds unchanged objects weakly: a step that reads the journey's
    account in two helpers would read it from the database twice. A session lives for one
    request (or one command), so keeping what it loaded is small and saves those round trips.
    """
    session.info.setdefault("loaded", []).append(instance)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def protect_sqlite_file(url: str) -> None:
    """Create the SQLite file (and its WAL companions) readable by this user only (0600).

    It holds every citizen's account, so it gets the mode of the signing keys; an existing
    file is narrowed to 0600 too. SQLite gives the -wal and -shm files the main file's mode.
    """
    path = sqlite_file(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if candidate.stat().st_mode & 0o077:
                candidate.chmod(0o600)
        except FileNotFoundError:
            pass


class Database:
    """The engine and a per-app-context session."""

    def __init__(self, url: str) -> None:
        options: dict = {"future": True}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
            protect_sqlite_file(url)
        else:
            options.update(POSTGRES_POOL)
        self.url = url
        self.engine: Engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessionmaker, "loaded_as_persistent", _keep_loaded)

    def init_app(self, app: Flask) -> None:
        app.extensions["idp.db"] = self
        app.teardown_appcontext(self._remove_session)

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = self.sessionmaker()
        return g.db_session

    @staticmethod
    def _remove_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
