"""Shared fixtures: a provider app on embedded defaults, and on PostgreSQL + Redis when the
``IDP_TEST_DATABASE_URL`` / ``IDP_TEST_REDIS_URL`` services are given (`.ci/run` sets them)."""

import atexit
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from flask import Flask
from jinja2 import FileSystemBytecodeCache

sys.path.insert(0, str(Path(__file__).parent))

from idp.keys import KeyRing
from idp.migrations import upgrade
from idp.models import client as client_model
from idp.settings import Settings

DATABASE_URL = os.environ.get("IDP_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL", "")
TEST_CLIENTS = [
    {"client_id": "test-rp", "client_secret": "test-rp-secret", "name": "سامانه آزمایشی",
     "redirect_uris": ["https://rp.example/cb"],
     "post_logout_redirect_uris": ["https://rp.example/bye"],
     "scope": "openid profile email phone address national_id offline_access"},
    {"client_id": "test-first", "client_secret": "test-first-secret", "name": "سامانه خودی",
     "redirect_uris": ["https://first.example/cb"], "first_party": True},
    {"client_id": "test-public", "name": "اپلیکیشن آزمایشی", "public": True,
     "redirect_uris": ["https://app.example/cb"]},
]


@pytest.fixture(scope="session", autouse=True)
def cheap_startup(tmp_path_factory):
    """What every app a test starts would redo at production cost, done cheaply: client
    secrets hashed with argon2's cheapest parameters (production keeps argon2-cffi's
    defaults; tenths of a second per ``[[clients]]`` secret check nothing more), and each
    template compiled once per run instead of once per app."""
    bytecode = FileSystemBytecodeCache(str(tmp_path_factory.mktemp("jinja")))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client_model, "_hasher", PasswordHasher.from_parameters(CHEAPEST))
        patch.setattr(Flask, "jinja_options", {**Flask.jinja_options, "bytecode_cache": bytecode})
        yield


@cache
def run_folder() -> Path:
    """What the tests of one run share (keys, a migrated database); removed when it ends."""
    folder = Path(tempfile.mkdtemp(prefix="idp-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@cache
def run_keys() -> Path:
    """Signing keys generated once per run (an RSA key takes a tenth of a second)."""
    folder = run_folder() / "keys"
    KeyRing(folder, retention_seconds=600).ensure()
    return folder


@cache
def embedded_schema() -> Path:
    """An embedded database at the newest schema, migrated once per run: each test's database
    starts as a copy of it. Tests of the migrations run them on databases of their own."""
    path = run_folder() / "idp.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


def seed_provider(base_dir: Path, *, keys: Path, embedded: bool) -> None:
    """A test's provider folder at ``base_dir``: the run's keys in ``keys/`` and, on the
    embedded backend, a database at the newest schema in ``instance/``."""
    shutil.copytree(keys, base_dir / "keys", dirs_exist_ok=True)
    if embedded:
        (base_dir / "instance").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(embedded_schema(), base_dir / "instance" / "idp.sqlite3")


@pytest.fixture(scope="session")
def key_folder() -> Path:
    """Keys are generated once per run and copied into each test's folder."""
    return run_keys()


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new, empty PostgreSQL database beside ``IDP_TEST_DATABASE_URL``'s (skips the test
    without it); its URL, and it is dropped afterwards."""
    if not DATABASE_URL:
        pytest.skip("IDP_TEST_DATABASE_URL is not set")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"idp_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def services_database() -> Iterator[str]:
    """A scratch PostgreSQL database for this run, dropped at the end."""
    with scratch_database() as url:
        yield url


def dead_redis():
    """A Redis client of a port nobody listens on: every command fails at once, without
    redis-py's default retries and their back-off (seconds per command)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))


def _reset_services(database_url: str) -> None:
    import redis
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(database_url)
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    if tables:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
    engine.dispose()
    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture(params=["embedded", "services"])
def backend(request) -> str:
    if request.param == "services" and not (DATABASE_URL and REDIS_URL):
        pytest.skip("PostgreSQL/Redis not configured (IDP_TEST_DATABASE_URL, IDP_TEST_REDIS_URL)")
    return request.param


def make_settings(tmp_path: Path, key_folder: Path, *, database_url: str = "",
                  redis_url: str = "", clients=None, migrated: bool = True) -> Settings:
    """Settings for an app on ``tmp_path``; its embedded database (when ``database_url`` is
    empty) is already at the newest schema unless ``migrated`` is false."""
    settings = Settings(base_dir=tmp_path)
    settings.server.issuer = "http://localhost"
    settings.server.secret_key = "test-secret-key"
    seed_provider(tmp_path, keys=key_folder, embedded=migrated and not database_url)
    settings.database.url = database_url
    settings.redis.url = redis_url
    settings.captcha.enabled = False
    settings.ratelimit.enabled = False
    settings.clients = list(TEST_CLIENTS if clients is None else clients)
    return settings


@pytest.fixture
def settings(request, tmp_path, key_folder, backend) -> Settings:
    if backend == "services":
        database_url = request.getfixturevalue("services_database")
        _reset_services(database_url)
        return make_settings(tmp_path, key_folder, database_url=database_url,
                             redis_url=REDIS_URL)
    # A test marked empty_database starts the app on no database file at all, as a first start.
    return make_settings(tmp_path, key_folder,
                         migrated=request.node.get_closest_marker("empty_database") is None)


@pytest.fixture
def app(settings):
    from idp import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["idp"].db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()
