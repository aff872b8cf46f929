"""The writer's content, as loaded: plain dataclasses with no behaviour of their own.

Every object keeps the `Loaded` record of its YAML, so any later check can report the
exact line of the key it is unhappy with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from .diagnostics import Diagnostic
from .yamlfile import Loaded


@dataclass
class Config:
    """toolkit.toml, typed. Every value, and every default, comes from the field table
    `fields.config_fields()` (see `content.load_config`): none is written here."""

    root: Path
    title: str
    base_url: str
    author: str | None
    description: str | None
    language: str
    no_archive_needed: tuple[str, ...]
    ignore: tuple[str, ...]
    max_items: int
    target_urls: dict[str, str | None]  # [<target>] base URLs, by target name
    wayback_url: str
    online: dict[str, int]  # [online]: per_host, connections, ... (all present)
    loaded: Loaded = field(default_factory=lambda: Loaded({}))
    path: str = "toolkit.toml"

    def url_of(self, target: str) -> str | None:
        """A publish target's base URL: toolkit.toml's [<target>] table, else the registry's."""
        from . import targets

        return self.target_urls.get(target) or targets.get(target).url

    @property
    def site_url(self) -> str:
        """base_url with exactly one trailing slash, for joining paths."""
        return self.base_url.rstrip("/") + "/"


@dataclass
class Lab:
    key: str
    name: str
    url: str | None
    line: int


@dataclass
class Snippet:
    id: str
    path: str
    lab: str | None
    title: str
    claim: str | None
    quote: str | None
    source_url: str | None
    source_title: str | None
    published: dt.date | None
    accessed: dt.date | None
    archive: str | None
    topics: tuple[str, ...]
    status: str
    superseded_by: str | None
    body: str
    loaded: Loaded
    digest: str = ""  # sha256 of the file's bytes
    document: str | None = None  # `source: <document id>`: the source fields come from it
    locator: str | None = None  # where in that document
    body_line: int = 0  # the file line on which the commentary starts


@dataclass(frozen=True)
class DocumentVersion:
    """One version of a company document, as `toolkit watch --archive` recorded it."""

    seen: dt.date | None
    archive: str | None
    digest: str | None
    summary: str | None
    line: int


@dataclass
class CompanyDocument:
    """An entry of documents.yaml: a framework, system card or policy page, once.
    (Not `document.Document`, which is one post resolved for the renderers.)"""

    id: str
    lab: str | None
    title: str
    url: str | None
    published: dt.date | None
    archive: str | None
    kind: str | None
    versions: tuple[DocumentVersion, ...]
    line: int
    lab_line: int = 0


@dataclass
class Update:
    """One dated update of a post (`updates:` in its front matter)."""

    date: dt.date
    text: str  # Markdown
    line: int  # the file line of its `text`


@dataclass(frozen=True)
class LocalImage:
    """The file a post's local image names (see toolkit.media)."""

    source: str | None  # its path relative to the project; None: not a path inside it
    digest: str | None  # sha256 of its bytes; None: no such file
    problem: str = ""  # why it cannot be shown: "absolute", "outside", "missing"


@dataclass
class Post:
    path: str
    slug: str
    title: str
    date: dt.datetime | None
    kind: str
    status: str
    subtitle: str | None
    summary: str | None
    tags: tuple[str, ...]
    claims: tuple[str, ...]
    targets: tuple[str, ...]
    updated: dt.datetime | None
    body: str
    body_line: int  # the file line on which the body starts
    loaded: Loaded
    digest: str  # sha256 of the file's bytes
    slim: bool = False  # body and YAML positions left out (as kept in the build cache)
    reply_to: str | None = None  # a forum comment (URL or id) this shortform answers
    link: str | None = None  # a link post's page
    updates: tuple[Update, ...] = ()  # oldest first
    images: dict[str, LocalImage] | None = None  # local images by URL; None: not scanned

    @property
    def published(self) -> bool:
        return self.status == "published"

    def slimmed(self) -> Post:
        """This post without its body and YAML record (all a later build needs of an
        unchanged post is its metadata): a tenth of the size to keep and to load."""
        keep = {
            k: v
            for k, v in self.loaded.positions.items()
            if k in ((), ("slug",)) or k[:1] == ("tags",)
        }
        return replace(self, body="", loaded=Loaded(None, keep), slim=True)


class ArchiveEntry(NamedTuple):
    """One archives.yaml entry. (A named tuple, not a dataclass: a build reads back 12,000
    of them from its cache, and a tuple unpickles in half the time.)"""

    url: str
    archive: str | None
    accessed: dt.date | None
    line: int


class ArchiveIndex:
    """archives.yaml entries, looked up by exact or normalised URL (see urls.normalize)."""

    def __init__(self, entries: dict[str, ArchiveEntry], normal: dict[str, str] | None = None):
        from .urls import normalize

        self.exact = entries
        # normalised URL -> the URL as written in archives.yaml
        self.normal = normal if normal is not None else {normalize(u): u for u in entries}

    def get(self, url: str) -> ArchiveEntry | None:
        from .urls import normalize

        entry = self.exact.get(url)
        if entry is None and (written := self.normal.get(normalize(url))) is not None:
            entry = self.exact.get(written)
        return entry


@dataclass
class Derived:
    """What is worked out from a loaded project once and then reused, declared here so no
    memo hides on the project: a project is never changed once loaded, so these hold."""

    archive_index: ArchiveIndex | None = None
    successors: dict[str, Snippet] | None = None  # superseded id -> its successor
    citations: dict[tuple, list] = field(default_factory=dict)  # note paragraphs by sources
    # A citation paragraph's words, by the id of that (kept alive) list: see render.html.
    note_words: dict[int, tuple[list, str]] = field(default_factory=dict)
    # The local images in snippets' commentary: snippet id -> image URL -> its file.
    snippet_images: dict[str, dict[str, LocalImage]] | None = None


@dataclass
class Project:
    root: Path
    config: Config
    posts: list[Post] = field(default_factory=list)
    snippets: dict[str, Snippet] = field(default_factory=dict)
    labs: dict[str, Lab] = field(default_factory=dict)
    archives: dict[str, ArchiveEntry] = field(default_factory=dict)
    archives_path: str = "archives.yaml"
    labs_path: str = "snippets/labs.yaml"
    documents: dict[str, CompanyDocument] = field(default_factory=dict)
    documents_path: str = "documents.yaml"
    diagnostics: list[Diagnostic] = field(default_factory=list)
    digest: str = ""  # of toolkit.toml, labs.yaml, archives.yaml and documents.yaml together
    # Snippets that lost a duplicate-id contest, kept so checks can name both files.
    duplicate_snippets: list[Snippet] = field(default_factory=list)
    derived: Derived = field(default_factory=Derived, repr=False, compare=False)

    def company(self, lab_key: str | None) -> str:
        """How readers know a lab: its name in labs.yaml, else the key as written."""
        lab = self.labs.get(lab_key or "")
        return lab.name if lab else (lab_key or "")

    def archive_index(self) -> ArchiveIndex:
        index = self.derived.archive_index
        if index is None or index.exact is not self.archives:
            index = self.derived.archive_index = ArchiveIndex(self.archives)
        return index
