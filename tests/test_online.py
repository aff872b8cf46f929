"""`toolkit check --online` against a stand-in Wayback Machine and company sites on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import BROKEN_CONFIGS, break_config, online_project
from servers.base import html_response
from servers.origin import OriginServer, make_pdf
from servers.proxy import ProxySink
from servers.wayback import WaybackServer

from toolkit.cli import cli
from toolkit.online import text as textlib
from toolkit.online.citations import classify
from toolkit.online.fetch import Fetched

TS = "20250210221647"
QUOTE = (
    "We intend to choose the benchmarks and set the thresholds for reducing malicious "
    "use risks in a future version of the risk management framework."
)
PAGE = f"<html><head><title>RMF</title></head><body><p>Intro.</p><p>{QUOTE}</p></body></html>"


class Site:
    """A content repository whose snippets cite pages on the stand-in servers."""

    def __init__(self, root: Path, wayback: WaybackServer, origin: OriginServer):
        self.root, self.wayback, self.origin = root, wayback, origin
        online_project(root, wayback.url, "deadline = 60")

    def snippet(
        self,
        name: str,
        path: str,
        quote: str = QUOTE,
        ts: str | None = TS,
        capture: bytes | str | None = PAGE,
        live: bytes | str | None = PAGE,
        mimetype: str = "text/html",
    ) -> str:
        """A snippet citing `path` on the origin, archived at `ts` (captured as `capture`)."""
        url = self.origin.url_for(path)
        if live is not None:
            self.origin.page(path, live, mimetype)
        if capture is not None and ts:
            self.wayback.add_capture(url, ts, capture, mimetype)
        archive = f"archive: {self.wayback.snapshot_url(ts, url)}\n" if ts else ""
        (self.root / f"snippets/{name}.md").write_text(
            f"---\nlab: xai\ntitle: {name}\nquote: {json.dumps(quote)}\nsource:\n"
            f"  url: {url}\n{archive}---\n"
        )
        return url

    def post(self, *links: str) -> None:
        body = " ".join(f"[link {i}]({url})" for i, url in enumerate(links))
        (self.root / "posts/p.md").write_text(f"---\ntitle: P\n---\n{body}\n")

    def check(self, *args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(
            cli,
            ["--root", str(self.root), "check", "--online", "--format", "json", *args],
            env=env,
        )

    def diagnostics(self, *args: str, env: dict[str, str] | None = None) -> list[dict]:
        result = self.check(*args, env=env)
        assert result.exit_code in (0, 1), result.output
        return [d for d in json.loads(result.stdout) if d["code"].startswith("L")]

    def codes(self, *args: str, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
        return [(d["code"], d["path"]) for d in self.diagnostics(*args, env=env)]


@pytest.fixture
def site(tmp_path, wayback, origin) -> Site:
    return Site(tmp_path, wayback, origin)


# The archived copy ------------------------------------------------------------------------


def test_a_good_citation_has_nothing_to_report(site):
    url = site.snippet("good", "/rmf")
    result = site.check()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    # Nothing to report because both were looked at: the raw capture and the live page.
    assert [r for r in site.wayback.requests if r.path.startswith(f"/web/{TS}id_/{url}")]
    assert site.origin.requests_to(path="/rmf")


def test_the_quote_is_found_in_a_pdf_capture_despite_typography(site):
    # A soft hyphen, a line break mid-sentence (make_pdf wraps at 80 characters), curly
    # quotes and a dash in the PDF; plain typing in the snippet.
    typeset = ("\u201cWe intend\u201d \u2014 " + QUOTE).replace("benchmarks", "bench\u00admarks")
    quote = '"We intend" - ' + QUOTE
    pdf = make_pdf(typeset)
    url = site.snippet(
        "pdf", "/rmf.pdf", quote=quote, capture=pdf, live=pdf, mimetype="application/pdf"
    )
    assert site.codes() == []
    assert [r for r in site.wayback.requests if r.path.startswith(f"/web/{TS}id_/{url}")]


def test_a_quote_not_in_a_pdf_capture_is_reported(site):
    pdf = make_pdf(QUOTE)
    site.snippet(
        "pdf",
        "/rmf.pdf",
        quote="We will halt all training at once.",
        capture=pdf,
        live=pdf,
        mimetype="application/pdf",
    )
    assert ("L004", "snippets/pdf.md") in site.codes()


def test_a_quote_not_in_the_copy_is_an_error_showing_the_closest_passage(site):
    site.snippet(
        "wrong",
        "/rmf",
        quote="We commit to halting all training immediately "
        "whenever any benchmark threshold is crossed by any model.",
    )
    (d,) = site.diagnostics()
    assert (d["code"], d["severity"], d["line"]) == ("L004", "error", 4)  # the quote's line
    assert "closest passage" in d["message"] and "score" in d["message"]
    assert site.check().exit_code == 1


def test_a_quote_beyond_the_body_cap_is_reported_with_the_cap(site):
    from toolkit import pipeline
    from toolkit.online.citations import Options, check_online
    from toolkit.online.fetch import Limits

    long_page = f"<html><body><p>{'Filler text. ' * 400}</p><p>{QUOTE}</p></body></html>"
    site.snippet("long", "/long", capture=long_page, live=long_page)
    checked = pipeline.run(site.root)
    report = check_online(checked, site.root, Options(Limits(max_bytes=2000, timeout=2)))
    (d,) = [d for d in report.diagnostics if d.code == "L004"]
    assert "only its first 2,000 bytes were read" in d.message


def test_an_approximate_quote_is_a_warning_with_its_score(site):
    site.snippet("close", "/rmf", quote=QUOTE.replace("intend to choose", "intend to chose"))
    (d,) = site.diagnostics()
    assert (d["code"], d["severity"]) == ("L005", "warning")
    assert "score" in d["message"]


def test_a_missing_capture_is_an_error_naming_the_nearest(site, wayback, origin):
    url = site.snippet("missing", "/rmf", ts="20250101000000", capture=None)
    wayback.add_capture(url, "20250102030405", PAGE)
    (d,) = site.diagnostics()
    assert (d["code"], d["line"]) == ("L001", 7)  # the archive line
    assert "20250102030405" in d["message"]


def test_a_capture_that_is_a_redirect_names_the_capture_to_cite(site, wayback, origin):
    moved = origin.url_for("/new-rmf")
    url = site.snippet("redirect", "/old-rmf", capture=None)
    wayback.add_capture(url, TS, b"", status=301, redirect_to=moved)
    wayback.add_capture(moved, "20250210221700", PAGE)
    (d,) = site.diagnostics()
    assert d["code"] == "L002"
    assert "20250210221700" in d["message"] and "new-rmf" in d["message"]


def test_a_capture_of_an_error_page_is_an_error(site, wayback):
    url = site.snippet("error", "/rmf", capture=None)
    wayback.add_capture(url, TS, "<h1>Not Found</h1>", status=404)
    assert site.codes() == [("L003", "snippets/error.md")]


# The live page ---------------------------------------------------------------------------


def test_an_archive_that_is_down_is_a_warning_to_check_again(site, wayback):
    site.snippet("good", "/rmf")
    for _ in range(4):  # the first try and every retry
        wayback.fail_next(503, {"Retry-After": "0"}, path="/cdx/search/cdx")
    (d,) = site.diagnostics()
    assert (d["code"], d["severity"], d["line"]) == ("L006", "warning", 7)
    assert "503" in d["message"] and "again later" in d["message"]
    assert site.codes() == []  # not kept: the next run checks, and the archive is back


def test_live_classifications(site, origin):
    origin.redirect("/moved", "/elsewhere")
    origin.page("/elsewhere", PAGE)
    site.snippet("moved", "/moved", live=None)
    origin.gone("/gone", 410)
    site.snippet("gone", "/gone", live=None)
    origin.bot_wall("/walled")
    site.snippet("walled", "/walled", live=None)
    origin.unavailable("/down", times=10)
    site.snippet("down", "/down", live=None)
    origin.soft404("/soft")
    site.snippet("soft", "/soft", live=None)
    origin.redirect("/to-home", "/")
    origin.page("/", "<html><title>Home</title></html>")
    site.snippet("home", "/to-home", live=None)
    found = {path: code for code, path in site.codes()}
    assert found == {
        "snippets/moved.md": "L007",
        "snippets/gone.md": "L008",
        "snippets/walled.md": "L009",
        "snippets/down.md": "L011",
        "snippets/soft.md": "L010",
        "snippets/home.md": "L010",
    }
    result = site.check()
    assert result.exit_code == 0  # live problems are warnings, never failures
    messages = {d["path"]: d["message"] for d in json.loads(result.stdout)}
    assert origin.url_for("/elsewhere") in messages["snippets/moved.md"]
    assert "citation of record" in messages["snippets/moved.md"]
    assert "bot wall" in messages["snippets/walled.md"]


def test_retry_after_is_honoured_and_transient_failures_retried(site, origin):
    site.snippet("limited", "/rmf")
    origin.rate_limited("/rmf", retry_after=1, times=1)
    started = time.monotonic()
    assert site.codes() == []  # the second attempt, after the wait, is fine
    gets = origin.requests_to("GET", "/rmf")
    assert len(gets) == 2 and gets[1].time - gets[0].time >= 1.0
    assert time.monotonic() - started >= 1.0


def test_a_slow_page_times_out_as_unreachable(site, origin):
    site.snippet("slow", "/rmf")
    origin.slow("/rmf", 1)
    quick = {"TOOLKIT_HTTP_TIMEOUT": "0.2"}  # toolkit.toml says 2 s; the environment wins
    assert site.codes(env=quick) == [("L011", "snippets/slow.md")]


def test_quote_drift_is_a_warning_naming_when(site, origin):
    site.snippet("drift", "/rmf", live=PAGE.replace(QUOTE, "We will publish thresholds."))
    (d,) = site.diagnostics()
    assert (d["code"], d["severity"]) == ("L012", "warning")
    assert "10 February 2025" in d["message"]


def test_plain_links_head_first_then_get_when_refused(site, origin):
    origin.page("/a", "<html><title>A</title></html>")
    origin.page("/b", "<html><title>B</title></html>")
    origin.no_head("/b")
    site.post(origin.url_for("/a"), origin.url_for("/b"))
    assert site.codes() == []
    assert [r.method for r in origin.requests_to(path="/a")] == ["HEAD"]
    assert [r.method for r in origin.requests_to(path="/b")] == ["HEAD", "GET"]
    assert all("toolkit-citecheck" in r.headers["User-Agent"] for r in origin.requests)


def test_a_failing_link_is_tried_once_by_head_then_by_get_with_retries(site, origin):
    # A 500 is both "HEAD refused" and transient: the HEAD is not retried, the GET is (3
    # retries), so a dead link costs 5 requests, not two full rounds of 4.
    origin.gone("/down", 500)
    site.post(origin.url_for("/down"))
    assert site.codes() == [("L011", "posts/p.md")]
    assert [r.method for r in origin.requests_to(path="/down")] == ["HEAD"] + ["GET"] * 4


def test_a_head_answered_429_or_503_is_confirmed_by_get_before_anything_is_said(site, origin):
    for path in ("/limited", "/busy", "/limited-then-down"):
        origin.page(path, f"<html><title>{path}</title></html>")
    origin.rate_limited("/limited", retry_after=0, times=1)
    origin.unavailable("/busy", times=1)
    origin.unavailable("/limited-then-down", times=10)
    site.post(*(origin.url_for(p) for p in ("/limited", "/busy", "/limited-then-down")))
    assert site.codes() == [("L011", "posts/p.md")]  # only the one that stays down
    for path in ("/limited", "/busy"):
        assert [r.method for r in origin.requests_to(path=path)] == ["HEAD", "GET"]
    # The GET that confirms is retried as any GET is: one HEAD, then four GETs.
    assert [r.method for r in origin.requests_to(path="/limited-then-down")] == ["HEAD"] + [
        "GET"
    ] * 4


def test_a_bot_wall_to_head_is_not_asked_again(site, origin):
    origin.bot_wall("/walled", status=429)
    site.post(origin.url_for("/walled"))
    assert site.codes() == [("L009", "posts/p.md")]
    assert [r.method for r in origin.requests_to(path="/walled")] == ["HEAD"]


def test_a_soft_404_is_caught_even_where_a_head_would_do(tmp_path, wayback):
    # A site whose missing pages answer 200 "Page not found": HEAD cannot tell them apart.
    with OriginServer(soft_404=True) as spa:
        site = Site(tmp_path, wayback, spa)
        spa.page("/real", "<html><title>A real page</title></html>")
        real, missing = spa.url_for("/real"), spa.url_for("/missing")
        site.post(real, missing)
        (d,) = site.diagnostics()
        assert (d["code"], d["path"], d["line"]) == ("L010", "posts/p.md", 4)
        assert d["column"] == len(f"[link 0]({real}) [link 1](") + 1  # the missing one
        assert [r.method for r in spa.requests_to(path="/missing")] == ["HEAD", "GET"]
        assert [r.method for r in spa.requests_to(path="/real")] == ["HEAD", "GET"]
        # One probe of a page no site has, for the host, not one per link.
        probes = [r for r in spa.requests if "no-such-page" in r.path]
        assert len(probes) == 1 and probes[0].method == "HEAD"


def test_a_site_without_soft_404s_costs_a_head_per_link_and_one_probe(site, origin):
    origin.page("/a", "<html><title>A</title></html>")
    origin.page("/b", "<html><title>B</title></html>")
    site.post(origin.url_for("/a"), origin.url_for("/b"))
    assert site.codes() == []
    assert [r.method for r in origin.requests if "no-such-page" not in r.path] == ["HEAD"] * 2
    assert len(origin.requests) == 3


def test_a_dead_link_in_a_post_is_reported_where_it_is(site, origin):
    origin.gone("/dead", 404)
    site.post(origin.url_for("/dead"))
    (d,) = site.diagnostics()
    assert (d["code"], d["path"], d["line"], d["column"]) == ("L008", "posts/p.md", 4, 10)


def test_no_host_gets_more_than_its_limit_at_once(site, wayback, origin):
    origin.latency = 0.1  # long enough that requests pile up behind the limit
    wayback.latency = 0.05
    for i in range(12):
        site.snippet(f"s{i}", f"/page{i}")
    site.post(*[origin.url_for(f"/page{i}") for i in range(12)])
    assert site.codes() == []
    assert origin.max_concurrent == 2  # [online] per_host default
    assert wayback.max_concurrent <= 2  # the archive's own limit
    # ...and their connections are kept alive and reused, not opened per request.
    assert len({r.client for r in origin.requests}) <= 2
    assert len({r.client for r in wayback.requests}) <= 2


def _stderr_on_a_terminal(root: Path, *args: str, **env: str) -> str:
    """Run the real command with stderr on a pseudo-terminal; what the terminal shows."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "CI"} | env
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", "--root", str(root), "check", "--online", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=environment,
        timeout=60,
    )
    os.close(slave)
    shown = b""
    try:
        while chunk := os.read(master, 65536):
            shown += chunk
    except OSError:  # the terminal is closed once everything is read
        pass
    os.close(master)
    assert proc.returncode == 0, proc.stdout
    return shown.decode()


