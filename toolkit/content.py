"""Loading a content repository from disk: toolkit.toml, posts, snippets, labs, archives.

Loading never raises on bad content. Each file is read on its own; a file that cannot be
read, decoded or parsed yields diagnostics and is left out, and the others still load.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from stat import S_ISREG
from typing import Any

from . import diagnostics as dg
from . import fields, parallel, targets, yamlfile
from .errors import Problem, shown_path
from .model import (
    ArchiveEntry,
    CompanyDocument,
    Config,
    DocumentVersion,
    Lab,
    Post,
    Project,
    Snippet,
    Update,
)
from .yamlfile import Loaded

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILE = "toolkit.toml"
# The project-wide files every post's outputs depend on (their digest is `Project.digest`,
# and a build with nothing to do checks them): listed once, for both.
PROJECT_FILES = (CONFIG_FILE, "snippets/labs.yaml", "archives.yaml", "documents.yaml")
LEDGER_FILE = "published.yaml"  # where `publish` records its drafts (toolkit.ledger)


class NotAProject(Problem):
    """No toolkit.toml where one was expected."""

    usage = True


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` that holds a toolkit.toml."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise NotAProject(
        f"no {CONFIG_FILE} in {start} or any parent directory; "
        "run `toolkit init` to start a project, or pass --root DIR"
    )


def rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def slurp(path: Path | str) -> bytes:
    """A whole file's bytes, with plain os calls: Path.read_bytes goes through buffered
    io, which adds an isatty ioctl and a seek to every open (a build opens thousands).

    Only a regular file is read: a FIFO would wait for a writer forever and a device such
    as /dev/zero never ends, so either is an OSError. O_NONBLOCK lets the open of a FIFO
    return at once; it changes nothing for a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        stat = os.fstat(fd)
        if not S_ISREG(stat.st_mode):
            raise OSError(
                errno.EINVAL, "not a regular file (a FIFO, device or socket): only files are read"
            )
        size = stat.st_size
        chunks = [os.read(fd, size + 1)]  # one read, unless the file grew meanwhile
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_bytes(path: Path, shown: str) -> tuple[bytes | None, list[dg.Diagnostic]]:
    try:
        return slurp(path), []
    except OSError as e:
        return None, [dg.make("F011", shown, 1, f"cannot read the file: {e.strerror or e}")]


def read_text(
    path: Path, shown: str, data: bytes | None = None
) -> tuple[str | None, bytes, list[dg.Diagnostic]]:
    """The file's text, its raw bytes, and any reading/decoding problem."""
    if data is None:
        data, diags = read_bytes(path, shown)
        if data is None:
            return None, b"", diags
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        msg = (
            f"not valid UTF-8 (byte 0x{data[e.start]:02x}); re-save the file as UTF-8 "
            "in your editor"
        )
        return None, data, [dg.make("F001", shown, line, msg, col)]
    return text.removeprefix("\ufeff"), data, []


@functools.lru_cache(maxsize=1)
def _fm_boundary():
    import frontmatter  # its YAML handler's boundary: the `---` lines every tool agrees on

    return frontmatter.YAMLHandler.FM_BOUNDARY


def split_front_matter(text: str) -> tuple[str, int, str, int] | None:
    """(front matter, lines before it, body, first body line) or None without front matter."""
    boundary = _fm_boundary()
    start = boundary.match(text)
    if not start:
        return None
    end = boundary.search(text, start.end())
    if not end:
        return None
    fm_offset = text.count("\n", 0, start.end())
    # The boundary regex may swallow a newline after `---`; count what it really consumed.
    body_start = end.end()
    if text.startswith("\n", body_start):
        body_start += 1
    body_line = text.count("\n", 0, body_start) + 1
    return text[start.end() : end.start()], fm_offset, text[body_start:], body_line


SLUG_BYTES = 100  # a slug is a file and folder name: well under any system's 255 bytes


