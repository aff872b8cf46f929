"""Local images end to end: checked, copied into the site, absolute in feeds and drafts.

Pages are read with html5lib, feeds with feedparser, the LessWrong Markdown with
markdown-it-py: none of them is the code that wrote the outputs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
import zlib
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import feedparser
import html5lib
from conftest import NOW, Project, post
from markdown_it import MarkdownIt

from toolkit import build as buildlib

BASE = "https://writer.example/blog/"
IHDR = b"IHDR" + struct.pack(">IIBBBBB", 640, 480, 8, 2, 0, 0, 0)
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + struct.pack(">I", 13)
    + IHDR
    + struct.pack(">I", zlib.crc32(IHDR))
    + b"a chart, pixel by pixel" * 20
)
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
        "A remote one stays as it is:\n\n![Remote](https://images.example/r.png)\n"
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
    commentary_project(cached)  # images in posts, and in a snippet's commentary
    built(cached)
    (cached / "media" / "photo one.jpg").write_bytes(JPEG + b"retouched")
    (cached / "snippets/openai/shots/prep.png").write_bytes(PNG + b"retaken")
    built(cached)  # the cache path: stored posts, stored pages, two images changed
    shutil.copytree(cached, plain, ignore=shutil.ignore_patterns(".toolkit", "site", "feeds"))
    shutil.rmtree(plain / "drafts", ignore_errors=True)
    built(plain, use_cache=False)
    assert_same_outputs(cached, plain)
    assert urljoin(BASE, "media/") in (cached / "feeds" / "atom.xml").read_text()


# Substack: uploads through the stand-in server ------------------------------------------


def publish(root: Path, *args: str):
    from click.testing import CliRunner
    from conftest import SID

    from toolkit.cli import cli

    env = {"SUBSTACK_SID": SID, "TOOLKIT_HTTP_TIMEOUT": "2"}
    return CliRunner().invoke(cli, ["--root", str(root), "publish", *args], env=env)


def substack_project(root: Path, substack) -> Project:
    project = image_project(root)
    config = (root / "toolkit.toml").read_text()
    project.write("toolkit.toml", config + f'\n[substack]\npublication_url = "{substack.url}"\n')
    return project


def nodes(doc: dict, kind: str) -> list[dict]:
    found = []
    for node in doc.get("content", []):
        if node.get("type") == kind:
            found.append(node)
        found += nodes(node, kind)
    return found


def test_publish_uploads_local_images_and_sends_captioned_images(tmp_path, substack):
    from servers.substack import IMAGE_HOST, validate_prosemirror

    substack_project(tmp_path, substack)
    result = publish(tmp_path, "with-images", "--to", "substack")
    assert result.exit_code == 0, result.output
    uploads = substack.requests_to("POST", "/api/v1/image")
    assert len(uploads) == 2  # the chart and the photo; the remote image is not uploaded
    sent = []
    for request in uploads:
        assert request.headers["Content-Type"] == "application/json"
        mime, _, data = request.json["image"].removeprefix("data:").partition(";base64,")
        sent.append((mime, base64.b64decode(data)))
    assert sorted(sent) == sorted([("image/png", PNG), ("image/jpeg", JPEG)])
    (create,) = substack.requests_to("POST", "/api/v1/drafts")
    assert create.time > max(r.time for r in uploads)  # uploaded before the draft is made
    doc = json.loads(create.json["draft_body"])
    assert validate_prosemirror(doc) == []
    chart, remote = nodes(doc, "captionedImage")
    [chart_image, caption] = chart["content"]
    attrs = chart_image["attrs"]
    assert attrs["src"] in substack.images and substack.images[attrs["src"]] == PNG
    assert attrs["src"].startswith(IMAGE_HOST)
    assert (attrs["alt"], attrs["width"], attrs["height"], attrs["type"]) == (
        "The thresholds, by model size",
        640,
        480,
        "image/png",
    )
    assert caption == {"type": "caption", "content": [{"type": "text", "text": "Figure 1"}]}
    assert (
        remote["content"] == [{"type": "image2", "attrs": remote["content"][0]["attrs"]}]
        and remote["content"][0]["attrs"]["src"] == "https://images.example/r.png"
    )
    # The photo sits in a sentence: Substack's images are blocks, so it is a link there,
    # to Substack's copy.
    links = [
        m["attrs"]["href"]
        for t in nodes(doc, "paragraph")
        for n in t["content"]
        for m in n.get("marks", [])
        if m["type"] == "link"
    ]
    assert [substack.images[h] for h in links if h in substack.images] == [JPEG]


def test_images_are_uploaded_once_and_again_only_when_they_change(tmp_path, substack):
    project = substack_project(tmp_path, substack)
    assert publish(tmp_path, "with-images", "--to", "substack").exit_code == 0
    again = publish(tmp_path, "with-images", "--to", "substack")
    assert again.exit_code == 0 and "unchanged" in again.output, again.output
    edit = (tmp_path / "posts" / "with-images.md").read_text().replace("Here is", "Here's")
    project.write("posts/with-images.md", edit)
    assert publish(tmp_path, "with-images", "--to", "substack").exit_code == 0
    assert len(substack.requests_to("POST", "/api/v1/image")) == 2  # remembered, not resent
    project.write("posts/img/chart.png", PNG + b"redrawn")
    assert publish(tmp_path, "with-images", "--to", "substack").exit_code == 0
    uploads = substack.requests_to("POST", "/api/v1/image")
    assert len(uploads) == 3
    assert base64.b64decode(uploads[-1].json["image"].partition(",")[2]) == PNG + b"redrawn"
    (draft,) = substack.drafts.values()
    srcs_now = [
        n["content"][0]["attrs"]["src"]
        for n in nodes(json.loads(draft["draft_body"]), "captionedImage")
    ]
    assert substack.images[srcs_now[0]] == PNG + b"redrawn"


def test_the_drafts_export_keeps_the_site_url_and_needs_no_network(tmp_path, substack):
    from servers.substack import validate_prosemirror

    substack_project(tmp_path, substack)
    built(tmp_path)
    exported = json.loads((tmp_path / "drafts" / "substack" / "with-images.json").read_text())
    doc = json.loads(exported["draft_body"])
    assert validate_prosemirror(doc) == []
    src = nodes(doc, "captionedImage")[0]["content"][0]["attrs"]["src"]
    assert (
        src.startswith(BASE + "media/")
        and (tmp_path / "site" / unquote(src[len(BASE) :])).is_file()
    )
    assert substack.requests == []


def test_publish_refuses_local_images_under_the_placeholder_base_url(tmp_path, substack):
    substack_project(tmp_path, substack)
    config = (tmp_path / "toolkit.toml").read_text().replace(BASE, "https://example.org")
    (tmp_path / "toolkit.toml").write_text(config)
    result = publish(tmp_path, "with-images", "--to", "substack")
    assert result.exit_code == 2, result.output
    assert "placeholder base_url" in result.output and "[site] base_url" in result.output
    assert "Traceback" not in result.output
    assert substack.requests == []


def test_an_image_substack_does_not_take_refuses_that_post(tmp_path, substack):
    project = substack_project(tmp_path, substack)
    project.write("posts/img/chart.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    result = publish(tmp_path, "with-images", "--to", "substack")
    assert result.exit_code == 1, result.output
    assert "posts/img/chart.png is not a PNG, JPEG, GIF or WebP" in result.output
    assert substack.requests_to("POST", "/api/v1/drafts") == []


def test_an_image_in_an_update_does_not_repeat_the_updates_problems(project):
    """Scanning an update's images once added its tokens to the body's shared token list,
    so an unknown citation in that update was reported twice, once at the body."""
    from conftest import post

    project.write(
        "posts/up.md",
        post(
            "title: Up\nupdates:\n"
            '  - date: 2025-03-01\n    text: "A chart ![c](https://x.org/c.png), see [@nope]."\n',
            "The body cites nothing.\n",
        ),
    )
    found = [d for d in project.diagnostics() if d.code == "P003"]
    assert len(found) == 1, found
    lines = (project.root / "posts/up.md").read_text().splitlines()
    assert found[0].line == next(i for i, t in enumerate(lines, 1) if "[@nope]" in t)


# Images in a snippet's commentary, shown on the claims pages ---------------------------


def commentary_project(root: Path) -> Project:
    project = image_project(root)
    snippet = (root / "snippets/openai/openai-prep.md").read_text()
    project.write(
        "snippets/openai/openai-prep.md",
        snippet.replace(
            "Commentary.",
            "Commentary, with the page as it was:\n\n![The page in 2023](shots/prep.png)\n",
        ),
    )
    project.write("snippets/openai/shots/prep.png", PNG + b"the page")
    return project


def test_an_image_in_a_snippets_commentary_is_copied_and_shown(tmp_path):
    commentary_project(tmp_path)
    built(tmp_path)
    site = tmp_path / "site"
    where = site / "claims" / "openai"  # the lab's page shows each snippet in full
    [img] = [i for i in page(where / "index.html").iter("img") if "prep" in i.get("src")]
    src = img.get("src")
    assert not urlsplit(src).scheme and img.get("alt") == "The page in 2023", src
    assert (where / unquote(src)).resolve().read_bytes() == PNG + b"the page"
    assert (where / unquote(src)).resolve().is_relative_to((site / "media").resolve())


def test_a_commentary_image_is_checked_where_it_is_written(tmp_path):
    project = commentary_project(tmp_path)
    project.remove("snippets/openai/shots/prep.png")
    report = buildlib.build(tmp_path, at=NOW)
    assert not report.ok
    [d] = [d for d in report.diagnostics if d.code == "P018"]
    text = (tmp_path / "snippets/openai/openai-prep.md").read_text().splitlines()
    assert d.path == "snippets/openai/openai-prep.md" and "![" in text[d.line - 1]
    # Put back, the next build finds it (the remembered checks knew it was missing).
    project.write("snippets/openai/shots/prep.png", PNG + b"the page")
    assert not [d for d in built(tmp_path).diagnostics if d.code == "P018"]
    # Without alt text: P020, as in a post.
    snippet = (tmp_path / "snippets/openai/openai-prep.md").read_text()
    project.write("snippets/openai/openai-prep.md", snippet.replace("![The page in 2023]", "![]"))
    assert "P020" in {d.code for d in built(tmp_path).diagnostics}


def test_a_replaced_commentary_image_is_copied_again(tmp_path):
    project = commentary_project(tmp_path)
    built(tmp_path)
    assert built(tmp_path).up_to_date
    project.write("snippets/openai/shots/prep.png", PNG + b"redrawn")
    assert not built(tmp_path).up_to_date
    where = tmp_path / "site" / "claims" / "openai"
    [src] = [s for s in srcs(page(where / "index.html")) if "prep" in unquote(s)]
    assert (where / unquote(src)).read_bytes() == PNG + b"redrawn"
