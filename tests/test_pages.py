"""What a reader and a crawler find on the built site, read with html5lib, lxml and
feedparser (never with the code that wrote it): metadata on every page, the files a site
is expected to have, notes that show what they cite, and the 404 page under `serve`."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
import requests
import yaml
from lxml import etree
from test_build import SITE, build_ok, html_doc

from toolkit import serve

WORD_JOINER = "\u2060"
NBSP = "\u00a0"

# The sitemaps.org 0.9 shape (urlset of url, each a loc and optional lastmod, changefreq
# and priority), written out here so the test does not fetch the published schema.
SITEMAP_XSD = b"""<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://www.sitemaps.org/schemas/sitemap/0.9"
  xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" elementFormDefault="qualified">
  <xsd:element name="urlset">
    <xsd:complexType><xsd:sequence>
      <xsd:element name="url" maxOccurs="50000">
        <xsd:complexType><xsd:all>
          <xsd:element name="loc" type="xsd:anyURI"/>
          <xsd:element name="lastmod" minOccurs="0">
            <xsd:simpleType><xsd:union memberTypes="xsd:date xsd:dateTime"/></xsd:simpleType>
          </xsd:element>
          <xsd:element name="changefreq" type="xsd:string" minOccurs="0"/>
          <xsd:element name="priority" type="xsd:decimal" minOccurs="0"/>
        </xsd:all></xsd:complexType>
      </xsd:element>
    </xsd:sequence></xsd:complexType>
  </xsd:element>
</xsd:schema>
"""
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def site(examples: Path) -> Path:
    build_ok(examples)
    return examples / "site"


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def meta(page, attr: str, name: str) -> str | None:
    for el in page.iter("meta"):
        if el.get(attr) == name:
            return el.get("content")
    return None


def snippets(examples: Path) -> dict[str, dict]:
    """The example snippets' front matter, read with PyYAML."""
    found = {}
    for path in (examples / "snippets").rglob("*.md"):
        front = path.read_text().split("---", 2)[1]
        found[path.stem] = yaml.safe_load(front)
    return found


# Every page ------------------------------------------------------------------------------


def test_every_page_has_one_h1_a_description_a_favicon_and_card_tags(site):
    assert len(pages(site)) > 20
    for path in pages(site):
        page = html_doc(path)
        assert len(page.findall(".//h1")) == 1, path
        description = meta(page, "name", "description")
        assert description and description.strip(), path
        for prop in ("og:title", "og:type", "og:description", "og:site_name"):
            assert meta(page, "property", prop), (path, prop)
        assert meta(page, "name", "twitter:card") == "summary", path
        assert meta(page, "name", "twitter:title"), path
        (icon,) = [link for link in page.iter("link") if link.get("rel") == "icon"]
        assert icon.get("type") == "image/svg+xml"
        if path.name != "404.html":  # 404.html is served at any depth: its links are absolute
            target = (path.parent / icon.get("href")).resolve()
            assert target == (site / "favicon.svg").resolve(), path
            folder = path.parent.relative_to(site).as_posix()
            expected = SITE if folder == "." else f"{SITE}{folder}/"
            assert meta(page, "property", "og:url") == expected, path
    icon_svg = etree.fromstring((site / "favicon.svg").read_bytes())
    assert icon_svg.tag == "{http://www.w3.org/2000/svg}svg"


def test_post_pages_describe_themselves_with_json_ld_and_a_byline(site, examples):
    config = (examples / "toolkit.toml").read_text()
    author = re.search(r'^author = "(.*)"', config, re.M).group(1)
    posts = sorted(site.glob("posts/*/index.html")) + sorted(site.glob("shortform/*/index.html"))
    assert len(posts) == 3
    for path in posts:
        page = html_doc(path)
        (script,) = page.findall(".//script")
        assert script.get("type") == "application/ld+json"
        data = json.loads(script.text)
        assert data["@type"] == "BlogPosting"
        title = "".join(page.find(".//article//h1").itertext())
        assert data["headline"] == title
        assert data["author"]["name"] == author
        url = data["url"]
        assert url.startswith(SITE) and (site / url[len(SITE) :] / "index.html") == path
        published = data["datePublished"]
        (time,) = page.findall(".//article/header//time")[:1]
        assert published == time.get("datetime")
        assert meta(page, "property", "article:published_time") == published
        assert meta(page, "property", "og:type") == "article"
        byline = page.find(".//article/header//*[@class='author']")
        assert byline is not None and byline.text == author
        assert meta(page, "name", "description") == data["description"]


def test_the_index_has_a_heading(site):
    page = html_doc(site / "index.html")
    (h1,) = page.findall(".//main/h1")
    assert h1.text and h1.text.strip()


# Files a site is expected to have --------------------------------------------------------