_MARKUP = re.compile(
    r"\[\^[^\]]*\]|\[@[^\]]*\]|!?\[([^\]]*)\]\([^)]*\)|https?://\S+|[*_`~#>|]|^\s*[-+] ",
    re.M,
)


def opening_words(body: str, limit: int = 60) -> str:
    """A title for a quick take that has none: the first paragraph's opening words, as
    plain text, cut at a word before `limit` characters (with "…" if cut)."""
    lines: list[str] = []
    for line in body.strip().splitlines():
        if not line.strip():
            if lines:
                break
            continue
        if line.startswith("```") or re.match(r"\[\^[^\]]+\]:", line):
            break
        lines.append(line)
    words = " ".join(_MARKUP.sub(lambda m: m.group(1) or "", "\n".join(lines)).split())
    words = re.sub(r"\s+([.,;:!?])", r"\1", words)
    if len(words) <= limit:
        return words
    return words[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


@functools.lru_cache(maxsize=16384)  # tags are slugified per post, per page and per feed
def slugify(text: str) -> str:
    """`What's new: xAI's draft` -> `whats-new-xais-draft`; `Café` -> `café`.

    Letters and digits of any script are kept (NFC, lower-cased); anything else but `.`,
    `_` and `-` becomes `-`. The result is always one safe path name: no `/`, `\\`, NUL
    or control character, never `.`-first or `..` anywhere, at most SLUG_BYTES of UTF-8."""
    text = unicodedata.normalize("NFC", text).lower()
    text = re.sub(r"['’]", "", text)
    slug = re.sub(r"[^\w.-]+", "-", text)
    slug = re.sub(r"\.{2,}", ".", re.sub(r"-{2,}", "-", slug)).strip("-.")
    if len(slug.encode("utf-8")) > SLUG_BYTES:
        slug = slug.encode("utf-8")[:SLUG_BYTES].decode("utf-8", "ignore").rstrip("-.")
    return slug or "untitled"


def tag_names(posts: list[Post]) -> dict[str, str]:
    """Each tag's key (its slug: the name of its page and feed) and the spelling shown:
    the one most posts use (then the first in sort order), so `AI` and `ai` are one tag."""
    spellings: dict[str, dict[str, int]] = {}
    for post in posts:
        for tag in post.tags:
            counts = spellings.setdefault(slugify(tag), {})
            counts[tag] = counts.get(tag, 0) + 1
    return {key: min(counts, key=lambda t: (-counts[t], t)) for key, counts in spellings.items()}


def _front_matter(
    path: Path, shown: str, what: str, data: bytes | None = None
) -> tuple[Loaded | None, str, int, bytes, list[dg.Diagnostic]]:
    text, data, diags = read_text(path, shown, data)
    if text is None:
        return None, "", 1, data, diags
    split = split_front_matter(text)
    if split is None:
        msg = (
            f"no front matter: a {what} starts with a `---` line, YAML keys, and another `---` line"
        )
        return None, "", 1, data, [dg.make("F003", shown, 1, msg)]
    fm, offset, body, body_line = split
    loaded = yamlfile.load(fm, shown, offset)
    if loaded.value is None and not loaded.diagnostics:
        loaded.value = {}
        loaded.positions[()] = (offset + 1, 1)
    return loaded, body, body_line, data, loaded.diagnostics


def load_post(
    root: Path, path: Path, data: bytes | None = None
) -> tuple[Post | None, list[dg.Diagnostic]]:
    """A post from its file (or from `data`, the file's bytes, when already read)."""
    shown = rel(root, path)
    loaded, body, body_line, data, diags = _front_matter(path, shown, "post", data)
    if loaded is None or loaded.value is None:
        return None, diags
    v = fields.Validator(loaded, shown, "post front matter")
    values = v.mapping(loaded.value, fields.POST)
    title = values["title"]
    if not title and values["kind"] == "shortform":
        title = opening_words(body)
    elif title is None and isinstance(loaded.value, dict):
        v.report("F005", (), "missing required key `title`: add `title:` (the post's title)")
    post = Post(
        path=shown,
        slug=values["slug"] or slugify(path.stem),
        title=title or path.stem,
        date=values["date"],
        kind=values["kind"] or "post",
        status=values["status"] or "draft",
        subtitle=values["subtitle"],
        summary=values["summary"],
        tags=values["tags"],
        claims=values["claims"],
        targets=values["targets"],
        updated=values["updated"],
        reply_to=values["reply_to"],
        link=values["link"],
        body=body,
        body_line=body_line,
        loaded=loaded,
        digest=hashlib.sha256(data).hexdigest(),
        updates=_updates(values["updates"], loaded),
    )
    return post, diags + v.diagnostics


def _updates(values: tuple[dict, ...], loaded: Loaded) -> tuple[Update, ...]:
    """The valid entries of `updates:`, oldest first (their notes are numbered in this
    order, so a new update never renumbers an older one's)."""
    found = [
        Update(u["date"], u["text"], loaded.at(("updates", i, "text"))[0])
        for i, u in enumerate(values)
        if u.get("date") and u.get("text")
    ]
    return tuple(sorted(found, key=lambda u: u.date))


def load_snippet(
    root: Path, path: Path, data: bytes | None = None
) -> tuple[Snippet | None, list[dg.Diagnostic]]:
    """One snippet file (its bytes, when already read)."""
    shown = rel(root, path)
    loaded, body, body_line, data, diags = _front_matter(path, shown, "snippet", data)
    if loaded is None or loaded.value is None:
        return None, diags
    v = fields.Validator(loaded, shown, "snippet front matter")
    values = v.mapping(loaded.value, fields.SNIPPET)
    source = values["source"]
    document = None
    if isinstance(source, str):  # `source: <document id>`: filled in by `resolve_documents`
        document, source = source, {}
    snippet = Snippet(
        id=path.stem,
        path=shown,
        lab=values["lab"],
        title=values["title"] or source.get("title") or path.stem,
        claim=values["claim"],
        quote=values["quote"],
        source_url=source.get("url"),
        source_title=source.get("title"),
        published=source.get("published"),
        accessed=source.get("accessed"),
        archive=values["archive"],
        topics=values["topics"],
        status=values["status"] or "current",
        superseded_by=values["superseded_by"],
        body=body,
        loaded=loaded,
        digest=hashlib.sha256(data).hexdigest(),
        document=document,
        locator=values["locator"],
        body_line=body_line,
    )
    return snippet, diags + v.diagnostics


def _yaml_file(
    root: Path, path: Path, fast: Callable[[str], Loaded | None] | None = None
) -> tuple[Loaded | None, list[dg.Diagnostic]]:
    """The file's YAML; `fast`, if given, reads the text first and may decline (None)."""
    shown = rel(root, path)
    text, _, diags = read_text(path, shown)
    if text is None:
        return None, diags
    loaded = (fast(text) if fast is not None else None) or yamlfile.load(text, shown)
    return loaded, loaded.diagnostics


def _yaml_mapping(
    root: Path,
    path: Path,
    what: str,
    not_a_mapping: str,
    fast: Callable[[str], Loaded | None] | None = None,
) -> tuple[Loaded, fields.Validator, list[dg.Diagnostic]] | list[dg.Diagnostic]:
    """A YAML file that maps keys to entries, read and validated as one: the loaded file,
    its validator and the diagnostics so far; or, when there is nothing to read entries
    from (no file, a parse error, not a mapping), just the diagnostics."""
    if not path.is_file():
        return []
    loaded, diags = _yaml_file(root, path, fast)
    if loaded is None or loaded.value is None:
        return diags
    v = fields.Validator(loaded, rel(root, path), what)
    if not isinstance(loaded.value, dict):
        v.report("F004", (), not_a_mapping)
        return diags + v.diagnostics
    return loaded, v, diags


def load_labs(root: Path, path: Path) -> tuple[dict[str, Lab], list[dg.Diagnostic]]:
    opened = _yaml_mapping(root, path, "labs file", "labs.yaml must map lab keys to `{name, url}`")
    if isinstance(opened, list):
        return {}, opened
    loaded, v, diags = opened
    labs = {}
    for key, entry in loaded.value.items():
        if not fields.is_safe_name(key):
            # A lab key names the folder of its claims page: it must never climb out.
            v.report(
                "F008",
                (key,),
                f"lab key `{key}` is not a valid name; use lowercase letters, digits, "
                "`.`, `_` and `-`, starting with a letter or digit (like `openai`)",
            )
            continue
        values = v.mapping(entry, fields.LAB, (key,))
        labs[key] = Lab(key, values["name"] or key, values["url"], loaded.line((key,)))
    return labs, diags + v.diagnostics


def load_archives(root: Path, path: Path) -> tuple[dict[str, ArchiveEntry], list[dg.Diagnostic]]:
    opened = _yaml_mapping(
        root,
        path,
        "archives file",
        "archives.yaml must map each URL to `{archive: <snapshot URL>}`",
        fast=yamlfile.load_url_map,
    )
    if isinstance(opened, list):
        return {}, opened
    loaded, v, diags = opened
    entries = {}
    for url, entry in loaded.value.items():
        if not fields.is_http_url(url):
            v.report("F010", (url,), f"`{url}` is not an absolute http(s) URL")
            continue
        values = v.mapping(entry, fields.ARCHIVE_ENTRY, (url,))
        entries[url] = ArchiveEntry(url, values["archive"], values["accessed"], loaded.line((url,)))
    return entries, diags + v.diagnostics


def load_documents(
    root: Path, path: Path
) -> tuple[dict[str, CompanyDocument], list[dg.Diagnostic]]:
    """documents.yaml: company documents by id (D002 for an id that cannot be a path)."""
    opened = _yaml_mapping(
        root,
        path,
        "documents file",
        "documents.yaml must map document ids to `{lab, title, url, ...}`",
    )
    if isinstance(opened, list):
        return {}, opened
    loaded, v, diags = opened
    documents = {}
    for key, entry in loaded.value.items():
        if not fields.is_safe_name(key):
            # A document id names its page's folder: it must never climb out.
            line, column = loaded.at((key,))
            v.diagnostics.append(
                dg.make(
                    "D002",
                    v.path,
                    line,
                    f"document id `{key}` is not a valid name; use lowercase letters, "
                    "digits, `.`, `_` and `-`, starting with a letter or digit "
                    "(like `deepmind-fsf-v2`)",
                    column,
                )
            )
            continue
        values = v.mapping(entry, fields.DOCUMENT, (key,))
        versions = tuple(
            DocumentVersion(
                version["seen"],
                version["archive"],
                version["digest"],
                version["summary"],
                loaded.line((key, "versions", i)),
            )
            for i, version in enumerate(values["versions"])
        )
        documents[key] = CompanyDocument(
            id=key,
            lab=values["lab"],
            title=values["title"] or key,
            url=values["url"],
            published=values["published"],
            archive=values["archive"],
            kind=values["kind"],
            versions=versions,
            line=loaded.line((key,)),
            lab_line=loaded.line((key, "lab")),
        )
    return documents, diags + v.diagnostics


def resolve_documents(
    snippets: dict[str, Snippet], documents: dict[str, CompanyDocument]
) -> dict[str, Snippet]:
    """Snippets whose `source:` names a document get its URL, title, date and (unless they
    have their own) archived copy, so every later step reads them like any snippet. An
    unknown id is left empty (D001)."""
    out = {}
    for key, s in snippets.items():
        doc = documents.get(s.document or "")
        if doc is not None:
            s = replace(
                s,
                source_url=doc.url,
                source_title=doc.title,
                published=doc.published,
                archive=s.archive or doc.archive,
            )
        out[key] = s
    return out


_TOML_ERROR_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]")
_TOML_KEY = re.compile(r"^\s*\"?([A-Za-z0-9_\-]+)\"?\s*=")