def test_a_progress_bar_on_a_terminal_and_none_in_ci_or_json(site):
    site.snippet("good", "/rmf")
    assert "2/2 URLs checked" in _stderr_on_a_terminal(site.root)
    assert "URLs checked" not in _stderr_on_a_terminal(site.root, "--refresh", CI="true")
    assert "URLs checked" not in _stderr_on_a_terminal(site.root, "--refresh", "--format", "json")


class Proxy(OriginServer):
    """A forward proxy: it answers every absolute-URI request with a page of its own."""

    def handle(self, request):
        return html_response(f"<html><body>{QUOTE} via proxy</body></html>")


def test_the_environments_proxy_settings_are_honoured(site, wayback, origin):
    # The source by the name `localhost`, the archive by its address, which $NO_PROXY lists.
    url = f"http://localhost:{origin.port}/rmf"
    wayback.add_capture(url, TS, PAGE)
    (site.root / "snippets/s.md").write_text(
        f"---\nlab: xai\ntitle: S\nquote: {json.dumps(QUOTE)}\nsource:\n  url: {url}\n"
        f"archive: {wayback.snapshot_url(TS, url)}\n---\n"
    )
    with Proxy() as proxy:
        env = {
            "HTTP_PROXY": proxy.url,
            "http_proxy": proxy.url,
            "NO_PROXY": "127.0.0.1",
            "no_proxy": "127.0.0.1",
        }
        result = CliRunner().invoke(
            cli, ["--root", str(site.root), "check", "--online", "--format", "json"], env=env
        )
        assert result.exit_code == 0, result.output
        assert [r.path for r in proxy.requests] == [url]  # the live page, via the proxy
    assert origin.requests == []
    assert wayback.requests  # the archive directly


