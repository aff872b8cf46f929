"""A stand-in for LessWrong's (ForumMagnum's) GraphQL endpoint, as
/work/shared/reference/lesswrong-api.md describes it.

Why: the toolkit must create DRAFT posts and quick takes and never publish. This server runs
real GraphQL (graphql-core) on a small schema whose type and field names match the real
generated schema, answers with Apollo Server 4's HTTP and error conventions, and records
anything that got published (`published_posts`, `published_comments`) so tests can assert
that nothing ever was. Faults the reference warns about are scriptable: logged-out tokens,
the Vercel edge challenge (HTTP 429), the 8-second comment rate limit, validation errors.

The schema here is ours and deliberately small (SCHEMA_SDL); tests check that every name
in it exists in the real schema with the same type.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import unquote

from graphql import (
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationType,
    build_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

from .base import Hold, RecordedRequest, Response, StandInServer, json_response

SCHEMA_SDL = """
scalar JSON
scalar Date
scalar ContentTypeData

enum PostCategory { post linkpost question }

type Query {
  currentUser: User
  post(selector: SelectorInput, allowNull: Boolean): SinglePostOutput
  posts(selector: PostSelector, limit: Int, offset: Int, enableTotal: Boolean): MultiPostOutput
  comment(selector: SelectorInput, allowNull: Boolean): SingleCommentOutput
  comments(selector: CommentSelector, limit: Int, offset: Int, enableTotal: Boolean):
    MultiCommentOutput
  GetUserBySlug(slug: String!): User
}

type Mutation {
  createPost(data: CreatePostDataInput!): PostOutput
  updatePost(selector: SelectorInput!, data: UpdatePostDataInput!): PostOutput
  createComment(data: CreateCommentDataInput!): CommentOutput
  updateComment(selector: SelectorInput!, data: UpdateCommentDataInput!): CommentOutput
}

input SelectorInput { _id: String documentId: String }
input PostSelector { drafts: PostsDraftsInput userPosts: PostsUserPostsInput }
input PostsUserPostsInput { userId: String sortedBy: String }
input PostsDraftsInput {
  userId: String includeShared: Boolean includeArchived: Boolean sortDraftsBy: String
}
input CommentSelector {
  draftComments: CommentsDraftCommentsInput profileComments: CommentsProfileCommentsInput
}
input CommentsProfileCommentsInput {
  userId: String shortform: Boolean sortBy: String drafts: String
}
input CommentsDraftCommentsInput { userId: String postId: String }

input ContentTypeInput { type: String! data: ContentTypeData! }
input CreateRevisionDataInput {
  originalContents: ContentTypeInput!
  commitMessage: String
  updateType: String
}

input CreatePostDataInput {
  title: String! contents: CreateRevisionDataInput draft: Boolean url: String
  postCategory: PostCategory submitToFrontpage: Boolean tagRelevance: JSON
  shareWithUsers: [String!] sharingSettings: JSON moderationStyle: String
  hasCoauthorPermission: Boolean
  slug: String userId: String postedAt: Date status: Float shortform: Boolean
  unlisted: Boolean hideAuthor: Boolean question: Boolean af: Boolean afDate: Date
  coauthorUserIds: [String!]
}
input UpdatePostDataInput {
  title: String contents: CreateRevisionDataInput draft: Boolean url: String
  postCategory: PostCategory submitToFrontpage: Boolean tagRelevance: JSON
  shareWithUsers: [String!] sharingSettings: JSON moderationStyle: String
  hasCoauthorPermission: Boolean deletedDraft: Boolean
  slug: String userId: String postedAt: Date status: Float shortform: Boolean
  unlisted: Boolean hideAuthor: Boolean question: Boolean af: Boolean afDate: Date
  coauthorUserIds: [String!] linkSharingKey: String
}
input CreateCommentDataInput {
  contents: CreateRevisionDataInput postId: String parentCommentId: String
  shortform: Boolean shortformFrontpage: Boolean draft: Boolean relevantTagIds: [String!]
  retracted: Boolean hideKarma: Boolean title: String
  userId: String af: Boolean deleted: Boolean
}
input UpdateCommentDataInput {
  contents: CreateRevisionDataInput shortformFrontpage: Boolean draft: Boolean
  relevantTagIds: [String!] retracted: Boolean hideKarma: Boolean title: String
  postedAt: Date af: Boolean deleted: Boolean
}

