"""``python -m clients.municipal --config FILE``: the app's own settings, its own database under
Alembic (SQLite by default, PostgreSQL by URL), and the faults an operator meets at start."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from live import free_port
from sqlalchemy import create_engine, inspect, text

from clients.municipal import create_app
from clients.municipal.models import Base
from clients.municipal.settings import load_settings

ROOT = Path(__file__).parents[2]


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith("MUNICIPAL_")}
    return subprocess.Popen([sys.executable, "-m", "clients.municipal", *args], cwd=ROOT,
                            env={**environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def tables_of(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_app_runs_from_its_settings_file_with_its_own_migrated_database(tmp_path):
    config = tmp_path / "municipal.toml"
    database = tmp_path / "m.sqlite"
    config.write_text(f'[municipal]\ndatabase_url = "sqlite:///{tmp_path / "unused.sqlite"}"\n'
                      '[visits]\ncapacity = 2\n')
    port = free_port()
    # The environment overrides the file.
    process = start("--config", str(config), "--client-secret", "s", "--port", str(port),
                    env={"MUNICIPAL_MUNICIPAL_DATABASE_URL": f"sqlite:///{database}"})
    try:
        home = None
        for _ in range(100):
            try:
                home = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.2)
        assert home is not None and home.status_code == 200 and 'dir="rtl"' in home.text
    finally:
        process.terminate()
        process.wait(timeout=10)
    tables = tables_of(f"sqlite:///{database}")
    assert {"citizens", "login_sessions", "municipal_alembic_version"} <= tables
    assert not (tmp_path / "unused.sqlite").exists()


@pytest.mark.parametrize(("files", "fault"), [
    ({"municipal.toml": "[visits]\ncapcity = 2\n"}, "unknown keys ['capcity']"),
    ({"municipal.toml": '[municipal]\nregistry_path = "registry.toml"\n',
      "registry.toml": "[[property]]\nrenovation_code = '1'\n"}, "address missing"),
    ({"municipal.toml": '[municipal]\nregistry_path = "none.toml"\n'}, "cannot be read"),
    ({"municipal.toml": '[municipal]\nratelimit_storage_uri = "127.0.0.1:6379"\n'},
     "municipal.ratelimit_storage_uri: '127.0.0.1:6379' is not a storage URI"),
    ({"municipal.toml": '[municipal]\nratelimit_storage_uri = "memcached://h:11211"\n'},
     "municipal.ratelimit_storage_uri: 'pymemcache' prerequisite not available"),
])
def test_a_bad_settings_or_registry_file_stops_the_start_in_one_clear_line(tmp_path, files,
                                                                           fault):
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    process = start("--config", str(tmp_path / "municipal.toml"), "--client-secret", "s",
                    "--port", str(free_port()))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and fault in lines[0] and lines[0].startswith("municipal: ")
    assert "Traceback" not in stderr


def test_a_run_without_its_client_secret_is_refused():
    process = start("--port", str(free_port()))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2 and "--client-secret" in stderr


def test_a_database_from_before_alembic_is_adopted_and_upgraded(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_engine(url)
    Base.metadata.tables["citizens"].create(engine)
    Base.metadata.tables["login_sessions"].create(engine)
    Base.metadata.tables["seen_logout_tokens"].create(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO citizens (subject, given_name, family_name, created_at, "
                          "updated_at) VALUES ('s', 'علی', 'رضایی', '2026-01-01', "
                          "'2026-01-01')"))
    engine.dispose()
    app = create_app("http://127.0.0.1:9", "municipal", "s", "http://127.0.0.1:8", url,
                     settings=load_settings(environ={}))
    app.extensions["rp"].db.engine.dispose()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT given_name FROM citizens")).scalar_one() == "علی"
        head = conn.execute(text("SELECT version_num FROM municipal_alembic_version"))
        assert head.scalar_one() is not None
    engine.dispose()


def test_postgresql_by_url(services_database):
    app = create_app("http://127.0.0.1:9", "municipal", "s", "http://127.0.0.1:8",
                     services_database, settings=load_settings(environ={}))
    app.extensions["rp"].db.engine.dispose()
    assert {"citizens", "login_sessions", "municipal_alembic_version"} <= \
        tables_of(services_database)
    # A second start finds the schema current.
    again = create_app("http://127.0.0.1:9", "municipal", "s", "http://127.0.0.1:8",
                       services_database, settings=load_settings(environ={}))
    again.extensions["rp"].db.engine.dispose()
