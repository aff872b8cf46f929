"""Older and newer links under each post (issue 14, item 3), read with html5lib.

Pages are rendered one post at a time before every post is loaded, so a page's links start
as a guess (toolkit.neighbours) and are put right once all posts are known. These tests
build small projects whose right answer is written out by hand, then change them the ways
a writer does (a new post, a retitle, a draft published, a post moved in time), and
compare every byte with a build that had no cache to lean on."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urljoin

import pytest
from click.testing import CliRunner
from conftest import REPO, post
from test_build import html_doc
from test_no_cache import assert_same_outputs, make_corpus

from toolkit import content, neighbours, parallel
from toolkit.cli import cli

BASE = "https://example.org/"


def write(root: Path, name: str, title: str, date: str, kind: str = "post", **extra: str) -> None:
    front = (
        f"title: {title}\ndate: {date}\nkind: {kind}\nstatus: {extra.pop('status', 'published')}\n"
    )
    front += "".join(f"{k}: {v}\n" for k, v in extra.items())
    path = root / "posts" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(post(front, f"The words of {name}.\n"), encoding="utf-8")


@pytest.fixture
def blog(project) -> Path:
    """Three essays, a draft essay between two of them, and two quick takes."""
    root = project.root
    (root / "posts" / "a-post.md").unlink()
    write(root, "first", "The first essay", "2025-01-01")
    write(root, "second", "The second essay", "2025-02-01")
    write(root, "unfinished", "An unfinished essay", "2025-02-15", status="draft")
    write(root, "third", "The third essay", "2025-03-01")
    write(root, "note-one", "A first quick take", "2025-01-20", kind="shortform")
    write(root, "note-two", "A second quick take", "2025-02-20", kind="shortform")
    return root


def build(root: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["--root", str(root), "build", *args])
    assert result.exit_code == 0, result.output


def links(root: Path, page: str) -> dict[str, tuple[str, str]]:
    """The page's older/newer links: rel -> (the page they lead to, their words)."""
    doc = html_doc(root / "site" / page / "index.html")
    navs = doc.findall(".//nav[@class='neighbours']")
    assert len(navs) <= 1
    found = {}
    for a in navs[0].findall("a") if navs else []:
        target = urljoin(BASE + page, a.get("href"))
        assert target.startswith(BASE), target
        rel = target[len(BASE) :]
        assert (root / "site" / rel / "index.html").is_file(), f"{page} links to missing {rel}"
        words = " ".join("".join(a.itertext()).split())
        found[a.get("rel")] = (rel, words)
    return found


def test_each_post_links_to_the_older_and_newer_post_of_its_kind(blog):
    build(blog)
    assert links(blog, "posts/first/") == {"next": ("posts/second/", "Newer The second essay")}
    assert links(blog, "posts/second/") == {
        "prev": ("posts/first/", "Older The first essay"),
        "next": ("posts/third/", "Newer The third essay"),  # not the draft between
    }
    assert links(blog, "posts/third/") == {"prev": ("posts/second/", "Older The second essay")}
    assert links(blog, "shortform/note-one/") == {
        "next": ("shortform/note-two/", "Newer A second quick take")
    }
    assert links(blog, "shortform/note-two/") == {
        "prev": ("shortform/note-one/", "Older A first quick take")
    }


def test_with_drafts_shown_the_draft_takes_its_place(blog):
    build(blog, "--drafts")
    assert links(blog, "posts/second/")["next"] == (
        "posts/unfinished/",
        "Newer An unfinished essay",
    )
    assert links(blog, "posts/unfinished/") == {
        "prev": ("posts/second/", "Older The second essay"),
        "next": ("posts/third/", "Newer The third essay"),
    }


def test_a_lone_post_has_no_links(project):
    build(project.root)
    assert links(project.root, "posts/a-post/") == {}


def plain_copy(root: Path, dest: Path) -> Path:
    """The same inputs, built with no cache: what every page must be."""
    shutil.copytree(
        root, dest, ignore=shutil.ignore_patterns("site", "feeds", "drafts", ".toolkit")
    )
    build(dest, "--no-cache")
    return dest


def test_links_follow_the_writer_through_a_days_changes(blog, tmp_path):
    build(blog)
    # A new essay: the one that was newest now has a newer one.
    write(blog, "fourth", "The fourth essay", "2025-04-01")
    build(blog)
    assert links(blog, "posts/third/")["next"] == ("posts/fourth/", "Newer The fourth essay")
    assert_same_outputs(blog, plain_copy(blog, tmp_path / "a"))
    # Retitled: its neighbours' pages say so, though their own files did not change.
    write(blog, "fourth", "The fourth essay, retitled", "2025-04-01")
    build(blog)
    assert links(blog, "posts/third/")["next"][1] == "Newer The fourth essay, retitled"
    # The draft is published: it comes between the second and the third.
    write(blog, "unfinished", "An unfinished essay", "2025-02-15")
    build(blog)
    assert links(blog, "posts/second/")["next"][0] == "posts/unfinished/"
    assert links(blog, "posts/third/")["prev"][0] == "posts/unfinished/"
    # Moved back in time: now the oldest.
    write(blog, "third", "The third essay", "2024-12-01")
    build(blog)
    assert links(blog, "posts/third/") == {"next": ("posts/first/", "Newer The first essay")}
    assert links(blog, "posts/first/")["prev"] == ("posts/third/", "Older The third essay")
    # The newest goes: the essay before it is the newest now.
    (blog / "posts" / "fourth.md").unlink()
    build(blog)
    assert "next" not in links(blog, "posts/unfinished/")
    assert_same_outputs(blog, plain_copy(blog, tmp_path / "b"))


