"""Many HEAD requests at once from one thread, through libcurl's multi interface (pycurl).

Most of what `check --online` asks is one question per link: does the page answer? With
requests, each link needed a thread's blocking calls, and the HTTP in Python plus the GIL
passing between 64 threads at every socket call cost 0.6 ms of CPU a link: three and a half
times lychee's. libcurl speaks HTTP in C and waits on every socket in one poll, so a link
costs a small fraction of that (figures in the README). requests stays the client for
everything else (bodies, retries, archives, publishing); a HEAD whose answer does not
settle the link (refused, failed, transient, a 200 that may be a soft 404) goes on to the
fetcher with the answer in hand, exactly as if the fetcher had asked it.

The fetcher's rules hold here too: its per-host and global limits, its timeout and
deadline, its User-Agent, Accept and proxies, redirects followed (http and https only),
one probe per host for soft 404s, asked only once a page there answers 200 with HTML. A
host that answers 429 or 503 is asked nothing more here: its Retry-After holds it back in
the fetcher, and its other links go to the fetcher, which waits as the host asks.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from urllib.parse import urlsplit

import certifi
from requests.utils import requote_uri

from .fetch import ACCEPT, Fetched, Fetcher, is_html, origin_of, probe_url

# libcurl's errors that mean the name did not resolve (a dead domain, as the fetcher says).
_DNS = {5, 6}  # CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST
_TIMEOUT = 28  # CURLE_OPERATION_TIMEDOUT


def suits(url: str, fetcher: Fetcher) -> bool:
    """Whether a link is asked here: http(s) with a host, and not an archive's."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:  # `https://[::1/x`: the fetcher says what is wrong with it
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        # An IRI, or a URL with a space in it, is for the fetcher: requests encodes them
        # as browsers do, where libcurl would refuse them.
        and url.isascii()
        and requote_uri(url) == url
        and parts.netloc.lower() not in fetcher.archive_hosts
    )


def heads(fetcher: Fetcher, urls: Iterable[str]) -> dict[str, Fetched]:
    """Each URL's answer to HEAD, as `fetcher.fetch(url, "HEAD", want_body=False,
    retries=0)` gives it. A URL missing from the result was not asked (its host asked
    to be left alone); the fetcher asks it."""
    return _Run(fetcher, urls).run()


