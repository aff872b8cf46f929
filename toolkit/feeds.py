"""Atom, RSS 2.0 and JSON Feed 1.1, from the same rendered posts as the site.

feedgen builds Atom and RSS. Its traps (see feeds-and-peers.md, section 3) and what we do:
- entry and feed `updated`/`lastBuildDate` default to now(): we always set them from the
  posts, so two builds of the same input are byte-identical;
- `add_entry` prepends by default: we sort ourselves and append;
- RSS `<channel><link>` is the href of the last `link()` call: the alternate link goes last;
- Atom entry links lose `rel`/`type`, and there is no `xml:base`: the small extension
  below restores the attributes and puts `xml:base` (the post's URL) on `<content>`;
- `summary()` also becomes the RSS `<description>`, which readers take as HTML, while a
  summary is plain text (as Atom's `<summary>` and JSON Feed's `summary` say): we set the
  description first, HTML-escaped, with `description()`, whose Atom content `content()`
  then replaces, and `summary()` leaves a description it did not set alone;
- lxml refuses text that XML 1.0 cannot carry (C0 controls but tab and newline): `check`
  reports them (F012) and every string is cleaned of them here anyway, so no input can
  make a feed fail to build.
Every URL in content is absolute; note links point at the post's page, not at `#fn`,
and local images at their copies under base_url.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

from . import changes
from .model import Config, Project
from .render.html import absolute_fragments, rebase_media
from .site import Group, Item, by_tag_key, link_post_html

XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@functools.lru_cache(maxsize=1)
def _feedgen():
    """feedgen and our extension, imported when a feed is first written (a rebuild whose
    feeds are unchanged never loads lxml)."""
    from feedgen.ext.base import BaseEntryExtension, BaseExtension
    from feedgen.feed import FeedGenerator

    class FeedExtension(BaseExtension):
        def extend_ns(self) -> dict:
            return {}

    class EntryExtension(BaseEntryExtension):
        """Puts xml:base on Atom content and restores entry link attributes."""

        def __init__(self) -> None:
            self.base: str | None = None
            self.links: list[dict] = []

        def extend_atom(self, entry):
            content = entry.find("content")  # feedgen's elements carry no namespace
            if content is not None and self.base:
                content.set(XML_BASE, self.base)
            for element, spec in zip(entry.findall("link"), self.links, strict=False):
                for key in ("rel", "type", "length", "title", "hreflang"):
                    if spec.get(key):
                        element.set(key, str(spec[key]))
            return entry

        def extend_rss(self, item):
            return item

    return FeedGenerator, FeedExtension, EntryExtension


# Characters XML 1.0 cannot hold in any form (not even as a character reference).
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def page_url(item: Item, config: Config) -> str:
    """The page's absolute URL; a slug in another script is percent-encoded (feeds want
    URIs; `quote` leaves the ASCII slugs of old as they were)."""
    return config.site_url + quote(item.path)


def entry_id(item: Item, config: Config) -> str:
    """A tag: URI from the site's host, the first publication date and the page path.
    It never changes when the title does."""
    host = urlsplit(config.base_url).hostname or "localhost"
    date = (item.post.date or EPOCH).date().isoformat()
    return f"tag:{host},{date}:/{quote(item.path)}"


def updated(item: Item) -> dt.datetime:
    return item.post.updated or item.post.date or EPOCH


def content_html(item: Item, config: Config) -> str:
    assert item.html is not None, "a feed's items are loaded with their HTML"
    html = rebase_media(item.html.full(), config.site_url)
    if item.post.link:  # what the post is about comes first, as on its page
        html = f"{link_post_html(item.post.link)}\n{html}"
    return absolute_fragments(html, page_url(item, config))


def _generator(items: list[Item], config: Config, name: str, title: str, home: str = ""):
    """A feed of `items`; its alternate link is the page that shows them (`home`, a
    path under the site: the tag's page for a tag's feed), the site's root by default."""
    feed_generator, feed_extension, entry_extension = _feedgen()
    self_url = f"{config.site_url}feeds/{quote(name)}"
    fg = feed_generator()
    fg.register_extension("xmlbase", feed_extension, entry_extension, atom=True, rss=False)
    fg.id(self_url)
    fg.title(xml_text(title))
    fg.subtitle(xml_text(config.description or title))
    fg.author({"name": xml_text(config.author or config.title)})
    fg.language(config.language)
    fg.generator("toolkit", uri="https://pypi.org/project/toolkit/")
    last = max((updated(i) for i in items), default=EPOCH)
    fg.updated(last)
    fg.lastBuildDate(last)
    fg.link(href=self_url, rel="self")
    fg.link(href=config.site_url + home, rel="alternate")  # last: RSS uses the last link
    for item in items:
        url = page_url(item, config)
        fe = fg.add_entry(order="append")
        fe.id(entry_id(item, config))
        fe.title(xml_text(item.post.title))
        link = {"href": url, "rel": "alternate", "type": "text/html"}
        fe.link(link)
        fe.xmlbase.base = url
        fe.xmlbase.links = [link]
        if item.summary:  # before content(), which replaces the Atom content it sets
            fe.description(html.escape(xml_text(item.summary), quote=False))
        fe.content(xml_text(content_html(item, config)), type="html")
        if item.summary:
            fe.summary(xml_text(item.summary))
        fe.published(item.post.date or EPOCH)
        fe.updated(updated(item))
        for tag in item.post.tags:
            fe.category(term=xml_text(tag))
    return fg


