"""Where `toolkit publish` can push a post: the registry every part of the toolkit reads.

One `Target` per place, named by the key a writer uses everywhere: in a post's `targets:`,
in `publish --to`, as the folder under `drafts/`, as the service in `published.yaml`, and
as the `toolkit.toml` table that overrides its base URL (`[eaforum] graphql_url = ...`).

A target's `kind` says which software it runs, and so which renderer, client and pusher
serve it (`publish.kinds`): every ForumMagnum forum (LessWrong, the EA Forum, ...) speaks
the same GraphQL and reads the same Markdown, so a new forum is one `register(...)` here.
`shows` says what a target can display, for `check` to warn where a post uses more.

This module is data only: the build, the check and the CLI import it without importing
anything that talks to a service.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("substack", "forummagnum")


@dataclass(frozen=True)
class Shows:
    """What a target's readers can see as the writer wrote it."""

    tables: bool = False
    math: bool = False
    images: bool = False  # an image on its own: shown, not a link to it
    inline_images: bool = False  # an image inside a line of text, a quote or a note
    spoilers: bool = False
    collapsibles: bool = False  # `+++ Title` … `+++` sections
    footnotes_in_list_items: bool = False  # a note reference inside a list item
    nested_notes: bool = False  # a footnote referenced from inside another footnote
    # A note in a dated update: numbered after the body's, so it cannot be a footnote
    # where footnotes are numbered by position (Substack's, ForumMagnum's Markdown).
    update_notes: bool = False


@dataclass(frozen=True)
class Target:
    name: str  # the key writers use: [a-z0-9-]
    kind: str  # one of KINDS
    label: str  # how messages name it: "EA Forum"
    url_key: str  # the key of its base URL under [name] in toolkit.toml
    url: str | None  # its default base URL; None: the writer must set it
    credential: str  # the environment variable that holds its secret
    credential_doc: str  # where the writer finds that secret
    shows: Shows
    comment_interval: float = 0.0  # seconds the service wants between comments (quick takes)


TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    """Add `target` to the registry (a later entry of the same name replaces it)."""
    if target.kind not in KINDS:
        raise ValueError(f"unknown target kind {target.kind!r}; one of {', '.join(KINDS)}")
    TARGETS[target.name] = target
    return target


def get(name: str) -> Target:
    return TARGETS[name]


def names() -> tuple[str, ...]:
    return tuple(TARGETS)


_FORUM_TOKEN = (
    "the `loginToken` cookie of a signed-in browser session (your browser's developer "
    "tools, under the site's cookies)"
)
# What ForumMagnum's Markdown shows (see the reference on its editor): tables, MathJax,
# images, `>!` spoilers, `+++` sections, footnotes anywhere; raw HTML is escaped.
_FORUM_SHOWS = Shows(
    tables=True,
    math=True,
    images=True,
    inline_images=True,
    spoilers=True,
    collapsibles=True,
    footnotes_in_list_items=True,
    nested_notes=True,  # its Markdown numbers a note inside a note like any other
)

# ForumMagnum's own limit on every account, drafts included (its rate-limit constants:
# one comment per 8 seconds); a quick take is a comment.
FORUM_COMMENT_INTERVAL = 8.0

register(
    Target(
        name="substack",
        kind="substack",
        label="Substack",
        url_key="publication_url",
        url=None,
        credential="SUBSTACK_SID",
        credential_doc="the `connect.sid` or `substack.sid` cookie of a signed-in browser session",
        # No table, spoiler or collapsible node; an image is a block of its own (publish
        # uploads it), so one inside a line of text is a link; a note anchor inside a
        # list item is unverified in its editor (see the reference on its footnotes).
        # Math has its `latex` nodes.
        shows=Shows(math=True, images=True),
    )
)
register(
    Target(
        name="lesswrong",
        kind="forummagnum",
        label="LessWrong",
        url_key="graphql_url",
        url="https://www.lesswrong.com/graphql",
        credential="LESSWRONG_TOKEN",
        credential_doc=_FORUM_TOKEN,
        shows=_FORUM_SHOWS,
        comment_interval=FORUM_COMMENT_INTERVAL,
    )
)
register(
    Target(
        name="eaforum",
        kind="forummagnum",
        label="EA Forum",
        url_key="graphql_url",
        url="https://forum.effectivealtruism.org/graphql",
        credential="EAFORUM_TOKEN",
        credential_doc=_FORUM_TOKEN,
        shows=_FORUM_SHOWS,
        comment_interval=FORUM_COMMENT_INTERVAL,
    )
)
