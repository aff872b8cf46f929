"""Diagnostics: what `toolkit check` reports, with stable codes.

A diagnostic is `path:line:col: severity CODE message`, like a linter. Codes never change
meaning once released; a retired check keeps its code unused. The letter says where a
problem lives: F = any file, C = toolkit.toml, P = posts, S = snippets, D = documents.yaml,
A = archives.yaml and archive links, L = live and archived copies checked online.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    severity: str
    summary: str


_CODES = [
    # Files of any kind.
    Code("F001", "not-utf8", ERROR, "The file, or its name, is not valid UTF-8."),
    Code("F002", "yaml-syntax", ERROR, "YAML (or TOML) that does not parse."),
    Code("F003", "no-front-matter", ERROR, "A post or snippet without a `---` front matter block."),
    Code("F004", "wrong-type", ERROR, "A value of the wrong type (a list for text...)."),
    Code("F005", "missing-key", ERROR, "A required key is missing."),
    Code("F006", "unknown-key", WARNING, "A key the format does not know (typo?)."),
    Code("F007", "bad-date", ERROR, "A date that does not exist or cannot be read."),
    Code("F008", "bad-choice", ERROR, "A value outside its allowed set (kind, status...)."),
    Code("F009", "duplicate-key", WARNING, "The same key twice in one mapping; the last wins."),
    Code("F010", "bad-url", ERROR, "A URL that is not an absolute http(s) URL."),
    Code("F011", "unreadable", ERROR, "A file that cannot be read, or that is a FIFO or a device."),
    Code(
        "F012",
        "control-character",
        ERROR,
        "A control character (form feed, ESC...) in text; only tab and newline belong.",
    ),
    # toolkit.toml
    Code("C001", "no-config", ERROR, "No toolkit.toml in the project directory."),
    # Posts
    Code("P001", "published-without-date", ERROR, "A published post has no `date`."),
    Code("P002", "duplicate-slug", ERROR, "Two posts share a slug (and so a URL)."),
    Code("P003", "unknown-snippet", ERROR, "A citation or {claim} names no existing snippet."),
    Code("P004", "cited-not-in-claims", ERROR, "A cited snippet is missing from `claims`."),
    Code("P005", "unknown-claim", ERROR, "`claims` names a snippet that does not exist."),
    Code("P006", "undefined-footnote", ERROR, "A footnote reference `[^x]` without a definition."),
    Code("P007", "unused-footnote", WARNING, "A footnote definition that is never referenced."),
    Code("P008", "duplicate-footnote", ERROR, "Two definitions of the same footnote label."),
    Code("P009", "cites-retracted", ERROR, "The post cites a retracted snippet."),
    Code("P010", "cites-superseded", WARNING, "The post cites a superseded snippet."),
    Code("P011", "unsafe-link", ERROR, "A link whose scheme is not http(s) (javascript:...)."),
    Code("P012", "link-not-archived", WARNING, "An external link with no entry in archives.yaml."),
    Code("P013", "empty-claim", ERROR, "A {claim} block whose snippet has no `quote` to show."),
    Code("P014", "unknown-directive", ERROR, "A fenced directive other than {claim}."),
    Code(
        "P015",
        "target-cannot-show",
        WARNING,
        "A publish target in `targets` cannot show something the post uses.",
    ),
    Code(
        "P016",
        "tag-spelled-two-ways",
        WARNING,
        "One tag spelled two ways (`AI`, `ai`): they share a page; one spelling shows.",
    ),
    Code(
        "P017",
        "footnote-cycle",
        ERROR,
        "Footnotes that refer to each other in a circle (`[^a]` inside `[^b]` inside `[^a]`).",
    ),
    Code(
        "P018",
        "image-not-in-project",
        ERROR,
        "A local image that is not a file inside the project: missing, absolute, or outside it.",
    ),
    Code("P020", "image-without-alt", WARNING, "An image without alt text."),
    Code(
        "P021",
        "image-under-placeholder-url",
        WARNING,
        "A local image while [site] base_url is still the placeholder example.org.",
    ),
    # Snippets
    Code("S001", "duplicate-snippet-id", ERROR, "Two snippet files with the same id."),
    Code("S002", "unknown-lab", ERROR, "`lab` is not a key of snippets/labs.yaml."),
    Code("S003", "missing-archive", WARNING, "A snippet without an `archive` link."),
    Code(
        "S004",
        "superseded-without-successor",
        ERROR,
        "`status: superseded` but no `superseded_by`.",
    ),
    Code("S005", "unknown-successor", ERROR, "`superseded_by` names no existing snippet."),
    Code("S006", "supersession-cycle", ERROR, "Snippets that supersede each other in a cycle."),
    Code("S007", "missing-quote", WARNING, "A snippet without a `quote` (nothing to verify)."),
    # Company documents: documents.yaml, and snippets that name one
    Code("D001", "unknown-document", ERROR, "`source:` names no document in documents.yaml."),
    Code("D002", "bad-document-id", ERROR, "A document id that cannot name a page (not a slug)."),
    Code("D003", "document-without-archive", WARNING, "A document without an `archive` link."),
    Code("D004", "document-unknown-lab", ERROR, "A document's `lab` is not a key of labs.yaml."),
    Code("D005", "document-id-taken", ERROR, "A document id that is also a snippet id."),
    # Archive links, in snippets and archives.yaml
    Code("A001", "not-a-snapshot", ERROR, "An archive URL that is not a known archive's snapshot."),
    Code("A002", "snapshot-of-other-url", ERROR, "The snapshot is of another URL than the source."),
    Code("A003", "bad-snapshot-time", ERROR, "A snapshot timestamp that is not a real time."),
    Code("A004", "future-snapshot", ERROR, "A snapshot timestamp in the future."),
    # Online (`toolkit check --online`): archived copies are errors, live pages warnings.
    Code("L001", "capture-missing", ERROR, "The archive has no capture at that time."),
    Code("L002", "capture-is-redirect", ERROR, "The cited capture is itself a redirect."),
    Code("L003", "capture-of-error", ERROR, "The capture is of an error page (4xx/5xx)."),
    Code("L004", "quote-not-in-archive", ERROR, "The quote is not in the archived copy."),
    Code("L005", "quote-approximate", WARNING, "The quote is in the copy only approximately."),
    Code("L006", "archive-unchecked", WARNING, "The archived copy could not be checked now."),
    Code("L007", "live-moved", WARNING, "The live page redirects elsewhere."),
    Code("L008", "live-gone", WARNING, "The live page is gone (404, 410, no such host)."),
    Code("L009", "live-blocked", WARNING, "The live site refused us (401/403/429, bot wall)."),
    Code("L010", "live-soft-404", WARNING, "The live page answers 200 but says not found."),
    Code("L011", "live-unreachable", WARNING, "The live page timed out or had a 5xx."),
    Code("L012", "quote-drifted", WARNING, "The quote is archived but gone from the live page."),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    column: int
    severity: str
    code: str
    message: str

    def format(self, style: Callable[..., str] | None = None) -> str:
        """The one-line text form; `style` (click.style's signature) colours it.

        Paths and messages echo what the writer's files hold, so anything a terminal would
        act on (ESC sequences, carriage returns, bidi overrides) is shown escaped."""
        paint = style or _plain
        color = "red" if self.severity == ERROR else "yellow"
        location = paint(f"{printable(self.path)}:{self.line}:{self.column}:", bold=True)
        return (
            f"{location} {paint(self.severity, fg=color)} {paint(self.code, bold=True)} "
            f"{printable(self.message)}"
        )


def _plain(text: str, **_: object) -> str:
    return text


# What a terminal may act on instead of showing: C0 controls (and so newlines, which would
# break the one-line format), DEL, C1 controls (0x9b is a CSI on some terminals), and the
# bidirectional overrides and isolates that reorder what is shown.
_BIDI_AND_C1 = r"\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNPRINTABLE = re.compile(r"[\x00-\x1f" + _BIDI_AND_C1 + "]")
_UNPRINTABLE_IN_JSON = re.compile("[" + _BIDI_AND_C1 + "]")


def _escape(m: re.Match) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text: str) -> str:
    """`text` with every character a terminal would act on written as an escape (`\\x1b`)."""
    return _UNPRINTABLE.sub(_escape, text)


def make(code: str, path: str, line: int, message: str, column: int = 1) -> Diagnostic:
    """A diagnostic with the code's own severity; lines and columns count from 1."""
    return Diagnostic(path, max(line, 1), max(column, 1), CODES[code].severity, code, message)


def filter_ignored(diags: Iterable[Diagnostic], ignore: Iterable[str]) -> list[Diagnostic]:
    ignored = set(ignore)
    return sorted(d for d in diags if d.code not in ignored)


def count(diags: Iterable[Diagnostic]) -> tuple[int, int]:
    errors = warnings = 0
    for d in diags:
        if d.severity == ERROR:
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def has_failures(diags: Iterable[Diagnostic], strict: bool = False) -> bool:
    errors, warnings = count(diags)
    return errors > 0 or (strict and warnings > 0)


def to_json(diags: Iterable[Diagnostic]) -> str:
    # json.dumps escapes C0 controls itself; C1 and bidi controls are valid raw in JSON but
    # act on a terminal that shows the output, so they become \\u escapes too.
    text = json.dumps([asdict(d) for d in diags], indent=2, ensure_ascii=False)
    return _UNPRINTABLE_IN_JSON.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def summary(diags: list[Diagnostic], strict: bool = False) -> str:
    errors, warnings = count(diags)
    if not errors and not warnings:
        return "No problems found."
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        note = " (errors under --strict)" if strict else ""
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}{note}")
    return "Found " + " and ".join(parts) + "."


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean `x`?)' when a close choice exists, else ''."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""
