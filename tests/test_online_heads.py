"""Plain links in posts, asked all at once from one thread (toolkit.online.heads), against
stand-in sites on 127.0.0.1: the same verdicts as the fetcher gives a snippet's source, the
same limits, proxies, timeouts and CA bundle, and nothing taken from a hostile answer."""

from __future__ import annotations

import json
import socket
import threading

import pytest
import trustme
from servers.origin import OriginServer
from test_online import PAGE, Proxy, Site

from toolkit.online import heads
from toolkit.online.fetch import Fetcher


@pytest.fixture
def site(tmp_path, wayback, origin) -> Site:
    return Site(tmp_path, wayback, origin)


def post_links(site: Site, urls: list[str]) -> None:
    """One link a line, so a diagnostic's line says which link it is about (line 4 on)."""
    body = "\n\n".join(f"[link {i}]({url})" for i, url in enumerate(urls))
    (site.root / "posts/p.md").write_text(f"---\ntitle: P\n---\n{body}\n")


def codes_by_line(site: Site, **env: str) -> dict[int, str]:
    found = site.diagnostics(env=env or None)
    return {d["line"]: d["code"] for d in found if d["path"] == "posts/p.md"}


CASES = {  # how a page answers -> set up on the origin at `path`
    "moved": lambda o, p: (o.redirect(p, p + "-elsewhere"), o.page(p + "-elsewhere", PAGE)),
    "gone": lambda o, p: o.gone(p, 410),
    "not found": lambda o, p: o.gone(p, 404),
    "bot wall": lambda o, p: o.bot_wall(p),
    "down": lambda o, p: o.unavailable(p, times=10),
    # (Not a soft 404 on a host that answers 404 for missing pages: a HEAD is believed
    # there, and only a source's text, which is read anyway, shows it.)
    "to the home page": lambda o, p: (o.redirect(p, "/"), o.page("/", "<title>Home</title>")),
    "fine": lambda o, p: o.page(p, PAGE),
    "no HEAD": lambda o, p: (o.page(p, PAGE), o.no_head(p)),
}


def test_a_link_in_a_post_gets_the_verdict_a_cited_source_gets(site, origin):
    """Post links take the fast path; a snippet's source, whose text is read, the
    fetcher's. Each case is set up twice, once for each, and must end the same."""
    for i, how in enumerate(CASES.values()):
        how(origin, f"/post-{i}")
        how(origin, f"/source-{i}")
        (site.root / f"snippets/s{i}.md").write_text(
            f"---\nlab: xai\ntitle: S{i}\nquote: q\nsource:\n"
            f"  url: {origin.url_for(f'/source-{i}')}\n---\n"
        )
    post_links(site, [origin.url_for(f"/post-{i}") for i in range(len(CASES))])
    found = site.diagnostics()
    as_posts = {d["line"]: d["code"] for d in found if d["path"] == "posts/p.md"}
    as_sources = {
        int(d["path"][len("snippets/s") : -3]): d["code"]
        for d in found
        if d["path"].startswith("snippets/") and d["code"] != "L012"  # the quote: sources only
    }
    for i, name in enumerate(CASES):
        assert as_posts.get(4 + 2 * i) == as_sources.get(i), name
    assert set(as_posts.values()) >= {"L007", "L008", "L009", "L010", "L011"}
    # The fast path sent HEAD only, as the fetcher does, named as the fetcher names itself.
    fine = origin.requests_to(path=f"/post-{list(CASES).index('fine')}")
    assert [r.method for r in fine] == ["HEAD"]
    assert "toolkit-citecheck" in fine[0].headers["User-Agent"]
    assert fine[0].headers["Accept"].startswith("text/html")


def test_plain_links_keep_to_the_hosts_limit_and_reuse_connections(site, origin):
    origin.latency = 0.1  # long enough that requests pile up behind the limit
    for i in range(12):
        origin.page(f"/page{i}", PAGE)
    post_links(site, [origin.url_for(f"/page{i}") for i in range(12)])
    assert codes_by_line(site) == {}
    assert origin.max_concurrent == 2  # [online] per_host default
    assert len({r.client for r in origin.requests}) <= 2
    # 12 links and one probe for soft 404s, each asked once.
    assert len(origin.requests) == 13


def test_a_host_that_asks_for_a_pause_is_left_alone_until_then(site, origin):
    """A 429 with Retry-After to one HEAD holds the host back: the host's other links are
    not asked until the pause is over."""
    origin.latency = 0.05
    for i in range(6):
        origin.page(f"/page{i}", PAGE)
    origin.rate_limited("/page0", retry_after=1, times=1)
    post_links(site, [origin.url_for(f"/page{i}") for i in range(6)])
    assert codes_by_line(site) == {}
    limited = origin.requests_to(path="/page0")[0]
    later = [r for r in origin.requests if r.time > limited.end + 0.01]
    assert later and all(r.time >= limited.end + 0.95 for r in later)


