"""``idp audit``: the audit trail from the command line, as JSON lines, run as a process."""

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from flow import authorize_url, login

from idp.models import AuditEvent

IDP = str(Path(sys.executable).parent / "idp")


@pytest.fixture
def audit(app, settings, tmp_path):
    """Runs ``idp audit ARGS`` against the app's database; returns (exit code, lines, stderr)."""
    config = tmp_path / "audit.toml"
    config.write_text(f"[server]\nissuer = 'http://localhost'\n"
                      f"instance_path = '{settings.instance_dir}'\n"
                      f"[database]\nurl = '{settings.database_url}'\n", encoding="utf-8")

    def run(*args: str):
        done = subprocess.run([IDP, "--config", str(config), "audit", *args],
                              capture_output=True, text=True, timeout=60)
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        return done.returncode, lines, done.stderr

    return run


def add_events(app, *rows: tuple[str, str, str | None, str | None]) -> None:
    """Rows of (ISO time, event, account id, client id), written as the provider writes them."""
    with app.app_context():
        session = app.extensions["idp"].db.session
        for at, event, account_id, client_id in rows:
            session.add(AuditEvent(at=datetime.fromisoformat(at), event=event,
                                   account_id=account_id, client_id=client_id, ip="10.0.0.1",
                                   detail={"grant_type": "client_credentials"}))
        session.commit()


def test_a_citizens_login_is_found_by_national_code_in_persian_digits(app, client, audit):
    login(client, app, authorize_url())
    code, lines, _ = audit("--citizen", "۰۴۹۹۳۷۰۸۹۹")
    assert code == 0
    events = [line["event"] for line in lines]
    assert "account.created" in events and "login.success" in events
    account_id = lines[0]["account_id"]
    assert {line["account_id"] for line in lines} == {account_id}
    assert [line["event"] for line in audit("--citizen", account_id)[1]] == events
    success = audit("--citizen", "0499370899", "--event", "login.success")[1]
    assert [line["event"] for line in success] == ["login.success"]
    assert success[0]["client_id"] == "test-rp"
    assert set(success[0]) == {"id", "at", "event", "account_id", "client_id", "ip", "detail"}


def test_filters_by_client_event_and_time_newest_within_the_limit(app, audit):
    add_events(app,
               ("2026-01-01T10:00:00", "token.issued", None, "tax"),
               ("2026-01-02T10:00:00", "token.issued", None, "tax"),
               ("2026-01-03T10:00:00", "token.revoked", None, "tax"),
               ("2026-01-04T10:00:00", "token.issued", None, "post"))
    code, lines, _ = audit("--client", "tax")
    assert code == 0
    assert [line["at"] for line in lines] == ["2026-01-01T10:00:00+00:00",
                                             "2026-01-02T10:00:00+00:00",
                                             "2026-01-03T10:00:00+00:00"]
    issued = audit("--client", "tax", "--event", "token.issued")[1]
    assert [line["at"][:10] for line in issued] == ["2026-01-01", "2026-01-02"]
    both = audit("--event", "token.revoked", "--event", "token.issued", "--since", "2026-01-02")
    assert [line["client_id"] for line in both[1]] == ["tax", "tax", "post"]
    # --until is exclusive; a zone is honoured (13:30 Tehran = 10:00 UTC).
    window = audit("--since", "2026-01-02T00:00:00", "--until", "2026-01-03T13:30:00+03:30")[1]
    assert [line["at"][:10] for line in window] == ["2026-01-02"]
    newest = audit("--limit", "2")[1]
    assert [line["at"][:10] for line in newest] == ["2026-01-03", "2026-01-04"]
    assert newest[0]["detail"] == {"grant_type": "client_credentials"}


def test_bad_input_is_told_in_one_line(audit):
    code, lines, err = audit("--since", "yesterday")
    assert code == 2 and not lines and "ISO 8601" in err and "Traceback" not in err
    code, lines, err = audit("--citizen", "0499370899")  # nobody has logged in yet
    assert code == 1 and not lines and "no account" in err and "Traceback" not in err
    assert audit("--limit", "0")[0] == 2
