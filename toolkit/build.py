"""`toolkit build`: check, then write site/ and feeds/ (and drafts/) from one document per post.

With errors (or warnings under --strict) nothing is written: the previous outputs stay
exactly as they were. Otherwise each output directory is replaced in one atomic step.
Nothing here reads the clock, so two builds of the same input are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import feeds, output, pipeline, site
from .diagnostics import Diagnostic


@dataclass
class BuildReport:
    diagnostics: list[Diagnostic]
    ok: bool
    written: dict[str, list[str]] = field(default_factory=dict)  # directory -> files
    posts: int = 0
    reused: int = 0  # posts whose results came from the cache
    seconds: float = 0.0


RENDERERS = {"site": site.render_post}


def render(root: Path, drafts: bool = False, at: dt.datetime | None = None,
           use_cache: bool = True) -> tuple[pipeline.Checked, dict[str, dict[str, bytes]]]:
    """Check and render everything, writing nothing: {"site": files, "feeds": files}."""
    checked = pipeline.run(root, at, keep_parsed=False, renderers=RENDERERS,
                           use_cache=use_cache)
    project = checked.project
    posts = checked.posts(drafts)
    pages = {p.path: checked.outputs[p.path]["site"] for p in posts}
    items = [pages[p.path].item(p) for p in posts]
    site_files = site.build_pages(items, project,
                                  post_pages={pg.path: pg.page for pg in pages.values()})
    feed_files = feeds.build_feeds(items, project.config)
    site_files.update({f"feeds/{name}": data for name, data in feed_files.items()})
    return checked, {"site": site_files, "feeds": feed_files}


def with_problems(files: dict[str, bytes], problems: list[Diagnostic]) -> dict[str, bytes]:
    """Pages with the problems banner (for `toolkit serve`), or with its marker removed."""
    banner = site.problems_html(problems) if problems else b""
    return {name: data.replace(site.PROBLEMS_MARKER, banner) if name.endswith(".html")
            else data for name, data in files.items()}


def build(root: Path, drafts: bool = False, strict: bool = False,
          at: dt.datetime | None = None, use_cache: bool = True) -> BuildReport:
    start = time.perf_counter()
    checked, outputs = render(root, drafts, at, use_cache)
    report = BuildReport(checked.diagnostics, ok=not checked.failed(strict),
                         posts=len(checked.project.posts), reused=checked.reused)
    if report.ok:
        for directory, files in outputs.items():
            files = with_problems(files, [])
            output.replace_tree(files, root / directory)
            report.written[directory] = sorted(files)
    report.seconds = time.perf_counter() - start
    return report
