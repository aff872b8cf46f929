"""Tests of the stand-in Substack and LessWrong servers themselves, over real HTTP.

Why: other tests trust these servers to behave like the real services described in
/work/shared/reference/; a stand-in that drifts from the reference would let client bugs
through. The schema tests also pin every GraphQL operation we send to the real schema.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import requests
from graphql import (
    GraphQLSchema,
    build_schema,
    is_input_object_type,
    is_object_type,
    parse,
    validate,
)
from servers.base import RecordedRequest, Response, StandInServer
from servers.lesswrong import SCHEMA_SDL, VERCEL_CHALLENGE, LessWrongServer
from servers.substack import CLOUDFLARE_1010, SubstackServer, validate_prosemirror

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
REAL_SCHEMA = REFERENCE / "lesswrong-schema.graphql"
SECRET = "s%3Aabc123.signature"
API = "/api/v1"


@pytest.fixture
def substack() -> Iterator[SubstackServer]:
    with SubstackServer(SECRET) as server:
        yield server
        assert not server.handler_errors, server.handler_errors


@pytest.fixture
def lw() -> Iterator[LessWrongServer]:
    with LessWrongServer() as server:
        yield server
        assert not server.handler_errors, server.handler_errors


# ---------------------------------------------------------------------------------------
# Substack: examples from substack-api.md section 4

EXAMPLE_DOC: dict[str, Any] = {
    "type": "doc",
    "content": [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "Substack has no public API."},
                {"type": "footnoteAnchor", "attrs": {"number": 1}},
            ],
        },
        {
            "type": "footnote",
            "attrs": {"number": 1},
            "content": [
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "text", "text": "Unofficial clients reverse-engineer the editor."}
                    ],
                }
            ],
        },
    ],
}

EXAMPLE_WIRE_BODY: dict[str, Any] = {
    "draft_title": "Hello",
    "draft_subtitle": "",
    "draft_body": '{"type":"doc","content":[{"type":"paragraph","content":[{"type":'
    '"text","text":"Substack has no public API."},{"type":"footnoteAnchor'
    '","attrs":{"number":1}}]},{"type":"footnote","attrs":{"number":1}'
    ',"content":[{"type":"paragraph","content":[{"type":"text","text"'
    ':"Unofficial clients reverse-engineer the editor."}]}]}]}',
    "draft_bylines": [{"id": 12345678, "is_guest": False}],
    "audience": "everyone",
    "type": "newsletter",
}


def para(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def anchor(n: int) -> dict[str, Any]:
    return {"type": "footnoteAnchor", "attrs": {"number": n}}


def footnote(n: int, words: str = "A note.") -> dict[str, Any]:
    return {"type": "footnote", "attrs": {"number": n}, "content": [para(text(words))]}


def doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "content": list(blocks)}


def ss_get(server: SubstackServer, path: str, **kw: Any) -> requests.Response:
    return requests.get(server.url + API + path, cookies=server.session_cookie(), timeout=5, **kw)


def ss_send(
    server: SubstackServer, method: str, path: str, body: Any = None, **kw: Any
) -> requests.Response:
    return requests.request(
        method, server.url + API + path, json=body, cookies=server.session_cookie(), timeout=5, **kw
    )


# ---------------------------------------------------------------------------------------
# ProseMirror validator


def test_validator_accepts_the_reference_example() -> None:
    assert validate_prosemirror(EXAMPLE_DOC) == []
    assert validate_prosemirror(json.loads(EXAMPLE_WIRE_BODY["draft_body"])) == []


def test_validator_accepts_editor_layout_and_both_spellings() -> None:
    """[CB]'s capture (two anchors, one paragraph) and Tiptap vs old node/mark names."""
    editor = doc(
        para(
            text("Earlier synthetic claim "),
            anchor(1),
            text("Synthetic footnote test sentence"),
            anchor(2),
        ),
        footnote(1),
        footnote(2),
    )
    assert validate_prosemirror(editor) == []
    rich = doc(
        {"type": "heading", "attrs": {"level": 2}, "content": [text("Title")]},
        para(
            text("b", {"type": "strong"}),
            text("i", {"type": "italic"}),
            text("l", {"type": "link", "attrs": {"href": "https://example.org"}}),
            {"type": "hardBreak"},
            text("s", {"type": "strikethrough"}),
        ),
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [
                        para(text("item"), anchor(1)),
                        {
                            "type": "ordered_list",
                            "attrs": {"order": 1},
                            "content": [{"type": "list_item", "content": [para(text("nested"))]}],
                        },
                    ],
                }
            ],
        },
        {"type": "blockquote", "content": [para(text("quoted"))]},
        {"type": "codeBlock", "attrs": {"language": "python"}, "content": [text("x = 1")]},
        {"type": "horizontal_rule"},
        {
            "type": "captionedImage",
            "content": [
                {
                    "type": "image2",
                    "attrs": {"src": "https://substack-post-media.s3.amazonaws.com/x"},
                },
                {"type": "caption", "content": [text("cap")]},
            ],
        },
        footnote(1),
    )
    assert validate_prosemirror(rich) == []


