"""Local images end to end: checked, copied into the site, absolute in feeds and drafts.

Pages are read with html5lib, feeds with feedparser, the LessWrong Markdown with
markdown-it-py: none of them is the code that wrote the outputs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import feedparser
import html5lib
from conftest import NOW, Project, post
from markdown_it import MarkdownIt

from toolkit import build as buildlib

BASE = "https://writer.example/blog/"
PNG = b"\x89PNG\r\n\x1a\n" + b"a chart, pixel by pixel" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"a photo of a signing ceremony" * 20


def page(path: Path):
    data = path.read_bytes()
    return html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False).getroot()


def image_project(root: Path) -> Project:
    project = Project(root)
    config = (root / "toolkit.toml").read_text().replace("https://example.org", BASE)
    project.write("toolkit.toml", config)
    body = (
        "Here is the chart.\n\n"
        '![The thresholds, by model size](img/chart.png "Figure 1")\n\n'
        "A photo from the folder above, in a sentence: ![Signing](../media/photo%20one.jpg).\n\n"
        "A remote one stays: ![Remote](https://images.example/r.png)\n"
    )
    project.write(
        "posts/with-images.md",
        post(
            "title: With images\ndate: 2025-03-01\nstatus: published\n"
            "targets: [substack, lesswrong]\n",
            body,
        ),
    )
    project.write(
        "posts/quick.md",
        post(
            "kind: shortform\ndate: 2025-03-02\nstatus: published\n",
            "Quick look: ![The chart again](../posts/img/chart.png)\n",
        ),
    )
    project.write("posts/img/chart.png", PNG)
    project.write("media/photo one.jpg", JPEG)
    return project


def built(root: Path, **kw) -> buildlib.BuildReport:
    report = buildlib.build(root, at=NOW, **kw)
    assert report.ok, [d.format() for d in report.diagnostics]
    return report


def srcs(html_root) -> list[str]:
    return [img.get("src") for img in html_root.iter("img")]


def test_the_site_shows_local_images_from_copies_inside_site(tmp_path):
    project = image_project(tmp_path)
    built(tmp_path)
    site = tmp_path / "site"
    page_dir = site / "posts" / "with-images"
    found = srcs(page(page_dir / "index.html"))
    assert len(found) == 3, found
    chart, photo, remote = found
    assert remote == "https://images.example/r.png"
    for src, data in ((chart, PNG), (photo, JPEG)):
        assert not urlsplit(src).scheme and not src.startswith("/"), src  # relative
        file = (page_dir / unquote(src)).resolve()
        assert file.is_relative_to(site.resolve()) and file.read_bytes() == data, src
    # Named by content: the sha256 of the bytes starts the name.
    assert Path(unquote(chart)).name.startswith(hashlib.sha256(PNG).hexdigest()[:16])
    [img] = [i for i in page(page_dir / "index.html").iter("img") if i.get("src") == chart]
    assert img.get("alt") == "The thresholds, by model size" and img.get("title") == "Figure 1"
    # The shortform page sits one folder higher: its images still resolve.
    listing = site / "shortform"
    [quick] = srcs(page(listing / "index.html"))
    assert (listing / unquote(quick)).resolve().read_bytes() == PNG
    assert unquote(quick).endswith(Path(unquote(chart)).name)  # one copy for both posts
    # Nothing of the project but the images used is copied.
    assert sorted(p.name for p in (site / "media").iterdir()) == sorted(
        {Path(unquote(chart)).name, Path(unquote(photo)).name}
    )
    assert project  # the project fixture wrote the files


def test_feeds_give_absolute_urls_under_base_url(tmp_path):
    image_project(tmp_path)
    built(tmp_path)
    feed = feedparser.parse((tmp_path / "feeds" / "atom.xml").read_bytes())
    entry = next(e for e in feed.entries if e.title == "With images")
    content = page_fragment(entry.content[0].value)
    found = srcs(content)
    assert found[-1] == "https://images.example/r.png"
    for src in found[:2]:
        assert src.startswith(BASE + "media/"), src
        assert (tmp_path / "site" / unquote(src[len(BASE) :])).is_file()
    rss = feedparser.parse((tmp_path / "feeds" / "rss.xml").read_bytes())
    rss_entry = next(e for e in rss.entries if e.title == "With images")
    assert srcs(page_fragment(rss_entry.content[0].value)) == found
    items = json.loads((tmp_path / "feeds" / "feed.json").read_text())["items"]
    json_html = next(i for i in items if i["title"] == "With images")["content_html"]
    assert srcs(page_fragment(json_html)) == found


def page_fragment(html: str):
    return html5lib.parse(html, treebuilder="lxml", namespaceHTMLElements=False).getroot()


def test_lesswrong_and_paste_drafts_get_absolute_urls(tmp_path):
    image_project(tmp_path)
    built(tmp_path)
    text = (tmp_path / "drafts" / "lesswrong" / "with-images.md").read_text()
    images = [
        t.attrs["src"]
        for block in MarkdownIt("commonmark").parse(text)
        for t in block.children or []
        if t.type == "image"
    ]
    assert len(images) == 3, text
    assert all(src.startswith(BASE + "media/") for src in images[:2]), images
    for src in images[:2]:
        assert (tmp_path / "site" / unquote(src[len(BASE) :])).is_file()
    paste = list((tmp_path / "drafts").rglob("with-images.html"))
    assert paste, sorted(p.name for p in (tmp_path / "drafts").rglob("*"))
    pasted = srcs(page(paste[0]))
    assert pasted[:2] == images[:2]


def test_an_image_added_after_a_failed_build_is_found_by_the_next(tmp_path):
    project = image_project(tmp_path)
    built(tmp_path)
    project.remove("posts/img/chart.png")
    failed = buildlib.build(tmp_path, at=NOW)
    assert not failed.ok and [d.code for d in failed.diagnostics if d.severity == "error"] == [
        "P018",
        "P018",
    ]
    project.write("posts/img/chart.png", PNG)
    again = built(tmp_path)
    assert not [d for d in again.diagnostics if d.code == "P018"]


def test_a_replaced_image_gets_a_new_copy_though_no_post_changed(tmp_path):
    project = image_project(tmp_path)
    built(tmp_path)
    assert built(tmp_path).up_to_date
    project.write("posts/img/chart.png", PNG + b"redrawn")
    report = built(tmp_path)
    assert not report.up_to_date
    page_dir = tmp_path / "site" / "posts" / "with-images"
    chart = srcs(page(page_dir / "index.html"))[0]
    assert (page_dir / unquote(chart)).read_bytes() == PNG + b"redrawn"
    assert hashlib.sha256(PNG + b"redrawn").hexdigest()[:16] in chart


def test_a_build_with_images_is_the_same_with_and_without_the_cache(tmp_path):
    from test_no_cache import assert_same_outputs

    cached, plain = tmp_path / "cached", tmp_path / "plain"
    image_project(cached)
    built(cached)
    (cached / "media" / "photo one.jpg").write_bytes(JPEG + b"retouched")
    built(cached)  # the cache path: stored posts, stored pages, one image changed
    shutil.copytree(cached, plain, ignore=shutil.ignore_patterns(".toolkit", "site", "feeds"))
    shutil.rmtree(plain / "drafts", ignore_errors=True)
    built(plain, use_cache=False)
    assert_same_outputs(cached, plain)
    assert urljoin(BASE, "media/") in (cached / "feeds" / "atom.xml").read_text()
