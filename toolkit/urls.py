"""URLs: normalising them for comparison, and reading archive snapshot URLs.

Snapshot forms we accept (see the Wayback and archive.today notes in the README):
- Wayback: `<wayback_url>/web/<14-digit timestamp>[xx_]/<original URL>`
- archive.today: `https://archive.ph/<14-digit timestamp>/<original URL>` or a short id
  `https://archive.ph/AbC12` (any of its mirror domains).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

ARCHIVE_TODAY_HOSTS = frozenset(
    f"archive.{tld}" for tld in ("today", "ph", "is", "li", "md", "vn", "fo")
)
DEFAULT_WAYBACK = "https://web.archive.org"

_WAYBACK_PATH = re.compile(r"^/web/(?P<ts>[^/]*?)(?P<flag>[a-z]{2}_)?/(?P<original>.+)$", re.S)
_TODAY_TIMESTAMPED = re.compile(r"^/(?P<ts>\d{4,14})/(?P<original>.+)$", re.S)
_TODAY_SHORT = re.compile(r"^/[A-Za-z0-9]{4,10}/?$")


@functools.lru_cache(maxsize=65536)
def host(url: str) -> str:
    """The host, lower-case, without `www.` and port."""
    try:
        netloc = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return netloc.lower().removeprefix("www.")


@functools.lru_cache(maxsize=65536)
def scheme(url: str) -> str:
    try:
        return urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""


@functools.lru_cache(maxsize=65536)
def normalize(url: str) -> str:
    """A URL reduced for comparison: no scheme, `www.`, default port, trailing slash or
    fragment, so http://www.x.com/a/ and https://x.com/a#top compare equal."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    netloc = (parts.hostname or "").lower().removeprefix("www.")
    if port and port not in (80, 443):
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    return urlunsplit(("", netloc, path, parts.query, "")).removeprefix("//")