def test_sitemap_lists_every_published_page_by_absolute_url(site):
    sitemap = etree.fromstring((site / "sitemap.xml").read_bytes())
    schema = etree.XMLSchema(etree.fromstring(SITEMAP_XSD))
    assert schema.validate(sitemap), schema.error_log
    locs = [loc.text for loc in sitemap.iter(f"{SM}loc")]
    assert len(locs) == len(set(locs))
    assert all(loc.startswith(SITE) for loc in locs)
    on_disk = {
        SITE + path.parent.relative_to(site).as_posix() + "/"
        for path in pages(site)
        if path.name == "index.html" and path.parent != site
    } | {SITE}
    assert set(locs) == on_disk  # no draft is built here: every page is a published one
    assert SITE + "404.html" not in locs
    for url in sitemap.iter(f"{SM}url"):
        if "/posts/" in url.find(f"{SM}loc").text:
            assert url.find(f"{SM}lastmod") is not None


def test_sitemap_leaves_out_drafts(examples):
    build_ok(examples, "--drafts")
    site = examples / "site"
    assert (site / "posts/weight-security-notes/index.html").is_file()  # the draft, built
    locs = [loc.text for loc in etree.parse(str(site / "sitemap.xml")).iter(f"{SM}loc")]
    assert not [loc for loc in locs if "weight-security-notes" in loc]


def test_robots_txt_points_at_the_sitemap(site):
    lines = (site / "robots.txt").read_text().splitlines()
    assert "User-agent: *" in lines
    assert f"Sitemap: {SITE}sitemap.xml" in lines


def test_404_page_has_a_heading_and_links_that_work_from_any_depth(site):
    page = html_doc(site / "404.html")
    assert "not found" in page.find(".//h1").text.lower()
    assert meta(page, "name", "robots") == "noindex"
    assert not [link for link in page.iter("link") if link.get("rel") == "canonical"]
    for el in page.iter("a", "link"):
        href = el.get("href")
        assert href.startswith(("/", "https://")), href
        local = urlsplit(urljoin("/deep/missing/page/", href)).path
        if href.startswith("/"):
            target = site / local.lstrip("/")
            assert target.is_file() or (target / "index.html").is_file(), href


# Feed autodiscovery ------------------------------------------------------------------------


def alternates(page) -> list[str]:
    return [
        link.get("href")
        for link in page.iter("link")
        if link.get("rel") == "alternate" and link.get("type") == "application/atom+xml"
    ]


def test_shortform_pages_announce_the_shortform_feed(site, examples):
    feed = SITE + "feeds/shortform.xml"
    for rel in ("shortform/index.html", "shortform/preparedness-page-redirects/index.html"):
        assert feed in alternates(html_doc(site / rel)), rel
    assert feed not in alternates(html_doc(site / "posts/paris-frameworks-compared/index.html"))
    parsed = feedparser.parse((examples / "feeds/shortform.xml").read_bytes())
    assert parsed.feed.link == SITE + "shortform/"


def test_each_tag_page_announces_its_feed_and_the_feed_points_back(site, examples):
    tag_pages = sorted(site.glob("tags/*/index.html"))
    assert len(tag_pages) > 3
    for path in tag_pages:
        key = path.parent.name
        feed_url = f"{SITE}feeds/tags/{key}.xml"
        assert feed_url in alternates(html_doc(path)), key
        parsed = feedparser.parse((examples / f"feeds/tags/{key}.xml").read_bytes())
        assert not parsed.bozo, key
        assert parsed.feed.link == f"{SITE}tags/{key}/", key


# Robust Links ------------------------------------------------------------------------------


def test_robust_links_carry_the_snapshot_url_alone_and_its_date(site):
    seen = 0
    for path in pages(site):
        for a in html_doc(path).iter("a"):
            version = a.get("data-versionurl")
            if version is None:
                continue
            seen += 1
            assert " " not in version and urlsplit(version).scheme == "https", version
            date = a.get("data-versiondate")
            assert re.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\dZ)?", date), date
            assert version.split("/web/", 1)[1].startswith(re.sub(r"\D", "", date)[:8])
            assert a.get("data-originalurl") == a.get("href")
    assert seen > 10


# Notes -------------------------------------------------------------------------------------


def notes_of(page) -> dict[str, object]:
    return {li.get("id"): li for li in page.iterfind(".//section[@class='notes']/ol/li")}


