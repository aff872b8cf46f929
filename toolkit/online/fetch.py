"""A polite HTTP client for checking many URLs at once.

- A global limit on connections, a limit per host (default 2), and a separate limit for the
  web archive's own host, which is shared by everyone and asks to be spared.
- `Retry-After` (seconds or a date) on 429/503 holds back every request to that host, not
  just the retry. Transient failures (timeouts, resets, 5xx, 429) are retried with
  exponential backoff and jitter; nothing else is.
- A timeout per request, and a deadline for the whole run.
- HEAD first where the body is not needed, GET when HEAD is refused.
- A User-Agent that names the tool, and a cap on how much of a body is read.
"""

from __future__ import annotations

import email.utils
import functools
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from .. import __version__

USER_AGENT = (
    f"toolkit-citecheck/{__version__} (checks the sources a newsletter cites; "
    "+https://pypi.org/project/toolkit/)"
)
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.8"
TRANSIENT = {408, 429, 500, 502, 503, 504}
HEAD_REFUSED = {400, 403, 404, 405, 406, 500, 501}


@dataclass
class Limits:
    per_host: int = 2
    connections: int = 64  # across all hosts at once
    archive_connections: int = 2  # the archive's host, whatever per_host says
    timeout: float = 20.0  # per request
    deadline: float = 900.0  # for the whole run
    max_bytes: int = 10_000_000
    retries: int = 3
    backoff: float = 1.0  # first retry after about this long, doubling
    max_wait: float = 60.0  # the longest Retry-After sat out; longer means "try later"

    @classmethod
    def from_settings(cls, settings: dict) -> Limits:
        """From toolkit.toml's [online] table (missing keys keep their defaults)."""
        names = ("per_host", "connections", "archive_connections", "timeout", "deadline")
        return cls(**{name: settings[name] for name in names if name in settings})


@dataclass
class Fetched:
    url: str
    method: str
    status: int | None = None
    final_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # "timeout", "dns", "connection", "deadline", "retry-after"
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


# Set by Cloudflare's and Vercel's edges when they challenge or block a client: the edge,
# not the site, answered, and its status (often 403 or 429) says nothing about the page.
BOT_WALL_HEADERS = ("cf-mitigated", "x-vercel-mitigated")


