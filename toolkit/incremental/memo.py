"""What a build remembers about its inputs as a whole.

- `fingerprint`/`last_build`/`remember_build`: everything the last build read, by
  content; when nothing changed and its outputs are untouched, its report is the answer
  and nothing is written.
- `project_checks`: the project-wide checks, kept with the span of clock they hold for.
- `archive_index`: archives.yaml indexed by normalised URL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from .. import checks, content, media, output
from ..diagnostics import Diagnostic
from ..model import ArchiveIndex, Project
from . import store as cachelib


def fingerprint(root: Path, drafts: bool, inputs: content.Inputs, cache: cachelib.Cache) -> str:
    """Everything a build reads, by content: the toolkit's code, the flags, and every
    input file (files unchanged since they were last hashed are known by their stat, so
    a build with nothing to do reads nothing; see `Inputs.digests`)."""
    h = hashlib.sha256(f"{cachelib.code_version()}/{drafts}".encode())
    # published.yaml too: the drafts/ exports show the remote ids it records.
    fixed = [root / name for name in (*content.PROJECT_FILES, content.LEDGER_FILE)]
    paths = fixed + inputs.posts + inputs.snippets
    top = len(str(root)) + 1  # every input is under root: its name relative to it
    for path, digest in zip(paths, inputs.digests(paths, cache), strict=True):
        h.update(f"{str(path)[top:]}\0{digest or 'missing'}\0".encode())
    h.update("\0".join(inputs.misnamed).encode())  # left out, but reported: not up to date
    return h.hexdigest()


def outputs_intact(root: Path, cache: cachelib.Cache) -> bool:
    """Every output file is exactly what the last build wrote, and nothing else is there."""
    for directory in output.OUTPUT_DIRS:
        tree = cache.tree(directory)
        if tree is None or not tree.intact(root / directory):
            return False
    return True


def last_build(
    root: Path,
    cache: cachelib.Cache,
    fingerprint: str,
    at: dt.datetime,
    inputs: content.Inputs | None = None,
) -> dict | None:
    """The last build's report, when nothing it read has changed and its outputs are all
    still there untouched: there is nothing to do. Its diagnostics still hold for a clock
    at or after its own (a snapshot time that was not in the future then is not now), not
    for an earlier one. The image files its posts showed (which the fingerprint cannot
    know of before the posts are read) must still have the bytes they had."""
    last = cache.get(cachelib.key("last-build"), dict)
    if (
        not last
        or last["fingerprint"] != fingerprint
        or last.get("at") is None
        or at < last["at"]
        or not outputs_intact(root, cache)
    ):
        return None
    images: dict[str, str] = last.get("images") or {}
    if images:
        inputs = inputs or content.Inputs.scan(root)
        now = inputs.digests([root / source for source in images], cache)
        if list(images.values()) != now:
            return None
    return last


def remember_build(
    cache: cachelib.Cache,
    fingerprint: str,
    at: dt.datetime,
    posts: int,
    diagnostics: list[Diagnostic],
    images: dict[str, str] | None = None,
) -> None:
    """`images`: the image files the build's posts use, path -> digest."""
    cache.put(
        cachelib.key("last-build"),
        {
            "fingerprint": fingerprint,
            "at": at,
            "posts": posts,
            "diagnostics": diagnostics,
            "images": images or {},
        },
    )


def archive_index(project: Project, cache: cachelib.Cache) -> ArchiveIndex:
    """archives.yaml indexed by normalised URL; the index is kept between runs."""
    k = cachelib.key("archive-index", project.digest)
    normal = cache.get(k, dict)
    if normal is None:
        normal = project.archive_index().normal
        cache.put(k, normal)
    project.derived.archive_index = ArchiveIndex(project.archives, normal)
    return project.derived.archive_index


def project_checks(
    project: Project, at: dt.datetime, cache: cachelib.Cache, inputs: content.Inputs
) -> list[Diagnostic]:
    """`checks.check_project`, remembered: it depends on toolkit.toml, labs.yaml,
    archives.yaml and every snippet file, and on the clock only as it passes a snapshot
    time, so a build that changed only posts need not check every archive link again."""
    if not cache.enabled:
        return checks.check_project(project, at).diagnostics
    snippets = inputs.digests(inputs.snippets, cache)
    pictured = media.snippet_images(project)  # whether each file is there, and its bytes
    k = cachelib.key(
        "project-checks",
        project.digest,
        "\0".join(inputs.misnamed),  # files left out for their names (content.Inputs)
        *(f"{path}\0{digest}" for path, digest in zip(inputs.snippets, snippets, strict=True)),
        repr(sorted((k, sorted(v.items())) for k, v in pictured.items())),
    )
    found = cache.get(k, checks.ProjectChecks)
    if found is None or not found.hold_at(at):
        found = checks.check_project(project, at)
        cache.put(k, found)
    return list(found.diagnostics)  # a copy: the caller adds to it
