"""A ForumMagnum forum's GraphQL API (LessWrong, the EA Forum...): draft posts and draft
quick takes. Nothing else. Every such forum runs the same software; `label` and
`credential` only change what messages say.

The login token goes in the `loginToken` cookie, the only credential `/graphql` reads.
GraphQL errors arrive with HTTP 200, so every answer's `errors` is read. Creates always
send `draft: true` (the server's default is to publish); updates never send `draft`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from typing import Any

from .. import fields
from ..answers import Maybe, UnexpectedAnswer, expect, parse_json
from ..diagnostics import printable
from .http import Http, ServiceError, bot_wall_error

ENV = "LESSWRONG_TOKEN"
SERVICE = "LessWrong"

# The shapes of what we read from the answers (other fields pass unchecked).
_ANSWER = {"errors": Maybe([(dict, str)]), "data": Maybe(dict)}
_USER = {"_id": str, "shortformFeedId": Maybe(str)}
_DOCUMENT = {
    "_id": str,
    "title": Maybe(str),
    "draft": Maybe(bool),
    "pageUrl": Maybe(str),
    "contents": Maybe({"markdown": Maybe(str)}),
}


def _expect(value: Any, shape: Any, what: str, service: str = SERVICE) -> Any:
    """`value` when it has `shape`, else the ServiceError that names the forum."""
    try:
        return expect(value, shape, service, what)
    except UnexpectedAnswer as e:
        raise ServiceError(str(e)) from None


def _document(value: Any, what: str, service: str = SERVICE) -> Any:
    """A post or comment as we read it: its id, and a pageUrl (when it has one) that is a
    link, since it is recorded in published.yaml and shown."""
    document = _expect(value, _DOCUMENT, what, service)
    url = document.get("pageUrl")
    if url and not fields.is_http_url(url):
        raise ServiceError(str(UnexpectedAnswer(service, f"{what}.pageUrl is not a link")))
    return document


CURRENT_USER = "query CurrentUser { currentUser { _id username displayName slug shortformFeedId } }"
GET_POST = (
    "query GetDraft($id: String) { post(selector: {_id: $id}) { result { _id title "
    "draft pageUrl modifiedAt contents { version markdown } } } }"
)
GET_COMMENT = (
    "query GetQuickTake($id: String) { comment(selector: {_id: $id}) { result { "
    "_id draft pageUrl contents { version markdown } } } }"
)
THREAD_OF = (
    "query ReplyParent($id: String) { comment(selector: {_id: $id}) { result { _id postId } } }"
)
DRAFT_POSTS = (
    "query DraftPosts($userId: String) { posts(selector: {drafts: {userId: $userId}},"
    " limit: 50) { results { _id title draft pageUrl modifiedAt createdAt contents "
    "{ version markdown } } } }"
)
DRAFT_COMMENTS = (
    "query DraftQuickTakes($postId: String) { comments(selector: {draftComments: "
    "{postId: $postId}}, limit: 50) { results { _id draft pageUrl createdAt "
    "contents { version markdown } } } }"
)


class RateLimited(ServiceError):
    """The forum refused a comment (a quick take) for its rate limit; `wait` is how many
    seconds it asked us to wait, when it said."""

    def __init__(self, message: str, wait: float | None):
        super().__init__(message, fatal=True)
        self.wait = wait


# `Rate limit: You cannot comment for <moment fromNow> (until <JavaScript Date>)`
_RATE_LIMIT = re.compile(
    r"Rate limit: You cannot comment for (?P<span>[^(]*?)\s*(?:\(until (?P<until>.*)\))?\s*$"
)
_JS_DATE = re.compile(
    r"\w{3} (?P<month>\w{3}) (?P<day>\d{1,2}) (?P<year>\d{4}) "
    r"(?P<time>\d{2}:\d{2}:\d{2}) GMT(?P<offset>[+-]\d{4})"
)
_SPAN = re.compile(r"(?:in )?(?P<n>\d+|an?|a few) (?P<unit>second|minute|hour|day)s?")
_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def comment_wait(message: str, now: float | None = None) -> float | None:
    """Seconds a comment rate-limit message asks us to wait (None: not one, or unreadable).
    The `until` date wins (it is exact to the second); else the human span ("8 seconds",
    "a minute"). `now` is the wall clock in seconds since the epoch."""
    m = _RATE_LIMIT.search(message)
    if m is None:
        return None
    date = _JS_DATE.search(m.group("until") or "")
    if date is not None:
        with_offset = (
            f"{date['day']} {date['month']} {date['year']} {date['time']} {date['offset']}"
        )
        try:
            until = dt.datetime.strptime(with_offset, "%d %b %Y %H:%M:%S %z")
        except ValueError:
            until = None
        if until is not None:
            return max(0.0, until.timestamp() - (time.time() if now is None else now))
    span = _SPAN.search(m.group("span"))
    if span is None:
        return None
    n = span["n"]
    count = 10 if n == "a few" else 1 if n in ("a", "an") else int(n)
    return float(count * _UNIT[span["unit"]])


_COMMENT_URL = re.compile(
    r"^https?://[^/?#]+/posts/(?P<post>[A-Za-z0-9]+)(?:/[^?#]*)?\?(?:[^#]*&)?"
    r"commentId=(?P<comment>[A-Za-z0-9]+)"
)
_ID = re.compile(r"^[A-Za-z0-9]{8,32}$")


def parse_comment_ref(value: str) -> tuple[str | None, str] | None:
    """A forum comment named by its URL (`…/posts/<postId>/<slug>?commentId=<id>`: the
    thread's post id and the comment id) or by its bare id (post id unknown: None)."""
    value = value.strip()
    m = _COMMENT_URL.match(value)
    if m:
        return m["post"], m["comment"]
    return (None, value) if _ID.match(value) else None


def content_hash(markdown: str | None, title: str | None = None) -> str:
    """A fingerprint of what a draft says, to notice edits made on the site."""
    return hashlib.sha256(f"{title or ''}\0{markdown or ''}".encode()).hexdigest()


class Forum:
    def __init__(
        self,
        graphql_url: str,
        token: str,
        http: Http | None = None,
        label: str = "LessWrong",
        credential: str = ENV,
    ):
        self.url = graphql_url
        self.label, self.credential = label, credential
        self.http = http or Http(label)
        self.cookies = {"loginToken": token}

    def call(self, request: dict, *, retry: bool) -> dict[str, Any]:
        """Send one GraphQL request; its `data`, or a ServiceError naming the server's error."""
        response = self.http.send(
            "POST",
            self.url,
            retry=retry,
            json=request,
            cookies=self.cookies,
            headers={"Accept": "application/json"},
        )
        try:
            payload = parse_json(response.content, self.label)
        except UnexpectedAnswer:
            if response.status_code == 403:  # an HTML refusal: the edge, not the API
                raise bot_wall_error(self.label) from None
            raise ServiceError(
                f"{self.label} answered with something that is not JSON "
                f"({response.status_code}); try again later"
            ) from None
        payload = _expect(payload, _ANSWER, "the answer", self.label)
        errors = payload.get("errors")
        if errors:
            # The server's words go to the terminal: shown escaped, like any diagnostic.
            message = printable(
                "; ".join(str(e.get("message", e)) if isinstance(e, dict) else e for e in errors)[
                    :300
                ]
            )
            if "operation_not_allowed" in message:
                raise ServiceError(
                    f"{self.label} refused: not allowed with this login token "
                    f"(app.operation_not_allowed); check ${self.credential}",
                    fatal=True,
                )
            if "Rate limit: You cannot comment" in message:
                raise RateLimited(f"{self.label}: {message}", comment_wait(message))
            raise ServiceError(f"{self.label}: {message}")
        if response.status_code >= 400:
            raise ServiceError(f"{self.label} rejected the request ({response.status_code})")
        return payload.get("data") or {}

    def current_user(self) -> dict[str, Any]:
        data = self.call(
            {"operationName": "CurrentUser", "query": CURRENT_USER, "variables": {}}, retry=True
        )
        user = _expect(data.get("currentUser"), Maybe(_USER), "currentUser", self.label)
        if not user:
            raise ServiceError(
                f"{self.label} does not recognise ${self.credential} (logged out, or not a "
                "loginToken); copy the loginToken cookie from a signed-in "
                "browser",
                fatal=True,
            )
        return user

    def mutate(self, request: dict, *, creates: bool) -> dict[str, Any]:
        """Run a create or update request (see render.lesswrong.request); the document."""
        data = self.call(request, retry=not creates)
        if len(data) > 1:
            raise ServiceError(str(UnexpectedAnswer(self.label, "more than one result")))
        (result,) = data.values() if data else (None,)
        document = _expect(result, Maybe({"data": Maybe(dict)}), "the result", self.label)
        if not document or not document.get("data"):
            raise ServiceError(f"{self.label} answered without the draft; check the site")
        return _document(document["data"], "the draft", self.label)

    def get_post(self, post_id: str) -> dict | None:
        data = self.call(
            {"operationName": "GetDraft", "query": GET_POST, "variables": {"id": post_id}},
            retry=True,
        )
        found = _expect(data.get("post"), Maybe({"result": Maybe(dict)}), "post", self.label)
        result = (found or {}).get("result")
        return None if result is None else _document(result, "post.result", self.label)

    def get_quick_take(self, comment_id: str) -> dict | None:
        data = self.call(
            {
                "operationName": "GetQuickTake",
                "query": GET_COMMENT,
                "variables": {"id": comment_id},
            },
            retry=True,
        )
        found = _expect(data.get("comment"), Maybe({"result": Maybe(dict)}), "comment", self.label)
        result = (found or {}).get("result")
        return None if result is None else _document(result, "comment.result", self.label)

    def thread_of(self, comment_id: str) -> str | None:
        """The post whose thread holds the comment `comment_id` (None: no such comment)."""
        data = self.call(
            {
                "operationName": "ReplyParent",
                "query": THREAD_OF,
                "variables": {"id": comment_id},
            },
            retry=True,
        )
        return ((data.get("comment") or {}).get("result") or {}).get("postId")

    def draft_posts(self, user_id: str) -> list[dict]:
        data = self.call(
            {"operationName": "DraftPosts", "query": DRAFT_POSTS, "variables": {"userId": user_id}},
            retry=True,
        )
        found = _expect(data.get("posts"), Maybe({"results": Maybe(list)}), "posts", self.label)
        results = (found or {}).get("results") or []
        return [_document(d, f"posts.results[{i}]", self.label) for i, d in enumerate(results)]

    def draft_quick_takes(self, feed_id: str | None) -> list[dict]:
        if not feed_id:
            return []
        data = self.call(
            {
                "operationName": "DraftQuickTakes",
                "query": DRAFT_COMMENTS,
                "variables": {"postId": feed_id},
            },
            retry=True,
        )
        found = _expect(
            data.get("comments"), Maybe({"results": Maybe(list)}), "comments", self.label
        )
        results = (found or {}).get("results") or []
        return [_document(d, f"comments.results[{i}]", self.label) for i, d in enumerate(results)]
