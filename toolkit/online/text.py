"""Finding a quote in a page: the visible text of HTML or a PDF, normalised, then matched.

Normalising makes typography irrelevant on both sides: Unicode compatibility forms (so
ligatures like "ﬁ" become "fi"), case, whitespace, curly quotes, dashes, ellipses, soft
hyphens and zero-width characters. A quote is found exactly, else fuzzily (rapidfuzz's
best-matching window, scored 0-100), and when it is not found the closest passage is
reported so the writer can see what the page says instead.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

FOUND = 100.0
CLOSE_ENOUGH = 90.0  # a fuzzy match at or above this counts as found (with a warning)

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00ad": None,
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
    }
)
_SPACE = re.compile(r"\s+")
_HYPHEN_BREAK = re.compile(r"(\w)-\s*\n\s*(\w)")  # "commit-\nment" in PDFs


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)  # ligatures, full-width forms, "…" -> "..."
    text = text.translate(_TRANSLATE)
    return _SPACE.sub(" ", text.casefold()).strip()


def parse_html(data: bytes, encoding: str | None = None):
    """The page's element tree (lxml), comments left out; None if it cannot be read."""
    import lxml.html

    try:
        return lxml.html.fromstring(
            data, parser=lxml.html.HTMLParser(encoding=encoding, remove_comments=True)
        )
    except (ValueError, lxml.etree.ParserError):
        return None


def html_text(data: bytes, encoding: str | None = None) -> str:
    """The text a reader sees: no scripts, styles, templates or hidden elements."""
    root = parse_html(data, encoding)
    if root is None:
        return ""
    for bad in root.xpath("//script|//style|//template|//noscript|//*[@hidden]"):
        bad.drop_tree()
    return " ".join(root.itertext())


def pdf_text(data: bytes) -> str:
    """The text of every page of a PDF (pypdf), words split across lines joined again."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        return ""
    return _HYPHEN_BREAK.sub(r"\1\2", "\n".join(pages))


def body_kind(data: bytes, content_type: str | None, url: str = "") -> tuple[str, str | None]:
    """What an answer's body is, "pdf", "plain" or "html", and the charset it names. A
    PDF is known by its type, its first bytes or its name (servers often send PDFs as
    application/octet-stream)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    encoding = None
    if content_type and "charset=" in content_type:
        encoding = content_type.split("charset=")[-1].split(";")[0].strip() or None
    if kind == "application/pdf" or data[:5] == b"%PDF-" or url.lower().endswith(".pdf"):
        return "pdf", encoding
    return ("plain" if kind.startswith("text/plain") else "html"), encoding


def visible_text(data: bytes, content_type: str | None, url: str = "") -> str:
    kind, encoding = body_kind(data, content_type, url)
    if kind == "pdf":
        return pdf_text(data)
    if kind == "plain":
        return data.decode(encoding or "utf-8", errors="replace")
    return html_text(data, encoding)


@dataclass(frozen=True)
class Match:
    score: float  # 100 exact; else rapidfuzz's partial ratio of the best window
    passage: str  # the closest passage of the page (normalised), for the report

    @property
    def found(self) -> bool:
        return self.score >= CLOSE_ENOUGH

    @property
    def exact(self) -> bool:
        return self.score >= FOUND


def find_quote(quote: str, page_text: str) -> Match:
    """Where `quote` is in `page_text`, exactly or as closely as it gets."""
    needle, haystack = normalize(quote), normalize(page_text)
    if not needle:
        return Match(FOUND, "")
    at = haystack.find(needle)
    if at >= 0:
        return Match(FOUND, haystack[at : at + len(needle)])
    if not haystack:
        return Match(0.0, "")
    from rapidfuzz import fuzz

    best = fuzz.partial_ratio_alignment(needle, haystack)
    if best is None:  # only with a score_cutoff, which is not given
        return Match(0.0, "")
    start, end = best.dest_start, best.dest_end
    # Widen the window to whole words, so the passage reads naturally.
    start = haystack.rfind(" ", 0, start) + 1
    space = haystack.find(" ", end)
    end = len(haystack) if space < 0 else space
    return Match(round(best.score, 1), haystack[start:end][:600])
