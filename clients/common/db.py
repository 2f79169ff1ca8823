"""Each relying party's own database: SQLAlchemy 2, SQLite by default.

An app declares its models on its own ``DeclarativeBase`` (so that Alembic can later manage
exactly that metadata) and hands the metadata here; one session per request, closed at its end.
"""

from pathlib import Path

from flask import Flask, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: str, metadata: MetaData) -> None:
        sqlite = url.startswith("sqlite")
        self.engine = create_engine(
            url, connect_args={"check_same_thread": False} if sqlite else {})
        if sqlite:
            # Threaded dev servers write concurrently; wait for the lock instead of failing.
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.metadata = metadata
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        """Create missing tables (until the app's schema is under Alembic)."""
        self.metadata.create_all(self.engine)

    def init_app(self, app: Flask) -> None:
        app.teardown_appcontext(self._close)

    @property
    def session(self) -> Session:
        """The current request's session."""
        if "rp_db_session" not in g:
            g.rp_db_session = self.sessionmaker()
        return g.rp_db_session

    @staticmethod
    def _close(_error: BaseException | None) -> None:
        session = g.pop("rp_db_session", None)
        if session is not None:
            session.close()


def instance_sqlite(app: Flask, name: str) -> str:
    """The default database: ``NAME.sqlite`` in the app's instance folder."""
    folder = Path(app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / (name + '.sqlite')}"


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
