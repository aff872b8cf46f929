"""`toolkit build`: the site and the feeds, checked with independent parsers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import feedparser
import html5lib
import pytest
from click.testing import CliRunner
from conftest import SNIPPET, post
from lxml import etree

from toolkit import build as buildlib
from toolkit import pipeline
from toolkit.cli import cli

ATOM = "{http://www.w3.org/2005/Atom}"
XHTML = "{http://www.w3.org/1999/xhtml}"
SITE = "https://promises-checked.example.org/"


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def html_doc(path: Path | str | bytes):
    """An HTML page parsed by html5lib (the HTML5 algorithm browsers use), as lxml."""
    data = path.read_bytes() if isinstance(path, Path) else path
    return html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False).getroot()


def build_ok(root: Path, *args: str):
    result = CliRunner().invoke(cli, ["--root", str(root), "build", *args])
    assert result.exit_code == 0, result.output
    return result


# The site ----------------------------------------------------------------------------------


def test_build_writes_site_and_feeds_and_says_so(examples):
    result = build_ok(examples)
    assert "Wrote site/:" in result.stdout and "Wrote feeds/: atom.xml" in result.stdout
    for rel in (
        "index.html",
        "shortform/index.html",
        "claims/index.html",
        "claims/google-deepmind/index.html",
        "tags/rsp/index.html",
        "style.css",
        "posts/paris-frameworks-compared/index.html",
        "feeds/atom.xml",
    ):
        assert (examples / "site" / rel).is_file(), rel
    for rel in ("atom.xml", "rss.xml", "shortform.xml", "feed.json", "tags/rsp.xml"):
        assert (examples / "feeds" / rel).is_file(), rel


def test_post_page_notes_match_the_document(examples):
    build_ok(examples)
    checked = pipeline.run(examples)
    (p,) = [p for p in checked.project.posts if p.slug == "paris-frameworks-compared"]
    doc = checked.document(p)

    page = html_doc(examples / "site/posts/paris-frameworks-compared/index.html")
    refs = page.findall(".//sup[@class='note-ref']/a")
    numbers = [int(a.text) for a in refs]
    assert numbers == sorted(numbers) == list(range(1, len(doc.notes) + 1))
    items = page.findall(".//section[@class='notes']/ol/li")
    assert [li.get("id") for li in items] == [
        f"paris-frameworks-compared-fn-{n.number}" for n in doc.notes
    ]
    for a in refs:  # every reference points at an existing note, and back
        target = a.get("href").lstrip("#")
        (li,) = [li for li in items if li.get("id") == target]
        assert li.find(".//a[@class='backref']") is not None
    kinds = [li.get("class").split()[-1] for li in items]
    assert kinds == [f"note-{n.kind}" for n in doc.notes]


def test_claim_is_an_attributed_blockquote_and_claims_are_listed(examples):
    build_ok(examples)
    page = html_doc(examples / "site/posts/paris-frameworks-compared/index.html")
    (figure,) = page.findall(".//figure[@class='claim']")
    assert figure.get("data-snippet") == "xai-rmf-draft-thresholds"
    assert "choose the benchmarks" in "".join(figure.find("blockquote").itertext())
    caption = "".join(figure.find("figcaption").itertext())
    assert caption.startswith("— xAI, “xAI Risk Management Framework (Draft)”")
    relies = page.findall(".//section[@class='relies-on']//li")
    assert len(relies) == 17
    assert relies[0].find("a").get("href").startswith("../../claims/")


def test_archived_links_carry_robust_links_attributes(examples):
    build_ok(examples)
    page = html_doc(examples / "site/shortform/preparedness-page-redirects/index.html")
    (live,) = [
        a
        for a in page.iter("a")
        if a.get("href") == "https://openai.com/preparedness/"
        and a.text == "openai.com/preparedness"
    ]
    assert live.get("data-originalurl") == "https://openai.com/preparedness/"
    assert live.get("data-versionurl").startswith(
        "https://web.archive.org/web/20240603125126/https://openai.com/preparedness/"
    )
    assert live.get("data-versiondate") == "2024-06-03T12:51:26Z"
    copy = live.getnext()
    assert copy.get("class") == "archived" and copy.text == "archived"
    assert copy.get("href").startswith("https://web.archive.org/web/20240603125126/")
    assert copy.get("data-originalurl") == "https://openai.com/preparedness/"


def test_ids_are_unique_on_pages_with_several_posts(examples):
    build_ok(examples)
    for rel in ("shortform/index.html", "index.html", "posts/paris-frameworks-compared/index.html"):
        ids = [el.get("id") for el in html_doc(examples / "site" / rel).iter() if el.get("id")]
        assert len(ids) == len(set(ids)), rel
    ids = [
        el.get("id")
        for el in html_doc(examples / "site/shortform/index.html").iter()
        if el.get("id")
    ]
    assert "preparedness-page-redirects-fn-1" in ids and "o3-mini-post-mitigation-evals-fn-1" in ids


def test_claims_pages_show_status_successor_and_citing_posts(examples):
    build_ok(examples)
    page = html_doc(examples / "site/claims/google-deepmind/index.html")
    (old,) = [a for a in page.iter("article") if a.get("id") == "deepmind-fsf-v1-eval-cadence"]
    text = "".join(old.itertext())
    assert "superseded" in text and "evaluate the most powerful models" in text
    links = [a.get("href") for a in old.iter("a")]
    assert "../../claims/google-deepmind/#deepmind-fsf-v2-eval-cadence" in links
    assert "../../posts/paris-frameworks-compared/" in links
    assert any(h and h.startswith("https://web.archive.org/web/2024") for h in links)


def test_readable_without_javascript_one_stylesheet_no_cdn(examples):
    build_ok(examples)
    for path in (examples / "site").rglob("*.html"):
        page = html_doc(path)
        # Structured data for search engines (JSON-LD) is not a program: nothing runs.
        scripts = page.findall(".//script")
        assert all(s.get("type") == "application/ld+json" for s in scripts), path
        sheets = [link.get("href") for link in page.iter("link") if link.get("rel") == "stylesheet"]
        assert len(sheets) == 1 and sheets[0].endswith("style.css") and "://" not in sheets[0]


# Drafts, failures, determinism ----------------------------------------------------------


def test_drafts_only_with_the_flag_and_never_in_feeds(examples):
    build_ok(examples)
    assert not (examples / "site/posts/weight-security-notes").exists()
    build_ok(examples, "--drafts")
    assert (examples / "site/posts/weight-security-notes/index.html").is_file()
    index = (examples / "site/index.html").read_text()
    assert "Notes toward a post on model-weight security" in index
    for feed in (examples / "feeds").rglob("*"):
        if feed.is_file():
            assert b"weight-security-notes" not in feed.read_bytes(), feed


def test_failed_build_writes_nothing(examples):
    build_ok(examples)
    before = {d: tree(examples / d) for d in ("site", "feeds")}
    (examples / "posts/broken.md").write_text(
        post("title: Broken\nstatus: published\n", "Cites [@nope].\n")
    )
    result = CliRunner().invoke(cli, ["--root", str(examples), "build"])
    assert result.exit_code == 1
    assert "P001" in result.stdout and "P003" in result.stdout
    assert "Nothing written" in result.stderr
    assert {d: tree(examples / d) for d in ("site", "feeds")} == before
    assert not list(examples.glob(".site.new-*"))


def test_strict_build_refuses_warnings(examples):
    result = CliRunner().invoke(cli, ["--root", str(examples), "build", "--strict"])
    assert result.exit_code == 1
    assert not (examples / "site").exists()


def test_two_builds_are_byte_identical_with_and_without_the_cache(examples):
    build_ok(examples)
    first = {d: tree(examples / d) for d in ("site", "feeds")}
    build_ok(examples)  # from the cache
    assert {d: tree(examples / d) for d in ("site", "feeds")} == first
    shutil.rmtree(examples / ".toolkit")
    build_ok(examples)  # cold again
    assert {d: tree(examples / d) for d in ("site", "feeds")} == first


def test_editing_a_snippet_is_never_served_stale(examples):
    build_ok(examples)
    report = buildlib.build(examples)
    assert report.reused == report.posts  # everything came from the cache
    snippet = examples / "snippets/xai/xai-rmf-draft-thresholds.md"
    snippet.write_text(
        snippet.read_text().replace(
            'title: "xAI Risk Management Framework (Draft)"', 'title: "xAI RMF, renamed"'
        )
    )
    report = buildlib.build(examples)
    assert report.reused == report.posts - 1  # only the post citing it was redone
    page = (examples / "site/posts/paris-frameworks-compared/index.html").read_text()
    assert "xAI RMF, renamed" in page


# Feeds -------------------------------------------------------------------------------------


def parse_feed(path: Path, self_url: str):
    data = path.read_bytes()
    etree.fromstring(data)  # well-formed XML, or this raises
    kind = "application/json" if path.suffix == ".json" else "application/xml"
    feed = feedparser.parse(
        data, response_headers={"content-location": self_url, "content-type": kind}
    )
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def test_atom_feed_for_a_feed_reader(examples):
    build_ok(examples)
    feed = parse_feed(examples / "feeds/atom.xml", SITE + "feeds/atom.xml")
    assert feed.version == "atom10"
    titles = [e.title for e in feed.entries]
    assert titles == [
        "The Paris frameworks, side by side",
        "OpenAI's Preparedness page now redirects",
        "o3-mini: which model the Preparedness numbers describe",
    ]
    dates = [e.published_parsed for e in feed.entries]
    assert dates == sorted(dates, reverse=True)
    assert feed.entries[0].id == (
        "tag:promises-checked.example.org,2025-02-21:/posts/paris-frameworks-compared/"
    )
    assert feed.entries[0].link == SITE + "posts/paris-frameworks-compared/"
    assert [t.term for t in feed.entries[0].tags][:2] == ["frontier-safety-frameworks", "rsp"]
    self_links = [link.href for link in feed.feed.links if link.rel == "self"]
    assert self_links == [SITE + "feeds/atom.xml"]

    root = etree.parse(str(examples / "feeds/atom.xml")).getroot()
    content = root.find(f"{ATOM}entry/{ATOM}content")
    assert content.get("type") == "html"
    assert content.get("{http://www.w3.org/XML/1998/namespace}base") == (
        SITE + "posts/paris-frameworks-compared/"
    )
    assert root.find(f"{ATOM}updated").text == "2025-02-21T09:00:00+00:00"
    links = root.findall(f"{ATOM}entry/{ATOM}link")
    assert all(link.get("rel") == "alternate" for link in links)


def test_feed_content_has_absolute_links_and_notes_in_order(examples):
    build_ok(examples)
    feed = parse_feed(examples / "feeds/rss.xml", SITE + "feeds/rss.xml")
    assert feed.version == "rss20"
    entry = feed.entries[0]
    assert entry.guidislink is False  # a tag: URI, marked isPermaLink="false"
    raw = etree.parse(str(examples / "feeds/rss.xml")).getroot()
    encoded = raw.find("channel/item/{http://purl.org/rss/1.0/modules/content/}encoded").text
    assert entry.content[0].value.count("note-ref") == encoded.count("note-ref")
    page = html_doc(encoded)
    hrefs = [a.get("href") for a in page.iter("a")]
    assert all(h.startswith(("https://", "http://")) for h in hrefs), [
        h for h in hrefs if not h.startswith("http")
    ]
    checked = pipeline.run(examples)
    (p,) = [p for p in checked.project.posts if p.slug == "paris-frameworks-compared"]
    notes_in_document = len(checked.document(p).notes)
    refs = page.findall(".//sup[@class='note-ref']/a")
    assert [int(a.text) for a in refs] == list(range(1, notes_in_document + 1))
    first_note = "posts/paris-frameworks-compared/#paris-frameworks-compared-fn-1"
    assert refs[0].get("href") == SITE + first_note
    notes = page.findall(".//section[@class='notes']/ol/li")
    assert len(notes) == notes_in_document
    assert raw.find("channel/link").text == SITE  # not the self link (feedgen's trap)
    for item in raw.findall("channel/item"):
        encoded = item.find("{http://purl.org/rss/1.0/modules/content/}encoded").text
        assert 'href="#' not in encoded and 'src="/' not in encoded


def test_shortform_tag_and_json_feeds(examples):
    build_ok(examples)
    short = parse_feed(examples / "feeds/shortform.xml", SITE + "feeds/shortform.xml")
    assert [e.link for e in short.entries] == [
        SITE + "shortform/preparedness-page-redirects/",
        SITE + "shortform/o3-mini-post-mitigation-evals/",
    ]
    tag = parse_feed(examples / "feeds/tags/openai.xml", SITE + "feeds/tags/openai.xml")
    assert len(tag.entries) == 2
    data = json.loads((examples / "feeds/feed.json").read_text())
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["feed_url"] == SITE + "feeds/feed.json"
    assert [i["url"] for i in data["items"]] == [
        e.link for e in parse_feed(examples / "feeds/atom.xml", SITE + "feeds/atom.xml").entries
    ]
    assert all(i["content_html"] and i["date_published"] for i in data["items"])


def test_feed_ids_survive_a_title_change_and_max_items_caps(examples):
    build_ok(examples)
    before = parse_feed(examples / "feeds/atom.xml", SITE).entries[0].id
    path = examples / "posts/paris-frameworks-compared.md"
    path.write_text(
        path.read_text().replace(
            'title: "The Paris frameworks, side by side"', 'title: "A new title"'
        )
    )
    config = examples / "toolkit.toml"
    config.write_text(config.read_text().replace("max_items = 20", "max_items = 2"))
    build_ok(examples)
    entries = parse_feed(examples / "feeds/atom.xml", SITE).entries
    assert entries[0].title == "A new title" and entries[0].id == before
    assert len(entries) == 2


def test_many_posts_on_one_day_stay_in_a_stable_order(project):
    for i in range(3):
        project.write(
            f"posts/same-{i}.md",
            post(
                f"title: Same {i}\nstatus: published\ndate: 2025-03-01\nclaims: [openai-prep]\n",
                "x [@openai-prep]\n",
            ),
        )
    project.write("snippets/openai/openai-prep.md", SNIPPET)
    buildlib.build(project.root)
    first = (project.root / "feeds/atom.xml").read_bytes()
    buildlib.build(project.root, use_cache=False)
    assert (project.root / "feeds/atom.xml").read_bytes() == first


# What a build keeps in .toolkit/ ------------------------------------------------------------


def test_project_checks_kept_between_builds_follow_the_clock(project):
    # The project-wide checks are kept between builds and reused while the clock stays
    # between the snapshot times around it: a snapshot "in the future" (A004) must stop
    # being reported once the clock passes it, and be reported again for an earlier clock.
    import datetime as dt

    from conftest import SNIPPET as PREP

    project.write(
        "archives.yaml",
        "https://x.ai/a:\n  archive: https://web.archive.org/web/20300101000000/https://x.ai/a\n",
    )
    project.write(
        "snippets/openai/openai-prep.md", PREP.replace("20240603125126", "20290601000000")
    )

    def a004_lines(at: dt.datetime) -> list[str]:
        report = buildlib.build(project.root, at=at)
        return sorted(d.path for d in report.diagnostics if d.code == "A004")

    early = dt.datetime(2029, 1, 1, tzinfo=dt.timezone.utc)
    middle = dt.datetime(2029, 12, 1, tzinfo=dt.timezone.utc)
    late = dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)
    both = ["archives.yaml", "snippets/openai/openai-prep.md"]
    assert a004_lines(early) == both
    assert a004_lines(early) == both  # reused: the same clock
    assert a004_lines(middle) == ["archives.yaml"]  # past the snippet's snapshot
    assert a004_lines(late) == []
    assert a004_lines(early) == both  # an earlier clock again
    assert a004_lines(middle) == ["archives.yaml"]


def test_unchanged_files_are_linked_and_hand_edits_are_undone(examples):
    build_ok(examples)
    page = examples / "site/posts/paris-frameworks-compared/index.html"
    other = examples / "site/shortform/preparedness-page-redirects/index.html"
    inode, original = page.stat().st_ino, page.read_bytes()
    other.write_text("edited by hand")  # a mistaken edit in the output directory
    build_ok(examples)
    assert page.stat().st_ino == inode  # same file, linked into the new tree
    assert other.read_text() != "edited by hand"  # rewritten from the cache
    assert page.read_bytes() == original


def test_the_tree_swapped_out_is_reused_and_ends_up_exact(examples, tmp_path_factory):
    # Each build stages in the tree the one before swapped out (.toolkit/trees/), changing
    # only what differs. Whatever happened to that tree while it was live (stray files and
    # folders, a page edited in place, a page deleted), the result must be exactly what a
    # build from nothing, without a cache, makes.
    def cold_build() -> tuple[dict[str, bytes], dict[str, bytes]]:
        fresh = tmp_path_factory.mktemp("fresh")
        for name in ("toolkit.toml", "archives.yaml", "posts", "snippets"):
            src = examples / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, fresh / name)
        # Without a cache no page is stored, so every post's HTML comes straight from
        # the renderer, not cut from a page as in the builds under test.
        assert buildlib.build(fresh, drafts=True, use_cache=False).ok
        return tree(fresh / "site"), tree(fresh / "feeds")

    build_ok(examples, "--drafts")  # from nothing: workers write the pages into the tree
    site = examples / "site"
    assert (tree(site), tree(examples / "feeds")) == cold_build()
    edited = examples / "posts/o3-mini-post-mitigation-evals.md"
    assert "kind: shortform" in edited.read_text()
    for i in range(4):
        edited.write_text(edited.read_text() + f"\nEdit {i}.\n")
        (site / "CNAME").write_text("promises.example.org")  # added by hand
        (site / "posts/extra").mkdir(exist_ok=True)
        (site / "posts/extra/index.html").write_text("not ours")
        if i == 1:  # the same inode as the stored page: that build starts over
            page = site / "posts/paris-frameworks-compared/index.html"
            page.chmod(0o644)
            page.write_text("edited in place")
        (site / "tags/rsp/index.html").unlink()
        if i == 2:  # a post deleted: its folder must go too
            (examples / "posts/weight-security-notes.md").unlink()
        build_ok(examples, "--drafts")
        assert (examples / ".toolkit/trees/site").is_dir() or i == 0
        # Feeds and the shortform page show other posts' HTML, cut from their stored pages.
        assert (tree(site), tree(examples / "feeds")) == cold_build(), f"round {i}"
    assert not (site / "posts/weight-security-notes").exists()


def test_a_damaged_cache_is_only_a_miss(examples):
    import sqlite3

    build_ok(examples)
    first = tree(examples / "site")
    db = sqlite3.connect(examples / ".toolkit/cache.sqlite")
    db.execute("DELETE FROM memo WHERE key LIKE 'blob:%'")  # lose every stored page
    db.commit()
    db.close()
    shutil.rmtree(examples / "site")
    build_ok(examples)
    assert tree(examples / "site") == first


def test_the_cache_never_grows_past_twice_one_build(examples):
    import sqlite3

    def rows() -> tuple[int, int]:
        db = sqlite3.connect(examples / ".toolkit/cache.sqlite")
        counts = (
            db.execute("SELECT COUNT(*) FROM posts").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM memo").fetchone()[0],
        )
        db.close()
        return counts

    build_ok(examples)
    posts, memo = rows()
    for i in range(12):
        path = examples / "posts/o3-mini-post-mitigation-evals.md"
        path.write_text(path.read_text() + f"\nEdit {i}.\n")
        build_ok(examples)
        assert sum(rows()) <= 2 * (posts + memo) + 2
    objects = list((examples / ".toolkit/objects").iterdir())
    assert len(objects) <= 2 * len(list((examples / "site").rglob("*")))


def test_a_build_with_nothing_changed_writes_nothing(examples):
    build_ok(examples)
    index = examples / "site/index.html"
    before = index.stat()
    result = build_ok(examples)
    assert "Nothing changed since the last build" in result.stdout
    assert "warning" in result.stdout  # the diagnostics are still shown
    after = index.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_any_change_or_stray_output_means_a_real_build(examples):
    build_ok(examples)
    (examples / "site/stray.html").write_text("left over")
    result = build_ok(examples)
    assert "Nothing changed" not in result.stdout
    assert not (examples / "site/stray.html").exists()  # the tree is exactly the build's
    build_ok(examples)
    (examples / "published.yaml").write_text(
        "paris-frameworks-compared:\n  lesswrong:\n    id: abc123\n"
    )
    result = build_ok(examples)
    assert "Nothing changed" not in result.stdout
    request = json.loads((examples / "drafts/lesswrong/paris-frameworks-compared.json").read_text())
    assert request["operationName"] == "UpdateDraft" and request["variables"]["id"] == "abc123"


@pytest.mark.parametrize("racy_ns", [0, 10**12])
def test_an_edit_that_keeps_size_and_mtime_is_still_seen(examples, monkeypatch, racy_ns):
    # Unchanged files are known by size, times and inode rather than read again; an edit
    # that restores the old mtime still changes the ctime. With racy_ns 0 nothing counts
    # as recently changed (the stat path); with a huge one everything does (always read).
    from toolkit import content

    monkeypatch.setattr(content, "RACY_NS", racy_ns)
    path = examples / "posts/paris-frameworks-compared.md"
    text = path.read_text()
    assert "Paris" in text
    build_ok(examples)
    st = path.stat()
    path.write_text(text.replace("Paris", "Seoul"))  # the same length
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    result = build_ok(examples)
    assert "Nothing changed" not in result.stdout
    page = (examples / "site/posts/paris-frameworks-compared/index.html").read_text()
    assert "Seoul" in page and "Paris" not in page.replace("paris-frameworks", "")