@pytest.mark.parametrize(
    "broken,expected",
    [
        (
            doc(
                para(text("a"), anchor(1)),
                {
                    "type": "bullet_list",
                    "content": [{"type": "list_item", "content": [para(text("x")), footnote(1)]}],
                },
            ),
            "footnote blocks must be direct children of doc",
        ),
        (
            doc(para(text("a"), anchor(2), text("b"), anchor(1)), footnote(1), footnote(2)),
            "anchors must be numbered 1..N in order",
        ),
        (
            doc(para(text("a"), anchor(1), text("b"), anchor(2)), footnote(1)),
            "footnote anchor 2 has no footnote block",
        ),
        (
            doc(para(text("a"), anchor(1)), footnote(1), footnote(1)),
            "2 footnote blocks are numbered 1",
        ),
        (
            doc(para(text("a"), anchor(1), text("b"), anchor(2)), footnote(2), footnote(1)),
            "they must follow anchor order",
        ),
        (doc(para(text("a")), footnote(1)), "footnote block 1 has no matching anchor"),
        (
            doc(
                para(text("a"), anchor(1)),
                {
                    "type": "footnote",
                    "attrs": {"number": 1},
                    "content": [para(text("x"), anchor(2))],
                },
                footnote(2),
            ),
            "a footnote cannot reference another footnote",
        ),
        (doc({"type": "table", "content": []}), "unknown node type 'table'"),
        (
            doc(
                {
                    "type": "bullet_list",
                    "content": [
                        {"type": "list_item", "content": [{"type": "bullet_list", "content": []}]}
                    ],
                }
            ),
            "must start with a paragraph",
        ),
        (doc({"type": "heading", "content": [text("x")]}), "heading needs attrs.level"),
        (doc(para(text("x", {"type": "link"}))), "link marks need attrs.href"),
        (doc(para(text("x", {"type": "underline"}))), "unknown mark 'underline'"),
        (doc(para({"type": "text", "text": ""})), "non-empty string"),
        (doc({"type": "captionedImage", "attrs": {"src": "https://x"}}), "crashes Substack"),
        (doc(text("loose text")), "'text' is not allowed inside 'doc'"),
        (doc({"type": "footnote", "attrs": {"number": 1}, "content": []}), "at least 1"),
        ({"type": "doc", "content": "nope"}, '"content" must be a list'),
        ({"content": []}, "the root must be an object"),
    ],
)
def test_validator_rejects_broken_documents(broken: dict[str, Any], expected: str) -> None:
    problems = validate_prosemirror(broken)
    assert any(expected in p for p in problems), problems


# ---------------------------------------------------------------------------------------
# Substack server


def test_substack_requires_a_session_cookie(substack: SubstackServer) -> None:
    url = substack.url + API + "/user/profile/self"
    for cookies in ({}, {"substack.sid": "wrong"}, {"other": SECRET}):
        r = requests.get(url, cookies=cookies, timeout=5)
        assert r.status_code == 401
        assert r.json() == {"errors": [{"msg": "Please sign in", "param": None}]}
    for name in ("substack.sid", "connect.sid"):
        assert requests.get(url, cookies={name: SECRET}, timeout=5).status_code == 200
    # A browser Cookie header, both encoded and decoded (the server URL-decodes, like express).
    for header in (
        f"a=b; connect.sid={SECRET}; substack.sid={SECRET};",
        "substack.sid=s:abc123.signature",
    ):
        assert requests.get(url, headers={"Cookie": header}, timeout=5).status_code == 200


def test_substack_profile_and_subscription_give_the_user_id(substack: SubstackServer) -> None:
    profile = ss_get(substack, "/user/profile/self").json()
    assert profile["id"] == 12345678
    (pub_user,) = profile["publicationUsers"]
    assert pub_user["is_primary"] is True
    assert pub_user["publication"] == {
        **pub_user["publication"],
        "id": 424242,
        "subdomain": "testpub",
        "custom_domain": None,
    }
    assert ss_get(substack, "/subscription").json()["user_id"] == 12345678
    assert ss_get(substack, "/user/self").status_code == 403


def test_substack_draft_round_trip(substack: SubstackServer) -> None:
    created = ss_send(substack, "POST", "/drafts", EXAMPLE_WIRE_BODY)
    assert created.status_code == 200, created.text
    draft = created.json()
    assert isinstance(draft["id"], int)
    assert draft["publication_id"] == 424242
    assert draft["draft_title"] == "Hello" and draft["slug"] == "hello"
    assert draft["draft_body"] == EXAMPLE_WIRE_BODY["draft_body"]  # a string, as sent
    assert draft["draft_bylines"] == [{"id": 12345678, "is_guest": False}]
    assert draft["is_published"] is False and draft["post_date"] is None
    assert draft["audience"] == "everyone" and draft["type"] == "newsletter"
    assert draft["draft_created_at"] == draft["draft_updated_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", draft["draft_updated_at"])

    fetched = ss_get(substack, f"/drafts/{draft['id']}").json()
    assert json.loads(fetched["draft_body"]) == EXAMPLE_DOC

    updated = ss_send(
        substack,
        "PUT",
        f"/drafts/{draft['id']}",
        {"draft_title": "Hello again", "draft_subtitle": "Sub"},
    ).json()
    assert updated["draft_title"] == "Hello again" and updated["draft_subtitle"] == "Sub"
    assert updated["draft_body"] == draft["draft_body"]  # partial update keeps the body
    assert updated["draft_updated_at"] > draft["draft_updated_at"]
    assert updated["slug"] == "hello-again"

    listing = ss_get(
        substack,
        "/post_management/drafts",
        params={
            "offset": 0,
            "limit": 10,
            "order_by": "draft_updated_at",
            "order_direction": "desc",
        },
    )
    body = listing.json()
    assert body["total"] == 1 and body["isCapped"] is False
    assert body["offset"] == 0 and body["limit"] == 10
    assert [p["id"] for p in body["posts"]] == [draft["id"]]

    assert ss_send(substack, "DELETE", f"/drafts/{draft['id']}").json() == {}
    assert ss_get(substack, f"/drafts/{draft['id']}").status_code == 404
    assert substack.dangerous_calls == []


