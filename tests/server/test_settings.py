"""Settings: the loopback test behind the exposure rule, for the gRPC, HTTP and metrics addresses."""

from __future__ import annotations

import pytest

from server.settings import is_loopback, load_settings, split_address

# Each of these passed the old string-prefix test.
ATTACKS = [
    "127.evil.example:1",        # a name that merely starts with "127."
    "localhost.evil.example:1",  # a name that merely starts with "localhost"
    "::1234:1",                  # bare IPv6 that starts with "::1" (and is ambiguous without brackets)
    "::1:50051",                 # bare IPv6 with a port: must be written [::1]:50051
    "127.0.0.1",                 # no port
    "127.0.0.1:http",
    "127.0.0.1:65536",
    "127.0.0.1:١٢",              # non-ASCII digits
]
NOT_LOOPBACK = ["[::1234]:1", "[::]:1", "0.0.0.0:8080", ":8080", "10.1.2.3:1", "[::ffff:10.0.0.1]:1",
                "no-such-host.invalid:1", "[::1]", "[::1:1", ""]
LOOPBACK = ["LOCALHOST:1", "127.0.0.1:50051", "127.0.0.2:8080", "127.255.255.254:1", "localhost:8080", "[::1]:8080",
            "127.0.0.1:0"]


@pytest.mark.parametrize("address", ATTACKS)
def test_attack_strings_are_not_loopback(address):
    assert is_loopback(address) is False


def test_loopback_means_every_resolved_address_is_loopback():
    assert {a: is_loopback(a) for a in LOOPBACK} == dict.fromkeys(LOOPBACK, True)
    assert {a: is_loopback(a) for a in NOT_LOOPBACK} == dict.fromkeys(NOT_LOOPBACK, False)


def test_split_address():
    assert split_address("[::1]:8080") == ("::1", 8080)
    assert split_address("localhost:1") == ("localhost", 1)
    with pytest.raises(ValueError, match="brackets"):
        split_address("::1:8080")
    with pytest.raises(ValueError, match="HOST:PORT"):
        split_address("127.0.0.1:x")


@pytest.mark.parametrize("flag, address", [
    *(("http_address", a) for a in ("0.0.0.0:1", "[::]:1", "127.evil.example:1", "localhost.evil.example:1")),
    *(("address", a) for a in ("127.evil.example:1", "localhost.evil.example:1")),
])
def test_every_listener_beyond_loopback_needs_auth_then_tls(flag, address):
    with pytest.raises(ValueError, match="requires --auth"):
        load_settings({flag: address}, environ={})
    with pytest.raises(ValueError, match="requires TLS"):
        load_settings({flag: address, "auth": True}, environ={})
    s = load_settings({flag: address, "auth": True, "allow_insecure": True}, environ={})
    assert getattr(s, flag) == address
    s = load_settings({flag: address, "auth": True, "tls_cert": "c.pem", "tls_key": "k.pem"}, environ={})
    assert getattr(s, flag) == address


def test_http_address_from_the_environment_is_checked_too():
    with pytest.raises(ValueError, match="--http-address 0.0.0.0:8080 .*requires --auth"):
        load_settings({}, environ={"MESHSMITH_HTTP_ADDRESS": "0.0.0.0:8080"})
    assert load_settings({}, environ={"MESHSMITH_HTTP_ADDRESS": "off"}).http_address is None


def test_open_metrics_address_must_be_loopback():
    s = load_settings({"metrics_address": "127.0.0.1:9100"}, environ={})
    assert s.metrics_address == "127.0.0.1:9100"
    for address in ("0.0.0.0:9100", "127.evil.example:9100"):
        with pytest.raises(ValueError, match="must be a loopback address"):
            load_settings({"metrics_address": address, "auth": True, "allow_insecure": True}, environ={})


def test_http_limits_are_bounded():
    for bad, flag in (({"http_idle_timeout_s": 0}, "http-idle-timeout"), ({"http_idle_timeout_s": 1e9}, "http-idle-timeout"),
                      ({"http_max_connections": 0}, "http-max-connections "),
                      ({"http_max_connections_per_peer": 0}, "http-max-connections-per-peer"),
                      ({"http_max_connections_per_peer": 10**7}, "http-max-connections-per-peer")):
        with pytest.raises(ValueError, match=flag):
            load_settings(bad, environ={})
    assert load_settings({"http_max_connections_per_peer": 8}, environ={}).http_max_connections_per_peer == 8


def test_gpu_workers_default_to_one_with_a_model_and_are_bounded():
    assert load_settings({}, environ={}).gpu_pool_size == 0  # no model: no GPU pool, nothing changes
    with_model = load_settings({"models": {"depth": "/models/d"}}, environ={})
    assert with_model.gpu_pool_size == 1
    # a hosted backend loads no model: its jobs wait on HTTP in the classical pool, so it starts no GPU pool
    assert load_settings({"models": {"remote": "tripo"}}, environ={}).gpu_pool_size == 0
    assert load_settings({"models": {"remote": "tripo", "depth": "/m"}}, environ={}).gpu_pool_size == 1
    assert load_settings({"models": {"depth": "/m"}, "gpu_workers": 0}, environ={}).gpu_pool_size == 0  # shared pool
    assert load_settings({"models": {"depth": "/m"}}, environ={"MESHSMITH_GPU_WORKERS": "3"}).gpu_pool_size == 3
    for bad in (-1, 17):
        with pytest.raises(ValueError, match=r"--gpu-workers must be a whole number in \[0, 16\]"):
            load_settings({"models": {"depth": "/m"}, "gpu_workers": bad}, environ={})
    for models in ({}, {"remote": "tripo"}):  # a hosted backend loads nothing: it would leave the pool idle
        with pytest.raises(ValueError, match="no local --model KIND=DIR is given"):
            load_settings({"models": models, "gpu_workers": 2}, environ={})
