"""Short-lived signed HTTP URLs, so engines and `<img>`/GLTFLoader can fetch without custom headers.

A signed URL is `PATH?[other params&]exp=UNIX_SECONDS&kid=KEY_ID&sig=B64URL` where
sig = HMAC-SHA256(server secret, "PATH\\nCANONICAL_OTHER_PARAMS\\nEXP\\nKID"). The secret is 32 random
bytes in the data dir (`url-signing.key`, mode 0600); deleting it and restarting invalidates every URL.
The URL carries the rights of key KID (reader at least), so revoking the key kills its URLs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import time
from pathlib import Path
from typing import Mapping
from urllib.parse import urlencode

from meshsmith.errors import InvalidInput, Unauthenticated

log = logging.getLogger("meshsmith.server")

SECRET_FILE = "url-signing.key"
SIG_PARAMS = ("exp", "kid", "sig")
DEFAULT_TTL_S = 3600
MAX_TTL_S = 86400
SKEW_S = 60  # tolerated clock difference between servers sharing the secret
_KID = re.compile(r"[0-9a-f]{1,32}")
_EXP = re.compile(r"[0-9]{1,12}")
_SIG = re.compile(r"[A-Za-z0-9_-]{43}")


def load_secret(data_dir: Path) -> bytes:
    """The signing secret of this data dir, created (0600) on first use."""
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("%s was readable by others; setting it to 0600", path)
            os.chmod(path, 0o600)
        secret = path.read_bytes()
        if len(secret) < 32:
            raise ValueError(f"{path} holds {len(secret)} bytes, not a 32-byte secret; delete it to make a new one "
                             "(every signed URL issued so far stops working)")
        return secret
    secret = os.urandom(32)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
        f.flush()
        os.fsync(f.fileno())
    return secret


def _canonical(params: Mapping[str, str]) -> str:
    return urlencode(sorted((k, v) for k, v in params.items() if k not in SIG_PARAMS))


class UrlSigner:
    def __init__(self, secret: bytes, max_ttl_s: int = MAX_TTL_S):
        self._secret = secret
        self.max_ttl_s = max_ttl_s

    def _sig(self, path: str, params: Mapping[str, str], exp: str, kid: str) -> str:
        msg = f"{path}\n{_canonical(params)}\n{exp}\n{kid}".encode("utf-8", "surrogateescape")
        return base64.urlsafe_b64encode(hmac.digest(self._secret, msg, hashlib.sha256)).rstrip(b"=").decode()

    def sign(self, path: str, kid: str, ttl_s: int = DEFAULT_TTL_S, params: Mapping[str, str] | None = None,
             exp: int | None = None) -> str:
        """`path?params&exp&kid&sig`, valid for `ttl_s` seconds (or until `exp`), at most `max_ttl_s`."""
        if not 1 <= ttl_s <= self.max_ttl_s:
            raise InvalidInput(f"a signed URL lives from 1 to {self.max_ttl_s} seconds, got {ttl_s}")
        exp = min(exp or int(time.time()) + ttl_s, int(time.time()) + self.max_ttl_s)
        params = dict(params or {})
        query = urlencode([*sorted(params.items()), ("exp", str(exp)), ("kid", kid),
                           ("sig", self._sig(path, params, str(exp), kid))])
        return f"{path}?{query}"

    def verify(self, path: str, query: Mapping[str, str]) -> tuple[str, int]:
        """(key id, expiry) of a validly signed, unexpired URL; Unauthenticated otherwise."""
        exp, kid, sig = (query.get(p, "") for p in SIG_PARAMS)
        if not (_EXP.fullmatch(exp) and _KID.fullmatch(kid) and _SIG.fullmatch(sig)):
            raise Unauthenticated("a signed URL needs exp, kid and sig parameters as the server issued them")
        if not hmac.compare_digest(self._sig(path, query, exp, kid).encode(), sig.encode()):
            raise Unauthenticated("the URL's signature does not match: it was altered, or signed by another server; "
                                  "ask for a new one (`meshsmith url NAME@REF`)")
        now = int(time.time())
        if int(exp) < now:
            raise Unauthenticated(f"the signed URL expired {now - int(exp)} s ago; ask for a new one (`meshsmith url NAME@REF`)")
        if int(exp) > now + self.max_ttl_s + SKEW_S:
            raise Unauthenticated(f"the signed URL claims to live beyond the server's {self.max_ttl_s} s cap")
        return kid, int(exp)