def toml_positions(text: str) -> dict[tuple, tuple[int, int]]:
    """Line of each `[table]` and `key =` in a TOML file (tomllib keeps no positions)."""
    positions: dict[tuple, tuple[int, int]] = {(): (1, 1)}
    table: tuple = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if m := _TOML_TABLE.match(line):
            table = tuple(part.strip().strip('"') for part in m.group(1).split("."))
            positions.setdefault(table, (number, 1))
        elif m := _TOML_KEY.match(line):
            positions.setdefault(table + (m.group(1),), (number, m.start(1) + 1))
    return positions


def load_config(root: Path) -> tuple[Config, list[dg.Diagnostic]]:
    path = root / CONFIG_FILE
    table = fields.Field("toolkit.toml", "table", fields=fields.config_fields())
    if not path.is_file():
        return _config(root, fields.Validator.default(table)), [
            dg.make(
                "C001", CONFIG_FILE, 1, f"no {CONFIG_FILE} here; run `toolkit init` to create one"
            )
        ]
    text, _, diags = read_text(path, CONFIG_FILE)
    if text is None:
        return _config(root, fields.Validator.default(table)), diags
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = _TOML_ERROR_AT.search(str(e))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        problem = _TOML_ERROR_AT.sub("", str(e)).strip()
        return _config(root, fields.Validator.default(table)), [
            dg.make("F002", CONFIG_FILE, line, f"TOML does not parse: {problem}", col)
        ]
    loaded = Loaded(data, toml_positions(text))
    v = fields.Validator(loaded, CONFIG_FILE, "toolkit.toml")
    config = _config(root, v.mapping(data, table.fields), loaded)
    for code in config.ignore:
        if code not in dg.CODES:
            v.report(
                "F008",
                ("check", "ignore"),
                f"`{code}` in [check] ignore is not a diagnostic code"
                f"{dg.did_you_mean(code, dg.CODES)}; see the README's list of codes",
            )
    return config, diags + v.diagnostics


