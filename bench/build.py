"""Benchmark: `toolkit build` side by side with Pelican 4.12.0 and Hugo 0.168.0.

    python bench/build.py [--posts 2000] [--snippets 2000] [--runs 3]

Generates one corpus (bench/corpus.py), converts it to plain Markdown for the peers
(bench/peers.py: citations and claims written out as ordinary footnotes and quotes), then
times, as the median of --runs runs each with the peak memory of the whole process tree:
a cold full build by each tool (outputs and caches removed first), and for our toolkit a
rebuild with nothing changed and a rebuild after appending a sentence to one post.
Every tool must write HTML pages and a full-content feed; the counts are printed so the
comparison can be checked. Results also go to bench/out/build-results.json.
Targets (the issue): Pelican at least 3x our cold time, ours at most 2x Hugo's, our
rebuilds under a third of Hugo's cold build, our peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import corpus  # noqa: E402
import measure  # noqa: E402
import peers  # noqa: E402

OUT = Path(__file__).parent / "out"
REPO = Path(__file__).parent.parent
POST_PAGE = re.compile(r"post-\d{5}")
NOTE = re.compile(r"<li id=\"[^\"]*fn[-:]")  # ours: post-x-fn-1; Markdown/Goldmark: fn:1


@dataclass
class Tool:
    name: str
    cmd: list[str]
    cwd: Path
    clean: list[str]  # outputs and caches, relative to cwd, removed before a cold build
    html: str  # the directory of HTML pages
    feeds: str  # the directory of feed files
    main_feed: str  # the feed of all posts
    entry: str  # how an item of that feed starts
    env: dict | None = None
    # Old output trees the tool leaves to a detached process to delete after it exits: we
    # wait for them to go (untimed) so that work does not land in the next run.
    trash: tuple[str, ...] = ()  # globs, relative to cwd
    cleanup: list[float] = field(default_factory=list)  # seconds waited after each run

    def remove_outputs(self) -> None:
        for name in self.clean:
            shutil.rmtree(self.cwd / name, ignore_errors=True)
        os.sync()  # so the deletions' disk work does not land in the timed run that follows


def run_once(tool: Tool) -> measure.Run:
    """One timed run, which must exit 0 (measure.run keeps no output: run again to show it)."""
    try:
        result = measure.run(tool.cmd, tool.cwd, tool.env)
    except SystemExit:
        check(tool)
        raise
    if tool.trash:
        start = time.perf_counter()
        while (
            any(p for pattern in tool.trash for p in tool.cwd.glob(pattern))
            and time.perf_counter() - start < 60
        ):
            time.sleep(0.02)
        tool.cleanup.append(time.perf_counter() - start)
    return result


def check(tool: Tool) -> None:
    """An untimed build; on failure print the tool's output and stop."""
    done = subprocess.run(tool.cmd, cwd=tool.cwd, env=tool.env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-5000:], sep="\n", file=sys.stderr)
        raise SystemExit(
            f"{tool.name} build failed on the corpus (exit {done.returncode}); "
            "not timing a failure. Its output is above."
        )


def preflight(tool: Tool) -> None:
    """One untimed cold build first, to stop with the tool's own message if it fails (and to
    warm the file cache equally for all three)."""
    tool.remove_outputs()
    check(tool)


def last_sentence(post: Path) -> str:
    """The last sentence of the post's last paragraph: only a full-content feed has it."""
    body = post.read_text().split("---\n", 2)[2]
    paragraphs = [p for p in body.split("\n\n") if p.strip() and not p.startswith(("[^", "```"))]
    return re.findall(r"[A-Z][a-z ]+\.", paragraphs[-1])[-1]


def outputs(tool: Tool, sentence: str) -> dict:
    """What the tool wrote: HTML files, post pages with their notes, feeds, full content."""
    html = list((tool.cwd / tool.html).rglob("*.html"))
    pages = [p for p in html if POST_PAGE.search(str(p.relative_to(tool.cwd / tool.html)))]
    texts = [p.read_text() for p in pages]
    feeds = [
        p
        for p in (tool.cwd / tool.feeds).rglob("*")
        if p.suffix in (".xml", ".json") and p.name != "sitemap.xml"
    ]
    main_feed = tool.cwd / tool.main_feed
    main = main_feed.read_text() if main_feed.exists() else ""
    return {
        "html_files": len(html),
        "post_pages": len(pages),
        "note_refs": sum(t.count("<sup") for t in texts),
        "notes": sum(len(NOTE.findall(t)) for t in texts),
        "html_mb": round(sum(p.stat().st_size for p in html) / 2**20, 1),
        "feed_files": len(feeds),
        "main_feed": tool.main_feed,
        "main_feed_items": main.count(tool.entry),
        "full_content": sentence in main,
    }