type User {
  _id: String! username: String displayName: String! slug: String!
  shortformFeedId: String karma: Float!
}
type ContentType { type: String! data: ContentTypeData! }
type Revision {
  _id: String! version: String! editedAt: Date! updateType: String commitMessage: String
  userId: String draft: Boolean originalContents: ContentType! html: String markdown: String
  wordCount: Float! hasFootnotes: Boolean
}
type Post {
  _id: String! userId: String title: String! slug: String! draft: Boolean url: String
  postCategory: PostCategory! shortform: Boolean! pageUrl: String! linkSharingKey: String
  createdAt: Date postedAt: Date! modifiedAt: Date deletedDraft: Boolean!
  contents(version: String): Revision tags: [Tag!]!
}
type Tag { _id: String! name: String! slug: String! }
type Comment {
  _id: String! userId: String postId: String parentCommentId: String shortform: Boolean
  shortformFrontpage: Boolean! draft: Boolean! pageUrl: String postedAt: Date!
  createdAt: Date contents(version: String): Revision
}
type PostOutput { data: Post }
type CommentOutput { data: Comment }
type SinglePostOutput { result: Post }
type MultiPostOutput { results: [Post!]! totalCount: Int }
type SingleCommentOutput { result: Comment }
type MultiCommentOutput { results: [Comment!]! totalCount: Int }
"""

# Fields an ordinary member may not set (reference 2.2 and 3): sending one fails the mutation.
POST_CREATE_DISALLOWED = {
    "slug",
    "userId",
    "postedAt",
    "status",
    "shortform",
    "unlisted",
    "hideAuthor",
    "question",
    "af",
    "afDate",
    "coauthorUserIds",
}
POST_UPDATE_DISALLOWED = POST_CREATE_DISALLOWED | {"linkSharingKey"}
COMMENT_CREATE_DISALLOWED = {"userId", "af", "deleted"}
COMMENT_UPDATE_DISALLOWED = {"postedAt", "af", "deleted"}
CONTENT_TYPES = ("html", "lexical", "ckEditorMarkup", "draftJS", "markdown")
ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"  # Meteor's Random.id

VERCEL_CHALLENGE_HTML = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    "<title>Vercel Security Checkpoint</title></head><body>"
    "<h1>Vercel Security Checkpoint</h1><p>We're verifying your browser.</p></body></html>"
)
VERCEL_CHALLENGE = {
    "status": 429,
    "headers": {"Content-Type": "text/html; charset=utf-8", "x-vercel-mitigated": "challenge"},
    "body": VERCEL_CHALLENGE_HTML,
}
"""Keyword arguments for `server.fail_next(**VERCEL_CHALLENGE)`: one edge-challenge answer."""


def random_id(length: int = 17) -> str:
    """A ForumMagnum-style document id (17 chars from Meteor's unmistakable alphabet)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def slugify(title: str) -> str:
    """Roughly ForumMagnum's slugify: lower-case words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "untitled"


def iso(moment: dt.datetime) -> str:
    """Dates as the real API serialises them: ISO 8601 UTC with milliseconds and Z."""
    return (
        moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def js_date_string(moment: dt.datetime) -> str:
    """How `${date}` prints in JavaScript on a UTC server (used in rate-limit messages)."""
    utc = moment.astimezone(dt.timezone.utc)
    return utc.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


# ---------------------------------------------------------------------------------------
# Content conversion (reference 2.5, 4.1)


def _markdown_renderer() -> MarkdownIt:
    """markdown-it with raw HTML off and footnotes rendered with LessWrong's markup (4.1)."""
    md = MarkdownIt("js-default", {"html": False})
    md.use(footnote_plugin).use(sub_plugin).use(superscript_plugin)

    def ident(tokens: Any, idx: int, env: Any) -> tuple[str, str]:
        n = str(tokens[idx].meta["id"] + 1)
        return f"-{env['docId']}-{n}", n

    def ref(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        fid, n = ident(tokens, idx, env)
        return (
            f'<span data-footnote-reference="" data-footnote-index="{n}" '
            f'data-footnote-id="{fid}" role="doc-noteref" id="fnref{fid}" '
            f'class="footnote-reference"><sup><a href="#fn{fid}" class="">[{n}]</a></sup>'
            "</span>"
        )

    def block_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return (
            '<ol data-footnote-section="" role="doc-endnotes" class="footnote-section footnotes">'
        )

    def block_close(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        return "</ol>\n"

    def item_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        fid, n = ident(tokens, idx, env)
        return (
            f'<li data-footnote-item="" data-footnote-index="{n}" data-footnote-id="{fid}" '
            f'id="fn{fid}" role="doc-endnote" class="footnote-item">'
        )

    def backref(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        fid, _ = ident(tokens, idx, env)
        return f' <a href="#fnref{fid}" class="footnote-backref">\u21a9\ufe0e</a>'

    md.add_render_rule("footnote_ref", ref)
    md.add_render_rule("footnote_block_open", block_open)
    md.add_render_rule("footnote_block_close", block_close)
    md.add_render_rule("footnote_open", item_open)
    md.add_render_rule("footnote_anchor", backref)
    return md


_MARKDOWN = _markdown_renderer()


def to_html(content_type: str, data: Any) -> str:
    """Stored HTML for originalContents, as `dataToHTML` would make it (approximately).

    Markdown is rendered for real; HTML types are stored as sent (the real server sanitizes
    them, which is not modelled); draftJS is reduced to its blocks' text.
    """
    if content_type not in CONTENT_TYPES:
        raise GraphQLError(f"Unrecognized format: {content_type}")
    if content_type == "draftJS":
        blocks = data.get("blocks", []) if isinstance(data, dict) else []
        return "".join(f"<p>{html.escape(str(b.get('text', '')))}</p>" for b in blocks)
    if not isinstance(data, str):
        raise GraphQLError(f"Content of type {content_type} must be a string")
    if content_type == "markdown":
        return _MARKDOWN.render(data, {"docId": random_id()})
    return data


def html_text(markup: str) -> str:
    """Visible text of some HTML (for word counts and a crude markdown of HTML revisions)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def word_count(markup: str) -> int:
    """Words of the text, leaving out footnote markers ("[1]") and back links."""
    markup = re.sub(r"<span[^>]*footnote-reference.*?</span>", "", markup, flags=re.S)
    markup = re.sub(r"<a[^>]*footnote-backref.*?</a>", "", markup, flags=re.S)
    return len(html_text(markup).split())


def has_footnotes(markup: str) -> bool:
    """`htmlContainsFootnotes`: an element with class footnote-reference (reference 2.3)."""
    return re.search(r"class=\"[^\"]*\bfootnote-reference\b", markup) is not None


# ---------------------------------------------------------------------------------------
# The server


class LessWrongServer(StandInServer):
    """Stand-in for `POST {site}/graphql` (also GET for queries).

    Attributes tests use:
      user: the primary user (dict with the User fields); token: its login token.
      users: {_id: user}; posts: {_id: post}; comments: {_id: comment} (internal records).
      published_posts / published_comments: ids of documents that became non-draft through
        the API (created without `draft: true`, or updated with `draft: false`).
      anything_published: True if either list is non-empty.
      vercel_challenge: when True, every request gets the 429 Vercel Security Checkpoint.
      comment_rate_limit_seconds: the per-user createComment window (8; 0 turns it off).
      comment_rate_limit_counts_drafts: False as on the real site (only published comments
        start the window); set True to trip the limit with draft quick takes.
      site_url: used in pageUrl; defaults to this server's own url.
    """

    def __init__(
        self,
        token: str = "0123456789abcdef" * 4,
        *,
        username: str = "test-writer",
        display_name: str = "Test Writer",
        karma: float = 100.0,
        shortform_feed_id: str | None = None,
        site_url: str | None = None,
        vercel_challenge: bool = False,
        comment_rate_limit_seconds: float = 8.0,
        comment_rate_limit_counts_drafts: bool = False,
    ) -> None:
        super().__init__()
        self.schema: GraphQLSchema = build_schema(SCHEMA_SDL)
        self._bind_resolvers()
        self.users: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, str] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.published_posts: list[str] = []
        self.published_comments: list[str] = []
        self.vercel_challenge = vercel_challenge
        self.comment_rate_limit_seconds = comment_rate_limit_seconds
        self.comment_rate_limit_counts_drafts = comment_rate_limit_counts_drafts
        self._site_url = site_url
        self._last_comment: dict[str, dt.datetime] = {}
        self._operation_faults: dict[str, tuple[str, Any]] = {}
        self._last_time = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        self.token = token
        self.user = self.add_user(token, username=username, display_name=display_name, karma=karma)
        if shortform_feed_id is not None:
            self._create_shortform_post(self.user, shortform_feed_id)

    # -- test helpers ------------------------------------------------------------------

    @staticmethod
    def _operation_fields(payload: dict[str, Any]) -> list[str]:
        """The top-level fields an operation asks for (to shape a scripted error)."""
        try:
            document = parse(payload.get("query") or "")
        except GraphQLError:
            return []
        operation = get_operation_ast(document, payload.get("operationName"))
        if operation is None:
            return []
        return [
            sel.name.value for sel in operation.selection_set.selections if hasattr(sel, "name")
        ]

    @property
    def site_url(self) -> str:
        return self._site_url or self.url

    @property
    def graphql_url(self) -> str:
        return self.url + "/graphql"

    @property
    def anything_published(self) -> bool:
        return bool(self.published_posts or self.published_comments)

    def add_user(
        self, token: str, *, username: str, display_name: str | None = None, karma: float = 100.0
    ) -> dict[str, Any]:
        """Register another account (e.g. to test that only the owner may edit)."""
        with self.lock:
            user = {
                "_id": random_id(),
                "username": username,
                "displayName": display_name or username,
                "slug": slugify(username),
                "shortformFeedId": None,
                "karma": karma,
            }
            self.users[user["_id"]] = user
            self._tokens[token] = user["_id"]
            return user

    def edit_post(
        self,
        post_id: str,
        *,
        markdown: str | None = None,
        html: str | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Simulate an edit made on the site: new revision (markdown, or `lexical` HTML)
        and/or title; bumps modifiedAt."""
        with self.lock:
            post = self.posts[post_id]
            if markdown is not None or html is not None:
                kind, data = ("markdown", markdown) if markdown is not None else ("lexical", html)
                post["revisions"].append(
                    self._revision(
                        kind,
                        data,
                        previous=post["revisions"][-1] if post["revisions"] else None,
                        update_type="minor",
                        draft=post["draft"],
                        user_id=post["userId"],
                        commit_message=None,
                    )
                )
            if title is not None:
                post["title"] = title
            post["modifiedAt"] = self._now()
            return post

    def edit_comment(self, comment_id: str, *, markdown: str) -> dict[str, Any]:
        """Simulate an edit of a quick take made on the site."""
        with self.lock:
            comment = self.comments[comment_id]
            comment["revisions"].append(
                self._revision(
                    "markdown",
                    markdown,
                    previous=comment["revisions"][-1],
                    update_type="minor",
                    draft=comment["draft"],
                    user_id=comment["userId"],
                    commit_message=None,
                )
            )
            return comment

    def latest(self, post_or_comment_id: str) -> dict[str, Any]:
        """The latest revision of a post or comment (html, markdown, version, ...)."""
        with self.lock:
            doc = self.posts.get(post_or_comment_id) or self.comments[post_or_comment_id]
            return doc["revisions"][-1]

    def seed_post(
        self,
        user: dict[str, Any],
        title: str,
        *,
        markdown: str | None = None,
        html: str | None = None,
        posted_at: dt.datetime,
        draft: bool = False,
        tags: tuple[str, ...] = (),
        coauthors: tuple[str, ...] = (),
        url: str | None = None,
    ) -> dict[str, Any]:
        """A post written on the site in the past (published unless `draft`). With `html`
        and no `markdown`, its revision has HTML only (the importer must convert it).
        With `url`, a link post about that page."""
        with self.lock:
            when = iso(posted_at)
            post: dict[str, Any] = {
                "_id": random_id(),
                "userId": user["_id"],
                "title": title,
                "slug": self._unused_slug(slugify(title)),
                "draft": draft,
                "url": url,
                "postCategory": "linkpost" if url else "post",
                "shortform": False,
                "linkSharingKey": random_id(),
                "createdAt": when,
                "postedAt": when,
                "modifiedAt": when,
                "deletedDraft": False,
                "coauthorUserIds": list(coauthors),
                "tags": [{"_id": random_id(), "name": t, "slug": slugify(t)} for t in tags],
                "revisions": [self._seed_revision(markdown, html, user, draft)],
            }
            self.posts[post["_id"]] = post
            return post

    def seed_quick_take(
        self,
        user: dict[str, Any],
        markdown: str,
        *,
        posted_at: dt.datetime,
        draft: bool = False,
        parent: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A quick take (or, with `parent`, a reply in its thread) written in the past."""
        with self.lock:
            feed = (
                self.posts[parent["postId"]]
                if parent
                else self.posts.get(user["shortformFeedId"] or "")
                or self._create_shortform_post(user)
            )
            when = iso(posted_at)
            comment: dict[str, Any] = {
                "_id": random_id(),
                "userId": user["_id"],
                "postId": feed["_id"],
                "parentCommentId": parent["_id"] if parent else None,
                "shortform": feed["shortform"],
                "shortformFrontpage": True,
                "draft": draft,
                "createdAt": when,
                "postedAt": when,
                "revisions": [self._seed_revision(markdown, None, user, draft)],
            }
            self.comments[comment["_id"]] = comment
            return comment

    def _seed_revision(
        self, markdown: str | None, html: str | None, user: dict[str, Any], draft: bool
    ) -> dict[str, Any]:
        kind, data = ("markdown", markdown) if markdown is not None else ("lexical", html)
        revision = self._revision(
            kind,
            data,
            previous=None,
            update_type=None,
            draft=draft,
            user_id=user["_id"],
            commit_message=None,
        )
        if markdown is None:
            revision["markdown"] = None
        return revision

    # -- HTTP --------------------------------------------------------------------------

    def fail_operation(self, name: str, message: str) -> None:
        """Answer the next request for operation `name` with a GraphQL error at HTTP 200,
        as resolver errors arrive, without running it."""
        self._operation_faults[name] = ("fail", message)

    def answer_operation(self, name: str, body: Any) -> None:
        """Answer the next request for operation `name` with `body` (any JSON value) at
        HTTP 200, without running it: a malformed answer where a real one belongs."""
        self._operation_faults[name] = ("answer", body)

    def delay_operation(self, name: str, seconds: float) -> None:
        """Run the next request for operation `name` only after `seconds` (the work
        happens after the wait, so a client that gives up still leaves its effect)."""
        self._operation_faults[name] = ("delay", seconds)

    def hold_operation(self, name: str) -> Hold:
        """Keep the next request for operation `name` waiting until `hold.release()`, then
        run it (its effect happens even if the client is gone by then)."""
        hold = Hold()
        self._operation_faults[name] = ("hold", hold)
        return hold

    def handle(self, request: RecordedRequest) -> Response:
        operation = (
            (request.json or {}).get("operationName") if isinstance(request.json, dict) else None
        )
        fault = self._operation_faults.pop(operation, None) if operation else None
        if fault and fault[0] == "answer":
            return json_response(fault[1])
        if fault and fault[0] == "fail":
            field = next(iter(self._operation_fields(request.json)), None)
            return json_response(
                {
                    "errors": [
                        {
                            "message": fault[1],
                            "path": [field],
                            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                        }
                    ],
                    "data": {field: None} if field else None,
                }
            )
        if fault and fault[0] == "delay":
            time.sleep(fault[1])
        if fault and fault[0] == "hold":
            hold = fault[1]
            if not hold.wait_for_release(self._stopping):
                return Response(503, "stopped")
            try:
                return self.handle(request)  # the fault is used up: this runs it for real
            finally:
                hold.handled.set()
        if self.vercel_challenge:
            return Response(
                VERCEL_CHALLENGE["status"],
                VERCEL_CHALLENGE["body"],
                dict(VERCEL_CHALLENGE["headers"]),
            )
        if request.route != "/graphql":
            return Response(404, "Not found")
        if request.method == "GET":
            query = {k: v[-1] for k, v in request.query.items()}
            try:
                variables = json.loads(query["variables"]) if "variables" in query else None
            except ValueError:
                return _bad_request("`variables` in a GET request must be a JSON object.")
            payload: Any = {
                "query": query.get("query"),
                "variables": variables,
                "operationName": query.get("operationName"),
            }
        elif request.method == "POST":
            if "application/json" not in request.headers.get("Content-Type", "") or (
                not request.json
            ):
                return Response(
                    400, "POST body missing, invalid Content-Type, or JSON object has no keys."
                )
            payload = request.json
        else:
            return Response(405, "Method not allowed", {"Allow": "GET, POST"})
        user = self._user_for(request)
        if isinstance(payload, list):  # allowBatchedHttpRequests: true
            return json_response([self._run(p, user, request.method)[1] for p in payload])
        status, body = self._run(payload, user, request.method)
        return json_response(body, status)

    def _user_for(self, request: RecordedRequest) -> dict[str, Any] | None:
        """`req.cookies.get('loginToken') ?? req.headers.get('loginToken')` (reference 1.2)."""
        token = None
        for part in request.headers.get("Cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name == "loginToken":
                token = unquote(value.strip())
                break
        if token is None:
            token = request.headers.get("loginToken")
        user_id = self._tokens.get(token or "")
        return self.users.get(user_id) if user_id else None

    def _run(
        self, payload: Any, user: dict[str, Any] | None, method: str
    ) -> tuple[int, dict[str, Any]]:
        """One GraphQL operation with Apollo Server 4's status codes (reference 5.1)."""
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("query"), str)
            or not (payload["query"].strip())
        ):
            return 400, _errors_only(
                "GraphQL operations must contain a non-empty `query` or "
                "a `persistedQuery` extension.",
                "BAD_REQUEST",
            )
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return 400, _errors_only(
                "`variables` in a POST body should be provided as an object.", "BAD_REQUEST"
            )
        try:
            document = parse(payload["query"])
        except GraphQLError as error:
            return 400, {"errors": [_format(error, "GRAPHQL_PARSE_FAILED")]}
        problems = validate(self.schema, document)
        if problems:
            return 400, {"errors": [_format(e, "GRAPHQL_VALIDATION_FAILED") for e in problems]}
        operation_name = payload.get("operationName") or None
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f'Unknown operation named "{operation_name}".'
                if operation_name
                else "Must provide operation name if query contains multiple operations."
            )
            return 400, _errors_only(message, "OPERATION_RESOLUTION_FAILURE")
        if method == "GET" and operation.operation != OperationType.QUERY:
            return 405, _errors_only(
                "Can only perform a mutation operation from a POST request.", "BAD_REQUEST"
            )
        result = execute(
            self.schema,
            document,
            context_value={"user": user},
            variable_values=variables,
            operation_name=operation_name,
        )
        assert not hasattr(result, "__await__")
        if result.data is None and result.errors:
            # Variable coercion failed before execution: 200, errors, no data (reference [AS]).
            return 200, {"errors": [_format(e, "BAD_USER_INPUT") for e in result.errors]}
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [_format(e, "INTERNAL_SERVER_ERROR") for e in result.errors]
        body["data"] = result.data
        return 200, body

    def _now(self) -> str:
        """Strictly increasing UTC time as the API prints it, so every edit moves modifiedAt
        forward (ISO strings in one format also sort correctly)."""
        now = dt.datetime.now(dt.timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # printed to the ms
        if now <= self._last_time:
            now = self._last_time + dt.timedelta(milliseconds=1)
        self._last_time = now
        return iso(now)

    # -- schema wiring -----------------------------------------------------------------

    def _bind_resolvers(self) -> None:
        """Attach resolvers to the schema built from SCHEMA_SDL (build_schema leaves none)."""
        resolvers: dict[str, dict[str, Any]] = {
            "Query": {
                "currentUser": self._current_user,
                "post": self._post,
                "posts": self._posts,
                "comment": self._comment,
                "comments": self._comments,
                "GetUserBySlug": self._user_by_slug,
            },
            "Mutation": {
                "createPost": self._create_post,
                "updatePost": self._update_post,
                "createComment": self._create_comment,
                "updateComment": self._update_comment,
            },
            "Post": {
                "tags": lambda post, info: post.get("tags") or [],
                "contents": _resolve_contents,
                "pageUrl": self._resolve_page_url,
                "linkSharingKey": _resolve_link_sharing_key,
            },
            "Comment": {"contents": _resolve_contents, "pageUrl": self._resolve_page_url},
        }
        for type_name, fields in resolvers.items():
            object_type = self.schema.get_type(type_name)
            assert isinstance(object_type, GraphQLObjectType)
            for field_name, resolver in fields.items():
                object_type.fields[field_name].resolve = resolver

    def _resolve_page_url(self, doc: dict[str, Any], info: GraphQLResolveInfo) -> str:
        if "postId" in doc:  # a comment: commentGetPageUrlFromDB
            post = self.posts[doc["postId"]]
            return f"{self.site_url}/posts/{post['_id']}/{post['slug']}?commentId={doc['_id']}"
        return f"{self.site_url}/posts/{doc['_id']}/{doc['slug']}"

    # -- queries -----------------------------------------------------------------------

    def _current_user(self, _root: Any, info: GraphQLResolveInfo) -> dict[str, Any] | None:
        return info.context["user"]

    def _user_by_slug(
        self, _root: Any, info: GraphQLResolveInfo, slug: str
    ) -> dict[str, Any] | None:
        return next((u for u in self.users.values() if u["slug"] == slug), None)

    def _post(
        self,
        _root: Any,
        info: GraphQLResolveInfo,
        selector: dict[str, Any] | None = None,
        allowNull: bool | None = None,
    ) -> dict[str, Any]:
        return {"result": self._single(self.posts, info, selector, allowNull)}

    def _comment(
        self,
        _root: Any,
        info: GraphQLResolveInfo,
        selector: dict[str, Any] | None = None,
        allowNull: bool | None = None,
    ) -> dict[str, Any]:
        return {"result": self._single(self.comments, info, selector, allowNull)}

    def _single(
        self,
        collection: dict[str, dict[str, Any]],
        info: GraphQLResolveInfo,
        selector: dict[str, Any] | None,
        allow_null: bool | None,
    ) -> Any:
        doc = collection.get(_selector_id(selector) or "")
        if doc is None:
            if allow_null:
                return None
            raise GraphQLError("app.missing_document")
        if not _can_view(doc, info.context["user"]):
            raise GraphQLError("app.operation_not_allowed")
        return doc

    def _posts(
        self,
        _root: Any,
        info: GraphQLResolveInfo,
        selector: dict[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        enableTotal: bool | None = None,
    ) -> dict[str, Any]:
        """Only the `drafts` view (own drafts, newest modifiedAt first) and a default list of
        published posts are modelled."""
        user = info.context["user"]
        drafts_view = (selector or {}).get("drafts")
        if drafts_view is not None:
            owner = drafts_view.get("userId")
            found = [
                p
                for p in self.posts.values()
                if p["draft"]
                and not p["deletedDraft"]
                and p["userId"] == owner
                and _can_view(p, user)
            ]
            found.sort(key=lambda p: p["modifiedAt"], reverse=True)
        elif (selector or {}).get("userPosts") is not None:
            # The profile's list: the user's published posts and those they co-wrote.
            uid = selector["userPosts"].get("userId")
            found = [
                p
                for p in self.posts.values()
                if not p["draft"]
                and not p["shortform"]
                and (p["userId"] == uid or uid in p.get("coauthorUserIds", ()))
            ]
            found.sort(key=lambda p: p["postedAt"], reverse=True)
        else:
            found = [p for p in self.posts.values() if not p["draft"] and not p["shortform"]]
            found.sort(key=lambda p: p["postedAt"], reverse=True)
        return _page(found, limit, offset, enableTotal)

    def _comments(
        self,
        _root: Any,
        info: GraphQLResolveInfo,
        selector: dict[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        enableTotal: bool | None = None,
    ) -> dict[str, Any]:
        """Only the `draftComments` view (the current user's drafts, optionally on one post)
        and a default list of published comments are modelled."""
        user = info.context["user"]
        view = (selector or {}).get("draftComments")
        profile = (selector or {}).get("profileComments")
        if profile is not None:
            # A user's comments (`shortform` narrows to comments on shortform posts, replies
            # included); drafts only when the viewer is their author and asks for them.
            found = [
                c
                for c in self.comments.values()
                if c["userId"] == profile.get("userId")
                and (
                    profile.get("shortform") is None or bool(c["shortform"]) == profile["shortform"]
                )
                and (not c["draft"] or (profile.get("drafts") != "exclude" and _can_view(c, user)))
            ]
        elif view is not None:
            found = [
                c
                for c in self.comments.values()
                if user is not None
                and c["draft"]
                and c["userId"] == user["_id"]
                and (not view.get("postId") or c["postId"] == view["postId"])
            ]
        else:
            found = [c for c in self.comments.values() if not c["draft"]]
        found.sort(key=lambda c: c["createdAt"], reverse=True)
        return _page(found, limit, offset, enableTotal)

    # -- mutations ---------------------------------------------------------------------

    def _create_post(
        self, _root: Any, info: GraphQLResolveInfo, data: dict[str, Any]
    ) -> dict[str, Any]:
        user = _require_user(info)
        if POST_CREATE_DISALLOWED & data.keys():
            raise GraphQLError("app.validation_error")
        _check_title(data["title"])
        draft = data.get("draft") is True  # the real default is false: published at once
        now = self._now()
        post: dict[str, Any] = {
            "_id": random_id(),
            "userId": user["_id"],
            "title": data["title"],
            "slug": self._unused_slug(slugify(data["title"])),
            "draft": draft,
            "url": data.get("url"),
            "postCategory": data.get("postCategory") or "post",
            "shortform": False,
            "linkSharingKey": random_id(),
            "createdAt": now,
            "postedAt": now,
            "modifiedAt": now,
            "deletedDraft": False,
            "revisions": [],
        }
        if data.get("contents"):
            post["revisions"].append(
                self._revision_from_input(data["contents"], None, draft=draft, user_id=user["_id"])
            )
        self.posts[post["_id"]] = post
        if not draft:
            self.published_posts.append(post["_id"])
        return {"data": post}

    def _update_post(
        self, _root: Any, info: GraphQLResolveInfo, selector: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        post = self.posts.get(_selector_id(selector) or "")
        if post is None:
            raise GraphQLError("app.document_not_found")
        user = _require_user(info)
        if post["userId"] != user["_id"]:
            raise GraphQLError("app.operation_not_allowed")
        _check_disallowed_on_update(data, POST_UPDATE_DISALLOWED)
        if data.get("title") is not None:
            _check_title(data["title"])
            if re.fullmatch(re.escape(slugify(post["title"])) + r"(-\d+)?", post["slug"]):
                post["slug"] = self._unused_slug(slugify(data["title"]), exclude=post["_id"])
            post["title"] = data["title"]
        if "draft" in data and data["draft"] is not None and data["draft"] != post["draft"]:
            post["draft"] = data["draft"]
            if not data["draft"]:  # publishing an existing draft
                post["postedAt"] = self._now()
                self.published_posts.append(post["_id"])
        for key in ("url", "postCategory", "deletedDraft"):
            if data.get(key) is not None:
                post[key] = data[key]
        if data.get("contents"):
            previous = post["revisions"][-1] if post["revisions"] else None
            post["revisions"].append(
                self._revision_from_input(
                    data["contents"], previous, draft=post["draft"], user_id=user["_id"]
                )
            )
        post["modifiedAt"] = self._now()
        return {"data": post}

    def _create_comment(
        self, _root: Any, info: GraphQLResolveInfo, data: dict[str, Any]
    ) -> dict[str, Any]:
        user = _require_user(info)
        if COMMENT_CREATE_DISALLOWED & data.keys():
            raise GraphQLError("app.validation_error")
        original = (data.get("contents") or {}).get("originalContents") or {}
        if not original.get("data"):
            raise GraphQLError("You cannot submit an empty comment")
        self._enforce_comment_rate_limit(user)
        post_id = data.get("postId")
        if data.get("shortform") and not post_id:
            post_id = user["shortformFeedId"] or self._create_shortform_post(user)["_id"]
        if not post_id or post_id not in self.posts:
            raise GraphQLError("app.validation_error")
        post = self.posts[post_id]
        draft = data.get("draft") is True
        now = self._now()
        comment: dict[str, Any] = {
            "_id": random_id(),
            "userId": user["_id"],
            "postId": post_id,
            "parentCommentId": data.get("parentCommentId"),
            "shortform": post["shortform"],  # recomputed from the parent post
            "shortformFrontpage": data.get("shortformFrontpage", True) is not False,
            "draft": draft,
            "createdAt": now,
            "postedAt": now,
            "revisions": [],
        }
        comment["revisions"].append(
            self._revision_from_input(data["contents"], None, draft=draft, user_id=user["_id"])
        )
        self.comments[comment["_id"]] = comment
        if not draft:
            self.published_comments.append(comment["_id"])
        if not draft or self.comment_rate_limit_counts_drafts:
            self._last_comment[user["_id"]] = dt.datetime.now(dt.timezone.utc)
        return {"data": comment}

    def _update_comment(
        self, _root: Any, info: GraphQLResolveInfo, selector: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        comment = self.comments.get(_selector_id(selector) or "")
        if comment is None:
            raise GraphQLError("app.document_not_found")
        user = _require_user(info)
        if comment["userId"] != user["_id"]:
            raise GraphQLError("app.operation_not_allowed")
        _check_disallowed_on_update(data, COMMENT_UPDATE_DISALLOWED)
        if data.get("draft") is True and not comment["draft"]:
            raise GraphQLError("You cannot convert a published comment back to draft.")
        if data.get("draft") is False and comment["draft"]:
            comment["draft"] = False
            comment["postedAt"] = self._now()
            self.published_comments.append(comment["_id"])
        if data.get("shortformFrontpage") is not None:
            comment["shortformFrontpage"] = data["shortformFrontpage"]
        if data.get("contents"):
            comment["revisions"].append(
                self._revision_from_input(
                    data["contents"],
                    comment["revisions"][-1],
                    draft=comment["draft"],
                    user_id=user["_id"],
                )
            )
        return {"data": comment}

    # -- internals ---------------------------------------------------------------------

    def _unused_slug(self, slug: str, exclude: str | None = None) -> str:
        taken = {p["slug"] for p in self.posts.values() if p["_id"] != exclude}
        candidate, n = slug, 0
        while candidate in taken:
            n += 1
            candidate = f"{slug}-{n}"
        return candidate

    def _create_shortform_post(
        self, user: dict[str, Any], post_id: str | None = None
    ) -> dict[str, Any]:
        """`createShortformPost`: the user's quick-takes container (not counted as ours)."""
        now = self._now()
        title = f"{user['displayName']}'s Shortform"
        post = {
            "_id": post_id or random_id(),
            "userId": user["_id"],
            "title": title,
            "slug": self._unused_slug(slugify(title)),
            "draft": False,
            "url": None,
            "postCategory": "post",
            "shortform": True,
            "linkSharingKey": random_id(),
            "createdAt": now,
            "postedAt": now,
            "modifiedAt": now,
            "deletedDraft": False,
            "revisions": [],
        }
        self.posts[post["_id"]] = post
        user["shortformFeedId"] = post["_id"]
        return post

    def _enforce_comment_rate_limit(self, user: dict[str, Any]) -> None:
        last = self._last_comment.get(user["_id"])
        if last is None or self.comment_rate_limit_seconds <= 0:
            return
        next_eligible = last + dt.timedelta(seconds=self.comment_rate_limit_seconds)
        remaining = (next_eligible - dt.datetime.now(dt.timezone.utc)).total_seconds()
        if remaining > 0:
            seconds = max(1, round(remaining))
            raise GraphQLError(
                f"Rate limit: You cannot comment for {seconds} seconds "
                f"(until {js_date_string(next_eligible)})"
            )

    def _revision_from_input(
        self,
        contents: dict[str, Any],
        previous: dict[str, Any] | None,
        *,
        draft: bool,
        user_id: str,
    ) -> dict[str, Any]:
        original = contents["originalContents"]
        return self._revision(
            original["type"],
            original["data"],
            previous=previous,
            update_type=contents.get("updateType"),
            draft=draft,
            user_id=user_id,
            commit_message=contents.get("commitMessage"),
        )

    def _revision(
        self,
        content_type: str,
        data: Any,
        *,
        previous: dict[str, Any] | None,
        update_type: str | None,
        draft: bool,
        user_id: str,
        commit_message: str | None,
    ) -> dict[str, Any]:
        """A Revision record: converted HTML, word count, footnote flag, next version."""
        markup = to_html(content_type, data)
        if previous is None:
            version, update_type = ("0.1.0" if draft else "1.0.0"), "initial"
        else:
            update_type = update_type or "minor"
            version = _next_version(previous["version"], update_type, draft)
        return {
            "_id": random_id(),
            "version": version,
            "editedAt": self._now(),
            "updateType": update_type,
            "commitMessage": commit_message,
            "userId": user_id,
            "draft": draft,
            "originalContents": {"type": content_type, "data": data},
            "html": markup,
            "markdown": data if content_type == "markdown" else html_text(markup).strip(),
            "wordCount": word_count(markup),
            "hasFootnotes": has_footnotes(markup),
        }


# ---------------------------------------------------------------------------------------
# Helpers shared by resolvers


def _resolve_contents(
    doc: dict[str, Any], info: GraphQLResolveInfo, version: str | None = None
) -> dict[str, Any] | None:
    """`contents` is the latest revision; `version: "draft"` is the newest by editedAt
    (the same thing here); any other version string picks that revision."""
    revisions = doc["revisions"]
    if not revisions:
        return None
    if version in (None, "draft"):
        return revisions[-1]
    return next((r for r in revisions if r["version"] == version), None)


def _resolve_link_sharing_key(post: dict[str, Any], info: GraphQLResolveInfo) -> str | None:
    user = info.context["user"]
    return post["linkSharingKey"] if user and user["_id"] == post["userId"] else None


def _can_view(doc: dict[str, Any], user: dict[str, Any] | None) -> bool:
    """Drafts are visible to their author only (shared users are not modelled)."""
    return not doc["draft"] or (user is not None and user["_id"] == doc["userId"])


def _selector_id(selector: dict[str, Any] | None) -> str | None:
    selector = selector or {}
    return selector.get("_id") or selector.get("documentId")


def _page(
    found: list[dict[str, Any]], limit: int | None, offset: int | None, enable_total: bool | None
) -> dict[str, Any]:
    start = offset or 0
    end = start + (limit if limit is not None else 20)
    return {"results": found[start:end], "totalCount": len(found) if enable_total else None}


def _require_user(info: GraphQLResolveInfo) -> dict[str, Any]:
    user = info.context["user"]
    if user is None:
        raise GraphQLError("app.operation_not_allowed")
    return user


def _check_title(title: str) -> None:
    """Titles live in a VARCHAR(500) column; longer ones fail in Postgres (reference 2.2)."""
    if len(title) > 500:
        raise GraphQLError("value too long for type character varying(500)")


def _check_disallowed_on_update(data: dict[str, Any], disallowed: set[str]) -> None:
    """On update the message is the JSON list of validation errors (reference 5.1)."""
    bad = sorted(disallowed & data.keys())
    if bad:
        raise GraphQLError(
            json.dumps(
                [
                    {"id": "errors.disallowed_property_detected", "properties": {"name": name}}
                    for name in bad
                ]
            )
        )


def _next_version(previous: str, update_type: str, draft: bool) -> str:
    """Semver bump by updateType; a draft never reaches 1.0.0 through edits."""
    major, minor, patch = (int(x) for x in previous.split("."))
    if update_type == "patch":
        return f"{major}.{minor}.{patch + 1}"
    if update_type == "major" and not draft:
        return f"{major + 1}.0.0"
    return f"{major}.{minor + 1}.0"


def _format(error: GraphQLError, code: str) -> dict[str, Any]:
    """Apollo-style error: message, locations, path, extensions.code and a stacktrace."""
    out: dict[str, Any] = dict(error.formatted)
    extensions = dict(out.get("extensions") or {})
    extensions.setdefault("code", code)
    if code == "INTERNAL_SERVER_ERROR":
        extensions.setdefault("noSentryCapture", False)
    extensions.setdefault(
        "stacktrace",
        [f"GraphQLError: {error.message}", "    at LessWrongServer (tests/servers/lesswrong.py)"],
    )
    out["extensions"] = extensions
    return out


def _errors_only(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _bad_request(message: str) -> Response:
    return json_response(_errors_only(message, "BAD_REQUEST"), 400)