def bot_wall(header: Callable[[str], str | None]) -> bool:
    """Whether an answer came from an edge's bot protection (`header` looks one up)."""
    return any((header(name) or "").strip() for name in BOT_WALL_HEADERS)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` value (seconds or an HTTP date), if it says."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    def __init__(
        self,
        limits: Limits | None = None,
        archive_hosts: Set[str] = frozenset(),
        user_agent: str = USER_AGENT,
    ):
        self.limits = limits or Limits()
        self.archive_hosts = {h.lower() for h in archive_hosts}
        self.user_agent = user_agent
        self.started = time.monotonic()
        self.requests_sent = 0
        self.answers = 0  # responses of any status: proof that the network works
        self._global = threading.BoundedSemaphore(self.limits.connections)
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._not_before: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._session = self._new_session()

    # limits ----------------------------------------------------------------------------

    def _host_slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._hosts:
                size = (
                    self.limits.archive_connections
                    if host in self.archive_hosts
                    else self.limits.per_host
                )
                self._hosts[host] = threading.BoundedSemaphore(max(1, size))
            return self._hosts[host]

    def _new_session(self) -> requests.Session:
        """One session for every thread, so each host's connections are kept and reused
        (a TLS handshake per request would cost more than the request); urllib3's pools
        and the cookie jar are thread-safe. A host's pool holds as many connections
        as the host may have at once."""
        session = requests.Session()
        session.headers.update({"User-Agent": self.user_agent, "Accept": ACCEPT})
        size = max(self.limits.per_host, self.limits.archive_connections)
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=256, pool_maxsize=size, max_retries=0
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        # requests reads the environment (proxies, no_proxy, .netrc, CA bundle) again on
        # every request, which was a quarter of our CPU time per URL. Read it once:
        # proxies per scheme and host (see _proxies), the CA bundle here, and no .netrc
        # (a checker has no business sending the user's passwords to the sites it visits).
        session.trust_env = False
        session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        return session

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Fetcher per run
    def _proxies(self, scheme: str, netloc: str) -> dict[str, str]:
        """The proxies the environment sets for this host ($HTTPS_PROXY, $NO_PROXY...)."""
        return requests.utils.get_environ_proxies(f"{scheme}://{netloc}/")

    def remaining(self) -> float:
        return self.limits.deadline - (time.monotonic() - self.started)

    # requests --------------------------------------------------------------------------

    def fetch(
        self,
        url: str,
        method: str = "GET",
        *,
        follow: bool = True,
        want_body: bool = True,
        retries: int | None = None,
    ) -> Fetched:
        """One URL, politely, with retries (`limits.retries` unless given) for transient
        failures only."""
        retries = self.limits.retries if retries is None else retries
        parts = urlsplit(url)
        host = (parts.netloc or "").lower()
        proxies = self._proxies(parts.scheme.lower(), host)
        attempt = 0
        while True:
            wait = self._not_before[host] - time.monotonic()
            if wait > 0:
                if wait > self.limits.max_wait or wait > self.remaining():
                    return Fetched(url, method, error="retry-after")
                time.sleep(wait)
            if self.remaining() <= 0:
                return Fetched(url, method, error="deadline")
            # The host's slot first: a thread queued behind a busy host holds no global slot.
            with self._host_slot(host), self._global:
                result = self._once(url, method, follow, want_body, proxies)
            transient = result.error in ("timeout", "connection") or result.status in TRANSIENT
            if result.status in (429, 503):
                delay = retry_after(result.header("retry-after"))
                if delay is not None:
                    with self._lock:  # holds back every request to this host
                        self._not_before[host] = max(
                            self._not_before[host], time.monotonic() + delay
                        )
            if not transient or attempt >= retries:
                return result
            attempt += 1
            if self._not_before[host] <= time.monotonic():
                backoff = self.limits.backoff * 2 ** (attempt - 1)
                time.sleep(backoff * (0.5 + random.random()))  # jitter

    def _once(
        self, url: str, method: str, follow: bool, want_body: bool, proxies: dict[str, str]
    ) -> Fetched:
        result = Fetched(url, method)
        with self._lock:
            self.requests_sent += 1
        try:
            # A streamed response that is not read to its end closes its connection, so
            # HEAD (no body to read) is not streamed: its connection goes back to the pool.
            response = self._session.request(
                method,
                url,
                allow_redirects=follow,
                stream=method != "HEAD",
                proxies=proxies,
                timeout=min(self.limits.timeout, max(0.1, self.remaining())),
            )
        except requests.exceptions.Timeout:
            result.error = "timeout"
            return result
        except requests.exceptions.ConnectionError as e:
            text = repr(e)
            result.error = (
                "dns"
                if "NameResolution" in text
                or "Name or service not known" in text
                or "getaddrinfo" in text
                else "connection"
            )
            return result
        except requests.exceptions.RequestException:
            result.error = "connection"
            return result
        with self._lock:
            self.answers += 1
        with response:
            result.status = response.status_code
            result.final_url = response.url
            result.headers = {k.lower(): v for k, v in response.headers.items()}
            if want_body and method != "HEAD":
                chunks, size = [], 0
                try:
                    for chunk in response.iter_content(65536):
                        chunks.append(chunk)
                        size += len(chunk)
                        if size >= self.limits.max_bytes:
                            result.truncated = True
                            break
                except requests.exceptions.RequestException:
                    result.error = "connection"
                result.body = b"".join(chunks)[: self.limits.max_bytes]
        return result

    def check(self, url: str, *, want_body: bool = False) -> Fetched:
        """A live URL's status: HEAD when the body is not needed, GET if HEAD is refused
        or fails. The HEAD is not retried: the GET that follows a failed one is, so a dead
        link costs one HEAD and the GET's attempts, not two full rounds of retries."""
        if not want_body:
            head = self.fetch(url, "HEAD", want_body=False, retries=0)
            if head.error is None and head.status not in HEAD_REFUSED:
                return head
            if head.error in ("dns", "deadline", "retry-after"):
                return head
        return self.fetch(url, "GET", want_body=True)