def test_substack_draft_listing_orders_and_pages(substack: SubstackServer) -> None:
    ids = [
        ss_send(substack, "POST", "/drafts", {**EXAMPLE_WIRE_BODY, "draft_title": t}).json()["id"]
        for t in ("one", "two", "three")
    ]
    substack.edit_draft(ids[0], title="one, edited")  # now the most recently updated
    page = ss_get(
        substack,
        "/post_management/drafts",
        params={"offset": 0, "limit": 2, "order_by": "draft_updated_at", "order_direction": "desc"},
    ).json()
    assert [p["id"] for p in page["posts"]] == [ids[0], ids[2]]
    assert page["total"] == 3
    rest = ss_get(substack, "/post_management/drafts", params={"offset": 2, "limit": 2}).json()
    assert [p["id"] for p in rest["posts"]] == [ids[1]]


def test_substack_bare_drafts_list_is_forbidden(substack: SubstackServer) -> None:
    r = ss_get(substack, "/drafts")
    assert r.status_code == 403
    assert r.json()["errors"][0]["msg"] == "Not authorized"


@pytest.mark.parametrize(
    "change,param",
    [
        ({"draft_body": EXAMPLE_DOC}, "draft_body"),  # an object, not a JSON string
        ({"draft_body": "{not json"}, "draft_body"),
        ({"draft_body": json.dumps(doc(para(text("a"), anchor(1))))}, "draft_body"),
        ({"draft_bylines": [{"id": "12345678", "is_guest": False}]}, "draft_bylines"),
        ({"draft_bylines": [{"id": 999, "is_guest": False}]}, "draft_bylines"),
        ({"draft_title": None}, "draft_title"),
        ({"audience": "subscribers"}, "audience"),
    ],
)
def test_substack_rejects_bad_draft_bodies(
    substack: SubstackServer, change: dict[str, Any], param: str
) -> None:
    r = ss_send(substack, "POST", "/drafts", {**EXAMPLE_WIRE_BODY, **change})
    assert r.status_code == 400
    assert param in {e["param"] for e in r.json()["errors"]}
    assert substack.drafts == {}


def test_substack_requires_title_body_and_bylines_on_create(substack: SubstackServer) -> None:
    r = ss_send(substack, "POST", "/drafts", {"draft_subtitle": "x"})
    assert r.status_code == 400
    params = {e["param"] for e in r.json()["errors"]}
    assert params == {"draft_title", "draft_body", "draft_bylines"}


def test_substack_put_validates_and_404s(substack: SubstackServer) -> None:
    assert ss_send(substack, "PUT", "/drafts/1", {"draft_title": "x"}).status_code == 404
    draft = ss_send(substack, "POST", "/drafts", EXAMPLE_WIRE_BODY).json()
    broken = json.dumps(
        doc(para(text("a"), anchor(1)), {"type": "blockquote", "content": [footnote(1)]})
    )
    r = ss_send(substack, "PUT", f"/drafts/{draft['id']}", {"draft_body": broken})
    assert r.status_code == 400
    assert "direct children of doc" in json.dumps(r.json())
    assert substack.drafts[draft["id"]]["draft_body"] == draft["draft_body"]


def test_substack_edit_draft_simulates_the_editor(substack: SubstackServer) -> None:
    draft = ss_send(substack, "POST", "/drafts", EXAMPLE_WIRE_BODY).json()
    new_doc = doc(para(text("Rewritten in the editor.")))
    substack.edit_draft(draft["id"], title="Edited", body_doc=new_doc)
    fetched = ss_get(substack, f"/drafts/{draft['id']}").json()
    assert fetched["draft_title"] == "Edited"
    assert json.loads(fetched["draft_body"]) == new_doc == substack.draft_doc(draft["id"])
    assert fetched["draft_updated_at"] > draft["draft_updated_at"]


def test_substack_dangerous_endpoints_are_recorded(substack: SubstackServer) -> None:
    draft_id = ss_send(substack, "POST", "/drafts", EXAMPLE_WIRE_BODY).json()["id"]
    assert substack.dangerous_calls == []
    assert ss_get(substack, f"/drafts/{draft_id}/prepublish").status_code == 200
    calls = [
        ("POST", f"/drafts/{draft_id}/scheduled_release", {"trigger_at": "2030-01-01T00:00Z"}),
        ("DELETE", f"/drafts/{draft_id}/scheduled_release", None),
        ("POST", f"/drafts/{draft_id}/publish", {"send": False, "share_automatically": False}),
        ("POST", f"/drafts/{draft_id}/unpublish", {}),
        ("POST", "/comment/feed", {"bodyJson": doc(para(text("hi"))), "tabId": "for-you"}),
        ("POST", "/comment/feed/", {"bodyJson": doc(para(text("hi")))}),
    ]
    for method, path, body in calls:
        assert ss_send(substack, method, path, body).status_code == 200, path
    assert [(c.method, c.route) for c in substack.dangerous_calls] == [
        (m, API + p) for m, p, _ in calls
    ]
    # Recorded even when the caller is signed out.
    requests.post(f"{substack.url}{API}/drafts/{draft_id}/publish", json={}, timeout=5)
    assert len(substack.dangerous_calls) == len(calls) + 1


