"""Imported items become post files and published.yaml entries.

A local file is never overwritten: a name already taken (by a file, or by a post's
`slug:`) gets the next free numbered name (`slug-2.md`). An item whose remote id is
already in published.yaml for that target was imported (or pushed) before and is
skipped, so running an import again brings in only what is new.

Each entry is what `publish` would have recorded had it pushed the file: the remote id,
kind and URL, `sent_hash` (the hash of what `publish` would send for the file as written
now, so an untouched file is "unchanged" and an edited one is an update), and the hash of
the remote content (so an edit made on the site is noticed and refused as ever).
`published: true` says the remote item is public and that the writer chose to manage it
from here, which is what lets `publish` update it without `--force`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import content, pipeline, targets
from ..errors import Problem
from ..ledger import LEDGER, Ledger
from ..targets import Target


@dataclass
class Item:
    """One post or quick take as the service has it, already in Markdown."""

    remote_id: str | int
    slug: str  # the file name it would like
    title: str | None  # None: a quick take, untitled as on the forum
    date: dt.datetime
    kind: str  # post | shortform
    body: str
    url: str = ""
    tags: tuple[str, ...] = ()
    subtitle: str | None = None
    remote: dict = field(default_factory=dict)  # the `remote:` of the ledger entry
    link: str | None = None  # a link post's page


@dataclass
class Imported:
    written: list[tuple[str, Item]] = field(default_factory=list)  # (path, item)
    skipped: list[tuple[Item, str]] = field(default_factory=list)  # (item, why)


def front_matter(item: Item, target: str) -> str:
    """The file's text: front matter (JSON scalars are valid YAML, and need no quoting
    rules of their own) and the body."""
    date = item.date.astimezone(dt.timezone.utc).replace(microsecond=0)
    lines = [
        "---",
        *([f"title: {json.dumps(item.title, ensure_ascii=False)}"] if item.title else []),
        f"date: {date.isoformat()}",
        f"kind: {item.kind}",
        "status: published",
    ]
    if item.subtitle:
        lines.append(f"subtitle: {json.dumps(item.subtitle, ensure_ascii=False)}")
    if item.link:
        lines.append(f"link: {json.dumps(item.link, ensure_ascii=False)}")
    lines.append(f"tags: {json.dumps(list(item.tags), ensure_ascii=False)}")
    lines.append(f"targets: [{target}]")
    lines.append("---")
    return "\n".join(lines) + "\n" + item.body.strip("\n") + "\n"


def _taken(root: Path) -> set[str]:
    """File stems and slugs already in use under posts/."""
    names = set()
    for path in content.post_files(root):
        names.add(path.stem)
        names.add(content.slugify(path.stem))
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
        m = re.search(r"^slug:\s*['\"]?([a-z0-9._-]+)", head, flags=re.MULTILINE)
        if m:
            names.add(m.group(1))
    return names


def _free_name(wanted: str, taken: set[str]) -> str:
    base = content.slugify(wanted)[:120].strip("-.") or "untitled"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def known_ids(ledger: Ledger, service: str) -> set[str]:
    """Remote ids published.yaml already records for `service`."""
    ids = set()
    for slug in ledger.data:
        entry = ledger.entry(str(slug), service)
        if entry.get("id") is not None:
            ids.add(str(entry["id"]))
    return ids


def remote_kind(target: Target, item: Item) -> str | None:
    if target.kind == "forummagnum":
        return "quick take" if item.kind == "shortform" else "post"
    return None


def write_items(root: Path, target: Target, items: Iterable[Item]) -> Imported:
    """Write each new item under posts/ and record it in published.yaml."""
    ledger = Ledger(root / LEDGER)
    known = known_ids(ledger, target.name)
    taken = _taken(root)
    result = Imported()
    (root / "posts").mkdir(exist_ok=True)
    for item in items:
        if str(item.remote_id) in known:
            continue  # imported (or pushed) before: re-running adds only what is new
        name = _free_name(item.slug, taken)
        path = root / "posts" / f"{name}.md"
        try:
            with open(path, "x", encoding="utf-8") as f:  # never overwrite
                f.write(front_matter(item, target.name))
        except FileExistsError:
            result.skipped.append((item, f"posts/{name}.md appeared meanwhile; left alone"))
            continue
        taken.add(name)
        known.add(str(item.remote_id))
        # Recorded at once, so a run stopped half-way never imports this item twice;
        # `sent_hash` follows once the file has been read back as `publish` reads it.
        ledger.set(name, target.name, _entry(target, item, ""))
        result.written.append((path.relative_to(root).as_posix(), item))
    if result.written:
        _record_hashes(root, target, ledger, result.written)
    return result


def _entry(target: Target, item: Item, sent_hash: str) -> dict:
    entry: dict = {"id": item.remote_id}
    kind = remote_kind(target, item)
    if kind:
        entry["kind"] = kind
    entry.update(
        {
            "url": item.url,
            "sent_hash": sent_hash,
            "sent_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "remote": dict(item.remote),
            "published": True,
        }
    )
    return entry


def _record_hashes(root: Path, target: Target, ledger: Ledger, written) -> None:
    """Read the new files as `publish` does and record the hash of what it would send."""
    checked = pipeline.run(root)
    by_path = {p.path: p for p in checked.project.posts}
    for path, _item in written:
        post = by_path.get(path)
        if post is None:  # it did not load; `check` says why, and publish refuses it
            continue
        entry = ledger.entry(post.slug, target.name)
        entry["sent_hash"] = sent_hash(target, checked.document(post))
        ledger.set(post.slug, target.name, entry)


def sent_hash(target: Target, doc) -> str:
    """The hash `publish` compares: of exactly what it would send for this document."""
    if target.kind == "forummagnum":
        from ..publish import lesswrong as lwclient
        from ..render import lesswrong as lwrender

        title = None if doc.post.kind == "shortform" else doc.post.title
        return lwclient.content_hash(lwrender.render(doc), title)
    from ..publish import substack as ssclient
    from ..render import substack as ssrender

    body = ssrender.draft_body(doc.post.title, doc.post.subtitle, ssrender.render(doc), None)
    return ssclient.content_hash(body)


def forum_target(name: str) -> Target:
    target = targets.TARGETS.get(name)
    if target is None or target.kind != "forummagnum":
        forums = [t.name for t in targets.TARGETS.values() if t.kind == "forummagnum"]
        raise ImportProblem(
            f"`{name}` is not a forum target; one of: {', '.join(forums)}", usage=True
        )
    return target


class ImportProblem(Problem):
    """The import cannot go on; a one-line message."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.usage = usage