def _config(root: Path, values: dict[str, Any], loaded: Loaded | None = None) -> Config:
    """The typed config from validated values (defaults already filled in by the table)."""
    site, check = values["site"], values["check"]
    return Config(
        root=root,
        title=site["title"],
        base_url=site["base_url"],
        author=site["author"],
        description=site["description"],
        language=site["language"],
        no_archive_needed=check["no_archive_needed"],
        ignore=check["ignore"],
        max_items=values["feeds"]["max_items"],
        target_urls={t.name: values[t.name][t.url_key] for t in targets.TARGETS.values()},
        wayback_url=values["archive"]["wayback_url"],
        online=values["online"],
        loaded=loaded or Loaded({}),
    )


def _files(directory: Path, suffix: str = ".md", misnamed: list[str] | None = None) -> list[Path]:
    """Files under `directory` ending in `suffix`, sorted, hidden ones skipped.

    Broken symlinks (and symlinks to themselves) are kept, so that reading them reports
    F011 instead of vanishing. A folder reached again through a symlink is not walked
    twice, so a symlink loop ends. A name that is not UTF-8 cannot become a URL or be
    shown: it is left out and added to `misnamed` (as `shown_path` writes it).
    os.scandir is several times faster than Path.rglob on big trees."""
    found: list[str] = []
    pending = [str(directory)]
    seen: set[tuple[int, int]] = set()
    with contextlib.suppress(OSError):
        top = os.stat(directory)
        seen.add((top.st_dev, top.st_ino))
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if not _utf8(entry.name):
                if misnamed is not None and (entry.name.endswith(suffix) or _is_dir(entry)):
                    misnamed.append(shown_path(entry.path))
                continue
            if _is_dir(entry):
                try:
                    st = entry.stat()  # follows symlinks: the folder itself
                except OSError:
                    continue
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    pending.append(entry.path)
            elif entry.name.endswith(suffix):
                found.append(entry.path)
    return [Path(p) for p in sorted(found)]


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks; a broken one is not a dir
    except OSError:  # a symlink to itself: ELOOP
        return False


