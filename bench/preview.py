"""Benchmark: `toolkit serve` beside `hugo server` (0.168.0), from saving a post to the new
text being served.

    python bench/preview.py [--posts 2000] [--snippets 2000] [--edits 7]

Generates one corpus (bench/corpus.py) and Hugo's copy of it (bench/peers.py), starts both
servers on 127.0.0.1 as a writer would (`toolkit serve`; `hugo server --buildFuture`, which
renders to memory with its live reload and fast render mode on), and waits for each to
serve. Then, for each edit, a sentence is appended to one post (a different post each
time, the same one for both tools), and the time from the write to the page answering with
that sentence over HTTP (polled every --interval seconds) is taken; the tools take turns
going first, and each edit waits for both servers to go quiet. One untimed edit each warms
them up. Prints every time, the medians and their ratio; results also go to
bench/out/preview-results.json. Target (issue 14): ours at or below Hugo's median.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
import corpus  # noqa: E402
import measure  # noqa: E402
import peers  # noqa: E402

OUT = Path(__file__).parent / "out"
SETTLE = 2.0  # seconds after each edit's text is served, for the rebuild behind it


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, cmd: list[str], base: str, log: Path, env: dict | None = None):
        self.name, self.base, self.log = name, base, log
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            env=env,
            start_new_session=True,  # Ctrl-C on the bench is not also theirs
        )

    def wait_ready(self, path: str, timeout: float = 600) -> float:
        """Seconds from the server's start to its first answer for `path`."""
        while time.perf_counter() - self.started < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited: see {self.log}")
            try:
                if requests.get(self.base + path, timeout=5).status_code == 200:
                    return time.perf_counter() - self.started
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.name} did not serve {path} within {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def save_to_served(source: Path, url: str, sentence: str, interval: float) -> float:
    """Append `sentence` to `source`; seconds until `url` answers with it."""
    session = requests.Session()  # one connection setup less in each poll
    start = time.perf_counter()
    with source.open("a") as f:
        f.write(f"\n{sentence}\n")
    while time.perf_counter() - start < 60:
        if sentence in session.get(url, timeout=10).text:
            return time.perf_counter() - start
        time.sleep(interval)
    raise SystemExit(f"{url} never showed the edit to {source}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--snippets", type=int, default=2000)
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=7)
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between polls")
    args = parser.parse_args()

    tools = peers.install()
    base = OUT / f"preview-{args.posts}"
    root, hugo_dir = base / "toolkit", base / "hugo"
    corpus.generate(root, args.posts, args.snippets, args.words)
    peers.hugo_site(hugo_dir, peers.read_posts(root))
    print(
        f"{args.posts} posts of ~{args.words} words, {args.snippets} snippets; "
        f"{os.cpu_count()} CPUs; {args.edits} edits each; {tools.hugo_version.split()[1]}",
        flush=True,
    )

    ours = Server(
        "toolkit serve",
        [sys.executable, "-m", "toolkit", "--root", str(root), "serve", "--port", "0"],
        "",
        base / "toolkit-serve.log",
        measure.python_env(OUT / "build-pycache"),
    )
    hugo_port = free_port()
    hugo = Server(
        "hugo server",
        [
            str(tools.hugo),
            "server",
            "--source",
            str(hugo_dir),
            "--bind",
            "127.0.0.1",
            "--port",
            str(hugo_port),
            "--buildFuture",
            "--cacheDir",
            str(hugo_dir / "hugo-cache"),
        ],
        f"http://127.0.0.1:{hugo_port}",
        base / "hugo-server.log",
    )
    servers = [ours, hugo]
    try:
        # Our port is chosen by the server (0: any free one) and printed when it serves.
        deadline = time.monotonic() + 600
        while not (found := re.search(r"http://127\.0\.0\.1:\d+", ours.log.read_text())):
            if ours.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"toolkit serve did not start: see {ours.log}")
            time.sleep(0.1)
        ours.base = found[0]
        ready = max(server.wait_ready("/") for server in servers)
        print(f"Both serving {ready:.1f} s after they started (ours builds cold).", flush=True)

        # Posts, not shortform notes (their pages are elsewhere), newest first.
        chosen = [i for i in range(args.posts - 1, -1, -1) if i % 10][: args.edits + 1]

        def edit(server: Server, i: int, sentence: str) -> float:
            slug = f"post-{i:05d}"
            if server is ours:
                return save_to_served(
                    root / "posts" / f"{slug}.md",
                    f"{ours.base}/posts/{slug}/",
                    sentence,
                    args.interval,
                )
            return save_to_served(
                hugo_dir / "content" / "posts" / f"{slug}.md",
                f"{hugo.base}/posts/{slug}/",
                sentence,
                args.interval,
            )

        times: dict[str, list[float]] = {s.name: [] for s in servers}
        for n, i in enumerate(chosen):
            order = servers if n % 2 else servers[::-1]
            for server in order:
                seconds = edit(server, i, f"The benchmark saved this, edit {n} of post {i}.")
                if n:  # the first edit warms up: untimed
                    times[server.name].append(seconds)
                time.sleep(SETTLE)
    finally:
        for server in servers:
            server.stop()

    rebuilds = [float(s) for s in re.findall(r"Rebuilt in (\d+\.\d+) s", ours.log.read_text())]
    rebuilds = rebuilds[-args.edits :]  # the timed edits' full rebuilds
    medians = {name: statistics.median(t) for name, t in times.items()}
    ratio = medians["toolkit serve"] / medians["hugo server"]
    print("\n| server | median ms | each edit (ms) |\n|---|---|---|")
    for name, t in times.items():
        each = ", ".join(f"{s * 1000:.0f}" for s in t)
        print(f"| {name} | {medians[name] * 1000:.0f} | {each} |")
    print(
        f"\ntoolkit serve / hugo server: {ratio:.2f} (target <= 1: "
        f"{'met' if ratio <= 1 else 'NOT met'})"
    )
    if rebuilds:
        print(
            f"toolkit serve's full preview rebuild behind each edit (index, tags, feeds): "
            f"median {statistics.median(rebuilds):.2f} s "
            f"({', '.join(f'{s:.2f}' for s in rebuilds)})"
        )
    results = {
        "corpus": {"posts": args.posts, "snippets": args.snippets, "words": args.words},
        "cpus": os.cpu_count(),
        "hugo": tools.hugo_version,
        "interval_s": args.interval,
        "save_to_served_s": times,
        "medians_s": medians,
        "ratio": ratio,
        "toolkit_full_rebuild_s": rebuilds,
        "load_average_end": os.getloadavg(),
    }
    (OUT / "preview-results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
