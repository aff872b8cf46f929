"""Offline checks over a loaded project: pure functions from content to diagnostics.

Nothing here reads files or the clock; `now` is passed in, so results are reproducible.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from . import content, fields, image_check, markdown, target_check, urls
from . import diagnostics as dg
from .content import CONFIG_FILE
from .diagnostics import Diagnostic
from .markdown import FootnoteDef, Locator, Parsed, Place, Token, walk
from .model import ArchiveIndex, Post, Project, Snippet


def check_project(project: Project, now: dt.datetime) -> ProjectChecks:
    """Diagnostics that are not about one post: loading, snippets, archives.yaml.

    Posts are checked one by one with `check_post` (and `check_slugs` across them).
    """
    diags = list(project.diagnostics)
    diags += check_snippets(project, now)
    diags += check_documents(project)
    facts = archive_facts(project)
    diags += check_archives_file(facts, now)
    # The clock matters only where it passes a snapshot's time (A004): find the two
    # snapshot times around `now`, between which these diagnostics hold.
    times = [f.time for f in facts if f.time is not None]
    times += [
        snap.time
        for s in project.snippets.values()
        if (snap := urls.try_snapshot(s.archive, project.config.wayback_url))
        and snap.time is not None
    ]
    return ProjectChecks(
        diags,
        max((t for t in times if t <= now), default=None),
        min((t for t in times if t > now), default=None),
    )


def config_errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Errors in toolkit.toml. A setting that did not load falls back to its default, and
    for the commands that talk to services that default is the real service (the real
    web.archive.org at full speed, the real LessWrong), not what the writer chose: so
    they must not run at all."""
    return [d for d in diagnostics if d.path == CONFIG_FILE and d.severity == dg.ERROR]


@dataclass
class ProjectChecks:
    """`check_project`'s diagnostics, and the span of clock times for which they hold."""

    diagnostics: list[Diagnostic]
    since: dt.datetime | None  # the latest snapshot time not after the clock
    until: dt.datetime | None  # the earliest one after it

    def hold_at(self, now: dt.datetime) -> bool:
        return (self.since is None or self.since <= now) and (
            self.until is None or now < self.until
        )


# Snippets -------------------------------------------------------------------------------


def check_snippets(project: Project, now: dt.datetime) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for dup in project.duplicate_snippets:
        first = project.snippets[dup.id]
        out.append(
            dg.make(
                "S001",
                dup.path,
                1,
                f"snippet id `{dup.id}` is defined twice: in {first.path} and in "
                f"{dup.path}; rename one file (the id is the file name)",
            )
        )
    for s in project.snippets.values():
        out += _check_snippet(s, project, now)
        out += image_check.check_commentary_images(s, project)
    out += _supersession_cycles(project)
    return out


def _check_snippet(s: Snippet, project: Project, now: dt.datetime) -> Iterator[Diagnostic]:
    line = s.loaded.line
    if s.lab and s.lab not in project.labs:
        if project.labs:
            hint = dg.did_you_mean(s.lab, project.labs)
            fix = f"; add it to {project.labs_path} or use a known key"
        else:
            hint, fix = "", f"; create {project.labs_path} mapping lab keys to {{name, url}}"
        yield dg.make("S002", s.path, line(("lab",)), f"unknown lab `{s.lab}`{hint}{fix}")
    if not s.quote:
        yield dg.make(
            "S007",
            s.path,
            line(("title",)),
            "no `quote`: add the source's exact words so the online check can verify them",
        )
    if s.status == "superseded" and not s.superseded_by:
        yield dg.make(
            "S004",
            s.path,
            line(("status",)),
            "`status: superseded` needs `superseded_by: <id of the newer snippet>`",
        )
    if s.superseded_by and s.superseded_by not in project.snippets:
        hint = dg.did_you_mean(s.superseded_by, project.snippets)
        yield dg.make(
            "S005",
            s.path,
            line(("superseded_by",)),
            f"`superseded_by` names `{s.superseded_by}`, which is not a snippet{hint}",
        )
    if s.document is not None and s.document not in project.documents:
        hint = dg.did_you_mean(s.document, project.documents)
        yield dg.make(
            "D001",
            s.path,
            line(("source",)),
            f"`source: {s.document}` names no document in {project.documents_path}{hint}; "
            "add it with `toolkit new document`, or write the source out as `url:`, `title:`...",
        )
    if s.archive is None:
        if s.document is not None:
            return  # the document's own entry says it lacks a copy (D003), once
        if s.source_url and "archive" not in (s.loaded.value or {}):
            yield dg.make(
                "S003",
                s.path,
                line(("source",)),
                "no `archive` link: add a snapshot of source.url (run "
                "`toolkit archive` to find or make one)",
            )
        return
    yield from _check_snapshot(s.archive, s.source_url, s.path, line(("archive",)), project, now)