def _utf8(name: str) -> bool:
    """Whether a file name read from the disk was valid UTF-8 (Python keeps the bytes
    that were not as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _digest(*paths: Path) -> str:
    """One hash over several files' bytes (a missing file counts as empty)."""
    h = hashlib.sha256()
    for path in paths:
        with contextlib.suppress(OSError):
            h.update(slurp(path))
        h.update(b"\0")
    return h.hexdigest()


RACY_NS = 3_000_000_000  # a file changed this recently may change again unseen
STAT_TABLE = "stat-table"  # the memo key of what `Inputs.digests` knows by stat


@dataclass
class Inputs:
    """The post and snippet files of a project, listed (and read) once per run."""

    posts: list[Path]
    snippets: list[Path]
    misnamed: list[str] = field(default_factory=list)  # files left out: names not UTF-8
    data: dict[Path, bytes | None] = field(default_factory=dict)
    hashes: dict[Path, str | None] = field(default_factory=dict)  # found by `digests`
    stats: dict[str, tuple] | None = None  # the memo's stat table, once read

    def _hash(self, path: Path) -> str | None:
        data = self.read(path)
        return None if data is None else hashlib.sha256(data).hexdigest()

    @staticmethod
    def scan(root: Path) -> Inputs:
        misnamed: list[str] = []
        posts = _files(root / "posts", misnamed=misnamed)
        snippets = _files(root / "snippets", misnamed=misnamed)
        return Inputs(posts, snippets, misnamed=misnamed)

    def naming_problems(self, root: Path) -> list[dg.Diagnostic]:
        top = len(shown_path(root)) + 1
        return [
            dg.make(
                "F001",
                name[top:],
                1,
                "this name is not valid UTF-8, so the file was not read; rename it",
            )
            for name in self.misnamed
        ]

    def read(self, path: Path) -> bytes | None:
        """The file's bytes (None if unreadable), read from disk the first time only."""
        if path not in self.data:
            try:
                self.data[path] = slurp(path)
            except OSError:
                self.data[path] = None
        return self.data[path]

    def digests(self, paths: list[Path], memo) -> list[str | None]:
        """The sha256 of each file's bytes (None if unreadable), without reading the files
        whose size, times and inode the memo has seen with those bytes before.

        Identity is always the content; the stat only saves reading it again. A file
        changed in the last few seconds is always read, since an edit within one tick of
        the clock can leave its size and times as they were (git's "racy" files).
        """
        unknown = [path for path in dict.fromkeys(paths) if path not in self.hashes]
        if not unknown:
            return [self.hashes[path] for path in paths]
        # One table, path -> (size, mtime, ctime, inode, digest), read and written whole:
        # a build stats thousands of files, and one row costs less than thousands.
        if self.stats is None:
            self.stats = (memo.get(memo.key(STAT_TABLE), dict) if memo is not None else None) or {}
        now = time.time_ns()
        learned = False
        for path in unknown:
            name = str(path)
            try:
                st = os.stat(name)
            except OSError:
                self.hashes[path] = self._hash(path)
                continue
            stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            known = self.stats.get(name)
            racy = now - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_NS
            if known is not None and known[:4] == stamp and not racy:
                self.hashes[path] = known[4]
                continue
            self.hashes[path] = self._hash(path)
            if self.hashes[path] is not None and not racy:
                self.stats[name] = (*stamp, self.hashes[path])
                learned = True
        if memo is not None and learned:
            # Only this run's files: the table never keeps files that are gone.
            seen = {str(path) for path in self.hashes}
            memo.put(memo.key(STAT_TABLE), {k: v for k, v in self.stats.items() if k in seen})
        return [self.hashes[path] for path in paths]


