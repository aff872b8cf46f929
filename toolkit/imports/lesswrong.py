"""`toolkit import lesswrong --user NAME`: a writer's posts and quick takes on a
ForumMagnum forum, through its public GraphQL API (no login: only what anyone can read).

The user is found by slug (`GetUserBySlug`); posts come from the `userPosts` view and
quick takes from the `profileComments` view with `shortform: true`, a page at a time.
Each is kept only if that user wrote it, it is not a draft, and (for comments) it is a
top-level quick take, not a reply: the views are the site's, and what they include may
change, so nothing else is trusted to them. The body is the revision's Markdown (the
server keeps one for every post, converted when it was written in another editor);
when there is none, its HTML is converted (`imports.html`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from .. import content, fields
from ..answers import Maybe, UnexpectedAnswer
from ..publish import lesswrong as lwclient
from ..publish.http import Http, ServiceError
from ..targets import Target
from . import html
from .files import ImportProblem, Item

PAGE = 50

USER_BY_SLUG = (
    "query ImportUser($slug: String!) { GetUserBySlug(slug: $slug) { _id slug username "
    "displayName } }"
)
USER_POSTS = (
    "query ImportPosts($userId: String, $limit: Int, $offset: Int) { posts(selector: "
    '{userPosts: {userId: $userId, sortedBy: "new"}}, limit: $limit, offset: $offset) '
    "{ results { _id userId title slug draft shortform postedAt pageUrl url "
    "tags { name slug } contents { markdown html } } } }"
)
USER_QUICK_TAKES = (
    "query ImportQuickTakes($userId: String, $limit: Int, $offset: Int) { comments("
    'selector: {profileComments: {userId: $userId, shortform: true, sortBy: "new", '
    'drafts: "exclude"}}, limit: $limit, offset: $offset) { results { _id userId postId '
    "parentCommentId shortform draft postedAt pageUrl contents { markdown html } } } }"
)
OPERATIONS = (USER_BY_SLUG, USER_POSTS, USER_QUICK_TAKES)


# What we read of each answer; anything else is "<forum> answered something unexpected".
_USER = {"_id": str}
_PAGE = Maybe({"results": Maybe(list)})
_ITEM = {
    "_id": str,
    "postedAt": str,
    "title": Maybe(str),
    "slug": Maybe(str),
    "pageUrl": Maybe(str),
    "url": Maybe(str),  # a link post's page
    "tags": Maybe([{"name": Maybe(str)}]),
    "contents": Maybe({"markdown": Maybe(str), "html": Maybe(str)}),
}


def _markdown(document: dict) -> str:
    contents = document.get("contents") or {}
    markdown = contents.get("markdown")
    if isinstance(markdown, str) and markdown.strip():
        return markdown.strip("\n") + "\n"
    markup = contents.get("html") or document.get("htmlBody") or ""
    return html.to_markdown(markup) if markup.strip() else ""


class Reader:
    """The forum's public read API: no login token is sent, so drafts never come back."""

    def __init__(self, target: Target, graphql_url: str):
        self.target = target
        self.client = lwclient.Forum(graphql_url, "", Http(target.label), target.label)
        self.client.cookies = {}  # read as anyone would

    def expect(self, value: Any, shape: Any, what: str) -> Any:
        return lwclient._expect(value, shape, what, self.target.label)

    def posted(self, item: dict, what: str) -> dt.datetime:
        moment = fields.to_datetime(item["postedAt"])
        if moment is None:
            unexpected = UnexpectedAnswer(self.target.label, f"{what}.postedAt is not a date")
            raise ServiceError(str(unexpected))
        return moment

    def query(self, name: str, query: str, variables: dict) -> dict:
        return self.client.call(
            {"operationName": name, "query": query, "variables": variables}, retry=True
        )

    def user(self, slug: str) -> dict:
        user = self.query("ImportUser", USER_BY_SLUG, {"slug": slug}).get("GetUserBySlug")
        if not user:
            raise ImportProblem(
                f"{self.target.label} has no user `{slug}`; give the name in their profile's "
                "address (/users/NAME)",
                usage=True,
            )
        return self.expect(user, _USER, "GetUserBySlug")

    def pages(self, name: str, query: str, field: str, user_id: str) -> Iterator[dict]:
        offset = 0
        while True:
            data = self.query(name, query, {"userId": user_id, "limit": PAGE, "offset": offset})
            results = (self.expect(data.get(field), _PAGE, field) or {}).get("results") or []
            for i, result in enumerate(results):
                yield self.expect(result, _ITEM, f"{field}.results[{i}]")
            if len(results) < PAGE:
                return
            offset += PAGE


def items(target: Target, graphql_url: str, user_slug: str, since: dt.datetime | None):
    """Every published post and quick take of the user, oldest first."""
    reader = Reader(target, graphql_url)
    user = reader.user(user_slug)
    uid = user["_id"]
    found: list[Item] = []
    for post in reader.pages("ImportPosts", USER_POSTS, "posts", uid):
        if post.get("userId") != uid or post.get("draft") is not False or post.get("shortform"):
            continue
        if not post.get("title"):
            continue  # a post always has one; nothing to name the file by otherwise
        posted = reader.posted(post, "posts")
        if since and posted < since:
            continue
        markdown = _markdown(post)
        found.append(
            Item(
                remote_id=post["_id"],
                slug=post.get("slug") or post["title"],
                title=post["title"],
                date=posted,
                kind="post",
                body=markdown,
                url=post.get("pageUrl") or "",
                link=post.get("url") if fields.is_http_url(post.get("url") or "") else None,
                tags=tuple(t["name"] for t in post.get("tags") or [] if t.get("name")),
                remote={"content_hash": lwclient.content_hash(_stored(post), post["title"])},
            )
        )
    for comment in reader.pages("ImportQuickTakes", USER_QUICK_TAKES, "comments", uid):
        if (
            comment.get("userId") != uid
            or comment.get("draft") is not False
            or not comment.get("shortform")
            or comment.get("parentCommentId")
        ):
            continue
        posted = reader.posted(comment, "comments")
        if since and posted < since:
            continue
        markdown = _markdown(comment)
        # Untitled, as on the forum: the file is named, and the post titled where a
        # title is shown, by its opening words (content.opening_words, at load).
        found.append(
            Item(
                remote_id=comment["_id"],
                slug=f"{posted:%Y-%m-%d}-{content.opening_words(markdown)}",
                title=None,
                date=posted,
                kind="shortform",
                body=markdown,
                url=comment.get("pageUrl") or "",
                remote={"content_hash": lwclient.content_hash(_stored(comment), None)},
            )
        )
    found.sort(key=lambda item: item.date)
    return found


def _stored(document: dict) -> str | None:
    """The Markdown the forum holds, as `publish` reads it back to notice remote edits."""
    return (document.get("contents") or {}).get("markdown")