@dataclass
class ArchiveFact:
    """What an archive link says on its own (no clock needed), so it can be kept."""

    path: str
    line: int
    diagnostics: list[Diagnostic]  # A001-A003
    time: dt.datetime | None  # the snapshot's time, to compare with now (A004)
    timestamp: str | None


def archive_fact(
    archive: str, original: str | None, path: str, line: int, wayback_url: str
) -> ArchiveFact:
    try:
        snap = urls.parse_snapshot(archive, wayback_url)
    except urls.NotASnapshot as e:
        return ArchiveFact(
            path,
            line,
            [dg.make("A001", path, line, f"`{archive}` is not an archive snapshot: {e}")],
            None,
            None,
        )
    diags = []
    if snap.timestamp is not None and snap.time is None:
        diags.append(
            dg.make(
                "A003",
                path,
                line,
                f"snapshot timestamp `{snap.timestamp}` is not a real time; it "
                "must be 14 digits, YYYYMMDDhhmmss, as the archive shows it",
            )
        )
    if original and snap.original and urls.normalize(snap.original) != urls.normalize(original):
        diags.append(
            dg.make(
                "A002",
                path,
                line,
                f"the snapshot is of {snap.original}, but the source is "
                f"{original}; archive the source URL itself (or fix the source "
                "URL)",
            )
        )
    return ArchiveFact(path, line, diags, snap.time, snap.timestamp)


def check_fact(fact: ArchiveFact, now: dt.datetime) -> list[Diagnostic]:
    diags = list(fact.diagnostics)
    if fact.time is not None and fact.time > now:
        diags.insert(
            0,
            dg.make(
                "A004",
                fact.path,
                fact.line,
                f"snapshot timestamp `{fact.timestamp}` is in the future; "
                "copy the snapshot URL from the archive again",
            ),
        )
    return diags


def _check_snapshot(
    archive: str, original: str | None, path: str, line: int, project: Project, now: dt.datetime
) -> list[Diagnostic]:
    fact = archive_fact(archive, original, path, line, project.config.wayback_url)
    return check_fact(fact, now)


def _supersession_cycles(project: Project) -> Iterator[Diagnostic]:
    reported: set[str] = set()
    for start in sorted(project.snippets):
        chain, current = [], start
        while current in project.snippets and current not in chain:
            chain.append(current)
            current = project.snippets[current].superseded_by or ""
        if current in chain:
            cycle = chain[chain.index(current) :]
            if reported.isdisjoint(cycle):
                reported.update(cycle)
                first = project.snippets[min(cycle)]
                loop = " -> ".join(_rotate(cycle, min(cycle)) + [min(cycle)])
                yield dg.make(
                    "S006",
                    first.path,
                    first.loaded.line(("superseded_by",)),
                    f"snippets supersede each other in a cycle: {loop}; "
                    "the newest one should have no `superseded_by`",
                )


def _rotate(cycle: list[str], first: str) -> list[str]:
    i = cycle.index(first)
    return cycle[i:] + cycle[:i]


# documents.yaml ---------------------------------------------------------------------------


