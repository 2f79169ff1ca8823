"""The idp command against a scratch config: database, keys and clients."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from live import free_port

from idp import startup
from idp.cli import main


@pytest.fixture
def run(tmp_path):
    config = tmp_path / "idp.toml"
    config.write_text("[server]\nissuer = 'http://localhost'\n")

    def invoke(*args: str):
        return CliRunner().invoke(main, ["--config", str(config), *args])

    return invoke


def test_db_upgrade_is_idempotent(run):
    assert run("db", "upgrade").exit_code == 0
    assert run("db", "upgrade").exit_code == 0


def test_clients_add_prints_json_and_list_hides_secrets(run):
    result = run("clients", "add", "--name", "شهرداری", "--redirect-uri",
                 "https://rp.example/cb", "--scope", "openid profile")
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["client_id"] and len(created["client_secret"]) >= 32
    listed = json.loads(run("clients", "list").output)
    assert listed[0]["client_id"] == created["client_id"]
    assert created["client_secret"] not in run("clients", "list").output
    assert run("clients", "remove", created["client_id"]).exit_code == 0
    assert json.loads(run("clients", "list").output) == []


def test_public_client_has_no_secret(run):
    result = run("clients", "add", "--name", "app", "--redirect-uri", "https://a.example/cb",
                 "--public")
    created = json.loads(result.output)
    assert created["client_secret"] is None
    assert created["token_endpoint_auth_method"] == "none"


@pytest.mark.parametrize("args", [
    ["--redirect-uri", "http://evil.example/cb"],
    ["--redirect-uri", "https://a.example/cb#frag"],
    ["--redirect-uri", "https://a.example/cb", "--scope", "profile"],
    ["--redirect-uri", "https://a.example/cb", "--auth-method", "private_key_jwt"],
])
def test_bad_registrations_are_refused(run, args):
    result = run("clients", "add", "--name", "x", *args)
    assert result.exit_code != 0


def test_keys_list_and_rotate(run, tmp_path):
    first = [json.loads(line) for line in run("keys", "list").output.splitlines()]
    assert {k["alg"] for k in first} == {"RS256", "ES256"}
    assert run("keys", "rotate").exit_code == 0
    after = [json.loads(line) for line in run("keys", "list").output.splitlines()]
    assert len(after) == 4
    assert {k["status"] for k in after if k["kid"] in {f["kid"] for f in first}} == {"retired"}
    for path in (tmp_path / "keys").glob("*.jwk.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_clients_add_registers_resources(run):
    result = run("clients", "add", "--name", "بیمه", "--redirect-uri", "https://rp.example/cb",
                 "--resource", "https://api.example/", "--resource", "https://files.example/")
    assert result.exit_code == 0, result.output
    listed = json.loads(run("clients", "list").output)
    assert listed[0]["resources"] == ["https://api.example/", "https://files.example/"]
    refused = run("clients", "add", "--name", "x", "--redirect-uri", "https://rp.example/cb",
                  "--resource", "https://api.example/#frag")
    assert refused.exit_code != 0 and "resource" in refused.output


# --- A configuration that cannot work is told in one line, not dumped (issue 9) --------------

BAD_CONFIGURATIONS = {
    "unknown key": ('[server]\nisuer = "http://localhost"\n', "[server]: unknown keys ['isuer']"),
    "missing sandbox file": ('[registries]\nsandbox_path = "people.toml"\n',
                             "people.toml: No such file or directory"),
    "unreachable database": ('[database]\nurl = "postgresql+psycopg://idp@127.0.0.1:{port}/idp"\n',
                             "cannot be reached"),
    "unknown client key": ('[[clients]]\nclient_id = "rp"\nclient_secret = "s"\nname = "RP"\n'
                           'redirect_uris = ["https://rp.example/cb"]\nfrist_party = true\n',
                           "[[clients]] rp: unknown keys ['frist_party']"),
}
IDP = [sys.executable, "-c", "from idp.cli import main; main()"]


def bad_config(tmp_path, problem: str) -> tuple[Path, str]:
    text, told = BAD_CONFIGURATIONS[problem]
    config = tmp_path / "idp.toml"
    config.write_text(text.replace("{port}", str(free_port())))
    return config, told


def run_until_exit(command: list[str], config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=config.parent, env=os.environ | {"IDP_CONFIG": str(config)},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("problem", BAD_CONFIGURATIONS)
@pytest.mark.parametrize("command", [["serve", "--port", "0"],
                                     ["serve", "--workers", "1", "--port", "0"],
                                     ["db", "upgrade"]], ids=["serve", "serve-workers", "db"])
def test_a_bad_configuration_stops_the_command_with_one_line(tmp_path, problem, command):
    config, told = bad_config(tmp_path, problem)
    result = CliRunner().invoke(main, ["--config", str(config), *command])
    assert result.exit_code == startup.EXIT_CONFIGURATION
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("idp: cannot start: ") and told in line
    assert result.stdout == "" and not isinstance(result.exception, Exception)


def test_the_process_exits_with_the_one_line(tmp_path):
    """The same through a real process: its exit status and its whole stderr."""
    config, told = bad_config(tmp_path, "unreachable database")
    result = run_until_exit([*IDP, "db", "upgrade"], config)
    assert result.returncode == startup.EXIT_CONFIGURATION
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert told in result.stderr and "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("problem", ["unknown key", "missing sandbox file"])
def test_a_bad_configuration_stops_gunicorn_with_one_line(tmp_path, problem):
    config, told = bad_config(tmp_path, problem)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = run_until_exit([str(gunicorn), "--bind", f"127.0.0.1:{free_port()}",
                             "--no-control-socket", "idp.wsgi:app"], config)
    assert result.returncode != 0  # 4, "App failed to load": not a worker booted forever
    assert result.stderr.count(told) == 1 and "Traceback" not in result.stderr


def test_a_bad_configuration_stops_granian_with_one_line(tmp_path):
    config, told = bad_config(tmp_path, "unknown key")
    result = run_until_exit([sys.executable, "-m", "granian", "--interface", "wsgi",
                             "--port", str(free_port()), "idp.wsgi:app"], config)
    assert result.returncode != 0
    assert result.stderr.count(told) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(("text", "told"), [
    ("[servr]\nissuer = 'x'\n", "unknown sections ['servr']"),
    ("[server\n", "not valid TOML"),
    ("[otp]\nlength = 'six'\n", "otp.length: expected a number"),
    ("[[clients]]\nclient_id = 'rp'\nname = 'RP'\nredirect_uris = ['http://evil.example/cb']\n",
     "[[clients]] rp: redirect URI must use https"),
])
def test_other_bad_configurations_are_told(tmp_path, text, told):
    config = tmp_path / "idp.toml"
    config.write_text(text)
    result = CliRunner().invoke(main, ["--config", str(config), "db", "upgrade"])
    assert result.exit_code == startup.EXIT_CONFIGURATION and told in result.stderr
