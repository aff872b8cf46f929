"""LessWrong's GraphQL API (ForumMagnum): draft posts and draft quick takes. Nothing else.

The login token goes in the `loginToken` cookie, the only credential `/graphql` reads.
GraphQL errors arrive with HTTP 200, so every answer's `errors` is read. Creates always
send `draft: true` (the server's default is to publish); updates never send `draft`.
"""

from __future__ import annotations

import hashlib
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


def _expect(value: Any, shape: Any, what: str) -> Any:
    """`value` when it has `shape`, else the ServiceError that names LessWrong."""
    try:
        return expect(value, shape, SERVICE, what)
    except UnexpectedAnswer as e:
        raise ServiceError(str(e)) from None


def _document(value: Any, what: str) -> Any:
    """A post or comment as we read it: its id, and a pageUrl (when it has one) that is a
    link, since it is recorded in published.yaml and shown."""
    document = _expect(value, _DOCUMENT, what)
    url = document.get("pageUrl")
    if url and not fields.is_http_url(url):
        raise ServiceError(str(UnexpectedAnswer(SERVICE, f"{what}.pageUrl is not a link")))
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


def content_hash(markdown: str | None, title: str | None = None) -> str:
    """A fingerprint of what a draft says, to notice edits made on the site."""
    return hashlib.sha256(f"{title or ''}\0{markdown or ''}".encode()).hexdigest()


class LessWrong:
    def __init__(self, graphql_url: str, token: str, http: Http | None = None):
        self.url = graphql_url
        self.http = http or Http("LessWrong")
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
            payload = parse_json(response.content, SERVICE)
        except UnexpectedAnswer:
            if response.status_code == 403:  # an HTML refusal: the edge, not the API
                raise bot_wall_error("LessWrong") from None
            raise ServiceError(
                f"LessWrong answered with something that is not JSON "
                f"({response.status_code}); try again later"
            ) from None
        payload = _expect(payload, _ANSWER, "the answer")
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
                    "LessWrong refused: not allowed with this login token "
                    f"(app.operation_not_allowed); check ${ENV}",
                    fatal=True,
                )
            raise ServiceError(f"LessWrong: {message}")
        if response.status_code >= 400:
            raise ServiceError(f"LessWrong rejected the request ({response.status_code})")
        return payload.get("data") or {}

    def current_user(self) -> dict[str, Any]:
        data = self.call(
            {"operationName": "CurrentUser", "query": CURRENT_USER, "variables": {}}, retry=True
        )
        user = _expect(data.get("currentUser"), Maybe(_USER), "currentUser")
        if not user:
            raise ServiceError(
                f"LessWrong does not recognise ${ENV} (logged out, or not a "
                "loginToken); copy the loginToken cookie from a signed-in "
                "browser",
                fatal=True,
            )
        return user

    def mutate(self, request: dict, *, creates: bool) -> dict[str, Any]:
        """Run a create or update request (see render.lesswrong.request); the document."""
        data = self.call(request, retry=not creates)
        if len(data) > 1:
            raise ServiceError(str(UnexpectedAnswer(SERVICE, "more than one result")))
        (result,) = data.values() if data else (None,)
        document = _expect(result, Maybe({"data": Maybe(dict)}), "the result")
        if not document or not document.get("data"):
            raise ServiceError("LessWrong answered without the draft; check the site")
        return _document(document["data"], "the draft")

    def get_post(self, post_id: str) -> dict | None:
        data = self.call(
            {"operationName": "GetDraft", "query": GET_POST, "variables": {"id": post_id}},
            retry=True,
        )
        found = _expect(data.get("post"), Maybe({"result": Maybe(dict)}), "post")
        result = (found or {}).get("result")
        return None if result is None else _document(result, "post.result")

    def get_quick_take(self, comment_id: str) -> dict | None:
        data = self.call(
            {
                "operationName": "GetQuickTake",
                "query": GET_COMMENT,
                "variables": {"id": comment_id},
            },
            retry=True,
        )
        found = _expect(data.get("comment"), Maybe({"result": Maybe(dict)}), "comment")
        result = (found or {}).get("result")
        return None if result is None else _document(result, "comment.result")

    def draft_posts(self, user_id: str) -> list[dict]:
        data = self.call(
            {"operationName": "DraftPosts", "query": DRAFT_POSTS, "variables": {"userId": user_id}},
            retry=True,
        )
        found = _expect(data.get("posts"), Maybe({"results": Maybe(list)}), "posts")
        results = (found or {}).get("results") or []
        return [_document(d, f"posts.results[{i}]") for i, d in enumerate(results)]

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
        found = _expect(data.get("comments"), Maybe({"results": Maybe(list)}), "comments")
        results = (found or {}).get("results") or []
        return [_document(d, f"comments.results[{i}]") for i, d in enumerate(results)]