def check_documents(project: Project) -> list[Diagnostic]:
    out = []
    path = project.documents_path
    for doc in project.documents.values():
        if doc.lab and doc.lab not in project.labs:
            hint = dg.did_you_mean(doc.lab, project.labs)
            out.append(
                dg.make(
                    "D004",
                    path,
                    doc.lab_line,
                    f"`{doc.id}` has unknown lab `{doc.lab}`{hint}; use a key of "
                    f"{project.labs_path}",
                )
            )
        if doc.id in project.snippets:
            out.append(
                dg.make(
                    "D005",
                    path,
                    doc.line,
                    f"`{doc.id}` is also the id of the snippet "
                    f"{project.snippets[doc.id].path}, so `[@{doc.id}]` would name both; "
                    "rename one",
                )
            )
        if not doc.archive and doc.url:
            out.append(
                dg.make(
                    "D003",
                    path,
                    doc.line,
                    f"`{doc.id}` has no `archive` link: run `toolkit archive` to find or "
                    "make a snapshot of its url",
                )
            )
    return out


# archives.yaml ----------------------------------------------------------------------------


def archive_facts(project: Project) -> list[ArchiveFact]:
    """The clock-free part of checking every archives.yaml entry and every archive link
    in documents.yaml (a document's, and each recorded version's)."""
    wayback = project.config.wayback_url
    facts = [
        archive_fact(e.archive, e.url, project.archives_path, e.line, wayback)
        for e in project.archives.values()
        if e.archive
    ]
    for doc in project.documents.values():
        links = [(doc.archive, doc.line)] + [(v.archive, v.line) for v in doc.versions]
        facts += [
            archive_fact(link, doc.url, project.documents_path, line, wayback)
            for link, line in links
            if link
        ]
    return facts


def check_archives_file(facts: list[ArchiveFact], now: dt.datetime) -> list[Diagnostic]:
    return [d for fact in facts for d in check_fact(fact, now)]


# Posts --------------------------------------------------------------------------------------