def test_substack_publish_moves_a_draft_out_of_the_drafts_list(substack: SubstackServer) -> None:
    draft_id = ss_send(substack, "POST", "/drafts", EXAMPLE_WIRE_BODY).json()["id"]
    published = ss_send(substack, "POST", f"/drafts/{draft_id}/publish", {"send": False}).json()
    assert published["is_published"] is True and published["post_date"]
    assert ss_get(substack, "/post_management/drafts").json()["total"] == 0
    assert ss_get(substack, "/post_management/published").json()["total"] == 1


def test_substack_cloudflare_block(substack: SubstackServer) -> None:
    substack.cloudflare_block = True
    r = ss_get(substack, "/user/profile/self")
    assert r.status_code == 403 and r.text == "error code: 1010"
    assert r.headers["Content-Type"].startswith("text/html")
    substack.cloudflare_block = False
    assert ss_get(substack, "/user/profile/self").status_code == 200
    substack.fail_next(**CLOUDFLARE_1010)
    assert ss_get(substack, "/user/profile/self").text == "error code: 1010"
    assert ss_get(substack, "/user/profile/self").status_code == 200


# ---------------------------------------------------------------------------------------
# Base server: request log and scripted faults (exercised through the Substack server)


def test_request_log_records_what_was_sent(substack: SubstackServer) -> None:
    ss_send(substack, "POST", "/drafts", EXAMPLE_WIRE_BODY, headers={"User-Agent": "toolkit/1"})
    ss_get(substack, "/post_management/drafts", params={"offset": 0, "limit": 5})
    post, listing = substack.requests
    assert post.method == "POST" and post.path == API + "/drafts"
    assert post.headers["user-agent"] == "toolkit/1" == post.headers["USER-AGENT"]
    assert post.json == EXAMPLE_WIRE_BODY and json.loads(post.body) == EXAMPLE_WIRE_BODY
    assert post.time <= listing.time
    assert listing.path == API + "/post_management/drafts?offset=0&limit=5"
    assert listing.route == API + "/post_management/drafts"
    assert listing.query == {"offset": ["0"], "limit": ["5"]}
    assert listing.json is None and listing.body == b""
    assert substack.requests_to("POST", API + "/drafts") == [post]
    substack.clear_log()
    assert substack.requests == []


def test_fail_next_is_one_shot_and_matches_method_and_path(substack: SubstackServer) -> None:
    substack.fail_next(
        status=429,
        headers={"Retry-After": "1"},
        body={"error": "slow down"},
        method="GET",
        path=API + "/drafts/*",
    )
    substack.fail_next(status=500, method="POST")
    # Neither fault matches a GET of the profile.
    assert ss_get(substack, "/user/profile/self").status_code == 200
    r = ss_send(substack, "POST", "/drafts", EXAMPLE_WIRE_BODY)
    assert r.status_code == 500 and substack.drafts == {}  # the handler never ran
    draft_id = ss_send(substack, "POST", "/drafts", EXAMPLE_WIRE_BODY).json()["id"]
    r = ss_get(substack, f"/drafts/{draft_id}")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json() == {"error": "slow down"}
    assert ss_get(substack, f"/drafts/{draft_id}").status_code == 200
    assert substack.pending_faults == []
    faulted = [req.fault.status for req in substack.requests if req.fault]
    assert faulted == [500, 429]


def test_delay_next_trips_client_timeouts(substack: SubstackServer) -> None:
    substack.delay_next(0.6, path=API + "/user/profile/self")
    start = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            substack.url + API + "/user/profile/self",
            cookies=substack.session_cookie(),
            timeout=0.15,
        )
    assert time.monotonic() - start < 0.5
    # The next request is answered at once, and the server survives the dropped client.
    assert ss_get(substack, "/user/profile/self").status_code == 200
    assert substack.wait_idle(5)  # the delayed answer went to a client that had gone
    assert substack.requests[0].end is not None
    assert ss_get(substack, "/subscription").status_code == 200


class _Crashing(StandInServer):
    """A stand-in with a bug: its handler raises on every request."""

    def handle(self, request: RecordedRequest) -> Response:
        raise KeyError("a stand-in bug")


def test_leaving_a_stand_in_whose_handler_raised_fails_the_test() -> None:
    with (
        pytest.raises(AssertionError, match=r"_Crashing\.handle raised 1 time") as failed,
        _Crashing() as server,
    ):
        r = requests.get(server.url + "/anything", timeout=5)
        assert r.status_code == 500 and "a stand-in bug" in r.text
    assert "KeyError" in str(failed.value)


def test_a_test_can_expect_handler_errors() -> None:
    with _Crashing() as server:
        server.handler_errors_expected = True
        assert requests.get(server.url + "/anything", timeout=5).status_code == 500
    assert len(server.handler_errors) == 1 and "KeyError" in server.handler_errors[0]


def test_an_exception_already_in_flight_is_not_replaced_by_handler_errors() -> None:
    with pytest.raises(ValueError, match="the test's own failure"), _Crashing() as server:
        requests.get(server.url + "/anything", timeout=5)
        raise ValueError("the test's own failure")
    assert len(server.handler_errors) == 1


def test_a_stand_in_without_handler_errors_exits_quietly() -> None:
    with SubstackServer(SECRET) as server:
        assert requests.get(server.url + API + "/user/profile/self", timeout=5).status_code == 401
    assert server.handler_errors == []


