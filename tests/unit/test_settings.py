"""Settings: TOML file, environment overrides, relative paths."""

import pytest

from idp.settings import load_settings


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.otp.lifetime_seconds == 120
    assert settings.otp.max_attempts == 5
    assert settings.otp.resend_cooldown_seconds == 60
    assert settings.captcha.enabled is True
    assert settings.ratelimit.enabled is True
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'idp.sqlite3'}"
    assert settings.registries.sandbox_path == ""  # the demo file (DEMO_SANDBOX)


def test_file_then_environment(tmp_path):
    config = tmp_path / "conf" / "idp.toml"
    config.parent.mkdir()
    config.write_text('[otp]\nmax_attempts = 3\n[sms]\noutbox_path = "out/sms.jsonl"\n'
                      '[[clients]]\nclient_id = "a"\n')
    settings = load_settings(config, environ={"IDP_OTP_MAX_ATTEMPTS": "7",
                                              "IDP_CAPTCHA_ENABLED": "false",
                                              "IDP_DATABASE_URL": "postgresql+psycopg://x/y"})
    assert settings.otp.max_attempts == 7
    assert settings.captcha.enabled is False
    assert settings.database_url == "postgresql+psycopg://x/y"
    assert settings.path(settings.sms.outbox_path) == tmp_path / "conf" / "out" / "sms.jsonl"
    assert settings.clients == [{"client_id": "a"}]


def test_idp_config_names_the_file(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[server]\nissuer = 'https://my.gov.ir'\n")
    assert load_settings(environ={"IDP_CONFIG": str(config)}).server.issuer == "https://my.gov.ir"


@pytest.mark.parametrize("text", ["[otp]\nmax_tries = 3\n", "[captcha]\nenabled = 'maybe'\n"])
def test_mistakes_are_refused(tmp_path, text):
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ValueError):
        load_settings(config, environ={})