def test_plain_links_go_through_the_environments_proxy(site, origin):
    by_name = f"http://localhost:{origin.port}/by-name"
    origin.page("/direct", PAGE)
    post_links(site, [by_name, origin.url_for("/direct")])
    with Proxy() as proxy:
        env = {"HTTP_PROXY": proxy.url, "http_proxy": proxy.url}
        env |= {"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        assert codes_by_line(site, **env) == {}
        # (The proxy answers 200 to anything, so the page's title is read too.)
        asked = [(r.method, r.path) for r in proxy.requests if "no-such-page" not in r.path]
        assert asked[0] == ("HEAD", by_name) and {path for _, path in asked} == {by_name}
    assert [r.path for r in origin.requests_to("HEAD", "/direct")] == ["/direct"]
    assert origin.requests_to(path="/by-name") == []


def test_a_slow_plain_link_times_out_as_unreachable(site, origin):
    origin.slow("/slow", 1)
    origin.page("/fine", PAGE)  # an answer: the network is there
    post_links(site, [origin.url_for("/slow"), origin.url_for("/fine")])
    assert codes_by_line(site, TOOLKIT_HTTP_TIMEOUT="0.2") == {4: "L011"}


def test_a_redirect_to_a_local_file_is_not_followed(site, origin):
    origin.redirect("/sly", "file:///etc/passwd")
    post_links(site, [origin.url_for("/sly")])
    (d,) = [d for d in site.diagnostics() if d["line"] == 4]
    assert d["code"] == "L011"
    assert "root:" not in json.dumps(d)


@pytest.fixture
def tls_origin():
    ca = trustme.CA()
    context = __import__("ssl").create_default_context(__import__("ssl").Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = OriginServer()
    server.tls = context
    with server:
        yield server, ca


def test_https_links_are_checked_against_the_ca_bundle_requests_would_use(
    tmp_path, wayback, origin, tls_origin
):
    secure, ca = tls_origin
    secure.page("/secure", PAGE)
    origin.page("/plain", PAGE)  # an answer: the network is there
    site = Site(tmp_path, wayback, secure)
    post_links(site, [secure.url_for("/secure"), origin.url_for("/plain")])
    # A certificate nobody vouches for: unreachable, whichever client asks.
    assert codes_by_line(site) == {4: "L011"}
    assert secure.requests == []  # nothing was sent over the untrusted connection
    with ca.cert_pem.tempfile() as bundle:
        assert codes_by_line(site, REQUESTS_CA_BUNDLE=bundle) == {}
    assert [r.method for r in secure.requests_to(path="/secure")] == ["HEAD"]


class Garbage:
    """A 'web server' that answers every connection with bytes that are not HTTP."""

    def __init__(self, answer: bytes):
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.answer)

    def __enter__(self) -> Garbage:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"\x00\xff\x1b[2J" * 100,
        b"HTTP/1.1 999999999999 Oops\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + b"X: " + b"a" * 300_000 + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nLocation: \x1b]0;owned\x07\r\n\r\n",
    ],
    ids=["binary", "status-out-of-range", "huge-header", "escape-in-header"],
)
def test_a_hostile_answer_is_one_finding_not_a_traceback(site, answer):
    with Garbage(answer) as server:
        post_links(site, [f"http://127.0.0.1:{server.port}/x"])
        result = site.check()
    assert result.exit_code in (0, 1) and "Traceback" not in result.output
    assert "\x1b" not in result.output
    found = [d for d in json.loads(result.stdout) if d["code"].startswith("L")]
    assert len(found) <= 1


def test_links_libcurl_would_refuse_are_asked_as_requests_encodes_them(site, origin):
    """A space or a non-ASCII letter in a link: requests encodes it (as a browser does),
    so the page is found, and found by HEAD, as any other link."""
    origin.page("/a%20b", PAGE)
    origin.page("/caf%C3%A9", PAGE)
    post_links(site, [f"<{origin.url_for('/a b')}>", origin.url_for("/café")])
    assert codes_by_line(site) == {}
    assert [r.method for r in origin.requests if "no-such-page" not in r.path] == ["HEAD"] * 2


@pytest.mark.parametrize(
    "url,here",
    [
        ("https://example.org/page", True),
        ("http://example.org:8080/a?b=c", True),
        ("https://example.org/a b", False),  # requests encodes it; libcurl would refuse it
        ("https://example.org/café", False),
        ("https://bücher.de/", False),
        ("https://web.archive.org/web/2024/https://example.org/", False),  # its own limit
        ("ftp://example.org/file", False),
        ("https:///no-host", False),
        ("https://[::1/x", False),  # an unclosed IPv6 host: urlsplit refuses it
        ("https://example.org:99999999999/x", False),
    ],
)
def test_which_links_libcurl_asks(url, here):
    fetcher = Fetcher(archive_hosts={"web.archive.org"})
    assert heads.suits(url, fetcher) is here


def test_a_link_posts_page_is_checked_at_its_front_matter_line(site, origin):
    origin.gone("/announcement", 404)
    origin.page("/fine", PAGE)
    (site.root / "posts/p.md").write_text(
        f"---\ntitle: P\nlink: {origin.url_for('/announcement')}\n---\n"
        f"See [this]({origin.url_for('/fine')}).\n"
    )
    found = [d for d in site.diagnostics() if d["path"] == "posts/p.md"]
    assert [(d["code"], d["line"]) for d in found] == [("L008", 3)]


def test_links_not_reached_by_the_deadline_are_said_so_and_never_sent(tmp_path, wayback, origin):
    """`[online] deadline`: once the run's time is up, no more requests are sent (by
    either path), and the links left are reported as not reached, not as broken."""
    site = Site(tmp_path, wayback, origin)
    config = tmp_path / "toolkit.toml"
    config.write_text(config.read_text().replace("deadline = 60", "deadline = 1\nper_host = 1"))
    origin.latency = 0.4  # one host, one at a time: 12 links would take 4.8 s
    for i in range(12):
        origin.page(f"/page{i}", PAGE)
    post_links(site, [origin.url_for(f"/page{i}") for i in range(12)])
    found = site.diagnostics()
    late = [d for d in found if "deadline" in d["message"]]
    assert late and all(d["code"] == "L011" for d in late)
    assert len(origin.requests) < 12  # the rest were never sent
    assert not [d for d in found if d["code"] in ("L008", "L010")]
