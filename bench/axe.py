"""The built site as a reader's browser sees it: axe-core in headless Chromium, light and dark.

    python bench/axe.py [--screenshots] [--no-widths]

Builds the example content (this repository's posts/, snippets/, toolkit.toml,
archives.yaml) into bench/out/axe/, serves its site/ on 127.0.0.1, and opens each page
below in headless Chromium twice: once as it is (light) and once with `--force-dark-mode`,
which makes `prefers-color-scheme: dark` match (the page reports which scheme it saw, and
a mode that did not take is an error, not a pass). In each, axe-core runs every rule it
runs by default (WCAG 2.x A and AA, and best practices) and posts its violations back to
the server. The script prints them, writes them to bench/out/axe-results.json, and exits 1
if there are any.

It also measures, in the same browser, what the eye would notice (skip with --no-widths):
at every viewport width from 320 to 1280 px (step 8), whether any note number or "↩"
back-link sits on another line than the character before it, and at 1280 px the median
characters per full line of the post's paragraphs (the measure).

--screenshots: the post in light and dark mode at 1280 and 390 px wide, as PNGs in
bench/out/axe/ (look at them).

axe-core is the npm package, installed with npm into bench/out/node_modules on first run.
Chromium is Debian's `chromium` (or $CHROMIUM); without it the script says so and exits 2.
Nothing here leaves the machine: the pages are served from 127.0.0.1 and Chromium runs
with a fresh profile each time.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
WORK = OUT / "axe"
AXE = OUT / "node_modules" / "axe-core" / "axe.min.js"
RESULTS = OUT / "axe-results.json"
POST = "posts/paris-frameworks-compared/"
PAGES = {
    "index": "",
    "post": POST,
    "shortform page": "shortform/",
    "shortform post": "shortform/preparedness-page-redirects/",
    "tag page": "tags/rsp/",
    "claims page": "claims/",
    "a company's claims": "claims/google-deepmind/",
    "404": "404.html",
}
MODES = ("light", "dark")
WIDTHS = range(320, 1281, 8)
TIMEOUT = 90.0  # seconds for one page to load, run axe and answer

RUNNER = """<script src="/__bench/axe.min.js"></script>
<script>
window.addEventListener("load", async () => {
  const report = {dark: matchMedia("(prefers-color-scheme: dark)").matches};
  try {
    const r = await axe.run(document, {resultTypes: ["violations"]});
    report.violations = r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))}));
    report.rules = r.passes.length + r.violations.length + r.incomplete.length
      + r.inapplicable.length;
  } catch (e) { report.error = String(e); }
  await fetch("/__bench/result" + location.search, {method: "POST", body: JSON.stringify(report)});
});
</script>
"""

# Runs in a harness page: loads the post in an iframe at each width and looks for a
# reference or back-link on another line than the character before it.
WRAP_HARNESS = """<!doctype html><meta charset="utf-8"><title>widths</title><body>
<script>
const WIDTHS = %(widths)s, PAGE = %(page)s;
function lastCharRect(doc, el) {
  // The rectangle of the last visible character before `el` in document order.
  const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
  let node, last = null;
  while ((node = walker.nextNode())) {
    if (el.compareDocumentPosition(node) & Node.DOCUMENT_POSITION_FOLLOWING) break;
    if (el.contains(node)) break;
    if (node.data.replace(/[\\s\\u2060]/g, "").length) last = node;
  }
  if (!last) return null;
  const text = last.data.replace(/[\\s\\u2060\\u00a0]+$/, "");
  const range = doc.createRange();
  range.setStart(last, text.length - 1); range.setEnd(last, text.length);
  return range.getBoundingClientRect();
}
function wraps(doc) {
  const found = [];
  for (const el of doc.querySelectorAll("sup.note-ref > a, a.backref")) {
    const before = lastCharRect(doc, el), rect = el.getBoundingClientRect();
    if (before && rect.top >= before.bottom - 2) found.push(el.getAttribute("href"));
  }
  return found;
}
function measure(doc) {
  const counts = [];
  for (const p of doc.querySelectorAll("article > p")) {
    const walker = doc.createTreeWalker(p, NodeFilter.SHOW_TEXT);
    let node, lines = new Map();
    while ((node = walker.nextNode())) {
      for (let i = 0; i < node.data.length; i++) {
        const range = doc.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
        const r = range.getClientRects()[0];
        if (!r) continue;
        const top = Math.round(r.top);
        lines.set(top, (lines.get(top) || 0) + 1);
      }
    }
    const tops = [...lines.keys()].sort((a, b) => a - b);
    tops.slice(0, -1).forEach(t => counts.push(lines.get(t)));  // full lines only
  }
  counts.sort((a, b) => a - b);
  return counts.length ? counts[Math.floor(counts.length / 2)] : 0;
}
async function at(width) {
  const frame = document.createElement("iframe");
  frame.style.width = width + "px"; frame.style.height = "800px"; frame.style.border = "0";
  document.body.appendChild(frame);
  await new Promise(done => { frame.onload = done; frame.src = PAGE; });
  const doc = frame.contentDocument;
  const result = {width, wraps: wraps(doc), measure: width === 1280 ? measure(doc) : null};
  frame.remove();
  return result;
}
(async () => {
  const results = [];
  for (const w of WIDTHS) results.push(await at(w));
  await fetch("/__bench/result?page=widths&mode=light", {method: "POST",
    body: JSON.stringify({dark: false, widths: results})});
})();
</script>
"""


class Results:
    def __init__(self) -> None:
        self.found: dict[tuple[str, str], dict] = {}
        self.arrived = threading.Condition()

    def put(self, page: str, mode: str, report: dict) -> None:
        with self.arrived:
            self.found[(page, mode)] = report
            self.arrived.notify_all()

    def wait(self, page: str, mode: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while (page, mode) not in self.found:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.arrived.wait(left)
            return self.found[(page, mode)]


def make_server(site: Path, results: Results) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, format, *args):  # noqa: A002 - the base's name
            pass

        def do_POST(self):
            query = parse_qs(urlsplit(self.path).query)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            results.put(query["page"][0], query["mode"][0], json.loads(body))
            self.send_response(204)
            self.end_headers()

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/__bench/axe.min.js":
                return self.answer(AXE.read_bytes(), "text/javascript")
            if url.path == "/__bench/widths.html":
                page = parse_qs(url.query)["page"][0]
                html = WRAP_HARNESS % {"widths": json.dumps(list(WIDTHS)), "page": json.dumps(page)}
                return self.answer(html.encode(), "text/html; charset=utf-8")
            if "axe=1" in url.query:
                path = site / url.path.lstrip("/")
                path = path / "index.html" if path.is_dir() else path
                page = path.read_bytes().replace(b"</body>", RUNNER.encode() + b"</body>", 1)
                return self.answer(page, "text/html; charset=utf-8")
            return super().do_GET()

        def answer(self, data: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)
            # else: a browser ended mid-answer once its page had reported; nothing is lost

    return Server(("127.0.0.1", 0), Handler)


def find_chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def chromium_args(chromium: str, mode: str, profile: str) -> list[str]:
    args = [
        chromium,
        "--headless",
        "--no-sandbox",  # the bench runs as root in containers; the pages are our own
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]
    if mode == "dark":
        args.append("--force-dark-mode")
    return args


def open_page(chromium: str, url: str, mode: str, results: Results, key: str) -> dict | None:
    """Open `url` until it reports back as `key`; the browser is ended (by its pid) after."""
    with tempfile.TemporaryDirectory(prefix="axe-profile-", ignore_cleanup_errors=True) as profile:
        args = chromium_args(chromium, mode, profile) + ["--window-size=1280,900", url]
        # Its own process group: the browser and the helpers it starts end together.
        proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            return results.wait(key, mode, TIMEOUT)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def screenshot(chromium: str, url: str, mode: str, width: int, path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="axe-profile-", ignore_cleanup_errors=True) as profile:
        args = chromium_args(chromium, mode, profile) + [
            f"--window-size={width},2400",
            f"--screenshot={path}",
            url,
        ]
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def ensure_axe() -> None:
    if AXE.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("bench/axe.py: axe-core is not installed and npm is not found; install Node.js")
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--prefix", str(OUT), "--no-audit", "--no-fund", "axe-core@4"])
    if not AXE.is_file():
        sys.exit(f"bench/axe.py: npm did not install axe-core into {OUT}")


def build_examples() -> Path:
    """A copy of the example content, built; its site/ folder."""
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    for name in ("toolkit.toml", "archives.yaml"):
        shutil.copy(REPO / name, WORK / name)
    for name in ("posts", "snippets"):
        shutil.copytree(REPO / name, WORK / name)
    subprocess.run(
        [sys.executable, "-m", "toolkit", "--root", str(WORK), "build"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return WORK / "site"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--screenshots", action="store_true", help="PNGs of the post")
    parser.add_argument("--no-widths", action="store_true", help="skip the wrap and measure check")
    opts = parser.parse_args()

    chromium = find_chromium()
    if chromium is None:
        print(
            "bench/axe.py: Chromium not found (apt-get install chromium, or set $CHROMIUM): "
            "nothing was checked",
            file=sys.stderr,
        )
        return 2
    ensure_axe()
    version = json.loads((AXE.parent / "package.json").read_text())["version"]
    site = build_examples()
    results = Results()
    server = make_server(site, results)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"axe-core {version} in {chromium}, pages served from {base}")

    report: dict = {"axe": version, "pages": {}}
    total = 0
    failed = False
    try:
        for name, path in PAGES.items():
            for mode in MODES:
                query = urlencode({"axe": 1, "page": name, "mode": mode})
                got = open_page(chromium, f"{base}{path}?{query}", mode, results, name)
                if got is None or "error" in got:
                    print(f"  {name:20} {mode:5}  no answer: {got and got.get('error')}")
                    failed = True
                    continue
                if got["dark"] != (mode == "dark"):
                    print(f"  {name:20} {mode:5}  the browser did not take {mode} mode")
                    failed = True
                    continue
                violations = got["violations"]
                total += len(violations)
                report["pages"].setdefault(name, {})[mode] = violations
                nodes = sum(len(v["nodes"]) for v in violations)
                print(f"  {name:20} {mode:5}  {len(violations)} violations ({nodes} elements)")
                for v in violations:
                    print(f"      {v['id']} ({v['impact']}): {v['help']}")
                    for n in v["nodes"][:5]:
                        print(f"        {n['target']}")
        print(f"{total} violations on {len(PAGES)} pages in light and dark mode")

        if not opts.no_widths:
            url = f"{base}__bench/widths.html?page=/{POST}"
            got = open_page(chromium, url, "light", results, "widths")
            if got is None:
                print("  widths: no answer")
                failed = True
            else:
                wrapped = [w for w in got["widths"] if w["wraps"]]
                measure = next(w["measure"] for w in got["widths"] if w["measure"] is not None)
                report["widths"] = {
                    "checked": len(got["widths"]),
                    "wrapped": wrapped,
                    "measure_1280": measure,
                }
                print(
                    f"note numbers or back-links off their word's line at {len(wrapped)} of "
                    f"{len(got['widths'])} widths (320-1280 px); "
                    f"median characters a line at 1280 px: {measure}"
                )
                for w in wrapped[:5]:
                    print(f"  {w['width']} px: {', '.join(w['wraps'][:5])}")
                failed = failed or bool(wrapped)

        if opts.screenshots:
            for mode in MODES:
                for width in (1280, 390):
                    shot = WORK / f"post-{mode}-{width}.png"
                    screenshot(chromium, f"{base}{POST}", mode, width, shot)
                    print(f"screenshot: {shot.relative_to(REPO)}")
    finally:
        server.shutdown()
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if failed or total else 0


if __name__ == "__main__":
    sys.exit(main())