class _Run:
    def __init__(self, fetcher: Fetcher, urls: Iterable[str]):
        import pycurl  # here: only `check --online` needs it

        self.pycurl = pycurl
        self.fetcher = fetcher
        self.limits = fetcher.limits
        self.queues: dict[str, deque[str]] = defaultdict(deque)  # by host (netloc)
        for url in urls:
            self.queues[urlsplit(url).netloc.lower()].append(url)
        # A token per free slot of a host with links left: the first go round-robin.
        slots = {h: min(len(q), max(1, fetcher.host_limit(h))) for h, q in self.queues.items()}
        self.ready = deque(
            host
            for turn in range(max(slots.values(), default=0))
            for host in slots
            if turn < slots[host]
        )
        self.left_alone: set[str] = set()
        self.probes: dict[str, str] = {}  # a probe's URL -> its origin
        self.probed: set[str] = set()  # origins with a probe queued or out
        self.results: dict[str, Fetched] = {}
        self.multi = pycurl.CurlMulti()
        self.running = 0
        # The CA bundle requests uses (certifi's, unless the environment names one), not
        # the path libcurl was built with, which need not exist on this system.
        verify = fetcher.verify
        self.ca = verify if isinstance(verify, str) else certifi.where()

    def run(self) -> dict[str, Fetched]:
        pycurl = self.pycurl
        try:
            while True:
                self.fill()
                if not self.running:
                    return self.results
                while self.multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                    pass
                if not self.drain():
                    self.multi.select(1.0)
        finally:
            self.multi.close()

    def fill(self) -> None:
        while self.ready and self.running < self.limits.connections:
            host = self.ready.popleft()
            queue = self.queues[host]
            if host in self.left_alone or not queue:
                continue
            if self.fetcher.held(host):
                self.left_alone.add(host)
                continue
            url = queue.popleft()
            if self.fetcher.remaining() <= 0:
                self.results[url] = Fetched(url, "HEAD", error="deadline")
                self.ready.append(host)
                continue
            self.start(url, host)

    def start(self, url: str, host: str) -> None:
        pycurl = self.pycurl
        c = pycurl.Curl()
        lines: list[bytes] = []
        c.url, c.host, c.lines = url, host, lines
        scheme = url.split(":", 1)[0].lower()
        proxy = self.fetcher.proxies(scheme, host).get(scheme, "")
        timeout = min(self.limits.timeout, max(0.1, self.fetcher.remaining()))
        c.setopt(pycurl.URL, url)
        c.setopt(pycurl.NOBODY, 1)
        c.setopt(pycurl.FOLLOWLOCATION, 1)
        c.setopt(pycurl.MAXREDIRS, 30)  # as requests
        c.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        c.setopt(pycurl.REDIR_PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        c.setopt(pycurl.TIMEOUT_MS, int(timeout * 1000))
        c.setopt(pycurl.NOSIGNAL, 1)
        c.setopt(pycurl.USERAGENT, self.fetcher.user_agent)
        c.setopt(pycurl.HTTPHEADER, [f"Accept: {ACCEPT}"])
        c.setopt(pycurl.COOKIEFILE, "")  # cookies kept across one link's redirects
        c.setopt(pycurl.PROXY, proxy)  # "" is none, whatever the environment says
        c.setopt(pycurl.CAINFO, self.ca)
        c.setopt(pycurl.HEADERFUNCTION, lines.append)
        self.multi.add_handle(c)
        self.running += 1
        self.fetcher.count_request()

    def drain(self) -> bool:
        """Take every finished transfer; whether there were any."""
        any_done = False
        while True:
            queued, ok, failed = self.multi.info_read()
            for c in ok:
                self.finish(c, None)
            for c, code, _ in failed:
                self.finish(c, code)
            any_done = any_done or bool(ok or failed)
            if not queued:
                return any_done

    def finish(self, c, code: int | None) -> None:
        pycurl = self.pycurl
        url, host = c.url, c.host
        status = c.getinfo(pycurl.RESPONSE_CODE) or None
        result = Fetched(url, "HEAD")
        if status is not None:  # an answer, if only a redirect to where we do not go
            self.fetcher.count_answer()
        if code is None and status is not None:
            result.status = status
            result.final_url = c.getinfo(pycurl.EFFECTIVE_URL)
            result.headers = _last_headers(c.lines)
        else:
            result.error = (
                "dns" if code in _DNS else "timeout" if code == _TIMEOUT else "connection"
            )
        self.multi.remove_handle(c)
        c.close()
        self.running -= 1
        origin = self.probes.pop(url, None)
        if origin is not None:
            self.fetcher.learn_probe(origin, result)
        else:
            self.results[url] = result
            self.after(url, host, result)
        if self.queues[host] and host not in self.left_alone:
            self.ready.append(host)

    def after(self, url: str, host: str, result: Fetched) -> None:
        """What this answer asks of the rest of the host's links."""
        policy = self.limits.policy
        asked = self.fetcher.hold(host, result)
        transient = policy.is_transient(status=result.status, header=result.header)
        if asked or transient:
            self.left_alone.add(host)
            return
        origin = origin_of(url)
        if result.ok and is_html(result) and origin not in self.probed:
            self.probed.add(origin)
            if not self.fetcher.knows_probe(origin):
                probe = probe_url(origin)
                self.probes[probe] = origin
                self.queues[host].appendleft(probe)  # the slot this answer frees asks it


def _last_headers(lines: list[bytes]) -> dict[str, str]:
    """The final response's headers (after redirects), names in lower case."""
    headers: dict[str, str] = {}
    for raw in lines:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            headers = {}  # a new response: a redirect's, or the last
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers
