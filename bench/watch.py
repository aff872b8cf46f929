"""Benchmark: `toolkit watch` on 500 documents spread over 20 local hosts.

    python bench/watch.py [--documents 500] [--hosts 20] [--latency 0.05]

Serves --hosts stand-in company sites on 127.0.0.2, 127.0.0.3, ... and a stand-in Wayback
Machine (raw `id_` captures only) on the next address, each answering after --latency
seconds, with an ETag per page and 304 to a matching If-None-Match. Every document starts
as its archived capture. Then three runs of `toolkit watch --format json`, each a fresh
process (start-up included):

1. cold: nothing in .toolkit/watch/; every page and every archived capture is fetched.
2. after edits: a tenth of the documents reworded one sentence; another fifth changed only
   cosmetically (a new footer date, reordered navigation, a cookie banner, extra
   whitespace, and a new ETag, so they are fetched and compared, not 304s). The changes
   found must be exactly the reworded ones.
3. nothing changed since run 2: every page should be a 304, no capture fetched again,
   and the run under 2 s.

The project uses [online] per_host = 2 and archive_connections = 8 (the default 2 would
make the cold run's 500 capture reads take 500 x 50 ms / 2 = 12.5 s on its own). Results
also go to bench/out/watch-results.json; the project to bench/out/watch/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OUT = Path(__file__).parent / "out"
WORK = OUT / "watch"
NAV = ("Research", "Safety", "Policy", "Careers", "News")
BANNER = (
    '<div id="cookie-consent" class="cookie-banner"><p>We use cookies. '
    "Accept all cookies?</p><button>Accept</button></div>"
)


def page(n: int, reworded: bool = False, noisy: bool = False) -> bytes:
    nav = NAV[::-1] if noisy else NAV
    links = "".join(f'<li><a href="/{x.lower()}?utm_source=nav">{x}</a></li>' for x in nav)
    commitment = (
        f"We may share a summary of evaluation {n} after release."
        if reworded
        else f"We will publish the results of evaluation {n} before each deployment."
    )
    space = "  \n\t  " if noisy else " "
    body = "".join(
        f"<p>Section {i} of document {n} describes safeguard {i * 7 + n}.{space}"
        f"It applies to every model we train. Reviews happen each quarter.</p>"
        for i in range(8)
    )
    return (
        f"<!doctype html><html><head><title>Document {n}</title></head><body>"
        f"{BANNER if noisy else ''}<header><nav><ul>{links}</ul></nav></header>"
        f"<main><h1>Framework document {n}</h1><p>{commitment}</p>{body}</main>"
        f"<footer><p>Last updated: {'9 June 2025' if noisy else '3 March 2025'}</p>"
        "<p>© 2025 Company</p></footer></body></html>"
    ).encode()


class Site:
    """One host: pages by path, an ETag each, answers after `latency`; counts statuses."""

    def __init__(self, address: str, latency: float):
        self.pages: dict[str, bytes] = {}
        self.latency = latency
        self.seen: Counter[int] = Counter()
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                time.sleep(site.latency)
                body = site.pages.get(self.path)
                if body is None:
                    status, body, etag = 404, b"not found", ""
                else:
                    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                    status = 304 if self.headers.get("If-None-Match") == etag else 200
                with site.lock:
                    site.seen[status] += 1
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", "0" if status == 304 else str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{address}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> Counter[int]:
        with self.lock:
            seen, self.seen = self.seen, Counter()
        return seen


def run_watch(root: Path) -> tuple[float, list[dict], int]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "--root", str(root), "watch", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"watch failed ({done.returncode}):\n{done.stderr}")
    return elapsed, json.loads(done.stdout), done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()

    sites = [Site(f"127.0.0.{i + 2}", args.latency) for i in range(args.hosts)]
    archive = Site(f"127.0.0.{args.hosts + 2}", args.latency)
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "snippets").mkdir(parents=True)
    (WORK / "posts").mkdir()
    (WORK / "snippets/labs.yaml").write_text("lab:\n  name: A Lab\n")
    (WORK / "toolkit.toml").write_text(
        '[site]\ntitle = "Bench"\nbase_url = "https://example.org"\n'
        f'[archive]\nwayback_url = "{archive.url}"\n'
        "[online]\nper_host = 2\narchive_connections = 8\n"
    )
    entries = []
    for n in range(args.documents):
        site = sites[n % args.hosts]
        path = f"/doc/{n:04d}"
        url = site.url + path
        site.pages[path] = page(n)
        archive.pages[f"/web/20250301000000id_/{url}"] = page(n)
        entries.append(
            f"doc-{n:04d}:\n  lab: lab\n  title: Document {n}\n  url: {url}\n"
            f"  archive: {archive.url}/web/20250301000000/{url}\n"
        )
    (WORK / "documents.yaml").write_text("".join(entries))

    results = {}

    def measure(name: str) -> dict:
        elapsed, reports, code = run_watch(WORK)
        origin: Counter[int] = Counter()
        for site in sites:
            origin += site.take()
        captures = sum(archive.take().values())
        statuses = Counter(r["status"] for r in reports)
        results[name] = {
            "seconds": round(elapsed, 2),
            "origin_requests": sum(origin.values()),
            "origin_304": origin[304],
            "origin_200": origin[200],
            "capture_requests": captures,
            "statuses": dict(statuses),
            "exit": code,
        }
        print(f"{name}: {results[name]}", flush=True)
        return {r["url"]: r for r in reports}

    measure("cold")
    reworded = set(range(0, args.documents, 10))
    noisy = {n for n in range(args.documents) if n % 10 in (3, 7)}
    for n in reworded | noisy:
        sites[n % args.hosts].pages[f"/doc/{n:04d}"] = page(n, n in reworded, n in noisy)
    after = measure("after edits")
    found = {int(r["document"][4:]) for r in after.values() if r["status"] == "changed"}
    results["planted"] = {
        "reworded": len(reworded),
        "cosmetic": len(noisy),
        "changes found": len(found),
        "exactly the planted": found == reworded,
    }
    measure("re-run, nothing changed")
    print(json.dumps(results["planted"]))
    (OUT / "watch-results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
