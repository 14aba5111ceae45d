"""Outbound fetches of URLs a hosted vendor returns (the `remote` backend's model download), kept on a short leash.

A vendor's answer is data from outside: the URL in it could name any host the server can reach (the metadata
service, a database port, another local service) and a body of any size. So a download:

- goes only to an allowed host: the --remote-url's own HOST:PORT, plus --remote-download-hosts entries
  (`HOST`, `HOST:PORT`, `*.DOMAIN`, `*.DOMAIN:PORT`; no port = the scheme's default port), or, for the vendor's
  own API (no --remote-url), the vendor's domains (VENDOR_DOWNLOAD_HOSTS);
- only over https, or plain http when the --remote-url is plain http (a loopback stand-in, see server/settings.py);
- only to public addresses: every address the host resolves to is checked, when it is resolved for the
  connection itself (no second lookup to rebind), and loopback / private / link-local addresses are allowed
  only in the class the --remote-url's own host is in (the tests' stand-in runs on loopback); unspecified and
  multicast addresses never;
- follows a redirect only to a target that passes the same checks, at most limits.REMOTE_MAX_REDIRECTS hops;
- is capped while streaming: a Content-Length over the cap is refused before any body is read, and a body is
  read at most cap + 1 bytes, to a file (memory stays at one chunk).

Every refusal is FAILED_PRECONDITION naming the host or size and the setting that would allow it: the vendor's
answer is outside what this server's configuration accepts, and retrying (another billed task) gets the same
answer, so it is not UNAVAILABLE. Network failures stay UNAVAILABLE (retry), an HTTP error status is raised
as DownloadStatus for the caller to word.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from meshsmith import limits
from meshsmith.errors import FailedPrecondition, Unavailable
from meshsmith.limits import quote

# The vendor's own API (no --remote-url): tripo3d's two endpoints are openapi.tripo3d.ai and openapi.tripo3d.com;
# their model files are taken from hosts under the same domains. Another CDN host needs --remote-download-hosts.
VENDOR_DOWNLOAD_HOSTS = {"tripo": ("*.tripo3d.ai", "*.tripo3d.com")}
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK = 1 << 20
REDIRECTS = (301, 302, 303, 307, 308)
NEVER = ("unspecified", "multicast")
FLAG = "--remote-download-hosts"


@dataclass(frozen=True)
class HostPattern:
    """`HOST` or `*.DOMAIN` (subdomains only), on one port (None: the scheme's default)."""

    host: str
    port: int | None = None

    @property
    def wildcard(self) -> bool:
        return self.host.startswith("*.")

    def matches(self, host: str, port: int, scheme: str) -> bool:
        if port != (self.port if self.port is not None else DEFAULT_PORTS[scheme]):
            return False
        if self.wildcard:
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def parse_host_pattern(text: str) -> HostPattern:
    """"cdn.example.com", "cdn.example.com:8443", "*.example.com", "[::1]:9000" -> HostPattern; ValueError
    saying what an entry looks like otherwise."""
    entry = text.strip().lower()
    usage = (f"{FLAG} entries are HOST, HOST:PORT, *.DOMAIN or *.DOMAIN:PORT (no scheme, no path), "
             f"got {quote(text, 60)}")
    if not entry or len(entry) > limits.REMOTE_DOWNLOAD_HOST_CHARS or not entry.isascii() or not entry.isprintable():
        raise ValueError(usage)
    if entry.startswith("["):  # [IPv6]:PORT
        host, sep, rest = entry[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(usage)
        port = rest[1:] or None
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    elif ":" in entry:  # a bare IPv6 address
        host, port = entry, None
    else:
        host, port = entry, None
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(usage)
    name = host[2:] if host.startswith("*.") else host
    try:
        ipaddress.ip_address(name)
        literal = True
    except ValueError:
        literal = False
    if literal and host.startswith("*."):
        raise ValueError(usage)
    labels = name.split(".")
    if not literal and not all(label and len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
                               and not label.startswith("-") for label in labels):
        raise ValueError(usage)
    if host.startswith("*.") and len(labels) < 2:
        raise ValueError(f"{FLAG} {quote(text, 60)}: a wildcard needs a domain of two labels or more "
                         "(*.example.com), not a whole top-level domain")
    return HostPattern(host, int(port) if port is not None else None)


def parse_host_patterns(entries) -> tuple[HostPattern, ...]:
    """The --remote-download-hosts list (or one comma-separated string), each entry checked."""
    if isinstance(entries, str):
        entries = entries.split(",")
    out = tuple(parse_host_pattern(e) for e in entries if e.strip())
    if len(out) > limits.REMOTE_DOWNLOAD_HOSTS_MAX:
        raise ValueError(f"{FLAG}: at most {limits.REMOTE_DOWNLOAD_HOSTS_MAX} entries, got {len(out)}")
    return out


def address_class(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """"public", "loopback", "link-local", "private", "unspecified" or "multicast" (IPv4-mapped IPv6 as IPv4)."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private or not ip.is_global:  # RFC 1918, ULA, shared/CGNAT, documentation, reserved...
        return "private"
    return "public"


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute http(s) URL; FailedPrecondition for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise FailedPrecondition(f"the vendor named a download that is not an http(s) URL: {quote(url, 100)}")
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


@dataclass(frozen=True)
class FetchPolicy:
    """Where downloads may go: hosts, schemes and address classes (built from the remote configuration)."""

    hosts: tuple[HostPattern, ...]
    schemes: tuple[str, ...] = ("https",)
    classes: frozenset[str] = frozenset({"public"})
    what: str = "the vendor"  # for messages: "Tripo"

    @classmethod
    def build(cls, base_url: str, default_base: str, extra: tuple[str, ...] = (), vendor: str = "tripo",
              what: str = "the vendor") -> "FetchPolicy":
        """--remote-url's HOST:PORT (or the vendor's own API and domains) + `extra` patterns; the address
        classes of --remote-url's own host (resolved here) are allowed too, never unspecified or multicast."""
        scheme, host, port = _split(base_url or default_base)
        hosts = [HostPattern(host, port)]
        hosts += parse_host_patterns(extra) if extra else ()
        if not base_url and not extra:
            hosts += [parse_host_pattern(p) for p in VENDOR_DOWNLOAD_HOSTS.get(vendor, ())]
        classes = {"public"}
        if base_url:
            try:
                classes |= {address_class(ip) for ip in _resolve(host)}
            except OSError:
                pass  # not resolvable now: its class is unknown, so only public addresses are taken
        return cls(tuple(hosts), ("http", "https") if scheme == "http" else ("https",),
                   frozenset(classes - set(NEVER)), what)

    def check_url(self, url: str, redirected: bool = False) -> tuple[str, str, int]:
        """(scheme, host, port) of an allowed URL; FailedPrecondition naming the host and the fix otherwise. An IP
        literal's address is checked here; a name's addresses when it is resolved for the connection."""
        scheme, host, port = _split(url)
        where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
        named = f"{self.what}'s download redirected to" if redirected else f"{self.what} named a download on"
        if not any(p.matches(host, port, scheme) for p in self.hosts):
            raise FailedPrecondition(
                f"{named} {where}, which this server does not fetch from (allowed: "
                f"{', '.join(str(p) for p in self.hosts)}); if {self.what} serves its files from that host, add it "
                f"to {FLAG} and restart the server")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            self.check_address(host, literal)
        if scheme not in self.schemes:
            raise FailedPrecondition(f"{named} {where} over plain http; this server downloads "
                                     "over https only (plain http only with a plain http --remote-url)")
        return scheme, host, port

    def check_address(self, host: str, ip) -> None:
        if isinstance(ip, str):
            ip = ipaddress.ip_address(ip.partition("%")[0])
        kind = address_class(ip)
        if kind not in self.classes:
            raise FailedPrecondition(
                f"{self.what}'s download host {host} resolves to {ip}, a {kind} address; this server "
                "downloads only from public addresses (others only when --remote-url itself is such an address)")


def _resolve(host: str) -> list:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(info[4][0].partition("%")[0]) for info in infos]


class DownloadStatus(Exception):
    """The download's server answered an HTTP error status."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status_code = status


def _resolver(policy: FetchPolicy):
    """An aiohttp resolver that checks every address a name resolves to, for the connection that uses them."""
    import aiohttp
    from aiohttp.abc import AbstractResolver

    class CheckedResolver(AbstractResolver):
        def __init__(self):
            self._inner = aiohttp.ThreadedResolver()

        async def resolve(self, host, port=0, family=socket.AF_INET):
            found = await self._inner.resolve(host, port, family)
            for info in found:
                policy.check_address(host, info["host"])
            return found

        async def close(self):
            await self._inner.close()

    return CheckedResolver()


async def download(url: str, target: Path, policy: FetchPolicy, max_bytes: int, what: str = "the download") -> int:
    """Fetch `url` into `target` under `policy`; returns the size. FailedPrecondition for a refused host, address,
    redirect or size; DownloadStatus for an HTTP error status; aiohttp's errors for network failures."""
    import aiohttp
    from yarl import URL

    connector = aiohttp.TCPConnector(resolver=_resolver(policy), use_dns_cache=False, family=socket.AF_UNSPEC)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
        for hop in range(limits.REMOTE_MAX_REDIRECTS + 1):
            policy.check_url(url, redirected=hop > 0)
            async with session.get(URL(url, encoded=True), allow_redirects=False,
                                   headers={"User-Agent": "meshsmith"}) as response:
                if response.status in REDIRECTS:
                    location = response.headers.get("Location", "")
                    if not location:
                        raise Unavailable(f"{policy.what}'s download answered HTTP {response.status} without a "
                                          "Location; retry")
                    url = str(response.url.join(URL(location, encoded=True)))
                    continue
                if response.status >= 400:
                    raise DownloadStatus(response.status)
                declared = response.content_length
                if declared is not None and declared > max_bytes:
                    raise FailedPrecondition(f"{what} declares {declared} bytes "
                                             f"(Content-Length), over the server's {max_bytes} byte mesh limit; "
                                             "nothing was downloaded")
                return await _stream(response, target, max_bytes, what, policy)
        raise FailedPrecondition(f"{policy.what}'s download redirected more than {limits.REMOTE_MAX_REDIRECTS} "
                                 f"times (last to {quote(url, 100)}); refused")


async def _stream(response, target: Path, max_bytes: int, what: str, policy: FetchPolicy) -> int:
    """The body into `target`, reading at most max_bytes + 1 bytes."""
    size = 0
    with open(target, "wb") as out:
        while True:
            chunk = await response.content.read(min(CHUNK, max_bytes + 1 - size))
            if not chunk:
                return size
            size += len(chunk)
            if size > max_bytes:
                response.close()  # drop the connection: the rest is never read
                raise FailedPrecondition(f"{what} is over the server's {max_bytes} byte mesh "
                                         f"limit (stopped after {size} bytes)")
            out.write(chunk)


__all__ = ["DownloadStatus", "FetchPolicy", "HostPattern", "address_class", "download",
           "parse_host_pattern", "parse_host_patterns"]