# ---------------------------------------------------------------------------------------
# LessWrong server

CREATE_DRAFT = (
    "mutation CreateDraft($data: CreatePostDataInput!) { createPost(data: $data) { data { _id "
    "slug title draft pageUrl linkSharingKey contents { _id version wordCount hasFootnotes html "
    "originalContents { type } } } } }"
)
UPDATE_DRAFT = (
    "mutation UpdateDraft($id: String!, $data: UpdatePostDataInput!) { updatePost(selector: "
    "{_id: $id}, data: $data) { data { _id slug draft pageUrl contents { version hasFootnotes "
    "} } } }"
)
CREATE_QUICK_TAKE = (
    "mutation CreateQuickTake($data: CreateCommentDataInput!) { createComment(data: $data) { "
    "data { _id postId shortform shortformFrontpage draft pageUrl contents { html hasFootnotes "
    "} } } }"
)
UPDATE_QUICK_TAKE = (
    "mutation UpdateQuickTake($id: String!, $data: UpdateCommentDataInput!) { updateComment("
    "selector: {_id: $id}, data: $data) { data { _id draft contents { html markdown } } } }"
)
CURRENT_USER = "query { currentUser { _id username displayName slug shortformFeedId karma } }"
LIST_DRAFTS = (
    "query ListDrafts($me: String) { posts(selector: {drafts: {userId: $me}}, limit: 50) { "
    "results { _id title slug draft modifiedAt } } }"
)
FETCH_POST = (
    "query FetchPost($id: String) { post(selector: {_id: $id}) { result { _id title slug draft "
    "modifiedAt contents { version markdown html } } } }"
)
DRAFT_COMMENTS = (
    "query DraftQuickTakes($postId: String) { comments(selector: {draftComments: {postId: "
    "$postId}}) { results { _id draft } } }"
)
MARKDOWN_BODY = "Body text with a note.[^1]\n\n[^1]: The note."

EXAMPLE_OPERATIONS = [
    CREATE_DRAFT,
    UPDATE_DRAFT,
    CREATE_QUICK_TAKE,
    UPDATE_QUICK_TAKE,
    CURRENT_USER,
    LIST_DRAFTS,
    FETCH_POST,
    DRAFT_COMMENTS,
]


def gql(
    server: LessWrongServer,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = "default",
    **kw: Any,
) -> requests.Response:
    """POST a GraphQL operation; token "default" means the server's primary user."""
    cookies = {"loginToken": server.token if token == "default" else token} if token else {}
    return requests.post(
        server.graphql_url,
        json={"query": query, "variables": variables or {}},
        cookies=cookies,
        timeout=5,
        **kw,
    )


def draft_data(title: str = "My title", body: str = MARKDOWN_BODY, **extra: Any) -> dict:
    return {
        "title": title,
        "draft": True,
        "contents": {"originalContents": {"type": "markdown", "data": body}},
        **extra,
    }


def create_draft(server: LessWrongServer, **kw: Any) -> dict[str, Any]:
    r = gql(server, CREATE_DRAFT, {"data": draft_data(**kw)})
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    return r.json()["data"]["createPost"]["data"]


def quick_take(body: str = "A quick take.[^1]\n\n[^1]: Its note.", **extra: Any) -> dict:
    return {
        "shortform": True,
        "shortformFrontpage": True,
        "draft": True,
        "contents": {"originalContents": {"type": "markdown", "data": body}},
        **extra,
    }


def test_lw_auth_by_cookie_or_header(lw: LessWrongServer) -> None:
    me = gql(lw, CURRENT_USER).json()["data"]["currentUser"]
    assert me["_id"] == lw.user["_id"] and me["username"] == "test-writer"
    header = requests.post(
        lw.graphql_url, json={"query": CURRENT_USER}, headers={"loginToken": lw.token}, timeout=5
    )
    assert header.json()["data"]["currentUser"]["_id"] == lw.user["_id"]
    for token in (None, "not-a-token"):
        r = gql(lw, CURRENT_USER, token=token)
        assert r.status_code == 200 and r.json() == {"data": {"currentUser": None}}
    # The cookie wins over the header, even when the cookie is wrong (`??` in getUserFromReq).
    both = requests.post(
        lw.graphql_url,
        json={"query": CURRENT_USER},
        headers={"loginToken": lw.token},
        cookies={"loginToken": "bad"},
        timeout=5,
    )
    assert both.json()["data"]["currentUser"] is None


