"""`toolkit init` and `toolkit new`: files with valid front matter, never overwriting.

Pure where it can be: each function returns the files it would write (path -> text) and
the caller writes them, refusing when any already exists.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from . import diagnostics as dg
from . import schemas
from .content import slugify
from .errors import Problem
from .model import Project

LABS = {  # the major AI companies, for a new project's snippets/labs.yaml
    "anthropic": ("Anthropic", "https://www.anthropic.com/"),
    "openai": ("OpenAI", "https://openai.com/"),
    "google-deepmind": ("Google DeepMind", "https://deepmind.google/"),
    "meta": ("Meta", "https://ai.meta.com/"),
    "xai": ("xAI", "https://x.ai/"),
    "microsoft": ("Microsoft", "https://www.microsoft.com/"),
    "amazon": ("Amazon", "https://www.amazon.science/"),
    "nvidia": ("NVIDIA", "https://www.nvidia.com/"),
    "mistral": ("Mistral AI", "https://mistral.ai/"),
}

CONFIG = """\
#:schema ./schemas/toolkit.schema.json
# Settings for this site. Only [site] is needed; everything else has a default.
# The full list is in the toolkit's README.

[site]
title = {title}
base_url = "https://example.org"   # where the site will live; feeds need absolute links
author = ""
description = ""

[check]
no_archive_needed = ["lesswrong.com"]   # hosts whose links need no archived copy
"""

GITIGNORE = """\
# Written by toolkit build, serve and check
/site/
/drafts/
/.toolkit/
"""

EXAMPLE_SNIPPET = """\
---
lab: openai
title: "OpenAI's Preparedness Framework (Beta) expected independent audits"
claim: "OpenAI said it expected qualified, independent third parties to audit its
  Preparedness work."
quote: "We believe it is instrumental that this work gets feedback from people outside
  OpenAI and expect to have audits conducted by qualified, independent third-parties."
source:
  url: https://openai.com/safety/preparedness
  title: "Preparedness Framework (Beta)"
  published: 2023-12-18
  accessed: 2023-12-18
archive: https://web.archive.org/web/20231218182454/https://openai.com/safety/preparedness
topics: [accountability]
status: current
---
An example snippet: one claim by one company, quoted exactly, with its source and an
archived copy. Your commentary on it goes here.
"""

EXAMPLE_POST = """\
---
title: "Hello, world"
date: {date}
status: published
summary: "An example post: edit it, or delete it once you have written your own."
tags: [example]
claims: [openai-preparedness-beta-audits]
---
Cite a snippet by its id and it becomes a numbered note naming the source and its archived
copy [@openai-preparedness-beta-audits]. Author footnotes share the same numbering.[^how]

```{{claim}} openai-preparedness-beta-audits
```

[^how]: `toolkit new snippet` and `toolkit new post` make more of these; `toolkit check`
    tells you what needs fixing.
