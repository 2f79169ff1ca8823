"""The phone app's own file: private (0600 in a 0700 folder), written whole, read back as
written, refused when others can read it."""

import os
import stat

import pytest

from clients.phone import state as statefile
from clients.phone.app import Phone
from clients.phone.messages import Exit, PhoneError
from clients.phone.state import Device, State, StateFileError, Tokens


def _state(**changes) -> State:
    state = State(
        issuer="https://my.gov.ir", client_id="phone-app", redirect_uri="https://app/cb",
        sub="citizen-1",
        tokens=Tokens(access_token="at", expires_at=1_800_000_000, refresh_token="rt",
                      id_token="it", scope="openid qr:approve"),
        device=Device(device_id="d-1", kid="kid-1", private_jwk={"kty": "EC", "d": "x"},
                      display_name="گوشی علی", platform="android", paired_at=1_700_000_000),
        endpoints={"token_endpoint": "https://my.gov.ir/token"})
    for key, value in changes.items():
        setattr(state, key, value)
    return state


def test_round_trip_and_modes(tmp_path):
    path = tmp_path / "new" / "folder" / "state.json"
    statefile.save(path, _state())
    assert statefile.load(path) == _state()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert "گوشی علی" in path.read_text(encoding="utf-8")


def test_round_trip_without_device_or_tokens(tmp_path):
    path = tmp_path / "state.json"
    statefile.save(path, _state(device=None, tokens=None))
    assert statefile.load(path) == _state(device=None, tokens=None)


def test_replacing_keeps_the_mode_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "state.json"
    statefile.save(path, _state())
    statefile.save(path, _state(sub="citizen-2"))
    assert statefile.load(path).sub == "citizen-2"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_the_mode_does_not_depend_on_the_umask(tmp_path):
    old = os.umask(0)
    try:
        statefile.save(tmp_path / "state.json", _state())
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "state.json").st_mode) == 0o600


def test_no_file_is_no_state(tmp_path):
    assert statefile.load(tmp_path / "missing.json") is None


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_can_read_is_refused(tmp_path, mode):
    path = tmp_path / "state.json"
    statefile.save(path, _state())
    os.chmod(path, mode)
    with pytest.raises(StateFileError) as caught:
        statefile.load(path)
    assert caught.value.kind == "open_mode"
    with pytest.raises(PhoneError) as said:
        _ = Phone(path).state
    assert said.value.exit_code == Exit.STATE and "chmod 600" in said.value.message("en")


@pytest.mark.parametrize("content", [b"", b"not json", b"{}", b'{"format": 99}',
                                     b'{"format": 1, "issuer": "x"}'])
def test_a_broken_file_is_refused_clearly(tmp_path, content):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(PhoneError) as caught:
        _ = Phone(path).state
    assert caught.value.exit_code == Exit.STATE


def test_forget_removes_the_file(tmp_path):
    path = tmp_path / "state.json"
    statefile.save(path, _state())
    assert statefile.forget(path) is True
    assert not path.exists() and statefile.forget(path) is False


def test_default_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert statefile.default_path() == tmp_path / "idp-phone" / "state.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert statefile.default_path() == tmp_path / ".config" / "idp-phone" / "state.json"
