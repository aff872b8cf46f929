"""A page's main text as sentences, with what changes on every visit left out.

`toolkit watch` compares the sentences of a page now with those of its last recorded
version. What must never count as a change: whitespace and typography (compared after
`text.normalize`), navigation, headers and footers (and the dates in them), cookie and
consent banners, scripts and styles, tracking parameters in the URL, and the order of
sentences (a reordered menu, or a block moved down the page, says nothing new).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .text import body_kind, normalize, parse_html, pdf_text

# Elements that are page furniture, not the document.
_FURNITURE = (
    "//script|//style|//template|//noscript|//svg|//iframe|//form|//button|//*[@hidden]"
    "|//nav|//header|//footer|//aside"
    "|//*[@role='navigation' or @role='banner' or @role='contentinfo' or @role='dialog'"
    " or @aria-hidden='true']"
)
# Cookie and consent banners go by many names; all of them say so in an id or a class.
_BANNER = re.compile(r"cookie|consent|gdpr|onetrust|cc-banner|cookiebot", re.I)
_BLOCKS = frozenset(
    ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div", "section", "article", "main")
    + ("td", "th", "dd", "dt", "blockquote", "pre", "figcaption", "tr", "br", "caption")
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}} {_MONTH},? \d{{4}}|{_MONTH} \d{{1,2}},? \d{{4}}"
    rf"|{_MONTH} \d{{4}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})"
)
# A line that is only a date stamp ("Last updated: 3 March 2025", "© 2025 Company"):
# furniture even when a page puts it in its main text.
_STAMP = re.compile(
    rf"^(?:(?:last )?(?:updated|modified|revised|published|posted)(?: on)?:? )?{_DATE}\.?$"
    r"|^(?:©|\(c\)|copyright) ?\d{4}",
    re.I,
)
TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|igshid|ref_src|"
    r"s_cid|cmpid|yclid|_ga|_gl)$",
    re.I,
)


def clean_url(url: str) -> str:
    """`url` without tracking parameters or a fragment: one page, however it was linked."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = [(k, v) for k, v in query if not TRACKING.match(k)]
    q = urlencode(kept) if len(kept) != len(query) else parts.query
    return urlunsplit((parts.scheme, parts.netloc, parts.path, q, ""))


def html_blocks(data: bytes, encoding: str | None = None) -> list[str]:
    """The text of the page's main content, one string per block (paragraph, item...)."""
    root = parse_html(data, encoding)
    if root is None:
        return []
    for bad in root.xpath(_FURNITURE):
        bad.drop_tree()
    for el in root.xpath("//*[@id or @class]"):
        marks = f"{el.get('id', '')} {el.get('class', '')}"
        if _BANNER.search(marks) and el.getparent() is not None:
            el.drop_tree()
    main = root.xpath("//main") or root.xpath("//article") or [root]
    for el in main[0].iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCKS:
            el.tail = "\n" + (el.tail or "")
            el.text = "\n" + (el.text or "")
    return "".join(main[0].itertext()).split("\n")


def sentences_of(blocks: list[str]) -> list[str]:
    """Sentences, whitespace collapsed, stamps and empty ones dropped, in page order."""
    out = []
    for block in blocks:
        block = " ".join(block.split())
        for sentence in _SENTENCE_END.split(block):
            sentence = sentence.strip()
            if sentence and not _STAMP.match(sentence) and any(c.isalnum() for c in sentence):
                out.append(sentence)
    return out


def page_sentences(data: bytes, content_type: str | None, url: str = "") -> list[str]:
    """The sentences of a page or PDF, as `toolkit watch` compares them."""
    kind, encoding = body_kind(data, content_type, url)
    if kind == "pdf":
        return sentences_of([pdf_text(data).replace("\n", " ")])
    if kind == "plain":
        return sentences_of(data.decode(encoding or "utf-8", errors="replace").split("\n\n"))
    return sentences_of(html_blocks(data, encoding))


def digest(sentences: list[str]) -> str:
    """What a version's text is, for documents.yaml: unchanged by anything cosmetic."""
    lines = sorted({normalize(s) for s in sentences})
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def diff(before: list[str], after: list[str]) -> tuple[list[str], list[str]]:
    """(removed, added): sentences in one and not the other, compared normalised, each
    list in its own page's order."""
    old = {normalize(s) for s in before}
    new = {normalize(s) for s in after}
    removed = list(dict.fromkeys(s for s in before if normalize(s) not in new))
    added = list(dict.fromkeys(s for s in after if normalize(s) not in old))
    return removed, added