def test_citation_notes_show_the_quote_or_link_the_claim_and_say_when_no_copy(site, examples):
    known = snippets(examples)
    page = html_doc(site / "posts/paris-frameworks-compared/index.html")
    notes = notes_of(page)
    quoted_in_body = {f.get("data-snippet") for f in page.iterfind(".//figure[@class='claim']")}
    checked_quote = checked_missing = checked_claim = 0
    for li in notes.values():
        if "note-citation" not in li.get("class"):
            continue
        text = " ".join("".join(li.itertext()).split())
        # Snippets from one document share its URL: the note quotes one of them.
        cited = [
            sid
            for sid, front in known.items()
            if any(a.get("href") == front["source"]["url"] for a in li.iter("a"))
        ]
        assert cited, text
        claim_links = [a.get("href") for a in li.iter("a") if "/claims/" in (a.get("href") or "")]
        if set(cited) & quoted_in_body and claim_links:
            checked_claim += 1
        else:
            openings = [" ".join(known[sid]["quote"].split())[:40] for sid in cited]
            assert any(o in text for o in openings), (cited, text)
            checked_quote += 1
        no_copy = [sid for sid in cited if not known[sid].get("archive")]
        assert ("No archived copy yet" in text) == bool(no_copy), text
        checked_missing += bool(no_copy)
        for href in claim_links:  # a claim link names an entry that is there
            lab_page, anchor = href[len(SITE) :].split("#")
            ids = {el.get("id") for el in html_doc(site / lab_page / "index.html").iter()}
            assert anchor in ids, href
    assert checked_quote >= 5 and checked_missing >= 1 and checked_claim >= 1


def test_references_preview_their_note_and_stay_with_their_word(site):
    for rel in ("posts/paris-frameworks-compared/index.html", "shortform/index.html"):
        page = html_doc(site / rel)
        notes = notes_of(page)
        refs = page.findall(".//sup[@class='note-ref']")
        assert refs, rel
        for sup in refs:
            a = sup.find("a")
            li = notes[a.get("aria-describedby")]
            assert a.get("href") == "#" + li.get("id")
            preview = sup.get("data-preview")
            words = " ".join("".join(li.itertext()).split())
            # The preview holds the note's words (quote first); each of its words is there.
            assert preview and all(w.strip("“”…,.;:()—") in words for w in preview.split()[:12]), (
                preview,
                words,
            )
            before = sup.getprevious()
            text = (before.tail if before is not None else sup.getparent().text) or ""
            assert text.endswith(WORD_JOINER), repr(text[-20:])
        for back in page.iterfind(".//a[@class='backref']"):
            before = back.getprevious()
            text = (before.tail if before is not None else back.getparent().text) or ""
            assert text.endswith(NBSP), repr(text[-20:])


def test_footer_claims_no_archived_copy_for_every_quote(site, examples):
    assert any(not s.get("archive") for s in snippets(examples).values())
    footer = "".join(html_doc(site / "index.html").find(".//footer").itertext())
    assert "an archived copy." not in footer.replace("\n", " ")
    assert "archived copy where one exists" in footer


# The stylesheet ---------------------------------------------------------------------------


def test_stylesheet_sets_a_measure_and_a_serif_stack_with_linux_fallbacks(site):
    css = (site / "style.css").read_text()
    stack = re.search(r"--serif:([^;]+);", css).group(1)
    fonts = [f.strip().strip('"') for f in stack.split(",")]
    assert fonts[-1] == "serif" and {"Noto Serif", "DejaVu Serif"} <= set(fonts)
    width = re.search(r"main, footer\.site \{ max-width: calc\((\d+(?:\.\d+)?)rem", css)
    assert 34 <= float(width.group(1)) <= 40  # about 65-75 characters at this size
    assert re.search(r"a\.backref \{[^}]*text-decoration: underline", css)


# `toolkit serve` ---------------------------------------------------------------------------


def test_serve_answers_a_missing_page_with_the_sites_404(examples):
    banner = serve.Banner()
    serve.preview(examples, banner=banner)
    server = serve.make_server(examples, 0, banner)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        answer = requests.get(base + "posts/no-such-post/", timeout=5)
        assert answer.status_code == 404
        assert answer.headers["Content-Type"].startswith("text/html")
        assert answer.headers["X-Robots-Tag"] == "noindex"
        page = html_doc(answer.content)
        assert "not found" in page.find(".//h1").text.lower()
        style = [link.get("href") for link in page.iter("link") if link.get("rel") == "stylesheet"]
        assert requests.get(urljoin(answer.url, style[0]), timeout=5).status_code == 200
        head = requests.head(base + "nothing.html", timeout=5)
        assert head.status_code == 404 and head.content == b""
    finally:
        server.shutdown()
        server.server_close()


def test_notes_sections_are_named_apart_on_a_page_with_several_posts(site):
    page = html_doc(site / "shortform/index.html")
    labels = [s.get("aria-label") for s in page.iterfind(".//section[@class='notes']")]
    assert len(labels) >= 2 and len(set(labels)) == len(labels)


def test_preview_banner_says_build_refuses_only_when_there_are_errors():
    from toolkit import diagnostics as dg
    from toolkit.site import problems_html

    warning = dg.make("F006", "posts/a.md", 2, "unknown key 'tittle'")
    error = dg.make("F001", "posts/b.md", 1, "not UTF-8")
    assert error.severity == "error" and warning.severity == "warning"
    only_warnings = "".join(html_doc(problems_html([warning])).itertext())
    assert "refuse until" not in only_warnings and "will build" in only_warnings
    with_error = "".join(html_doc(problems_html([warning, error])).itertext())
    assert "will refuse until the errors are fixed" in with_error
