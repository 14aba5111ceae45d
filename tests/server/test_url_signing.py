"""Signed URLs: the secret file, and what a signature covers."""

from __future__ import annotations

import os
import stat
import time

import pytest

from meshsmith.errors import InvalidInput, Unauthenticated
from server.url_signing import SECRET_FILE, UrlSigner, load_secret


def _query(url: str) -> dict:
    return dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))


def test_secret_is_created_0600_kept_and_repaired(tmp_path):
    secret = load_secret(tmp_path)
    path = tmp_path / SECRET_FILE
    assert len(secret) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path) == secret  # the same across restarts
    os.chmod(path, 0o644)
    assert load_secret(tmp_path) == secret and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="not a 32-byte secret"):
        load_secret(tmp_path)


def test_signature_covers_path_params_expiry_and_key():
    signer = UrlSigner(b"k" * 32, max_ttl_s=600)
    url = signer.sign("/assets/props/chair@stable", "abc123", 60, params={"lod": "1"})
    q = _query(url)
    assert signer.verify("/assets/props/chair@stable", q) == ("abc123", int(q["exp"]))
    for path, query in [
        ("/assets/props/chair@latest", q),
        ("/assets/props/chair@stable", {**q, "lod": "0"}),
        ("/assets/props/chair@stable", {k: v for k, v in q.items() if k != "lod"}),
        ("/assets/props/chair@stable", {**q, "kid": "abc124"}),
        ("/assets/props/chair@stable", {**q, "exp": str(int(q["exp"]) - 1)}),
    ]:
        with pytest.raises(Unauthenticated, match="does not match"):
            signer.verify(path, query)
    with pytest.raises(Unauthenticated, match="signed by another server"):
        UrlSigner(b"x" * 32).verify("/assets/props/chair@stable", q)


def test_expiry_is_capped_and_checked():
    signer = UrlSigner(b"k" * 32, max_ttl_s=600)
    for ttl in (0, 601, -1):
        with pytest.raises(InvalidInput, match="1 to 600 seconds"):
            signer.sign("/blobs/x", "abc", ttl)
    past = signer.sign("/blobs/x", "abc", 60, exp=int(time.time()) - 5)
    with pytest.raises(Unauthenticated, match="expired"):
        signer.verify("/blobs/x", _query(past))
    long = UrlSigner(b"k" * 32, max_ttl_s=86400).sign("/blobs/x", "abc", 86400)
    with pytest.raises(Unauthenticated, match="beyond the server's 600 s cap"):
        signer.verify("/blobs/x", _query(long))  # the cap was lowered since it was issued
    for bad in ({"exp": "1e9", "kid": "abc", "sig": "a" * 43}, {"exp": "1", "kid": "ABC", "sig": "a" * 43},
                {"exp": "1", "kid": "abc", "sig": "é" * 43}, {}):
        with pytest.raises(Unauthenticated, match="exp, kid and sig"):
            signer.verify("/blobs/x", bad)