def host_matches(url_host: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """True if the host is one of the patterns or a subdomain of one."""
    for pattern in patterns:
        pattern = pattern.lower().removeprefix("www.").strip()
        if pattern and (url_host == pattern or url_host.endswith("." + pattern)):
            return True
    return False


@dataclass(frozen=True)
class Snapshot:
    service: str  # "wayback" | "archive.today"
    url: str
    original: str | None  # None for archive.today short ids
    timestamp: str | None  # as written
    time: dt.datetime | None  # None when not a real time, or not given

    @functools.cached_property
    def date_iso(self) -> str | None:
        """The capture date as ISO 8601 (for Robust Links' data-versiondate)."""
        return self.time.strftime("%Y-%m-%dT%H:%M:%SZ") if self.time else None

    def raw_url(self, wayback_base: str = DEFAULT_WAYBACK) -> str | None:
        """The capture's original bytes, with no replay toolbar (Wayback's `id_` flag)."""
        if self.service != "wayback" or not self.original or not self.timestamp:
            return None
        return f"{wayback_base.rstrip('/')}/web/{self.timestamp}id_/{self.original}"


class NotASnapshot(ValueError):
    """The URL is not a snapshot URL of an archive we know; the message says why."""


def parse_timestamp(ts: str) -> dt.datetime | None:
    if len(ts) != 14 or not ts.isdigit():
        return None
    try:
        return dt.datetime(
            int(ts[:4]),
            int(ts[4:6]),
            int(ts[6:8]),
            int(ts[8:10]),
            int(ts[10:12]),
            int(ts[12:]),
            tzinfo=dt.timezone.utc,
        )
    except ValueError:
        return None


def _original(rest: str) -> str:
    # The Wayback replay also accepts originals without a scheme, or with one slash
    # collapsed (`https:/x.com`) by some tools.
    rest = re.sub(r"^(https?):/(?!/)", r"\1://", rest)
    return rest if re.match(r"^https?://", rest) else "http://" + rest


@functools.lru_cache(maxsize=8)
def _wayback_host(base: str) -> tuple[str, int | None]:
    parts = urlsplit(base)
    return (parts.hostname or "").lower(), parts.port


def archive_netlocs(wayback_base: str) -> set[str]:
    """The web archives' hosts as an HTTP client meets them (host[:port], lower-case)."""
    return {
        urlsplit(wayback_base).netloc.lower(),
        "web.archive.org",
        *ARCHIVE_TODAY_HOSTS,
        *(f"www.{h}" for h in ARCHIVE_TODAY_HOSTS),
    }


def is_wayback(url_host: str, port: int | None, wayback_base: str) -> bool:
    base_host, base_port = _wayback_host(wayback_base)
    return url_host == "web.archive.org" or (url_host == base_host and port == base_port)


# The usual form, read without urlsplit (a build reads thousands of these). Anything
# else, a #fragment included, goes the general way, which gives the same Snapshot.
_PLAIN_WAYBACK = re.compile(
    r"^https?://web\.archive\.org/web/(\d{14})(?:[a-z]{2}_)?/"
    r"(https?://[^\s#]+)$"
)


def parse_snapshot(url: str, wayback_base: str = DEFAULT_WAYBACK) -> Snapshot:
    """Read a snapshot URL, or raise NotASnapshot saying what is wrong with it."""
    m = _PLAIN_WAYBACK.match(url)
    if m:
        return Snapshot("wayback", url, m.group(2), m.group(1), parse_timestamp(m.group(1)))
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise NotASnapshot(f"`{url}` is not a URL ({e})") from None
    url_host = (parts.hostname or "").lower()
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if is_wayback(url_host, port, wayback_base):
        if path.startswith("/save/"):
            raise NotASnapshot(
                "a `/save/` URL asks the archive to capture; cite the "
                "snapshot it made, `/web/<timestamp>/<url>`"
            )
        m = _WAYBACK_PATH.match(path)
        if not m:
            raise NotASnapshot(
                "a Wayback snapshot looks like "
                "`https://web.archive.org/web/<14-digit timestamp>/<url>`"
            )
        ts = m.group("ts")
        if "*" in ts or not ts:
            raise NotASnapshot(
                "this is a Wayback calendar or search page, not one snapshot; "
                "open the capture you mean and copy its URL"
            )
        return Snapshot("wayback", url, _original(m.group("original")), ts, parse_timestamp(ts))
    if url_host.removeprefix("www.") in ARCHIVE_TODAY_HOSTS:
        if path.startswith(("/newest/", "/oldest/", "/timegate/", "/timemap/", "/submit")):
            raise NotASnapshot(
                "this archive.today URL moves over time; cite one snapshot, "
                "`https://archive.ph/<id>`"
            )
        m = _TODAY_TIMESTAMPED.match(path)
        if m:
            return Snapshot(
                "archive.today",
                url,
                _original(m.group("original")),
                m.group("ts"),
                parse_timestamp(m.group("ts")),
            )
        if _TODAY_SHORT.match(parts.path):
            return Snapshot("archive.today", url, None, None, None)
        raise NotASnapshot("an archive.today snapshot looks like `https://archive.ph/<id>`")
    raise NotASnapshot(
        f"`{url_host or url}` is not a web archive we know; use a Wayback "
        "Machine (web.archive.org/web/...) or archive.today snapshot"
    )


def is_archive_url(url: str, wayback_base: str = DEFAULT_WAYBACK) -> bool:
    """Cheap test before parse_snapshot: is this URL on a web archive we know (the
    configured Wayback Machine counts only at its own port)?"""
    try:
        parts = urlsplit(url)
        url_host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False
    return (
        is_wayback(url_host, port, wayback_base)
        or url_host.removeprefix("www.") in ARCHIVE_TODAY_HOSTS
    )


@functools.lru_cache(maxsize=65536)
def try_snapshot(url: str | None, wayback_base: str = DEFAULT_WAYBACK) -> Snapshot | None:
    if not url:
        return None
    try:
        return parse_snapshot(url, wayback_base)
    except NotASnapshot:
        return None


def wayback_url(base: str, timestamp: str, original: str) -> str:
    return f"{base.rstrip('/')}/web/{timestamp}/{original}"