def check_slugs(posts: list[Post]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: dict[str, Post] = {}
    for post in posts:
        if post.slug in seen:
            first = seen[post.slug]
            out.append(
                dg.make(
                    "P002",
                    post.path,
                    post.loaded.line(("slug",)),
                    f"slug `{post.slug}` is also used by {first.path}; both would "
                    "be written to the same URL; set a different `slug:`",
                )
            )
        else:
            seen[post.slug] = post
    return out


def check_tags(posts: list[Post]) -> list[Diagnostic]:
    """P016: one tag spelled two ways (they share a page and a feed; one spelling shows)."""
    shown = content.tag_names(posts)
    out = []
    for post in posts:
        for i, tag in enumerate(post.tags):
            chosen = shown[content.slugify(tag)]
            if tag != chosen:
                line, column = post.loaded.at(("tags", i))
                out.append(
                    dg.make(
                        "P016",
                        post.path,
                        line,
                        f"tag `{tag}` is spelled `{chosen}` elsewhere; they are one tag "
                        f"(tags/{content.slugify(tag)}/, shown as `{chosen}`); use one spelling",
                        column,
                    )
                )
    return out


def check_post(
    post: Post, parsed: Parsed, project: Project, archives: ArchiveIndex | None = None
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    line = post.loaded.line
    if post.status == "published" and post.date is None and "date" not in (post.loaded.value or {}):
        out.append(
            dg.make(
                "P001",
                post.path,
                line(("status",)),
                "a published post needs a `date:` (e.g. date: 2025-02-14T09:00:00Z)",
            )
        )
    known = project.snippets
    for i, claim in enumerate(post.claims):
        if claim not in known:
            where = post.loaded.at(("claims", i))
            out.append(
                dg.make(
                    "P005",
                    post.path,
                    where[0],
                    f"`claims` lists `{claim}`, which is not a snippet"
                    f"{dg.did_you_mean(claim, known)}",
                    where[1],
                )
            )
    archives = archives or project.archive_index()
    out += _check_body(post, parsed, project, archives)
    if post.link:  # a link post's page: as any link, kept archived
        where = post.loaded.at(("link",))
        out += _archived_copy(post, post.link, where, project, archives, " (the linked page)")
    out += target_check.check_targets(post, parsed)
    out += image_check.check_images(post, parsed, project)
    return out


def _check_body(
    post: Post, parsed: Parsed, project: Project, archives: ArchiveIndex
) -> Iterator[Diagnostic]:
    loc = Locator(post.body, post.body_line)
    path = post.path
    tokens = parsed.every_token()
    # Citations in `updates:` are checked like the body's, at the update's line.
    in_updates = [
        (update.line, tok)
        for update, update_parse in markdown.update_parses(post.updates, parsed)
        for tok in update_parse.every_token()
        if tok["type"] == "citation"
    ]
    depends = relies_on(post, parsed)
    defined = {d.key for d in parsed.definitions}
    referenced: set[str] = set()
    reported_refs: set[str] = set()
    checked_claims: set[str] = set()

    yield from _control_characters(post, loc)

    def cited(snippet_id: str, where: Place, how: str) -> Iterator[Diagnostic]:
        checked_claims.add(snippet_id)
        yield from _check_citation(post, snippet_id, where, how, project, depends)

    where: Place  # found lazily in the body, or a footnote definition's own position
    for tok in tokens:
        kind = tok["type"]
        if kind == "citation":
            where = loc.find(tok["raw"])
            for item in tok["attrs"]["items"]:
                yield from cited(item["id"], where, "cites")
        elif kind == "claim":
            snippet_id = tok["attrs"]["id"]
            where = loc.find("{claim}")
            if not snippet_id:
                yield dg.make(
                    "P003",
                    path,
                    where[0],
                    "```{claim}``` needs a snippet id: ```{claim} snippet-id",
                    where[1],
                )
                continue
            yield from cited(snippet_id, where, "quotes")
            s = project.snippets.get(snippet_id)
            if s is not None and not s.quote:
                yield dg.make(
                    "P013",
                    path,
                    where[0],
                    f"{{claim}} {snippet_id} has nothing to show: the snippet has "
                    f"no `quote`; add one to {s.path}",
                    where[1],
                )
        elif kind == "block_error":
            where = loc.find(tok["raw"].split("\n", 1)[0])
            name = tok["raw"].split("}", 1)[0].lstrip("`~:{")
            yield dg.make(
                "P014",
                path,
                where[0],
                f"unknown directive `{{{name}}}`{dg.did_you_mean(name, ['claim'])}; "
                "the only directive is ```{claim} snippet-id",
                where[1],
            )
        elif kind == "footnote_ref":
            key, label = tok["attrs"]["key"], tok["attrs"]["label"]
            referenced.add(key)
            if key not in defined and key not in reported_refs:
                reported_refs.add(key)
                where = loc.find(tok["raw"])
                yield dg.make(
                    "P006",
                    path,
                    where[0],
                    f"footnote `[^{label}]` has no definition; add a line "
                    f"`[^{label}]: ...` below the text",
                    where[1],
                )
        elif (url := link_url(tok)) is not None:
            yield from _check_link(post, url, loc, project, archives)

    def position(d) -> Place:
        return loc.position(d.offset) if d.offset >= 0 else loc.find(f"[^{d.label}]:")

    yield from _nested_footnote_refs(post, parsed, loc)

    for line, tok in in_updates:
        for item in tok["attrs"]["items"]:
            yield from cited(item["id"], (line, 1), "an update cites")

    first_defs: dict[str, object] = {}
    for d in parsed.definitions:
        if d.key in first_defs:
            where = position(d)
            yield dg.make(
                "P008",
                path,
                where[0],
                f"footnote `[^{d.label}]` is defined twice (first on line "
                f"{position(first_defs[d.key])[0]}); only the first is used; "
                "merge them",
                where[1],
            )
            continue
        first_defs[d.key] = d
        if d.key not in referenced:
            where = position(d)
            yield dg.make(
                "P007",
                path,
                where[0],
                f"footnote `[^{d.label}]` is defined but never referenced; cite it "
                f"with `[^{d.label}]` in the text or delete it",
                where[1],
            )

    for i, claim in enumerate(post.claims):
        if claim not in checked_claims and claim in project.snippets:
            yield from _status_problems(
                post, claim, post.loaded.at(("claims", i)), "relies on", project, depends
            )


def _nested_footnote_refs(post: Post, parsed: Parsed, loc: Locator) -> Iterator[Diagnostic]:
    """P017 at each `[^x]` inside a footnote's text that leads back to that footnote
    (`[^a]: see [^a]`, or `[^a]` in `[^b]` and `[^b]` in `[^a]`): a note inside a note
    is its own note, but a cycle of notes has no first reference to number it by."""
    first: dict[str, FootnoteDef] = {}
    for d in parsed.definitions:
        first.setdefault(d.key, d)
    inside = {
        key: [t for t in walk(d.children) if t["type"] == "footnote_ref"]
        for key, d in first.items()
    }

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            key = todo.pop()
            if key == goal:
                return True
            if key in seen:
                continue
            seen.add(key)
            todo += [t["attrs"]["key"] for t in inside.get(key, [])]
        return False

    for d in parsed.definitions:
        start = d.offset + len(f"[^{d.label}]:") if d.offset >= 0 else -1
        for tok in walk(d.children):
            if tok["type"] != "footnote_ref":
                continue
            found = loc.text.find(tok["raw"], start) if start >= 0 else -1
            if start >= 0 and found >= 0:
                start = found + 1
            if first.get(d.key) is not d or not reaches(tok["attrs"]["key"], d.key):
                continue
            where = loc.position(found) if found >= 0 else loc.find(tok["raw"])
            back = "itself" if tok["attrs"]["key"] == d.key else f"`[^{d.label}]`"
            yield dg.make(
                "P017",
                post.path,
                where[0],
                f"footnote `{tok['raw']}` inside `[^{d.label}]` leads back to {back}: "
                "notes that refer to each other in a circle have no first reference to "
                "number them by; remove one of the references",
                where[1],
            )


def _control_characters(post: Post, loc: Locator) -> Iterator[Diagnostic]:
    """F012 at each line of the body that holds a control character (the first on it)."""
    last_line = 0
    for m in fields.CONTROL_RE.finditer(post.body):
        line, column = loc.position(m.start())
        if line != last_line:
            last_line = line
            message = fields.control_message(m.group(0), "this line")
            yield dg.make("F012", post.path, line, message, column)


def relies_on(post: Post, parsed: Parsed) -> set[str]:
    """The ids a post relies on: listed in `claims:`, or cited in its body, its notes or
    its updates (snippets, and documents cited whole)."""
    ids = set(post.claims) | _cited_ids(parsed.every_token())
    for _, update_parse in markdown.update_parses(post.updates, parsed):
        ids |= _cited_ids(update_parse.every_token())
    return ids


def _cited_ids(tokens: Iterable[Token]) -> set[str]:
    ids: set[str] = set()
    for tok in tokens:
        if tok["type"] == "citation":
            ids.update(item["id"] for item in tok["attrs"]["items"])
        elif tok["type"] == "claim":
            ids.add(tok["attrs"]["id"])
    return ids


def _check_citation(
    post: Post, snippet_id: str, where, how: str, project: Project, relies_on: set[str]
) -> Iterator[Diagnostic]:
    # `where` is a lazy (line, column): read it only when there is something to report.
    if snippet_id not in project.snippets:
        if how == "cites" and snippet_id in project.documents:
            return  # `[@doc-id]` cites a whole document; `claims` lists snippets only
        known = [*project.snippets, *project.documents] if how == "cites" else project.snippets
        yield dg.make(
            "P003",
            post.path,
            where[0],
            f"{how} `{snippet_id}`, which is not a snippet"
            f"{' or document' if how == 'cites' and project.documents else ''}"
            f"{dg.did_you_mean(snippet_id, known)}; snippets are "
            "snippets/**/<id>.md",
            where[1],
        )
        return
    if snippet_id not in post.claims:
        yield dg.make(
            "P004",
            post.path,
            where[0],
            f"{how} `{snippet_id}` but `claims` in the front matter does not list it; "
            f"add it: claims: [..., {snippet_id}]",
            where[1],
        )
    yield from _status_problems(post, snippet_id, where, how, project, relies_on)


def successors(project: Project, snippet_id: str) -> list[str]:
    """The chain of `superseded_by` from a snippet, newest last (stops at loops and gaps)."""
    chain: list[str] = []
    current = project.snippets.get(snippet_id)
    while current is not None and current.superseded_by and current.superseded_by not in chain:
        chain.append(current.superseded_by)
        current = project.snippets.get(current.superseded_by)
    return [c for c in chain if c in project.snippets]


def _status_problems(
    post: Post,
    snippet_id: str,
    where: tuple[int, int],
    how: str,
    project: Project,
    relies_on: set[str],
) -> Iterator[Diagnostic]:
    s = project.snippets[snippet_id]
    if s.status == "retracted":
        yield dg.make(
            "P009",
            post.path,
            where[0],
            f"{how} `{snippet_id}`, which is retracted; remove the citation or add a correction",
            where[1],
        )
    elif s.status == "superseded":
        chain = successors(project, snippet_id)
        if relies_on.intersection(chain):
            return  # the post cites the newer version too: it is discussing the change
        instead = f"; cite `{chain[-1]}` instead" if chain else ""
        yield dg.make(
            "P010",
            post.path,
            where[0],
            f"{how} `{snippet_id}`, which is superseded by "
            f"`{s.superseded_by}`{instead} or cite both to discuss the change",
            where[1],
        )


def link_url(tok: dict) -> str | None:
    """The URL of a link or an image (both point off the page, both need archiving);
    None for any other token."""
    if tok["type"] in ("link", "image"):
        return tok["attrs"].get("url", "").strip()
    return None


def external_link(url: str, config) -> bool:
    """An http(s) link off our own site that is not itself an archived copy."""
    if urls.scheme(url) not in ("http", "https") or urls.host(url) == urls.host(config.base_url):
        return False
    return not (
        urls.is_archive_url(url, config.wayback_url) and urls.try_snapshot(url, config.wayback_url)
    )


def needs_archive_copy(url: str, config) -> bool:
    """A link in a post that should have its archived copy in archives.yaml."""
    return external_link(url, config) and not urls.host_matches(
        urls.host(url), config.no_archive_needed
    )


def _check_link(
    post: Post, url: str, loc: Locator, project: Project, archives: ArchiveIndex
) -> Iterator[Diagnostic]:
    scheme = urls.scheme(url)
    if not scheme:
        return  # relative links and #fragments stay on this site
    if scheme not in ("http", "https"):
        # The link as written (mistune gives it percent-encoded), else its `](scheme:` or
        # `<scheme:`: a bare `javascript:` earlier in the prose is not the link.
        written = url.split(":", 1)[0] + ":"
        where = loc.find(url, unquote(url), "](" + written, "<" + written, written)
        yield dg.make(
            "P011",
            post.path,
            where[0],
            f"link to `{url[:60]}` uses `{scheme}:`; only http(s) links are allowed "
            "in posts (they go to feeds and other sites)",
            where[1],
        )
        return
    if needs_archive_copy(url, project.config):
        yield from _archived_copy(post, url, loc.find(url), project, archives)


def _archived_copy(
    post: Post, url: str, where: Place, project: Project, archives: ArchiveIndex, what: str = ""
) -> list[Diagnostic]:
    """P012 at `where` unless archives.yaml has a copy of `url` (or none is needed)."""
    entry = archives.get(url)
    if not needs_archive_copy(url, project.config) or (entry is not None and entry.archive):
        return []
    message = (
        f"{url}{what} has no archived copy in {project.archives_path}; run "
        "`toolkit archive`, or add its host to [check] no_archive_needed"
    )
    return [dg.make("P012", post.path, where[0], message, where[1])]
