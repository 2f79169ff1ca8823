"""The idp command against a scratch config: database, keys and clients."""

import json
import stat

import pytest
from click.testing import CliRunner

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
    rotated = run("keys", "rotate")
    assert rotated.exit_code == 0
    upcoming = {k["kid"] for k in json.loads(rotated.output)["next"]}
    after = [json.loads(line) for line in run("keys", "list").output.splitlines()]
    assert len(after) == 4
    # Published at once, signing only after [keys] publish_ahead_seconds.
    assert {k["status"] for k in after if k["kid"] in {f["kid"] for f in first}} == {"current"}
    assert {k["kid"] for k in after if k["status"] == "next"} == upcoming
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