"""


class Refused(Problem):
    """The command would overwrite something or cannot work as asked; the message says why."""


def labs_yaml() -> str:
    lines = [
        "# yaml-language-server: $schema=../schemas/labs.schema.json",
        "# Companies that snippets can name in `lab:`; add your own.",
    ]
    for key, (name, url) in LABS.items():
        lines.append(f"{key}:\n  name: {name}\n  url: {url}")
    return "\n".join(lines) + "\n"


def init_files(directory: Path, today: dt.date) -> dict[str, str]:
    name = directory.resolve().name
    # A folder name may hold anything but "/" (a newline, bytes that are not UTF-8): the
    # title keeps its words only.
    name = name.encode("utf-8", "replace").decode("utf-8")
    name = re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", name.replace("-", " ").replace("_", " "))
    title = " ".join(name.split()).title() or "My Site"
    files = {
        "toolkit.toml": CONFIG.format(title=_toml_string(title)),
        ".gitignore": GITIGNORE,
        "snippets/labs.yaml": labs_yaml(),
        "snippets/openai/openai-preparedness-beta-audits.md": EXAMPLE_SNIPPET,
        "posts/hello-world.md": EXAMPLE_POST.format(date=today.isoformat()),
    }
    for name, schema in schemas.all_schemas().items():
        files[f"schemas/{name}"] = json.dumps(schema, indent=2) + "\n"
    return files


def _toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's (\\n, \\", \\uXXXX), and DEL, which
    JSON leaves as it is, is escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


NEW_SLUG_MAX = 80  # bytes of a new file's slug: a readable URL, far from any name limit


def shorten(slug: str, limit: int = NEW_SLUG_MAX) -> str:
    """`slug` cut to at most `limit` bytes, at a hyphen when there is one, so that a
    long title still makes a file name the filesystem accepts (255 bytes at most)."""
    data = slug.encode()
    if len(data) <= limit:
        return slug
    cut = data[: limit + 1].decode("utf-8", "ignore")
    words = cut[: cut.rfind("-")].strip("-.") if "-" in cut else ""
    return words or data[:limit].decode("utf-8", "ignore").strip("-.") or "untitled"


def write_new(root: Path, files: dict[str, str]) -> list[Path]:
    """Write all the files or none: refuse if any exists (naming them)."""
    existing = [rel for rel in files if (root / rel).exists()]
    if existing:
        raise Refused(
            "not overwriting existing "
            + ("file" if len(existing) == 1 else "files")
            + ": "
            + ", ".join(existing)
        )
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:  # "x": never replace a file
            f.write(text)
        written.append(path)
    return written


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def new_post(title: str, kind: str, today: dt.date, cite: tuple[str, ...] = ()) -> tuple[str, str]:
    """(relative path, text) of a new draft post or shortform note, citing `cite`."""
    slug = shorten(slugify(title))
    targets = "[substack, lesswrong]" if kind == "post" else "[lesswrong]"
    claims = ", ".join(cite)
    text = (
        f"---\ntitle: {_q(title)}\ndate: {today.isoformat()}\nkind: {kind}\n"
        f"status: draft            # published: goes into the site and the feeds\n"
        f'summary: ""\ntags: []\n'
        f"claims: [{claims}]        # every snippet the post cites\n"
        f"targets: {targets}   # where `toolkit publish` may push it\n---\n\n"
    )
    if cite:
        refs = "; ".join(f"@{c}" for c in cite)
        text += f"What the company said [{refs}].\n"
    else:
        text += (
            "Write here. Cite a snippet with its id after an @ in square brackets, and\n"
            "list it under `claims:` above.\n"
        )
    return f"posts/{slug}.md", text


def snippet_id(lab: str, title: str | None, url: str) -> str:
    """A readable id from the lab and the title (or the URL's last path part)."""
    words = re.sub(r"['’]s\b", "", title or _url_words(url))  # "xAI's" -> "xAI"
    slug = slugify(words)
    # Drop a leading repetition of the lab ("openai-openai-..."), and keep ids short.
    slug = re.sub(rf"^{re.escape(lab)}-", "", slug)
    slug = shorten("-".join(slug.split("-")[:8]).strip("-."))
    return f"{lab}-{slug}" if slug else lab


def _url_words(url: str) -> str:
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p]
    last = re.sub(r"\.(pdf|html?)$", "", path[-1]) if path else parts.hostname or "source"
    return re.sub(r"[._]+", " ", last)


def new_snippet(
    project: Project, lab: str, url: str, quote: str | None, title: str | None, today: dt.date
) -> tuple[str, str]:
    """(relative path, text) of a new snippet, or Refused with the reason."""
    if lab not in project.labs:
        hint = dg.did_you_mean(lab, project.labs)
        known = ", ".join(sorted(project.labs)) or "none yet"
        raise Refused(
            f"unknown lab `{lab}`{hint}; known labs: {known} (add it to {project.labs_path})"
        )
    snippet = snippet_id(lab, title, url)
    if snippet in project.snippets:
        raise Refused(
            f"a snippet with id `{snippet}` already exists: "
            f"{project.snippets[snippet].path}; pass a different --title"
        )
    text = (
        f"---\nlab: {lab}\n"
        f"title: {_q(title or _url_words(url).strip().capitalize())}\n"
        f'claim: ""               # one sentence, in your words, of what it commits to\n'
        f"quote: {_q(quote or '')}   # the source's exact words, checked online\n"
        f'source:\n  url: {_q(url)}\n  title: ""\n  accessed: {today.isoformat()}\n'
        f"topics: []\nstatus: current          # current | superseded | retracted\n---\n\n"
        "Your commentary on this claim. Run `toolkit archive` to add an archived copy.\n"
    )
    return f"snippets/{lab}/{snippet}.md", text
