"""P015: a post uses something one of its publish targets cannot show.

Each target in the registry says what it can show (`targets.Shows`). For every target a
post names, each construct that target lacks is one warning at its first use, saying
what that target's readers get instead, so nothing is changed silently. `[check] ignore =
["P015"]` silences it for a writer who has accepted the fallbacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from . import diagnostics as dg
from . import targets
from .markdown import Locator, Parsed, Spot, Token, update_parses
from .model import Post

# A table's delimiter row: `|---|:--:|`, or `--- | ---` without the outer pipes.
_DELIMITER_ROW = re.compile(
    r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$", re.MULTILINE
)


@dataclass(frozen=True)
class Construct:
    capability: str  # the `Shows` field that says whether a target can show it
    name: str  # for the writer: "a table"
    fallback: str  # what a reader of a target without it gets


# One entry per construct; its fallback is what the renderers of a target without it
# really produce (see toolkit/render/), said so the writer can picture it.
TABLE = Construct(
    "tables", "a table", "one paragraph per row, its cells separated by “ | ”, the header in bold"
)
IMAGE = Construct("images", "an image", "a link to the image")
INLINE_IMAGE = Construct(
    "inline_images",
    "an image inside a line of text, a quote or a note",
    "a link to the image (its images are blocks of their own: give the image its own "
    "paragraph to show it)",
)
SPOILER = Construct(
    "spoilers", "a `>!` spoiler", "the hidden text shown openly, under “Spoiler” in bold"
)
COLLAPSIBLE = Construct(
    "collapsibles",
    "a `+++` collapsible section",
    "the section's title in bold, then its content shown openly",
)
MATH = Construct("math", "math (`$…$`)", "the TeX as written")
NOTE_IN_LIST = Construct(
    "footnotes_in_list_items",
    "a note reference inside a list item",
    "the note, which its editor may not keep there (unverified)",
)
CONSTRUCTS = (TABLE, IMAGE, INLINE_IMAGE, SPOILER, COLLAPSIBLE, MATH, NOTE_IN_LIST)


NOTE_IN_NOTE = Construct(
    "nested_notes",
    "a note inside a note",
    "its number as plain superscript, and the note written out at the end of the note "
    "that holds it",
)


NOTE_IN_UPDATE = Construct(
    "update_notes",
    "a note in an update",
    "its number as plain text in the update, and the note written out at the end of the update box",
)


def check_targets(
    post: Post, parsed: Parsed, only: targets.Target | None = None
) -> Iterator[dg.Diagnostic]:
    """P015 for each target the post names (or for `only`, which `publish --dry-run`
    asks about) and each construct it cannot show."""
    named = [targets.TARGETS[name] for name in post.targets if name in targets.TARGETS]
    if only is not None:
        named = [only]
    lacking = [t for t in named if not all(vars(t.shows).values())]
    if not lacking:
        return
    for construct, (where, count) in _uses(post, parsed).items():
        for target in lacking:
            if getattr(target.shows, construct.capability):
                continue
            more = f" ({count - 1} more in this post)" if count > 1 else ""
            yield dg.make(
                "P015",
                post.path,
                where[0],
                f"{target.label} cannot show {construct.name}{more}: its readers get "
                f"{construct.fallback}; leave `{target.name}` out of `targets`, or add "
                "P015 to [check] ignore to accept it",
                where[1],
            )


Where = Spot | tuple[int, int]


def _uses(post: Post, parsed: Parsed) -> dict[Construct, tuple[Where, int]]:
    """Each construct the post uses: where it is first used, and how many times."""
    loc = Locator(post.body, post.body_line)
    found: dict[Construct, tuple[Where, int]] = {}

    def seen(construct: Construct, where: Where) -> None:
        first, count = found.get(construct, (where, 0))
        found[construct] = (first, count + 1)

    def visit(
        tokens: list[Token],
        in_list: bool,
        alone: bool = False,
        quoted: bool = False,
        in_note: bool = False,
    ):
        """`alone`: these tokens are a paragraph's images and nothing else (`quoted`: in
        a quote or a note, where only paragraphs go)."""
        for tok in tokens:
            kind = tok["type"]
            if kind == "table":
                seen(TABLE, _first_table(loc))
            elif kind == "image":
                seen(IMAGE if alone else INLINE_IMAGE, loc.find("!["))
            elif kind == "spoiler":
                seen(SPOILER, loc.find(">!"))
            elif kind == "collapsible":
                seen(COLLAPSIBLE, loc.find("+++"))
            elif kind in ("inline_math", "block_math"):
                seen(MATH, loc.find("$"))
            elif kind in ("footnote_ref", "citation"):
                spot = loc.find(tok["raw"])  # every reference counts, so the k-th is right
                if in_list:
                    seen(NOTE_IN_LIST, spot)
                if in_note and kind == "footnote_ref":
                    seen(NOTE_IN_NOTE, spot)
            if "children" in tok:
                kids = tok["children"]
                if kind in ("paragraph", "block_text"):
                    inner = not quoted and _only_images(kids)
                else:
                    inner = alone and kind == "link"
                visit(
                    kids,
                    in_list or kind == "list_item",
                    inner,
                    quoted or kind == "block_quote",
                    in_note,
                )

    visit(parsed.tokens, False)
    for definition in parsed.definitions:
        visit(definition.children, False, quoted=True, in_note=True)
    for update, update_parse in update_parses(post.updates, parsed):
        kinds = {t["type"] for t in update_parse.every_token()}
        if kinds & {"footnote_ref", "citation"}:
            seen(NOTE_IN_UPDATE, (update.line, 1))
    return found


def _only_images(children: list[Token]) -> bool:
    """A paragraph of images (each perhaps inside a link) and nothing else."""
    from .render.substack import blank, standalone_image

    found = [standalone_image(t) for t in children]
    return any(found) and all(f or blank(t) for f, t in zip(found, children, strict=True))


def _first_table(loc: Locator) -> tuple[int, int]:
    """The header row of the post's first table: the line above its delimiter row."""
    row = _DELIMITER_ROW.search(loc.text)
    if row is None:
        return loc.first_line, 1
    header = loc.text.rfind("\n", 0, max(0, row.start() - 1)) + 1
    return loc.position(header)
