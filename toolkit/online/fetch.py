"""A polite HTTP client for checking many URLs at once.

- A global limit on connections, a limit per host (default 2), and a separate limit for the
  web archive's own host, which is shared by everyone and asks to be spared.
- What is retried, how often and after how long is `toolkit.retry`'s policy (transient
  failures only: timeouts, resets, 408, 429, 500, 502-504; exponential backoff with
  jitter; never a bot wall). Here, a `Retry-After` on 429/503 holds back every request
  to that host, not just the retry.
- A timeout per request, and a deadline for the whole run; both, and every wait, read
  the policy's clock.
- HEAD first where the body is not needed, GET when HEAD is refused or fails.
- A User-Agent that names the tool, and a cap on how much of a body is read.
"""

from __future__ import annotations

import functools
import os
import secrets
import threading
from collections import defaultdict
from collections.abc import Mapping, Set
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import requests
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar, merge_cookies
from requests.structures import CaseInsensitiveDict

from .. import __version__, environment
from ..retry import RetryPolicy

USER_AGENT = (
    f"toolkit-citecheck/{__version__} (checks the sources a newsletter cites; "
    "+https://pypi.org/project/toolkit/)"
)
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.8"
HEAD_REFUSED = {400, 403, 404, 405, 406, 500, 501}
PROBE_PATH = "toolkit-citecheck-no-such-page-"  # + random hex: a page no site has


