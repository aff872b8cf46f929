"""Substack's (unofficial) draft API: create, read, update and list drafts. Nothing else.

Paths are those Substack's own editor and its public clients use (see the reference notes):
`POST /api/v1/drafts`, `GET|PUT /api/v1/drafts/<id>`, `GET /api/v1/post_management/drafts`.
The session cookie is `substack.sid` on *.substack.com and `connect.sid` on a custom domain.
This module has no call that publishes, schedules or sends: there is nothing to misuse.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from ..answers import Maybe, UnexpectedAnswer, expect, parse_json
from ..diagnostics import printable
from .http import Http, ServiceError

ENV = "SUBSTACK_SID"
SERVICE = "Substack"
# A draft as we read it (other fields pass unchecked).
_DRAFT = {
    "id": int,
    "draft_title": Maybe(str),
    "draft_subtitle": Maybe(str),
    "draft_body": Maybe((str, dict)),
    "is_published": Maybe(bool),
    "draft_created_at": Maybe(str),
    "draft_updated_at": Maybe(str),
}


def _expect(value: Any, shape: Any, what: str) -> Any:
    """`value` when it has `shape`, else the ServiceError that names Substack."""
    try:
        return expect(value, shape, SERVICE, what)
    except UnexpectedAnswer as e:
        raise ServiceError(str(e)) from None


def cookie_name(publication_url: str) -> str:
    host = urlsplit(publication_url).hostname or ""
    return (
        "substack.sid"
        if host == "substack.com" or host.endswith(".substack.com")
        else "connect.sid"
    )


def content_hash(draft: dict[str, Any]) -> str:
    """A fingerprint of what a draft says (title, subtitle, body), to notice remote edits."""
    body = draft.get("draft_body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError, RecursionError):  # hashed as text, then
            body = json.loads(body)
    canonical = json.dumps(
        [draft.get("draft_title") or "", draft.get("draft_subtitle") or "", body],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class Substack:
    def __init__(self, publication_url: str, sid: str, http: Http | None = None):
        self.base = publication_url.rstrip("/")
        self.http = http or Http("Substack")
        self.headers = {
            "Cookie": f"{cookie_name(publication_url)}={sid}",
            # Without it, API calls to *.substack.com may be redirected to a custom domain.
            "Referer": f"{self.base}/publish/home",
            "Accept": "application/json",
        }

    def _call(
        self,
        method: str,
        path: str,
        *,
        retry: bool,
        body: dict | None = None,
        missing_ok: bool = False,
    ) -> Any:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = self.http.send(
            method,
            f"{self.base}/api/v1{path}",
            retry=retry,
            headers=headers,
            data=None if body is None else json.dumps(body),
        )
        if response.status_code == 401:
            raise ServiceError(
                "Substack says the session is not signed in (401): copy a fresh "
                f"session cookie into ${ENV} and run publish again",
                fatal=True,
            )
        if response.status_code == 403:
            raise ServiceError(
                "Substack refused the request (403): the session cookie may be "
                f"for another publication, or a bot wall blocked it; check ${ENV} "
                "and [substack] publication_url",
                fatal=True,
            )
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise ServiceError(
                f"Substack rejected {method} {path} ({response.status_code}): "
                f"{_error_text(response)}"
            )
        try:
            return parse_json(response.content, SERVICE)
        except UnexpectedAnswer:
            raise ServiceError(
                f"Substack answered {method} {path} with something that is not "
                "JSON (a bot wall?); try again later"
            ) from None

    def user_id(self) -> int:
        """The signed-in user's id, for the draft's byline."""
        data = self._call("GET", "/subscription", retry=True, missing_ok=True)
        if isinstance(data, dict) and isinstance(data.get("user_id"), int):
            return data["user_id"]
        data = self._call("GET", "/user/profile/self", retry=True)
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            return data["id"]
        raise ServiceError(
            "Substack did not say who is signed in; check the session cookie", fatal=True
        )

    def create(self, body: dict) -> dict:
        draft = self._call("POST", "/drafts", retry=False, body=body)
        return _expect(draft, _DRAFT, "the new draft")

    def get(self, draft_id: int) -> dict | None:
        draft = self._call("GET", f"/drafts/{draft_id}", retry=True, missing_ok=True)
        return _expect(draft, Maybe(_DRAFT), "the draft")

    def update(self, draft_id: int, body: dict) -> dict:
        draft = self._call("PUT", f"/drafts/{draft_id}", retry=True, body=body)
        return _expect(draft, _DRAFT, "the updated draft")

    def drafts(self) -> list[dict]:
        data = self._call(
            "GET",
            "/post_management/drafts?offset=0&limit=50"
            "&order_by=draft_updated_at&order_direction=desc",
            retry=True,
        )
        return list(_expect(data, {"posts": Maybe([_DRAFT])}, "the drafts").get("posts") or [])

    def upload_image(self, data: bytes, mime: str) -> str:
        """Upload an image (`POST /api/v1/image`, the file as a base64 data URI in JSON, as
        the editor sends it); the URL of Substack's copy. Sending it twice only makes a
        second copy, so it is retried like a read."""
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        answer = self._call("POST", "/image", retry=True, body={"image": uri})
        url = _expect(answer, {"url": str}, "the uploaded image")["url"]
        if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
            raise ServiceError(f"Substack answered an image upload with no URL: {printable(url)}")
        return url

    def editor_url(self, draft_id: int) -> str:
        return f"{self.base}/publish/post/{draft_id}"


def _error_text(response) -> str:
    """What Substack said went wrong, shown escaped (it goes to the terminal)."""
    return printable(_said(response))


def _said(response) -> str:
    try:
        data = parse_json(response.content, SERVICE)
    except UnexpectedAnswer:
        return response.text[:200].strip() or response.reason
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(
                str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in errors
            )[:300]
        if data.get("error"):
            return str(data["error"])[:300]
    return str(data)[:300]