def test_lw_mutation_without_user_fails_at_http_200(lw: LessWrongServer) -> None:
    r = gql(lw, CREATE_DRAFT, {"data": draft_data()}, token=None)
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"createPost": None}
    (error,) = body["errors"]
    assert error["message"] == "app.operation_not_allowed"
    assert error["path"] == ["createPost"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert lw.posts == {}


def test_lw_create_draft_matches_the_reference(lw: LessWrongServer) -> None:
    post = create_draft(lw)
    assert re.fullmatch(r"[23456789A-HJ-NP-Za-km-z]{17}", post["_id"])
    assert post["slug"] == "my-title" and post["title"] == "My title" and post["draft"] is True
    assert post["pageUrl"] == f"{lw.url}/posts/{post['_id']}/my-title"
    assert post["linkSharingKey"]
    contents = post["contents"]
    assert contents["version"] == "0.1.0"
    assert contents["hasFootnotes"] is True
    assert contents["originalContents"] == {"type": "markdown"}
    assert 'class="footnote-reference"' in contents["html"]
    assert "data-footnote-section" in contents["html"]
    assert contents["wordCount"] == 7
    assert not lw.anything_published
    # A second post with the same title gets a suffixed slug.
    assert create_draft(lw)["slug"] == "my-title-1"


def test_lw_markdown_is_escaped_and_footnote_free_posts_say_so(lw: LessWrongServer) -> None:
    post = create_draft(lw, body="Plain <b>raw</b> text.")
    assert post["contents"]["hasFootnotes"] is False
    assert "&lt;b&gt;" in post["contents"]["html"]


def test_lw_create_without_draft_publishes_and_is_recorded(lw: LessWrongServer) -> None:
    data = draft_data()
    del data["draft"]
    post = gql(lw, CREATE_DRAFT, {"data": data}).json()["data"]["createPost"]["data"]
    assert post["draft"] is False
    assert post["contents"]["version"] == "1.0.0"
    assert lw.published_posts == [post["_id"]] and lw.anything_published


@pytest.mark.parametrize(
    "field,value",
    [
        ("slug", "my-slug"),
        ("userId", "x"),
        ("postedAt", "2026-01-01T00:00:00.000Z"),
        ("status", 2),
        ("shortform", True),
        ("unlisted", True),
        ("question", True),
    ],
)
def test_lw_disallowed_fields_on_create(lw: LessWrongServer, field: str, value: Any) -> None:
    r = gql(lw, CREATE_DRAFT, {"data": draft_data(**{field: value})})
    assert r.status_code == 200
    assert r.json()["errors"][0]["message"] == "app.validation_error"
    assert r.json()["data"] == {"createPost": None}


def test_lw_unrecognized_content_type(lw: LessWrongServer) -> None:
    data = draft_data()
    data["contents"]["originalContents"]["type"] = "pandoc"
    r = gql(lw, CREATE_DRAFT, {"data": data})
    assert r.json()["errors"][0]["message"] == "Unrecognized format: pandoc"
    assert lw.posts == {}


def test_lw_update_draft(lw: LessWrongServer) -> None:
    post = create_draft(lw)
    before = lw.posts[post["_id"]]["modifiedAt"]
    data = {
        "title": "My title (v2)",
        "contents": {
            "originalContents": {"type": "markdown", "data": "New body.[^1]\n\n[^1]: New note."},
            "commitMessage": "pushed by tool",
        },
    }
    r = gql(lw, UPDATE_DRAFT, {"id": post["_id"], "data": data})
    updated = r.json()["data"]["updatePost"]["data"]
    assert updated["_id"] == post["_id"] and updated["draft"] is True
    assert updated["slug"] == "my-title-v2"  # auto-generated slugs follow the title
    assert updated["pageUrl"].endswith(f"/posts/{post['_id']}/my-title-v2")
    assert updated["contents"] == {"version": "0.2.0", "hasFootnotes": True}
    assert lw.posts[post["_id"]]["modifiedAt"] > before
    assert lw.latest(post["_id"])["commitMessage"] == "pushed by tool"
    assert not lw.anything_published


def test_lw_update_errors(lw: LessWrongServer) -> None:
    post = create_draft(lw)
    missing = gql(lw, UPDATE_DRAFT, {"id": "nope", "data": {"title": "x"}}).json()
    assert missing["errors"][0]["message"] == "app.document_not_found"
    other_token = "f" * 64
    lw.add_user(other_token, username="someone-else")
    stranger = gql(
        lw, UPDATE_DRAFT, {"id": post["_id"], "data": {"title": "x"}}, token=other_token
    ).json()
    assert stranger["errors"][0]["message"] == "app.operation_not_allowed"
    logged_out = gql(lw, UPDATE_DRAFT, {"id": post["_id"], "data": {"title": "x"}}, token=None)
    assert logged_out.json()["errors"][0]["message"] == "app.operation_not_allowed"
    disallowed = gql(lw, UPDATE_DRAFT, {"id": post["_id"], "data": {"slug": "x"}}).json()
    assert json.loads(disallowed["errors"][0]["message"]) == [
        {"id": "errors.disallowed_property_detected", "properties": {"name": "slug"}}
    ]
    assert lw.posts[post["_id"]]["title"] == "My title"


def test_lw_update_with_draft_false_publishes(lw: LessWrongServer) -> None:
    post = create_draft(lw)
    r = gql(lw, UPDATE_DRAFT, {"id": post["_id"], "data": {"draft": False}})
    assert r.json()["data"]["updatePost"]["data"]["draft"] is False
    assert lw.published_posts == [post["_id"]]


def test_lw_list_and_fetch_own_drafts(lw: LessWrongServer) -> None:
    first = create_draft(lw, title="First")
    second = create_draft(lw, title="Second")
    results = gql(lw, LIST_DRAFTS, {"me": lw.user["_id"]}).json()["data"]["posts"]["results"]
    assert [p["_id"] for p in results] == [second["_id"], first["_id"]]
    lw.edit_post(first["_id"], markdown="Edited on the site.")
    results = gql(lw, LIST_DRAFTS, {"me": lw.user["_id"]}).json()["data"]["posts"]["results"]
    assert [p["_id"] for p in results] == [first["_id"], second["_id"]]

    fetched = gql(lw, FETCH_POST, {"id": first["_id"]}).json()["data"]["post"]["result"]
    assert fetched["contents"]["markdown"] == "Edited on the site."
    assert fetched["contents"]["version"] == "0.2.0"
    assert fetched["modifiedAt"] > results[1]["modifiedAt"]

    # Drafts are private: logged out, the list is empty and a fetch is refused.
    anonymous = gql(lw, LIST_DRAFTS, {"me": lw.user["_id"]}, token=None).json()
    assert anonymous["data"]["posts"]["results"] == []
    refused = gql(lw, FETCH_POST, {"id": first["_id"]}, token=None).json()
    assert refused["errors"][0]["message"] == "app.operation_not_allowed"
    missing = gql(lw, FETCH_POST, {"id": "nope"}).json()
    assert missing["errors"][0]["message"] == "app.missing_document"
    allow_null = gql(
        lw, 'query { post(selector: {_id: "nope"}, allowNull: true) { result { _id } } }'
    ).json()
    assert allow_null == {"data": {"post": {"result": None}}}


def test_lw_edit_post_with_html_makes_a_lexical_revision(lw: LessWrongServer) -> None:
    post = create_draft(lw)
    lw.edit_post(
        post["_id"],
        html='<p>Hi<span class="footnote-reference">x</span></p>',
        title="Renamed on the site",
    )
    latest = lw.latest(post["_id"])
    assert latest["originalContents"]["type"] == "lexical" and latest["hasFootnotes"] is True
    assert lw.posts[post["_id"]]["title"] == "Renamed on the site"


def test_lw_quick_take_creates_the_shortform_post(lw: LessWrongServer) -> None:
    assert lw.user["shortformFeedId"] is None
    r = gql(lw, CREATE_QUICK_TAKE, {"data": quick_take()})
    comment = r.json()["data"]["createComment"]["data"]
    feed_id = lw.user["shortformFeedId"]
    assert feed_id and comment["postId"] == feed_id
    assert comment["shortform"] is True and comment["shortformFrontpage"] is True
    assert comment["draft"] is True
    assert comment["contents"]["hasFootnotes"] is True
    shortform_slug = lw.posts[feed_id]["slug"]
    assert comment["pageUrl"] == (
        f"{lw.url}/posts/{feed_id}/{shortform_slug}?commentId={comment['_id']}"
    )
    assert gql(lw, CURRENT_USER).json()["data"]["currentUser"]["shortformFeedId"] == feed_id
    assert not lw.anything_published

    # The second quick take reuses the shortform post, here passed explicitly.
    again = gql(lw, CREATE_QUICK_TAKE, {"data": quick_take("Another.", postId=feed_id)})
    assert again.json()["data"]["createComment"]["data"]["postId"] == feed_id
    drafts = gql(lw, DRAFT_COMMENTS, {"postId": feed_id}).json()["data"]["comments"]["results"]
    assert len(drafts) == 2 and all(c["draft"] for c in drafts)


def test_lw_quick_take_errors(lw: LessWrongServer) -> None:
    empty = gql(lw, CREATE_QUICK_TAKE, {"data": quick_take("")}).json()
    assert empty["errors"][0]["message"] == "You cannot submit an empty comment"
    assert empty["data"] == {"createComment": None}
    disallowed = gql(lw, CREATE_QUICK_TAKE, {"data": quick_take(userId="x")}).json()
    assert disallowed["errors"][0]["message"] == "app.validation_error"
    logged_out = gql(lw, CREATE_QUICK_TAKE, {"data": quick_take()}, token=None).json()
    assert logged_out["errors"][0]["message"] == "app.operation_not_allowed"
    assert lw.comments == {}


def test_lw_quick_take_without_draft_publishes(lw: LessWrongServer) -> None:
    data = quick_take()
    del data["draft"]
    comment = gql(lw, CREATE_QUICK_TAKE, {"data": data}).json()["data"]["createComment"]["data"]
    assert comment["draft"] is False
    assert lw.published_comments == [comment["_id"]]


def test_lw_update_quick_take(lw: LessWrongServer) -> None:
    lw.comment_rate_limit_seconds = 0
    comment = gql(lw, CREATE_QUICK_TAKE, {"data": quick_take()}).json()
    comment_id = comment["data"]["createComment"]["data"]["_id"]
    data = {"contents": {"originalContents": {"type": "markdown", "data": "Revised."}}}
    updated = gql(lw, UPDATE_QUICK_TAKE, {"id": comment_id, "data": data}).json()
    assert updated["data"]["updateComment"]["data"]["contents"]["markdown"] == "Revised."
    assert not lw.anything_published
    published = gql(lw, UPDATE_QUICK_TAKE, {"id": comment_id, "data": {"draft": False}}).json()
    assert published["data"]["updateComment"]["data"]["draft"] is False
    assert lw.published_comments == [comment_id]
    back = gql(lw, UPDATE_QUICK_TAKE, {"id": comment_id, "data": {"draft": True}}).json()
    assert back["errors"][0]["message"] == ("You cannot convert a published comment back to draft.")


def test_lw_comment_rate_limit(lw: LessWrongServer) -> None:
    # As on the site, draft quick takes do not start the 8-second window...
    for _ in range(2):
        assert "errors" not in gql(lw, CREATE_QUICK_TAKE, {"data": quick_take()}).json()
    # ...but a published one does, and the next createComment (even a draft) is refused.
    published = quick_take()
    del published["draft"]
    assert "errors" not in gql(lw, CREATE_QUICK_TAKE, {"data": published}).json()
    limited = gql(lw, CREATE_QUICK_TAKE, {"data": quick_take()})
    assert limited.status_code == 200
    message = limited.json()["errors"][0]["message"]
    assert re.fullmatch(
        r"Rate limit: You cannot comment for [1-8] seconds \(until \w{3} \w{3} "
        r"\d\d \d{4} \d\d:\d\d:\d\d GMT\+0000 \(Coordinated Universal Time\)\)",
        message,
    ), message
    lw.comment_rate_limit_seconds = 0
    assert "errors" not in gql(lw, CREATE_QUICK_TAKE, {"data": quick_take()}).json()


def test_lw_rate_limit_can_count_drafts(lw: LessWrongServer) -> None:
    lw.comment_rate_limit_counts_drafts = True
    assert "errors" not in gql(lw, CREATE_QUICK_TAKE, {"data": quick_take()}).json()
    second = gql(lw, CREATE_QUICK_TAKE, {"data": quick_take()}).json()
    assert second["errors"][0]["message"].startswith("Rate limit: You cannot comment for")


def test_lw_graphql_error_statuses(lw: LessWrongServer) -> None:
    unknown_field = gql(lw, "query { currentUser { _id nope } }")
    assert unknown_field.status_code == 400
    error = unknown_field.json()["errors"][0]
    assert "nope" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    syntax = gql(lw, "query { currentUser { ")
    assert syntax.status_code == 400
    assert syntax.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"

    coercion = gql(lw, CREATE_DRAFT, {"data": {"draft": True}})  # no title
    assert coercion.status_code == 200
    assert "data" not in coercion.json()
    assert coercion.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "title" in coercion.json()["errors"][0]["message"]

    not_json = requests.post(
        lw.graphql_url,
        data="query { currentUser { _id } }",
        headers={"Content-Type": "text/plain"},
        timeout=5,
    )
    assert not_json.status_code == 400


def test_lw_get_queries_and_batches(lw: LessWrongServer) -> None:
    r = requests.get(
        lw.graphql_url, params={"query": CURRENT_USER}, cookies={"loginToken": lw.token}, timeout=5
    )
    assert r.json()["data"]["currentUser"]["_id"] == lw.user["_id"]
    mutation = requests.get(
        lw.graphql_url,
        params={"query": CREATE_DRAFT, "variables": json.dumps({"data": draft_data()})},
        cookies={"loginToken": lw.token},
        timeout=5,
    )
    assert mutation.status_code == 405 and lw.posts == {}
    batch = requests.post(
        lw.graphql_url,
        json=[{"query": CURRENT_USER}, {"query": "{ nope }"}],
        cookies={"loginToken": lw.token},
        timeout=5,
    ).json()
    assert batch[0]["data"]["currentUser"] and batch[1]["errors"]


def test_lw_vercel_challenge(lw: LessWrongServer) -> None:
    lw.vercel_challenge = True
    r = gql(lw, CURRENT_USER)
    assert r.status_code == 429
    assert r.headers["x-vercel-mitigated"] == "challenge"
    assert "Vercel Security Checkpoint" in r.text
    lw.vercel_challenge = False
    lw.fail_next(**VERCEL_CHALLENGE)
    assert gql(lw, CURRENT_USER).status_code == 429
    assert gql(lw, CURRENT_USER).status_code == 200


# ---------------------------------------------------------------------------------------
# GraphQL operations against our small schema and the real one


@lru_cache(maxsize=1)
def real_schema() -> GraphQLSchema:
    return build_schema(REAL_SCHEMA.read_text(encoding="utf-8"))


def needs_real_schema() -> GraphQLSchema:
    if not REAL_SCHEMA.exists():
        pytest.skip(
            f"the real LessWrong schema is not here: {REAL_SCHEMA} (it is not ours to "
            "commit; CI provides it under ../shared/reference/)"
        )
    return real_schema()


@pytest.mark.parametrize("operation", EXAMPLE_OPERATIONS)
def test_operations_validate_against_our_schema(operation: str) -> None:
    assert validate(build_schema(SCHEMA_SDL), parse(operation)) == []


@pytest.mark.parametrize("operation", EXAMPLE_OPERATIONS)
def test_operations_validate_against_the_real_schema(operation: str) -> None:
    assert validate(needs_real_schema(), parse(operation)) == []


def test_our_schema_uses_the_real_names_and_types() -> None:
    """Every type, field and argument of our small schema exists in the real one, same type."""
    real = needs_real_schema()
    ours = build_schema(SCHEMA_SDL)
    problems = []
    for name, our_type in ours.type_map.items():
        if name.startswith("__") or name in {"String", "Boolean", "Int", "Float", "ID"}:
            continue
        real_type = real.type_map.get(name)
        if real_type is None or type(real_type) is not type(our_type):
            problems.append(f"{name}: missing or a different kind in the real schema")
            continue
        if not (is_object_type(our_type) or is_input_object_type(our_type)):
            continue
        for field_name, field in our_type.fields.items():
            real_field = real_type.fields.get(field_name)
            if real_field is None:
                problems.append(f"{name}.{field_name}: not in the real schema")
                continue
            if str(field.type) != str(real_field.type):
                problems.append(
                    f"{name}.{field_name}: {field.type} here, {real_field.type} in the real schema"
                )
            for arg_name, arg in getattr(field, "args", {}).items():
                real_arg = real_field.args.get(arg_name)
                if real_arg is None or str(arg.type) != str(real_arg.type):
                    problems.append(f"{name}.{field_name}({arg_name}): differs")
    assert problems == []
