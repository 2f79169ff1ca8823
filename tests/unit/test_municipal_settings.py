"""The municipal app's settings (TOML + ``MUNICIPAL_<SECTION>_<KEY>``) and its sandbox property
registry: what the issue fixes as contracts, and the files it must refuse in one clear line."""

from pathlib import Path

import pytest

from clients.municipal.registry import RegistryError, TomlRegistry, normalise, parse_jalali
from clients.municipal.settings import SettingsError, load_settings

EXAMPLE = Path(__file__).parents[2] / "clients" / "municipal" / "config.example.toml"
SANDBOX = Path(__file__).parents[2] / "clients" / "municipal" / "sandbox_registry.toml"


def test_the_example_file_names_every_key_and_loads():
    settings = load_settings(EXAMPLE, environ={})
    assert settings.visits.hours[0] == "09:00" and settings.visits.capacity == 3
    assert settings.payment.gateway_url.startswith("http://")
    text = EXAMPLE.read_text()
    for key in ("database_url", "upload_dir", "registry_path", "sms_outbox_path", "staff",
                "support_phone", "ratelimit_storage_uri", "capacity", "hours", "days_ahead",
                "holidays", "code_lifetime_seconds", "max_bytes", "max_files", "gateway_url",
                "merchant_id", "secret"):
        assert f"\n{key} = " in text, key


def test_environment_overrides_the_file(tmp_path):
    config = tmp_path / "m.toml"
    config.write_text('[municipal]\nsupport_phone = "1888"\nupload_dir = "up"\n'
                      '[visits]\ncapacity = 2\n')
    settings = load_settings(config, environ={
        "MUNICIPAL_VISITS_CAPACITY": "5", "MUNICIPAL_MUNICIPAL_STAFF": "0499370899, 1214792235",
        "MUNICIPAL_VISITS_HOLIDAYS": "2026-03-21,2026-04-01",
        "MUNICIPAL_PAYMENT_SECRET": "s3cret",
        "MUNICIPAL_MUNICIPAL_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/3"})
    assert settings.visits.capacity == 5
    assert settings.municipal.support_phone == "1888"
    assert settings.municipal.staff == ["0499370899", "1214792235"]
    assert settings.payment.secret == "s3cret"
    assert settings.municipal.ratelimit_storage_uri == "redis://127.0.0.1:6379/3"
    assert type(settings.ratelimit_storage()).__name__ == "RedisStorage"
    assert load_settings(None, environ={}).municipal.ratelimit_storage_uri == "memory://"
    assert len(settings.holiday_dates()) == 2
    # Relative paths are the file's folder's.
    assert settings.path(settings.municipal.upload_dir) == tmp_path / "up"


@pytest.mark.parametrize(("text", "environ", "fault"), [
    ("[municipal]\ndatabse_url = 'x'\n", {}, "unknown keys ['databse_url']"),
    ("[visit]\ncapacity = 1\n", {}, "unknown sections ['visit']"),
    ("[visits]\nhours = ['9']\n", {}, "visits.hours"),
    ("[visits]\nholidays = ['1404/01/01']\n", {}, "visits.holidays"),
    ("[visits]\ncapacity = 0\n", {}, "visits.capacity"),
    ("", {"MUNICIPAL_UPLOADS_MAX_BYTES": "lots"}, "uploads.max_bytes"),
    ("[municipal]\nstaff = ['123']\n", {}, "municipal.staff"),
    ("[municipal\n", {}, "not valid TOML"),
    ("[municipal]\nratelimit_storage_uri = 'localhost:6379'\n", {},
     "municipal.ratelimit_storage_uri: 'localhost:6379' is not a storage URI"),
    ("", {"MUNICIPAL_MUNICIPAL_RATELIMIT_STORAGE_URI": "async+redis://localhost"},
     "municipal.ratelimit_storage_uri"),
    ("", {"MUNICIPAL_MUNICIPAL_RATELIMIT_STORAGE_URI": ""}, "municipal.ratelimit_storage_uri"),
    ("", {"MUNICIPAL_MUNICIPAL_SECRET_KEY": "short"}, "municipal.secret_key"),
])
def test_bad_settings_are_refused_naming_the_fault(tmp_path, text, environ, fault):
    config = tmp_path / "m.toml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=None) as raised:
        load_settings(config, environ=environ)
    assert fault in str(raised.value) and "\n" not in str(raised.value)