def post_files(root: Path) -> list[Path]:
    return _files(root / "posts")


def snippet_files(root: Path) -> list[Path]:
    return _files(root / "snippets")


def load_project(
    root: Path, posts: bool = True, memo=None, inputs: Inputs | None = None
) -> Project:
    """Everything under `root`, with every loading problem as a diagnostic.

    With `posts=False` the posts are left for the caller (the pipeline loads and parses
    each post in one step, in parallel). `memo` (a `toolkit.incremental.store.Cache`)
    remembers loaded files between runs, by content (see `Inputs.digests`).
    """
    config, diags = load_config(root)
    project = Project(root=root, config=config, diagnostics=list(diags))
    project.digest = _digest(*(root / name for name in PROJECT_FILES))

    inputs = inputs or Inputs.scan(root)
    project.diagnostics += inputs.naming_problems(root)
    # Snippets load in worker processes while this one reads labs.yaml and archives.yaml.
    loading = _start_loading_snippets(root, memo, inputs)
    globals_key = memo.key("globals", project.digest) if memo is not None else ""
    remembered = memo.get(globals_key, tuple) if memo is not None else None
    if remembered is None:
        labs, labs_diags = load_labs(root, root / project.labs_path)
        archives, archives_diags = load_archives(root, root / project.archives_path)
        documents, documents_diags = load_documents(root, root / project.documents_path)
        remembered = (labs, archives, documents, labs_diags + archives_diags + documents_diags)
        if memo is not None:
            memo.put(globals_key, remembered)
    project.labs, project.archives, project.documents, diags = remembered
    project.diagnostics += diags

    for snippet, diags in loading():
        project.diagnostics += diags
        if snippet is None:
            continue
        if snippet.id in project.snippets:
            project.duplicate_snippets.append(snippet)
        else:
            project.snippets[snippet.id] = snippet
    if any(s.document for s in project.snippets.values()):
        project.snippets = resolve_documents(project.snippets, project.documents)

    if not posts:
        return project
    for post, diags in parallel.pmap(functools.partial(load_post, root), inputs.posts):
        project.diagnostics += diags
        if post is not None:
            project.posts.append(post)
    return project


