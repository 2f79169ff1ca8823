"""Database engine and sessions (SQLAlchemy 2).

One ``Database`` per app; a request gets one session (``db.session``) which is removed when the
app context ends. A step of the journey makes at most one commit, audit rows riding in it.
"""

import contextlib
import os
import select
import time
from pathlib import Path

from flask import Flask, g
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import InvalidatePoolError
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
                 "pool_timeout": 10, "connect_args": POSTGRES_CONNECT}
# A pooled connection is pinged before use only when it may have lost its server: after this
# long idle in the pool (a firewall's or the server's idle time-out, a restart unheard of), or
# when its socket has something to read while no query runs (a restarted server's farewell,
# or end of file). A connection busy under load goes without the round trip that
# ``pool_pre_ping`` spends on every checkout.
IDLE_PING_SECONDS = 10.0
_IDLE_SINCE = "idp_idle_since"


def _keep_loaded(session: Session, instance: object) -> None:
    """Hold each object a session loads for as long as the session lives.

    SQLAlchemy's identity map holds unchanged objects weakly: a step that reads the journey's
    account in two helpers would read it from the database twice. A session lives for one
    request (or one command), so keeping what it loaded is small and saves those round trips.
    """
    session.info.setdefault("loaded", []).append(instance)


def _mark_idle(_dbapi_connection, record) -> None:
    """Pool ``checkin``: when the connection went back to the pool."""
    record.info[_IDLE_SINCE] = time.monotonic()


def _readable(dbapi_connection) -> bool:
    """Whether the server sent something to a connection that runs no query (poll, not
    select: a worker may hold more than select's 1,024 descriptors)."""
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def _stale_connection_check(dialect: Dialect):
    """Pool ``checkout``: ping a connection that may have lost its server (see
    ``IDLE_PING_SECONDS``). A lost one raises ``InvalidatePoolError``: the pool drops every
    connection of its generation and connects again, as ``pool_pre_ping`` does."""
    def checkout(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None:
            return  # connected for this checkout
        if time.monotonic() - idle_since < IDLE_PING_SECONDS and not _readable(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError(str(error)) from error
            raise
    return checkout


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
        else:
            event.listen(self.engine, "checkin", _mark_idle)
            event.listen(self.engine, "checkout", _stale_connection_check(self.engine.dialect))
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