def test_a_storage_whose_client_library_is_missing_is_one_clear_line():
    settings = load_settings(None, environ={
        "MUNICIPAL_MUNICIPAL_RATELIMIT_STORAGE_URI": "memcached://127.0.0.1:11211"})
    with pytest.raises(SettingsError) as raised:
        settings.ratelimit_storage()
    assert str(raised.value).startswith("municipal.ratelimit_storage_uri: ")
    assert "pymemcache" in str(raised.value) and "\n" not in str(raised.value)


def test_the_sandbox_registry_finds_codes_however_typed():
    registry = TomlRegistry(SANDBOX)
    found = registry.find("۱۰ ۱۲۳ ۴۵۶ ۷")
    assert found is not None and found.renovation_code == "10-123-456-7"
    assert registry.find("1012345671") is None and registry.find("") is None
    assert found.role_of("0499370899") == "owner"
    assert found.role_of("1214792235") == "attorney"
    assert found.role_of("2607114462") is None and found.role_of(None) is None
    assert found.answered("۱۴۰۱/۵۵۸۷۱").number == "1401-55871"
    assert found.answered("1401-55872") is None and found.answered("") is None
    assert found.dues_rials == 18500000
    assert found.latest_certificate().issued == parse_jalali("1401/05/12")
    assert registry.find("22-700-015-1").latest_certificate() is None


def test_normalise_and_jalali_dates():
    assert normalise(" ۱۰-۱۲۳/٤٥٦\u200c.7 ") == "101234567"
    assert parse_jalali("۱۴۰۴/۰۲/۱۵").month == 2
    assert parse_jalali("1404/13/01") is None and parse_jalali("1404-02-15") is None


@pytest.mark.parametrize(("text", "fault"), [
    ("[[property]]\naddress = 'a'\nowners = ['0499370899']\n", "renovation_code missing"),
    ("[[property]]\nrenovation_code = '1'\naddress = 'a'\nowners = ['049937089']\n",
     "owners must be a list of 10-digit national codes"),
    ("[[property]]\nrenovation_code = '1'\naddress = 'a'\nowners = []\n", "at least one owner"),
    ("[[property]]\nrenovation_code = '1'\naddress = 'a'\nowners = ['0499370899']\n"
     "dues_rials = -5\n", "dues_rials"),
    ("[[property]]\nrenovation_code = '1'\naddress = 'a'\nowners = ['0499370899']\n"
     "[[property.request]]\nnumber = '5'\nissued = '1402/13/40'\n", "issued must be a Jalali"),
    ("[[property]]\nrenovation_code = '1-2'\naddress = 'a'\nowners = ['0499370899']\n"
     "[[property]]\nrenovation_code = '12'\naddress = 'b'\nowners = ['0499370899']\n",
     "appears twice"),
    ("[[property]]\nrenovation_code = '1'\naddress = 'a'\nowner = ['0499370899']\n",
     "unknown keys ['owner']"),
    ("[[property]\n", "not valid TOML"),
])
def test_a_malformed_registry_is_one_clear_line(tmp_path, text, fault):
    path = tmp_path / "registry.toml"
    path.write_text(text)
    with pytest.raises(RegistryError) as raised:
        TomlRegistry(path)
    message = str(raised.value)
    assert fault in message and str(path) in message and "\n" not in message


def test_a_missing_registry_file_is_named(tmp_path):
    with pytest.raises(RegistryError, match="cannot be read"):
        TomlRegistry(tmp_path / "nowhere.toml")
