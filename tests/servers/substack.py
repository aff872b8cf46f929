"""A stand-in for Substack's unofficial draft API, as /work/shared/reference/substack-api.md
describes it, plus `validate_prosemirror`, a checker for the post-body documents we send.

Why: the toolkit pushes DRAFTS only. This server lets tests run the real client over HTTP,
check exactly what it sent, script the failures the reference warns about (401 signed out,
Cloudflare 403 "error code: 1010", 429s), simulate edits made in Substack's editor, and prove
that no publishing endpoint was ever called (`dangerous_calls`).

It is deliberately stricter than Substack where that catches our mistakes: it rejects (400)
draft bodies that are not a JSON string, ProseMirror docs with unknown or misplaced nodes, and
footnotes that break the pairing rules of reference section 4. Real Substack is not known to
validate any of this; a broken doc there shows up later as a broken editor.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import itertools
import json
import re
import struct
import uuid
from collections import Counter
from typing import Any
from urllib.parse import unquote

from .base import RecordedRequest, Response, StandInServer, json_response

SESSION_COOKIES = ("substack.sid", "connect.sid")

# Node types from reference section 3, by where they may appear.
INLINE_NODES = {"text", "hard_break", "hardBreak", "footnoteAnchor", "latex"}
LIST_NODES = {"bullet_list", "bulletList", "ordered_list", "orderedList"}
LIST_ITEM_NODES = {"list_item", "listItem"}
CODE_NODES = {"codeBlock", "code_block"}
# Blocks allowed anywhere blocks go (list items, and the doc).
NESTABLE_BLOCKS = (
    {
        "paragraph",
        "heading",
        "blockquote",
        "horizontal_rule",
        "captionedImage",
        "paywall",
        "latex_block",
        "pullquote",
        "calloutBlock",
        "subscribeWidget",
        "youtube2",
    }
    | LIST_NODES
    | CODE_NODES
)
DOC_BLOCKS = NESTABLE_BLOCKS | {"footnote"}  # footnote: direct child of doc only (section 4.2)
ONLY_INSIDE = {  # nodes that exist only inside one parent
    "image2": "captionedImage",
    "caption": "captionedImage",
    "ctaCaption": "subscribeWidget",
}
KNOWN_NODES = INLINE_NODES | DOC_BLOCKS | LIST_ITEM_NODES | set(ONLY_INSIDE) | {"doc"}
MARKS = {
    "strong",
    "bold",
    "em",
    "italic",
    "code",
    "strikethrough",
    "strike",
    "superscript",
    "subscript",
    "link",
}
LEAF_NODES = {
    "text",
    "hard_break",
    "hardBreak",
    "footnoteAnchor",
    "latex",
    "horizontal_rule",
    "paywall",
    "latex_block",
    "youtube2",
    "image2",
}

# image2's attributes (reference section 3) and the types their values take.
IMAGE2_ATTRS: dict[str, tuple[type, ...]] = {
    "src": (str,),
    "srcNoWatermark": (str,),
    "fullscreen": (bool,),
    "imageSize": (str,),
    "height": (int,),
    "width": (int,),
    "resizeWidth": (int,),
    "bytes": (int,),
    "alt": (str,),
    "title": (str,),
    "type": (str,),
    "href": (str,),
    "belowTheFold": (bool,),
    "topImage": (bool,),
    "internalRedirect": (str,),
    "isProcessing": (bool,),
    "align": (str,),
    "offset": (bool, int),
}

AUDIENCES = {"everyone", "only_paid", "founding", "only_free"}
POST_TYPES = {"newsletter", "podcast", "thread"}
ORDER_BY = {"draft_updated_at", "draft_created_at", "post_date", "draft_title"}

# Reference section 8: what [PS] uploads unchanged. The answer's URL names the file
# `<uuid>_<W>x<H>.<ext>` on Substack's S3 bucket.
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
IMAGE_HOST = "https://substack-post-media.s3.amazonaws.com/public/images/"
IMAGE_LIMIT = 10 * 1024 * 1024  # [B992]'s (unverified) 10 MB
_DATA_URI = re.compile(r"data:([\w/+.-]+);base64,(.*)", re.DOTALL)


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's or GIF's header; (1, 1) for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", data[6:10])
    return 1, 1


CLOUDFLARE_1010 = {
    "status": 403,
    "headers": {"Content-Type": "text/html; charset=UTF-8", "Server": "cloudflare"},
    "body": "error code: 1010",
}
"""Keyword arguments for `server.fail_next(**CLOUDFLARE_1010)`: one Cloudflare bot-wall answer."""


# ---------------------------------------------------------------------------------------
# ProseMirror validation


def validate_prosemirror(doc: Any) -> list[str]:
    """Problems with a Substack post-body document; an empty list means it is valid.

    Checks the node types, attributes and nesting of reference section 3 and the footnote
    rules of section 4: anchors numbered 1..N in document order, exactly one `footnote` block
    per anchor with the same number, blocks in anchor order, blocks only as direct children of
    the doc, no anchor inside a footnote. Both footnote layouts (all at the end, or after each
    paragraph) are accepted, as the reference says Substack accepts both.
    """
    checker = _DocChecker()
    checker.walk_doc(doc)
    checker.pair_footnotes()
    return checker.problems


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _DocChecker:
    """Walks a document once, collecting problems, anchors and footnote blocks in order."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.anchors: list[tuple[int | None, str]] = []
        self.footnotes: list[tuple[int | None, str]] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def walk_doc(self, doc: Any) -> None:
        if not isinstance(doc, dict) or doc.get("type") != "doc":
            self.problem("doc", 'the root must be an object {"type": "doc", "content": [...]}')
            return
        content = doc.get("content")
        if not isinstance(content, list):
            self.problem("doc", '"content" must be a list of blocks')
            return
        attrs = doc.get("attrs")
        if attrs is not None and not isinstance(attrs, dict):
            self.problem("doc", '"attrs" must be an object')
        for i, child in enumerate(content):
            self.walk_node(child, f"doc.content[{i}]", DOC_BLOCKS, "doc", in_footnote=False)

    def walk_children(
        self,
        node: dict[str, Any],
        path: str,
        allowed: set[str],
        *,
        in_footnote: bool,
        minimum: int = 0,
    ) -> list[dict[str, Any]]:
        """Check a node's content list; returns the children that are objects."""
        content = node.get("content", [])
        if not isinstance(content, list):
            self.problem(path, '"content" must be a list')
            return []
        if len(content) < minimum:
            self.problem(path, f"'{node['type']}' needs at least {minimum} child node(s)")
        for i, child in enumerate(content):
            self.walk_node(
                child, f"{path}.content[{i}]", allowed, node["type"], in_footnote=in_footnote
            )
        return [c for c in content if isinstance(c, dict)]

    def walk_node(
        self, node: Any, path: str, allowed: set[str], parent: str, *, in_footnote: bool
    ) -> None:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            self.problem(path, 'a node must be an object with a string "type"')
            return
        kind = node["type"]
        path = f"{path}<{kind}>"
        if kind not in KNOWN_NODES:
            self.problem(path, f"unknown node type '{kind}'")
            return
        if kind not in allowed:
            where = ONLY_INSIDE.get(kind)
            if kind == "footnote":
                hint = ": footnote blocks must be direct children of doc"
            elif where:
                hint = f": '{kind}' only goes inside '{where}'"
            else:
                hint = ""
            self.problem(path, f"'{kind}' is not allowed inside '{parent}'{hint}")
            return
        attrs = node.get("attrs", {})
        if attrs is None:
            attrs = {}
        if not isinstance(attrs, dict):
            self.problem(path, '"attrs" must be an object')
            attrs = {}
        if "marks" in node and kind != "text":
            self.problem(path, "only text nodes carry marks")
        if kind in LEAF_NODES and node.get("content"):
            self.problem(path, f"'{kind}' cannot have content")
        getattr(self, "check_" + kind, self.check_plain)(node, path, attrs, in_footnote)

    # Per-type checks (named check_<node type>; Tiptap aliases assigned below).

    def check_plain(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        """Leaf nodes with no required attributes."""

    def check_paragraph(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        self.walk_children(node, path, INLINE_NODES, in_footnote=in_footnote)

    def check_heading(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        level = attrs.get("level")
        if not _is_int(level) or not 1 <= level <= 6:
            self.problem(path, "heading needs attrs.level, an integer 1..6")
        self.walk_children(node, path, INLINE_NODES, in_footnote=in_footnote)

    def check_text(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        text = node.get("text")
        if not isinstance(text, str) or not text:
            self.problem(path, 'text nodes need a non-empty string "text"')
        marks = node.get("marks", [])
        if not isinstance(marks, list):
            self.problem(path, '"marks" must be a list')
            return
        seen: set[str] = set()
        for j, mark in enumerate(marks):
            where = f"{path}.marks[{j}]"
            if not isinstance(mark, dict) or mark.get("type") not in MARKS:
                kind = mark.get("type") if isinstance(mark, dict) else mark
                self.problem(where, f"unknown mark {kind!r}")
                continue
            if mark["type"] in seen:
                self.problem(where, f"mark '{mark['type']}' appears twice")
            seen.add(mark["type"])
            if mark["type"] == "link":
                href = (mark.get("attrs") or {}).get("href")
                if not isinstance(href, str) or not href:
                    self.problem(where, "link marks need attrs.href, a non-empty string")

    def check_footnoteAnchor(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        number = attrs.get("number")
        if not _is_int(number):
            self.problem(path, "footnoteAnchor needs attrs.number, an integer")
            number = None
        if in_footnote:
            self.problem(path, "a footnote cannot reference another footnote")
        self.anchors.append((number, path))

    def check_footnote(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        number = attrs.get("number")
        if not _is_int(number):
            self.problem(path, "footnote needs attrs.number, an integer")
            number = None
        self.footnotes.append((number, path))
        self.walk_children(node, path, {"paragraph"}, in_footnote=True, minimum=1)

    def check_blockquote(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        self.walk_children(node, path, {"paragraph"}, in_footnote=in_footnote, minimum=1)

    check_pullquote = check_calloutBlock = check_blockquote

    def check_bullet_list(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        for key in ("order", "start"):
            if key in attrs and attrs[key] is not None and not _is_int(attrs[key]):
                self.problem(path, f"attrs.{key} must be an integer")
        self.walk_children(node, path, LIST_ITEM_NODES, in_footnote=in_footnote, minimum=1)

    check_bulletList = check_ordered_list = check_orderedList = check_bullet_list

    def check_list_item(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        children = self.walk_children(
            node, path, NESTABLE_BLOCKS, in_footnote=in_footnote, minimum=1
        )
        if children and children[0].get("type") != "paragraph":
            self.problem(path, "a list item must start with a paragraph")

    check_listItem = check_list_item

    def check_codeBlock(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        children = self.walk_children(node, path, {"text"}, in_footnote=in_footnote)
        if len(children) > 1:
            self.problem(path, "a code block holds at most one text node")
        if any(c.get("marks") for c in children):
            self.problem(path, "text in a code block cannot have marks")
        for key in ("language", "lang"):
            if attrs.get(key) is not None and not isinstance(attrs[key], str):
                self.problem(path, f"attrs.{key} must be a string")

    check_code_block = check_codeBlock

    def check_captionedImage(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        children = self.walk_children(node, path, {"image2", "caption"}, in_footnote=in_footnote)
        kinds = [c.get("type") for c in children]
        if kinds not in (["image2"], ["image2", "caption"]):
            self.problem(
                path,
                "captionedImage must hold image2, then optionally caption "
                "(a flat captionedImage crashes Substack's editor)",
            )

    def check_image2(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        if not isinstance(attrs.get("src"), str) or not attrs["src"]:
            self.problem(path, "image2 needs attrs.src")
        for key, value in attrs.items():
            kinds = IMAGE2_ATTRS.get(key)
            if kinds is None:
                self.problem(path, f"image2 has no attribute {key!r} (reference section 3)")
            elif value is not None and not (
                isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
            ):
                self.problem(path, f"image2 attrs.{key} must be {kinds} or null")

    def check_caption(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        self.walk_children(node, path, {"text"}, in_footnote=in_footnote)

    check_ctaCaption = check_caption

    def check_subscribeWidget(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        self.walk_children(node, path, {"ctaCaption"}, in_footnote=in_footnote)

    def check_latex(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        if not isinstance(attrs.get("expression"), str):
            self.problem(path, "latex needs attrs.expression")

    def check_latex_block(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        if not isinstance(attrs.get("persistentExpression"), str):
            self.problem(path, "latex_block needs attrs.persistentExpression")

    def check_youtube2(
        self, node: dict[str, Any], path: str, attrs: dict[str, Any], in_footnote: bool
    ) -> None:
        if not isinstance(attrs.get("videoId"), str):
            self.problem(path, "youtube2 needs attrs.videoId")

    def pair_footnotes(self) -> None:
        """Section 4 rules 3-4: numbers are positions, one block per anchor, same order."""
        for position, (number, path) in enumerate(self.anchors, start=1):
            if number is not None and number != position:
                self.problem(
                    path,
                    f"footnote anchor numbered {number} is anchor {position} in "
                    "document order; anchors must be numbered 1..N in order",
                )
        n = len(self.anchors)
        numbers = [num for num, _ in self.footnotes if num is not None]
        counts = Counter(numbers)
        for expected in range(1, n + 1):
            if counts[expected] == 0:
                self.problem("doc", f"footnote anchor {expected} has no footnote block")
            elif counts[expected] > 1:
                self.problem(
                    "doc",
                    f"{counts[expected]} footnote blocks are numbered {expected}; "
                    "exactly one is allowed",
                )
        for number, path in self.footnotes:
            if number is not None and not 1 <= number <= n:
                self.problem(path, f"footnote block {number} has no matching anchor")
        if sorted(numbers) == list(range(1, n + 1)) and numbers != sorted(numbers):
            self.problem(
                "doc",
                f"footnote blocks appear in the order {numbers}; they must "
                "follow anchor order 1..N",
            )


# ---------------------------------------------------------------------------------------
# The server


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _errors(*messages: str, param: str | None = None) -> dict[str, Any]:
    """Substack's error body: {"errors": [{"msg", "param"}]} (reference 1b)."""
    return {"errors": [{"msg": m, "param": param} for m in messages]}


def _word_count(doc: Any) -> int:
    if isinstance(doc, dict):
        words = len(doc.get("text", "").split()) if isinstance(doc.get("text"), str) else 0
        return words + sum(_word_count(c) for c in doc.get("content", []) or [])
    return 0


class SubstackServer(StandInServer):
    """Stand-in for `https://<pub-host>/api/v1` (and the account calls on substack.com).

    Attributes tests use:
      drafts: {id: draft object} as stored (published posts stay here with is_published).
      dangerous_calls: every request to a publish/schedule/unpublish/Notes endpoint.
      images: {url: bytes} of every image uploaded (`POST /api/v1/image`), in order.
      cloudflare_block: when True, every request gets Cloudflare's 403 "error code: 1010".
      requests, fail_next, delay_next: see StandInServer.
    """

    def __init__(
        self,
        secret: str = "s%3Atest-session-id.test-signature",
        *,
        user_id: int = 12345678,
        user_name: str = "Test Writer",
        publication_id: int = 424242,
        subdomain: str = "testpub",
        custom_domain: str | None = None,
        cloudflare_block: bool = False,
    ) -> None:
        super().__init__()
        self.secret = secret
        self.user_id = user_id
        self.user_name = user_name
        self.publication_id = publication_id
        self.subdomain = subdomain
        self.custom_domain = custom_domain
        self.cloudflare_block = cloudflare_block
        self.drafts: dict[int, dict[str, Any]] = {}
        self.dangerous_calls: list[RecordedRequest] = []
        self.images: dict[str, bytes] = {}
        self._ids = itertools.count(150_000_001)
        self._last_time = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        self._routes: list[tuple[str, re.Pattern[str], Any, bool]] = [
            # (method, path, handler, dangerous)
            ("GET", re.compile(r"/api/v1/user/profile/self"), self._profile, False),
            ("GET", re.compile(r"/api/v1/user/self"), self._user_self, False),
            ("GET", re.compile(r"/api/v1/subscription"), self._subscription, False),
            ("GET", re.compile(r"/api/v1/drafts"), self._bare_drafts_list, False),
            ("POST", re.compile(r"/api/v1/drafts"), self._create, False),
            ("POST", re.compile(r"/api/v1/image"), self._upload_image, False),
            ("GET", re.compile(r"/api/v1/drafts/(\d+)"), self._get, False),
            ("PUT", re.compile(r"/api/v1/drafts/(\d+)"), self._update, False),
            ("DELETE", re.compile(r"/api/v1/drafts/(\d+)"), self._delete, False),
            ("GET", re.compile(r"/api/v1/drafts/(\d+)/prepublish"), self._prepublish, False),
            ("GET", re.compile(r"/api/v1/post_management/drafts"), self._list_drafts, False),
            ("GET", re.compile(r"/api/v1/post_management/published"), self._list_published, False),
            ("POST", re.compile(r"/api/v1/drafts/(\d+)/publish"), self._publish, True),
            ("POST", re.compile(r"/api/v1/drafts/(\d+)/scheduled_release"), self._schedule, True),
            (
                "DELETE",
                re.compile(r"/api/v1/drafts/(\d+)/scheduled_release"),
                self._unschedule,
                True,
            ),
            ("POST", re.compile(r"/api/v1/drafts/(\d+)/unpublish"), self._unpublish, True),
            ("POST", re.compile(r"/api/v1/comment/feed/?"), self._note, True),
        ]

    # -- test helpers ------------------------------------------------------------------

    @property
    def publication_url(self) -> str:
        """What a client derives from the profile (reference 1c); informational only."""
        if self.custom_domain:
            return f"https://{self.custom_domain}"
        return f"https://{self.subdomain}.substack.com"

    def session_cookie(self, name: str = "substack.sid") -> dict[str, str]:
        """Cookies for `requests`: `requests.get(url, cookies=server.session_cookie())`."""
        return {name: self.secret}

    def draft_doc(self, draft_id: int) -> dict[str, Any]:
        """The stored draft body, parsed from its JSON string."""
        with self.lock:
            return json.loads(self.drafts[draft_id]["draft_body"])

    def edit_draft(
        self,
        draft_id: int,
        *,
        title: str | None = None,
        subtitle: str | None = None,
        body_doc: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Simulate an edit in Substack's editor: change the draft, bump draft_updated_at."""
        with self.lock:
            draft = self.drafts[draft_id]
            if title is not None:
                draft["draft_title"] = title
            if subtitle is not None:
                draft["draft_subtitle"] = subtitle
            if body_doc is not None:
                draft["draft_body"] = json.dumps(body_doc)
                draft["word_count"] = _word_count(body_doc)
            draft["draft_updated_at"] = self._now()
            return dict(draft)

    # -- dispatch ----------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        if self.cloudflare_block:
            return Response(
                CLOUDFLARE_1010["status"], CLOUDFLARE_1010["body"], dict(CLOUDFLARE_1010["headers"])
            )
        for method, pattern, handler, dangerous in self._routes:
            match = pattern.fullmatch(request.route)
            if match and method == request.method:
                if dangerous:
                    self.dangerous_calls.append(request)
                if not self._signed_in(request):
                    return json_response(_errors("Please sign in"), 401)
                return handler(request, *match.groups())
        return json_response(_errors("Not found"), 404)

    def _signed_in(self, request: RecordedRequest) -> bool:
        """True if a session cookie carries the secret (compared URL-decoded, as express does)."""
        for part in request.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name in SESSION_COOKIES and unquote(value.strip().strip('"')) == unquote(
                self.secret
            ):
                return True
        return False

    def _now(self) -> str:
        """An ISO timestamp, strictly later than the previous one (so edits always bump it)."""
        now = dt.datetime.now(dt.timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # printed to the ms
        if now <= self._last_time:
            now = self._last_time + dt.timedelta(milliseconds=1)
        self._last_time = now
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _find(self, draft_id: str) -> dict[str, Any] | None:
        return self.drafts.get(int(draft_id))

    # -- account -----------------------------------------------------------------------

    def _profile(self, request: RecordedRequest) -> Response:
        return json_response(
            {
                "id": self.user_id,
                "name": self.user_name,
                "handle": _slugify(self.user_name),
                "publicationUsers": [
                    {
                        "id": 1,
                        "user_id": self.user_id,
                        "publication_id": self.publication_id,
                        "role": "admin",
                        "is_primary": True,
                        "publication": {
                            "id": self.publication_id,
                            "name": f"{self.user_name}'s Newsletter",
                            "subdomain": self.subdomain,
                            "custom_domain": self.custom_domain,
                            "custom_domain_optional": False,
                        },
                    }
                ],
            }
        )

    def _user_self(self, request: RecordedRequest) -> Response:
        """[SCLI]: GET /user/self returns 403."""
        return json_response(_errors("Not authorized"), 403)

    def _subscription(self, request: RecordedRequest) -> Response:
        return json_response(
            {
                "id": 987654,
                "user_id": self.user_id,
                "publication_id": self.publication_id,
                "membership_state": "admin",
                "type": None,
            }
        )

    # -- drafts ------------------------------------------------------------------------

    def _bare_drafts_list(self, request: RecordedRequest) -> Response:
        """[CB]: the bare collection answers 403 "Not authorized" on many publications."""
        return json_response(_errors("Not authorized"), 403)

    def _validate(self, body: Any, *, creating: bool) -> tuple[dict[str, Any], list[dict]]:
        """Check a create/update body; returns (fields to store, errors)."""
        errors: list[dict[str, Any]] = []

        def bad(param: str, msg: str) -> None:
            errors.append({"msg": msg, "param": param})

        if not isinstance(body, dict):
            return {}, [{"msg": "The request body must be a JSON object", "param": None}]
        if creating:
            for key in ("draft_title", "draft_body", "draft_bylines"):
                if key not in body:
                    bad(key, f"{key} is required")
        fields: dict[str, Any] = {}
        for key in (
            "draft_title",
            "draft_subtitle",
            "search_engine_title",
            "search_engine_description",
            "slug",
        ):
            if key in body:
                if isinstance(body[key], str) or (key != "draft_title" and body[key] is None):
                    fields[key] = body[key]
                else:
                    bad(key, f"{key} must be a string")
        if "draft_body" in body:
            raw = body["draft_body"]
            if not isinstance(raw, str):
                bad(
                    "draft_body",
                    "draft_body must be a JSON string (json.dumps of the doc), "
                    f"not {type(raw).__name__}",
                )
            else:
                try:
                    doc = json.loads(raw)
                except ValueError:
                    bad("draft_body", "draft_body is not valid JSON")
                else:
                    problems = validate_prosemirror(doc)
                    for p in problems:
                        bad("draft_body", p)
                    if not problems:
                        fields["draft_body"] = raw
                        fields["word_count"] = _word_count(doc)
        if "draft_bylines" in body:
            bylines = body["draft_bylines"]
            ok = isinstance(bylines, list) and all(
                isinstance(b, dict) and _is_int(b.get("id")) and isinstance(b.get("is_guest"), bool)
                for b in bylines
            )
            if not ok:
                bad(
                    "draft_bylines", 'draft_bylines must be a list of {"id": int, "is_guest": bool}'
                )
            elif any(b["id"] != self.user_id for b in bylines):
                bad(
                    "draft_bylines",
                    f"bylines must name a contributor of this publication (user {self.user_id})",
                )
            else:
                fields["draft_bylines"] = bylines
        for key, allowed in (("audience", AUDIENCES), ("type", POST_TYPES)):
            if key in body:
                if body[key] in allowed:
                    fields[key] = body[key]
                else:
                    bad(key, f"{key} must be one of {sorted(allowed)}")
        if "write_comment_permissions" in body:
            fields["write_comment_permissions"] = body["write_comment_permissions"]
        if "draft_section_id" in body:
            if body["draft_section_id"] is None or _is_int(body["draft_section_id"]):
                fields["section_id"] = body["draft_section_id"]
            else:
                bad("draft_section_id", "draft_section_id must be an integer or null")
        for key in ("section_chosen", "should_send_email", "hide_from_feed"):
            if key in body:
                if isinstance(body[key], bool):
                    fields[key] = body[key]
                else:
                    bad(key, f"{key} must be a boolean")
        if "cover_image" in body:
            fields["cover_image"] = body["cover_image"]
        return fields, errors

    def _create(self, request: RecordedRequest) -> Response:
        fields, errors = self._validate(request.json, creating=True)
        if errors:
            return json_response({"errors": errors}, 400)
        now = self._now()
        draft_id = next(self._ids)
        draft: dict[str, Any] = {
            "id": draft_id,
            "publication_id": self.publication_id,
            "slug": _slugify(fields["draft_title"]) or None,
            "type": "newsletter",
            "audience": "everyone",
            "is_published": False,
            "post_date": None,
            "draft_title": "",
            "draft_subtitle": "",
            "draft_body": None,
            "body": None,
            "draft_bylines": [],
            "should_send_email": True,
            "write_comment_permissions": "everyone",
            "draft_created_at": now,
            "draft_updated_at": now,
            "email_sent_at": None,
            "word_count": 0,
            "cover_image": None,
            "section_id": None,
            "section_chosen": False,
            "search_engine_title": None,
            "search_engine_description": None,
        }
        draft.update(fields)
        self.drafts[draft_id] = draft
        return json_response(draft)

    def _get(self, request: RecordedRequest, draft_id: str) -> Response:
        draft = self._find(draft_id)
        if draft is None:
            return json_response(_errors("Post not found"), 404)
        return json_response(draft)

    def _update(self, request: RecordedRequest, draft_id: str) -> Response:
        draft = self._find(draft_id)
        if draft is None:
            return json_response(_errors("Post not found"), 404)
        fields, errors = self._validate(request.json, creating=False)
        if errors:
            return json_response({"errors": errors}, 400)
        auto_slug = draft["slug"] in (None, _slugify(draft["draft_title"]))
        if "draft_title" in fields and "slug" not in fields and auto_slug:
            fields["slug"] = _slugify(fields["draft_title"]) or None
        draft.update(fields)
        draft["draft_updated_at"] = self._now()
        return json_response(draft)

    def _delete(self, request: RecordedRequest, draft_id: str) -> Response:
        if self.drafts.pop(int(draft_id), None) is None:
            return json_response(_errors("Post not found"), 404)
        return json_response({})

    def _prepublish(self, request: RecordedRequest, draft_id: str) -> Response:
        """A read-only check the UI runs before publishing; harmless, so not 'dangerous'."""
        if self._find(draft_id) is None:
            return json_response(_errors("Post not found"), 404)
        return json_response({"errors": [], "warnings": []})

    def _listing(self, request: RecordedRequest, published: bool, order: str) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        try:
            offset = int(query.get("offset", 0))
            limit = int(query.get("limit", 25))
        except ValueError:
            return json_response(_errors("offset and limit must be integers"), 400)
        order_by = query.get("order_by", order)
        direction = query.get("order_direction", "desc")
        if order_by not in ORDER_BY or direction not in ("asc", "desc") or limit < 0 or offset < 0:
            return json_response(_errors("Invalid listing parameters"), 400)
        posts = [d for d in self.drafts.values() if d["is_published"] == published]
        posts.sort(key=lambda d: (d.get(order_by) or "", d["id"]), reverse=direction == "desc")
        return json_response(
            {
                "posts": posts[offset : offset + limit],
                "offset": offset,
                "limit": limit,
                "total": len(posts),
                "isCapped": False,
            }
        )

    def _list_drafts(self, request: RecordedRequest) -> Response:
        return self._listing(request, published=False, order="draft_updated_at")

    def _list_published(self, request: RecordedRequest) -> Response:
        return self._listing(request, published=True, order="post_date")

    # -- images ------------------------------------------------------------------------

    def _upload_image(self, request: RecordedRequest) -> Response:
        """Reference section 8: the image as a base64 data URI under `image`, in a JSON
        body ([CB], the editor, with an optional `postId`) or form-encoded ([PS])."""
        if isinstance(request.json, dict):
            value = request.json.get("image")
            post_id = request.json.get("postId")
            if post_id is not None and (not _is_int(post_id) or int(post_id) not in self.drafts):
                return json_response(_errors("postId names no draft", param="postId"), 400)
        else:
            value = (request.form().get("image") or [None])[0]
        match = _DATA_URI.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            return json_response(
                _errors("image must be a data:<type>;base64,<data> URI", param="image"), 400
            )
        mime, encoded = match.groups()
        if mime not in IMAGE_TYPES:
            return json_response(_errors(f"unsupported image type {mime}", param="image"), 400)
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return json_response(_errors("image is not valid base64", param="image"), 400)
        if not data or len(data) > IMAGE_LIMIT:
            return json_response(_errors("image is empty or too large", param="image"), 400)
        width, height = image_size(data)
        url = f"{IMAGE_HOST}{uuid.uuid4()}_{width}x{height}.{IMAGE_TYPES[mime]}"
        self.images[url] = data
        return json_response({"id": len(self.images), "url": url, "bytes": len(data)})

    # -- dangerous: recorded in dangerous_calls before auth, then answered plausibly ---

    def _publish(self, request: RecordedRequest, draft_id: str) -> Response:
        draft = self._find(draft_id)
        if draft is None:
            return json_response(_errors("Post not found"), 404)
        now = self._now()
        draft.update(is_published=True, post_date=now, body=draft["draft_body"])
        if isinstance(request.json, dict) and request.json.get("send"):
            draft["email_sent_at"] = now
        return json_response(draft)

    def _schedule(self, request: RecordedRequest, draft_id: str) -> Response:
        if self._find(draft_id) is None:
            return json_response(_errors("Post not found"), 404)
        trigger_at = request.json.get("trigger_at") if isinstance(request.json, dict) else None
        return json_response({"id": 7001, "post_id": int(draft_id), "trigger_at": trigger_at})

    def _unschedule(self, request: RecordedRequest, draft_id: str) -> Response:
        return json_response([7001])

    def _unpublish(self, request: RecordedRequest, draft_id: str) -> Response:
        draft = self._find(draft_id)
        if draft is None:
            return json_response(_errors("Post not found"), 404)
        draft.update(is_published=False)
        return json_response(draft)

    def _note(self, request: RecordedRequest) -> Response:
        body = request.json if isinstance(request.json, dict) else {}
        return json_response(
            {
                "id": 880001 + len(self.dangerous_calls),
                "date": self._now(),
                "body": "",
                "body_json": body.get("bodyJson"),
                "user_id": self.user_id,
                "attachments": [],
            }
        )