def atom(items: list[Item], config: Config, name: str, title: str, home: str = "") -> bytes:
    return _generator(items, config, name, title, home).atom_str(pretty=True)


def rss(items: list[Item], config: Config, name: str, title: str) -> bytes:
    return _generator(items, config, name, title).rss_str(pretty=True)


def json_feed(items: list[Item], config: Config, name: str, title: str) -> bytes:
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": config.site_url,
        "feed_url": f"{config.site_url}feeds/{quote(name)}",
        "language": config.language,
        "authors": [{"name": config.author or config.title}],
        "items": [],
    }
    if config.description:
        feed["description"] = config.description
    for item in items:
        entry: dict[str, Any] = {
            "id": entry_id(item, config),
            "url": page_url(item, config),
            "title": item.post.title,
            "content_html": content_html(item, config),
            "date_published": (item.post.date or EPOCH).isoformat(),
            "date_modified": updated(item).isoformat(),
        }
        if item.summary:
            entry["summary"] = item.summary
        if item.post.link:  # JSON Feed's own field for a link post's page
            entry["external_url"] = item.post.link
        if item.post.tags:
            entry["tags"] = list(item.post.tags)
        feed["items"].append(entry)
    return (json.dumps(feed, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def feed_groups(items: list[Item], project: Project) -> list[Group]:
    """Every feed file under feeds/, as groups of what each shows. `items`: newest first."""
    config = project.config
    published = [i for i in items if i.post.published]
    top = published[: config.max_items]

    def shown(feed_items: list[Item]) -> tuple:
        return (project.digest, tuple((i.listing(), i.page_digest) for i in feed_items))

    groups = [
        Group(
            "feed:main",
            shown(top),
            lambda: {
                "atom.xml": atom(top, config, "atom.xml", config.title),
                "rss.xml": rss(top, config, "rss.xml", config.title),
                "feed.json": json_feed(top, config, "feed.json", config.title),
            },
            shows=top,
        )
    ]
    shortform = [i for i in published if i.post.kind == "shortform"][: config.max_items]
    groups.append(
        Group(
            "feed:shortform",
            shown(shortform),
            lambda: {
                "shortform.xml": atom(
                    shortform, config, "shortform.xml", f"{config.title}: shortform", "shortform/"
                )
            },
            shows=shortform,
        )
    )
    shown_as, by_key = by_tag_key(published)  # newest first, as `published` is
    for key, tag in sorted(shown_as.items()):
        tagged = by_key[key][: config.max_items]
        name = f"tags/{key}.xml"

        def tag_feed(
            name: str = name, tag: str = tag, tagged: list[Item] = tagged, key: str = key
        ) -> dict[str, bytes]:
            return {name: atom(tagged, config, name, f"{config.title}: {tag}", f"tags/{key}/")}

        groups.append(Group(f"feed:tag:{key}", shown(tagged), tag_feed, shows=tagged))
    groups.append(Group("feed:changes", (project.digest,), lambda: changes.feed(project)))
    return groups


def build_feeds(items: list[Item], project: Project) -> dict[str, bytes]:
    """Every feed file under feeds/ (rendered here, no cache). Items must carry HTML."""
    files: dict[str, bytes] = {}
    for group in feed_groups(items, project):
        files.update(group.render())
    return files