def table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--snippets", type=int, default=2000)
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--snapshot",
        action="store_true",
        help="time a copy of toolkit/ taken at the start (bench/out/"
        "toolkit-snapshot), not the working tree others may be editing",
    )
    args = parser.parse_args()

    tools_info = peers.install()
    base = OUT / f"build-{args.posts}"
    root, pelican_dir, hugo_dir = base / "toolkit", base / "pelican", base / "hugo"
    corpus.generate(root, args.posts, args.snippets, args.words)
    converted = peers.convert(root, pelican_dir, hugo_dir)

    # Python tools run with their bytecode cached, as on a writer's machine (this one sets
    # PYTHONDONTWRITEBYTECODE, which would make every run compile the code again).
    env = measure.python_env(OUT / "build-pycache")
    package = REPO / "toolkit"
    if args.snapshot:
        shutil.rmtree(OUT / "toolkit-snapshot", ignore_errors=True)
        package = OUT / "toolkit-snapshot" / "toolkit"
        shutil.copytree(REPO / "toolkit", package, ignore=shutil.ignore_patterns("__pycache__"))
        env["PYTHONPATH"] = str(package.parent)  # before the editable install
    ours = Tool(
        "toolkit",
        [sys.executable, "-m", "toolkit", "--root", str(root), "build"],
        root,
        ["site", "feeds", ".toolkit", "drafts"],
        "site",
        "feeds",
        "feeds/atom.xml",
        "<entry>",
        env,
        trash=(".*.trash-*", ".toolkit/trees/.*.trash-*"),
    )
    pelican = Tool(
        "Pelican",
        [str(tools_info.pelican), "content", "-s", "pelicanconf.py", "-o", "output", "-q"],
        pelican_dir,
        ["output", "cache", "__pycache__"],
        "output",
        "output/feeds",
        "output/feeds/all.atom.xml",
        "<entry>",
        measure.python_env(OUT / "build-pycache"),
    )
    hugo = Tool(
        "Hugo",
        [
            str(tools_info.hugo),
            "--quiet",
            "--buildFuture",
            "--cacheDir",
            str(hugo_dir / "hugo-cache"),
        ],
        hugo_dir,
        ["public", "resources", "hugo-cache"],
        "public",
        "public",
        "public/index.xml",
        "<item>",
    )
    tools = [ours, pelican, hugo]
    print(
        f"{args.posts} posts ({converted} published) of ~{args.words} words, "
        f"{args.snippets} snippets; {os.cpu_count()} CPUs; {args.runs} runs each; "
        f"Pelican {tools_info.pelican_version}, {tools_info.hugo_version.split()[1]}",
        flush=True,
    )

    source = measure.toolkit_source(package)
    imported = subprocess.run(
        [sys.executable, "-c", "import toolkit; print(toolkit.__file__)"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if Path(imported).resolve().parent != package.resolve():
        raise SystemExit(
            f"the toolkit imported is {imported}, not the one in {package}: "
            "not timing the wrong code"
        )
    print(
        f"toolkit: {imported} (working tree at {source['commit'][:8]}"
        + (
            ", uncommitted changes: " + ", ".join(line[3:] for line in source["modified"])
            if source["modified"]
            else ""
        )
        + ")"
    )
    load_start = os.getloadavg()
    for tool in tools:
        preflight(tool)

    # Cold builds, the three tools in turn each round, so drift in load hits all alike.
    cold_times: dict[str, list[measure.Run]] = {t.name: [] for t in tools}
    for _ in range(args.runs):
        for tool in tools:
            tool.remove_outputs()
            cold_times[tool.name].append(run_once(tool))
    timings = {f"{name} cold": measure.Timing.of(runs) for name, runs in cold_times.items()}

    newest = root / "posts" / f"post-{args.posts - 1:05d}.md"
    sentence = last_sentence(newest)
    counts = {tool.name: outputs(tool, sentence) for tool in tools}

    # Our rebuilds: outputs and cache in place from the last cold build.
    timings["toolkit rebuild, nothing changed"] = measure.timed(args.runs, lambda: run_once(ours))
    edits = iter(range(1, args.runs + 1))
    edit_sentence = ""

    def edit() -> None:
        nonlocal edit_sentence
        edit_sentence = f"The benchmark appended this sentence, edit number {next(edits)}."
        with newest.open("a") as f:
            f.write(f"\n{edit_sentence}\n")

    timings["toolkit rebuild, one post edited"] = measure.timed(
        args.runs, lambda: run_once(ours), edit
    )
    kind = "shortform" if (args.posts - 1) % 10 == 0 else "posts"
    page = root / "site" / kind / newest.stem / "index.html"
    edited_shown = edit_sentence in page.read_text()

    rows = [["Build", "Median s", "Runs (s)", "Peak MB"]]
    for name, t in timings.items():
        rows.append(
            [name, f"{t.median:.2f}", ", ".join(f"{s:.2f}" for s in t.times), f"{t.peak_mb:.0f}"]
        )
    print("\n" + table(rows))

    cold = {t.name: timings[f"{t.name} cold"].median for t in tools}
    our_peak = max(t.peak_mb for name, t in timings.items() if name.startswith("toolkit"))
    ratios = [
        (
            "Pelican cold / our cold",
            cold["Pelican"] / cold["toolkit"],
            ">= 3",
            cold["Pelican"] / cold["toolkit"] >= 3,
        ),
        (
            "our cold / Hugo cold",
            cold["toolkit"] / cold["Hugo"],
            "<= 2",
            cold["toolkit"] / cold["Hugo"] <= 2,
        ),
    ]
    for name in ("nothing changed", "one post edited"):
        ratio = timings[f"toolkit rebuild, {name}"].median / cold["Hugo"]
        ratios.append((f"our rebuild ({name}) / Hugo cold", ratio, "< 0.33", ratio < 1 / 3))
    ratios.append(("our peak memory, MB", our_peak, "< 500", our_peak < 500))
    print(
        "\n"
        + table(
            [["Measure", "Value", "Target", "Met"]]
            + [
                [n, f"{v:.0f}" if "MB" in n else f"{v:.2f}", target, "yes" if ok else "NO"]
                for n, v, target, ok in ratios
            ]
        )
    )

    keys = list(counts["toolkit"])
    print(
        "\n"
        + table([["Output", *counts]] + [[k, *(str(c[k]) for c in counts.values())] for k in keys])
    )
    print(f"\nFull content checked with {sentence!r} (newest post's last sentence).")
    print(f"After the edit rebuild, the edited post's page shows the edit: {edited_shown}.")
    if max(ours.cleanup, default=0) >= 0.01:
        print(
            f"Untimed: toolkit's detached deletion of old output trees went on up to "
            f"{max(ours.cleanup):.2f} s after the build exited (waited for, each run)."
        )
    print(
        "Load average (1, 5, 15 min) at start: {:.2f} {:.2f} {:.2f}; at end: "
        "{:.2f} {:.2f} {:.2f}.".format(*load_start, *os.getloadavg())
    )
    # Every tool must have written what the comparison assumes, exactly.
    expected = {
        "post_pages": converted,
        "main_feed_items": min(corpus.FEED_ITEMS, converted),
        "full_content": True,
    }
    problems = [
        f"{name}: {k} is {c[k]}, not {want}"
        for name, c in counts.items()
        for k, want in expected.items()
        if c[k] != want
    ]
    if measure.toolkit_source(package)["sha256"] != source["sha256"]:
        problems.append("toolkit/ changed while the benchmark ran: rerun for consistent times")
    if not edited_shown:
        problems.append("toolkit: edit not in the rebuilt page")
    if problems:
        print("PROBLEMS: " + "; ".join(problems))

    results = {
        "corpus": {
            "posts": args.posts,
            "published": converted,
            "snippets": args.snippets,
            "words": args.words,
        },
        "cpus": os.cpu_count(),
        "runs": args.runs,
        "toolkit_source": source,
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "versions": {"pelican": tools_info.pelican_version, "hugo": tools_info.hugo_version},
        "commands": {t.name: t.cmd for t in tools},
        "timings": {name: vars(t) for name, t in timings.items()},
        "targets": [
            {"measure": n, "value": v, "target": target, "met": ok} for n, v, target, ok in ratios
        ],
        "outputs": counts,
        "edit_shown": edited_shown,
        "problems": problems,
        "toolkit_detached_cleanup_s": ours.cleanup,
    }
    (OUT / "build-results.json").write_text(json.dumps(results, indent=2) + "\n")
    if problems:
        raise SystemExit("the figures above are not comparable: " + "; ".join(problems))


if __name__ == "__main__":
    main()