@dataclass
class Limits:
    per_host: int = 2
    connections: int = 64  # across all hosts at once
    archive_connections: int = 2  # the archive's host, whatever per_host says
    timeout: float = 20.0  # per request
    deadline: float = 900.0  # for the whole run
    max_bytes: int = 10_000_000
    policy: RetryPolicy = field(default_factory=RetryPolicy)  # retries, backoff, clock

    @classmethod
    def from_settings(cls, settings: dict, env: Mapping[str, str] | None = None) -> Limits:
        """From toolkit.toml's [online] table (missing keys keep their defaults), then
        the environment: $TOOLKIT_HTTP_TIMEOUT and $TOOLKIT_RETRY_BACKOFF win."""
        names = ("per_host", "connections", "archive_connections", "timeout", "deadline")
        limits = cls(**{name: settings[name] for name in names if name in settings})
        timeout = environment.read("TOOLKIT_HTTP_TIMEOUT", env)
        if timeout is not None:
            limits = replace(limits, timeout=timeout)
        return replace(limits, policy=limits.policy.with_environment(env))


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
        self.clock = self.limits.policy.clock
        self.started = self.clock.now()
        self.requests_sent = 0
        self.answers = 0  # responses of any status: proof that the network works
        self._global = threading.BoundedSemaphore(self.limits.connections)
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._not_before: dict[str, float] = defaultdict(float)
        self._probes: dict[str, threading.Lock] = {}
        self._answers_anything: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._session = self._new_session()

    # limits ----------------------------------------------------------------------------

    def host_limit(self, host: str) -> int:
        """How many requests `host` (a netloc, lower case) may have at once."""
        if host in self.archive_hosts:
            return self.limits.archive_connections
        return self.limits.per_host

    def _host_slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = threading.BoundedSemaphore(max(1, self.host_limit(host)))
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
        self._adapter = adapter
        # requests reads the environment (proxies, no_proxy, .netrc, CA bundle) again on
        # every request, which was a quarter of our CPU time per URL. Read it once:
        # proxies per scheme and host (see proxies), the CA bundle here, and no .netrc
        # (a checker has no business sending the user's passwords to the sites it visits).
        session.trust_env = False
        session.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        self._headers = dict(session.headers)  # requests' defaults, with ours on top
        return session

    def _send(
        self,
        method: str,
        url: str,
        follow: bool,
        stream: bool,
        proxies: dict[str, str],
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """`Session.request`, less the work it repeats on every call for settings that
        are the same for the whole run. That work (merging the session's headers, hooks,
        proxies, cookies and environment into each request) was as much CPU as the HTTP
        itself. requests still does the rest: it prepares the URL (IDNA, quoting), the
        session's adapter sends it (pools, TLS and CA bundle, proxies, urllib3's errors as
        requests' exceptions), and the session's own `resolve_redirects` follows a
        redirect. Cookies go to and from the session's jar as before, when there are any."""
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.prepare_url(url, None)
        prepared.headers = CaseInsensitiveDict(self._headers)
        if headers:  # this request's own (a watch's If-None-Match), over the session's
            prepared.headers.update(headers)
        jar = self._session.cookies
        if len(jar):
            prepared.prepare_cookies(merge_cookies(RequestsCookieJar(), jar))
        response = self._adapter.send(
            prepared,
            stream=stream,
            timeout=timeout,
            verify=self._session.verify,
            cert=None,
            proxies=proxies,
        )
        if response.cookies:  # the adapter read its Set-Cookie headers into that jar
            extract_cookies_to_jar(jar, prepared, response.raw)
        if follow and response.is_redirect:
            if prepared._cookies is None:  # what resolve_redirects keeps each hop's cookies in
                prepared.prepare_cookies(RequestsCookieJar())
            history = list(
                self._session.resolve_redirects(
                    response,
                    prepared,
                    stream=stream,
                    timeout=timeout,
                    verify=self._session.verify,
                    cert=None,
                    proxies=proxies,
                )
            )
            if history:
                history.insert(0, response)
                response = history.pop()
                response.history = history
        if not stream:
            response.content  # noqa: B018 - read to the end, so the connection is reused
        return response

    @property
    def verify(self) -> bool | str:
        """Whether TLS certificates are checked, or the CA bundle that checks them."""
        return self._session.verify

    def count_request(self) -> None:
        with self._lock:
            self.requests_sent += 1

    def count_answer(self) -> None:
        with self._lock:
            self.answers += 1

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one Fetcher per run
    def proxies(self, scheme: str, netloc: str) -> dict[str, str]:
        """The proxies the environment sets for this host ($HTTPS_PROXY, $NO_PROXY...)."""
        return requests.utils.get_environ_proxies(f"{scheme}://{netloc}/")

    def remaining(self) -> float:
        return self.limits.deadline - (self.clock.now() - self.started)

    # requests --------------------------------------------------------------------------

    def fetch(
        self,
        url: str,
        method: str = "GET",
        *,
        follow: bool = True,
        want_body: bool = True,
        retries: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fetched:
        """One URL, politely, with retries as the policy says for transient failures
        only (`retries` overrides how many). `headers` are added to this request only
        (`If-None-Match`, say)."""
        policy, clock = self.limits.policy, self.clock
        if retries is not None:
            policy = replace(policy, retries=retries)
        parts = urlsplit(url)
        host = (parts.netloc or "").lower()
        proxies = self.proxies(parts.scheme.lower(), host)
        attempt = 0
        while True:
            wait = self._not_before[host] - clock.now()
            if wait > 0:
                if wait > policy.max_wait or wait > self.remaining():
                    return Fetched(url, method, error="retry-after")
                clock.sleep(wait)
            if self.remaining() <= 0:
                return Fetched(url, method, error="deadline")
            # The host's slot first: a thread queued behind a busy host holds no global slot.
            with self._host_slot(host), self._global:
                result = self._once(url, method, follow, want_body, proxies, headers)
            self.hold(host, result)
            # Not `next_wait`: a Retry-After too long to sit out is said as "retry-after"
            # by the check at the top, for this URL and every later one on the host.
            transient = policy.is_transient(
                status=result.status, error=result.error, header=result.header
            )
            if not transient or attempt >= policy.retries:
                return result
            attempt += 1
            if self._not_before[host] <= clock.now():
                clock.sleep(policy.wait_before(attempt))

    def hold(self, host: str, result: Fetched) -> bool:
        """Hold back every request to `host` for as long as `result`'s Retry-After asks;
        whether it asked."""
        asked = self.limits.policy.server_wait(result.status, result.header("retry-after"))
        if asked is None:
            return False
        with self._lock:
            self._not_before[host] = max(self._not_before[host], self.clock.now() + asked)
        return True

    def held(self, host: str) -> bool:
        """Whether requests to `host` must wait (it asked us to, with Retry-After)."""
        return self._not_before[host] > self.clock.now()

    def _once(
        self,
        url: str,
        method: str,
        follow: bool,
        want_body: bool,
        proxies: dict[str, str],
        headers: Mapping[str, str] | None = None,
    ) -> Fetched:
        result = Fetched(url, method)
        self.count_request()
        try:
            # A streamed response that is not read to its end closes its connection, so
            # HEAD (no body to read) is not streamed: its connection goes back to the pool.
            response = self._send(
                method,
                url,
                follow,
                stream=method != "HEAD",
                proxies=proxies,
                headers=headers,
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
        self.count_answer()
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

    def check(self, url: str, *, want_body: bool = False, head: Fetched | None = None) -> Fetched:
        """A live URL's status: HEAD when the body is not needed, GET if HEAD is refused,
        fails or is transient (a 429 or 503 is confirmed, after its Retry-After, before
        anyone is told the page is blocked or down). The HEAD is not retried: the GET
        that follows a failed one is, so a dead link costs one HEAD and the GET's
        attempts, not two full rounds of retries. A 200 to HEAD is taken at its word,
        unless the host answers 200 for pages it does not have (`answers_anything`):
        there only the page's title can tell a soft 404, so it is fetched. `head`: the
        HEAD's answer when it was asked already (`toolkit.online.heads`)."""
        if not want_body:
            head = head or self.fetch(url, "HEAD", want_body=False, retries=0)
            if self.settles(head):
                return head
        return self.fetch(url, "GET", want_body=True)

    def settles(self, head: Fetched) -> bool:
        """Whether a HEAD's answer is the page's status, with no GET to confirm it."""
        if head.error in ("dns", "deadline", "retry-after"):
            return True
        return (
            head.error is None
            and head.status not in HEAD_REFUSED
            and not self.limits.policy.is_transient(status=head.status, header=head.header)
            and not (head.ok and is_html(head) and self.answers_anything(head.url))
        )

    def answers_anything(self, url: str) -> bool:
        """Whether `url`'s host answers 200 to a path that cannot exist (a site that
        renders its own "not found" page with 200). Asked once per host, by HEAD."""
        origin = origin_of(url)
        known = self._answers_anything.get(origin)
        if known is not None:  # asked already: no lock to wait on for every link
            return known
        with self._lock:
            probe_lock = self._probes.setdefault(origin, threading.Lock())
        with probe_lock:  # one probe per host, however many threads ask
            if origin not in self._answers_anything:
                probe = self.fetch(probe_url(origin), "HEAD", want_body=False, retries=0)
                self.learn_probe(origin, probe)
            return self._answers_anything[origin]

    def knows_probe(self, origin: str) -> bool:
        return origin in self._answers_anything

    def learn_probe(self, origin: str, probe: Fetched) -> None:
        """What the answer to `probe_url(origin)` says of the host: 200 for anything?"""
        self._answers_anything[origin] = probe.error is None and probe.ok


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def probe_url(origin: str) -> str:
    """A page no site has, on `origin`: a 200 there means 200 proves nothing."""
    return f"{origin}/{PROBE_PATH}{secrets.token_hex(8)}"


def is_html(fetched: Fetched) -> bool:
    """Whether an answer is (or may be) a web page: a title could say "not found"."""
    kind = fetched.header("content-type").lower()
    return not kind or "html" in kind