def test_a_page_put_right_is_remembered(blog, monkeypatch):
    """The cache keeps the page with its new links: the next build does not splice again."""
    monkeypatch.setenv("TOOLKIT_DEBUG_CACHE", "1")
    runner = CliRunner()
    runner.invoke(cli, ["--root", str(blog), "build"])
    write(blog, "fourth", "The fourth essay", "2025-04-01")
    first = runner.invoke(cli, ["--root", str(blog), "build"])
    assert "relinked posts/third.md" in first.stderr
    write(blog, "first", "The first essay", "2025-01-01", tags="[x]")  # elsewhere
    second = runner.invoke(cli, ["--root", str(blog), "build"])
    assert second.exit_code == 0
    assert "third.md" not in second.stderr, "the third essay was read or spliced again"


@pytest.fixture
def workers(monkeypatch):
    """Worker processes even for a few posts: their pages go straight into the staging
    tree, and a page put right must replace the one a worker placed there."""
    monkeypatch.setenv("TOOLKIT_WORKERS", "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)


HARD_FRONT = [  # front matter the quick first read cannot read; the loader can
    ("folded", "title: >-\n  A folded\n  title\ndate: 2025-01-10\nstatus: published\n"),
    ("escaped", 'title: "An \\"escaped\\" title"\ndate: 2025-01-11\nstatus: published\n'),
    ("flow", "{title: A flow mapping, date: 2025-01-12, status: published}\n"),
    ("hostile", 'title: "</nav><script>alert(1)</script>"\ndate: 2025-01-13\nstatus: published\n'),
    ("aliased", "date: &d 2025-01-14\nupdated: *d\ntitle: Aliased\nstatus: published\n"),
]


def test_a_wrong_first_guess_is_put_right(project, tmp_path, workers):
    root = project.root
    for name, front in HARD_FRONT:
        (root / "posts" / f"{name}.md").write_text(f"---\n{front}---\nWords.\n", encoding="utf-8")
    build(root)
    assert links(root, "posts/folded/")["next"] == ("posts/escaped/", 'Newer An "escaped" title')
    assert links(root, "posts/escaped/")["next"] == ("posts/flow/", "Newer A flow mapping")
    assert links(root, "posts/flow/")["prev"] == ("posts/escaped/", 'Older An "escaped" title')
    assert links(root, "posts/flow/")["next"] == (
        "posts/hostile/",
        "Newer </nav><script>alert(1)</script>",
    )
    page = html_doc(root / "site/posts/aliased/index.html")
    assert not page.findall(".//script[@src]") and all(
        "alert" not in (s.text or "") for s in page.findall(".//script")
    )
    assert_same_outputs(root, plain_copy(root, tmp_path / "plain"))


def sketches(root: Path) -> list[tuple[neighbours.Sketch | None, neighbours.Sketch]]:
    pairs = []
    for path in sorted((root / "posts").rglob("*.md")):
        loaded, _ = content.load_post(root, path)
        assert loaded is not None
        rel = content.rel(root, path)
        pairs.append((neighbours.guess(rel, path.read_bytes()), neighbours.Sketch.of(loaded)))
    return pairs


def test_the_first_guess_reads_ordinary_posts_as_the_loader_does(tmp_path):
    """So a build from nothing renders each page once: no splice for ordinary files (the
    examples, the benchmark's corpus, a post as `toolkit new` writes it)."""
    corpus = make_corpus(tmp_path / "corpus")
    before = set((corpus / "posts").glob("*.md"))
    for kind, title in (("post", "A post: with a colon"), ("shortform", "Quick")):
        result = CliRunner().invoke(cli, ["--root", str(corpus), "new", kind, title])
        assert result.exit_code == 0, result.output
    assert len(set((corpus / "posts").glob("*.md")) - before) == 2
    pairs = sketches(REPO) + sketches(corpus)
    wrong = [(g, s) for g, s in pairs if g != s]
    assert not wrong, wrong[:3]
    assert len(pairs) > 200


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"---\n",
        b"\xff\xfe---\n",
        b"---\ntitle: [\n---\n",
        b"---\ndate: not a date\n---\n",
        b"---\ntitle: '\n---\n",
        b'---\ntitle: "\n---\n',
        b"\x00" * 64,
    ],
)
def test_the_first_guess_never_fails_on_broken_files(data):
    sketch = neighbours.guess("posts/broken.md", data)
    assert sketch is None or sketch.path == "posts/broken.md"