# What is kept ----------------------------------------------------------------------------


def test_a_second_run_sends_nothing_for_what_it_learned(site, wayback, origin):
    site.snippet("good", "/rmf")
    origin.gone("/dead", 404)
    site.post(origin.url_for("/dead"))
    first = site.codes()
    sent = len(wayback.requests) + len(origin.requests)
    assert sent > 0
    assert site.codes() == first
    assert len(wayback.requests) + len(origin.requests) == sent  # nothing new
    site.codes("--refresh")
    assert len(wayback.requests) + len(origin.requests) > sent


def test_failures_are_not_kept(site, origin):
    site.snippet("down", "/rmf")
    origin.unavailable("/rmf", times=4)  # every attempt of the first run fails
    assert site.codes() == [("L011", "snippets/down.md")]
    assert site.codes() == []  # asked again, and fine now


def test_a_broken_cache_file_costs_requests_not_the_run(site, origin):
    site.snippet("good", "/rmf")
    (site.root / ".toolkit").mkdir()
    (site.root / ".toolkit/online.sqlite").write_bytes(b"not a database" * 100)
    result = site.check()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [] and origin.requests


def test_offline_nothing_is_called_gone_and_one_message_says_why(tmp_path):
    root = tmp_path
    (root / "snippets").mkdir()
    (root / "toolkit.toml").write_text(
        '[site]\ntitle = "T"\nbase_url = "https://e.org"\n'
        '[archive]\nwayback_url = "http://127.0.0.1:9"\n'
        "[online]\ntimeout = 1\n"
    )
    (root / "snippets/labs.yaml").write_text("xai:\n  name: xAI\n")
    (root / "snippets/s.md").write_text(
        f"---\nlab: xai\ntitle: S\nquote: q\nsource:\n  url: http://127.0.0.1:9/x\n"
        f"archive: http://127.0.0.1:9/web/{TS}/http://127.0.0.1:9/x\n---\n"
    )
    result = CliRunner().invoke(cli, ["--root", str(root), "check", "--online", "--format", "json"])
    assert result.exit_code == 1  # the online checks the writer asked for did not happen
    assert [d["code"] for d in json.loads(result.stdout) if d["code"][0] == "L"] == []
    assert "no network?" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("how", sorted(BROKEN_CONFIGS))
