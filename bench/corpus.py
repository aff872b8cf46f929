"""Generate a synthetic content repository for benchmarks.

    python bench/corpus.py OUT --posts 2000 --snippets 10000 --words 1000

Posts have paragraphs with plain links, author footnotes and `[@id]` citations (some as
`{claim}` blocks); snippets spread over the labs. Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
from pathlib import Path

LABS = ["anthropic", "openai", "google-deepmind", "meta", "xai", "microsoft", "amazon", "nvidia"]
WORDS = [
    "the",
    "frontier",
    "model",
    "safety",
    "framework",
    "commits",
    "company",
    "to",
    "evaluate",
    "capabilities",
    "before",
    "deployment",
    "and",
    "publish",
    "results",
    "thresholds",
    "mitigations",
    "security",
    "weights",
    "red",
    "team",
    "external",
    "audit",
    "accountability",
    "alignment",
    "misuse",
    "cyber",
    "bio",
    "scheming",
    "monitoring",
    "control",
    "governance",
    "board",
    "disclosure",
    "incident",
    "report",
    "policy",
    "update",
    "version",
    "commitment",
]
TAGS = ["rsp", "evals", "security", "accountability", "thresholds", "openai", "deepmind"]
FEED_ITEMS = 50  # entries in each full-content feed, for every tool (see peers.py)


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def snippet_text(i: int, rng: random.Random) -> str:
    lab = LABS[i % len(LABS)]
    ts = (dt.datetime(2024, 1, 1) + dt.timedelta(minutes=30 * i)).strftime("%Y%m%d%H%M%S")
    url = f"https://{lab}.example.com/policy/{i}/"
    return (
        f'---\nlab: {lab}\ntitle: "Claim {i} of {lab}"\n'
        f'claim: "{sentence(rng, 12)}"\nquote: "{sentence(rng, 20)}"\n'
        f'source:\n  url: {url}\n  title: "Policy {i}"\n  published: 2024-01-01\n'
        f"  accessed: 2024-02-01\n"
        f"archive: https://web.archive.org/web/{ts}/{url}\n"
        f"topics: [{rng.choice(TAGS)}]\nstatus: current\n---\n{sentence(rng, 25)}\n"
    )


def post_text(
    i: int, rng: random.Random, snippets: int, words: int
) -> tuple[str, list[str], list[str]]:
    date = dt.datetime(2020, 1, 1, 9, tzinfo=dt.timezone.utc) + dt.timedelta(hours=7 * i)
    paragraphs, cited, links = [], [], []
    n_paragraphs = max(1, words // 90)
    for p in range(n_paragraphs):
        parts = [sentence(rng, rng.randint(10, 20)) for _ in range(5)]
        sid = f"s{rng.randrange(snippets):05d}"
        cited.append(sid)
        parts[1] += f" [@{sid}]"
        if p % 3 == 0:
            parts[2] += f"[^n{p}]"
        if p % 2 == 0:
            links.append(f"https://source.example.org/{i}/{p}/")
            parts[3] += f" See [the source]({links[-1]})."
        paragraphs.append(" ".join(parts))
        if p == 4:
            sid = f"s{rng.randrange(snippets):05d}"
            cited.append(sid)
            paragraphs.append(f"```{{claim}} {sid}\n```")
    notes = [f"[^n{p}]: {sentence(rng, 15)}" for p in range(0, n_paragraphs, 3)]
    tags = rng.sample(TAGS, 2)
    kind = "shortform" if i % 10 == 0 else "post"
    claims = sorted(set(cited))
    front = (
        f'---\ntitle: "Post number {i}"\ndate: {date.isoformat()}\nkind: {kind}\n'
        f'status: published\nsummary: "{sentence(rng, 15)}"\ntags: [{", ".join(tags)}]\n'
        f"claims: [{', '.join(claims)}]\n---\n"
    )
    return front + "\n\n".join(paragraphs) + "\n\n" + "\n".join(notes) + "\n", tags, links


def generate(out: Path, posts: int, snippets: int, words: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "posts").mkdir(parents=True)
    (out / "snippets").mkdir()
    (out / "toolkit.toml").write_text(
        '[site]\ntitle = "Bench"\nbase_url = "https://example.org"\nauthor = "Bench"\n\n'
        f"[feeds]\nmax_items = {FEED_ITEMS}\n"
    )
    (out / "snippets/labs.yaml").write_text(
        "".join(
            f"{lab}:\n  name: {lab.title()}\n  url: https://{lab}.example.com/\n" for lab in LABS
        )
    )
    for i in range(snippets):
        lab = LABS[i % len(LABS)]
        path = out / "snippets" / lab / f"s{i:05d}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(snippet_text(i, rng))
    archives = []
    for i in range(posts):
        text, _, links = post_text(i, rng, snippets, words)
        (out / "posts" / f"post-{i:05d}.md").write_text(text)
        archives += [
            f"{url}:\n  archive: https://web.archive.org/web/20240101000000/{url}\n"
            for url in links
        ]
    (out / "archives.yaml").write_text("".join(archives))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--snippets", type=int, default=10000)
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    generate(args.out, args.posts, args.snippets, args.words, args.seed)


if __name__ == "__main__":
    main()