def _content_key(memo, root: Path, path: Path, digest: str | None) -> str:
    """A file's identity for the memo: its path and the hash of its bytes."""
    return memo.key("file", rel(root, path), digest or "unreadable")


def _load_snippet_item(
    root: Path, item: tuple[Path, bytes | None]
) -> tuple[Snippet | None, list[dg.Diagnostic]]:
    return load_snippet(root, *item)


def _start_loading_snippets(root: Path, memo, inputs: Inputs):
    """Start loading every snippet (from the memo where unchanged); a function that waits
    for them all, in file order."""
    files = inputs.snippets
    if memo is None or not memo.enabled:
        return parallel.start(functools.partial(load_snippet, root), files)
    keys = [
        _content_key(memo, root, path, digest)
        for path, digest in zip(files, inputs.digests(files, memo), strict=True)
    ]
    known = memo.get_many(keys, tuple)  # (snippet, diagnostics)
    missing = [path for path, k in zip(files, keys, strict=True) if k not in known]
    memo.disconnect()  # never carry an open SQLite connection into forked workers
    # The bytes were read to hash them: the workers get them rather than read them again.
    join = parallel.start(
        functools.partial(_load_snippet_item, root),
        [(path, inputs.data.get(path)) for path in missing],
    )

    def finish() -> list[tuple[Snippet | None, list[dg.Diagnostic]]]:
        loaded = dict(zip(missing, join(), strict=True))
        memo.put_many(
            {k: loaded[path] for path, k in zip(files, keys, strict=True) if path in loaded}
        )
        return [
            known[k] if k in known else loaded[path] for path, k in zip(files, keys, strict=True)
        ]

    return finish
