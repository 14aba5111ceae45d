"""The remote backend's configuration, read only in server/settings.py: the key from an owner-only file or
MESHSMITH_TRIPO_API_KEY, never printed; the URL, time limits and vendor spec checked at start."""

from __future__ import annotations

import pytest

from reconstruct.learned import availability
from server.backends import learned_config
from server.settings import load_settings

KEY = "tsk_settings_5d1e0b8a9c"


def _file(tmp_path, text: str = KEY + "\n", mode: int = 0o600):
    path = tmp_path / "key"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_key_comes_from_an_owner_only_file_and_never_shows_in_repr(tmp_path):
    s = load_settings({"remote_key_file": _file(tmp_path)}, environ={"MESHSMITH_TRIPO_API_KEY": "tsk_env_loses"})
    assert s.remote_key == KEY and s.remote_key_source == f"--remote-key-file {tmp_path / 'key'}"
    config = learned_config(s)
    assert KEY not in repr(s) and KEY not in repr(config) and KEY not in repr(config.remote)
    found = availability("remote", config)
    assert found.available and found.model_id == "tripo:v2.5-20250123" and KEY not in repr(found)


def test_the_key_from_the_environment_and_the_model_version_from_the_model_flag():
    s = load_settings({"models": {"remote": "tripo:v3.0-20250812"}}, environ={"MESHSMITH_TRIPO_API_KEY": KEY})
    remote = learned_config(s).remote
    assert (remote.key, remote.key_source, remote.model_id) == (KEY, "MESHSMITH_TRIPO_API_KEY", "tripo:v3.0-20250812")


def test_without_a_key_remote_is_unavailable_naming_the_flag():
    found = availability("remote", learned_config(load_settings({}, environ={})))
    assert not found.available and "--remote-key-file PATH" in found.reason and "MESHSMITH_TRIPO_API_KEY" in found.reason


@pytest.mark.parametrize("text,mode,message", [
    (KEY, 0o644, r"is readable by others \(mode 644\): chmod 600"),
    ("sk-not-tripo", 0o600, r"is not one \(Tripo keys start with tsk_"),
    ("tsk_two words", 0o600, "is not one"),
])
def test_a_bad_key_file_stops_the_server_at_start_without_echoing_the_key(tmp_path, text, mode, message):
    with pytest.raises(ValueError, match=message) as err:
        load_settings({"remote_key_file": _file(tmp_path, text, mode)}, environ={})
    assert text not in str(err.value)


@pytest.mark.parametrize("overrides,message", [
    ({"remote_url": "http://api.example.com"}, "plain http is allowed only to a loopback address"),
    ({"remote_url": "ftp://127.0.0.1/"}, "must be http"),
    ({"remote_timeout_s": 0.0}, "--remote-timeout: remote_timeout_s must be a number from 1 to 86400 s"),
    ({"remote_poll_s": 120.0}, "--remote-poll"),
    ({"models": {"remote": "meshy"}}, "give remote=tripo or remote=tripo:MODEL_VERSION"),
])
def test_bad_remote_settings_are_refused_at_start(overrides, message):
    with pytest.raises(ValueError, match=message):
        load_settings(overrides, environ={})


def test_https_and_loopback_http_urls_are_accepted():
    assert load_settings({"remote_url": "https://openapi.tripo3d.ai"}, environ={}).remote_url
    assert load_settings({"remote_url": "http://127.0.0.1:8123"}, environ={}).remote_url
    assert load_settings({"remote_url": "http://localhost/v3"}, environ={}).remote_url