def test_a_broken_toolkit_toml_stops_the_online_checks_before_any_request(
    site, wayback, origin, how
):
    site.snippet("good", "/rmf")
    (site.root / "snippets/elsewhere.md").write_text(  # a real host: only the sink sees it
        f"---\nlab: xai\ntitle: E\nquote: q\nsource:\n  url: https://x.ai/rmf\n"
        f"archive: https://web.archive.org/web/{TS}/https://x.ai/rmf\n---\n"
    )
    where, code = break_config(site.root, how)
    with ProxySink() as sink:
        result = CliRunner().invoke(
            cli, ["--root", str(site.root), "check", "--online"], env=sink.environment()
        )
        assert sink.requests == []
    assert result.exit_code == 1
    assert any(
        line.startswith(where) and f"error {code} " in line for line in result.stdout.splitlines()
    ), result.stdout
    assert "toolkit.toml has errors" in result.stderr and "Traceback" not in result.output
    assert wayback.requests == [] and origin.requests == []


# Units ------------------------------------------------------------------------------------


def test_no_such_host_is_gone_but_a_refused_connection_is_not():
    assert classify(Fetched("https://x.invalid/", "GET", error="dns"), "").kind == "gone"
    assert classify(Fetched("https://x.org/", "GET", error="connection"), "").kind == "unreachable"


@pytest.mark.parametrize(
    "quote,page",
    [
        ("“Safety first” — always", 'He said "safety first" - always.'),
        ("the ﬁnal model checkpoint", "THE FINAL MODEL\ncheckpoint"),
        ("effective…", "Effective..."),
    ],
)
def test_normalisation_makes_typography_irrelevant(quote, page):
    assert textlib.find_quote(quote, page).exact


def test_visible_text_skips_scripts_and_styles():
    html = b"<html><script>var q='secret quote'</script><style>.q{}</style><p>shown</p></html>"
    assert textlib.html_text(html).split() == ["shown"]
