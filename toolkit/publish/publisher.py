"""`toolkit publish`: push posts as drafts to Substack or LessWrong. Never anything public.

For each post and service, published.yaml (the ledger) decides what happens:
- never pushed: record the intent, create the draft (never retried), record the result.
  A run killed between the two leaves the intent; the next run lists the account's drafts
  and adopts the one it made instead of making another.
- pushed before and unchanged since: nothing is sent.
- pushed before and changed: read the remote draft first; if someone edited it there (its
  content no longer matches what we recorded), or it was published or deleted, refuse and
  say so (`--force` overwrites an edited draft); otherwise update that same draft.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import checks, pipeline
from .. import diagnostics as dg
from ..document import Document
from ..errors import Problem
from ..model import Post
from ..render import html as htmlrender
from ..render import lesswrong as lwrender
from ..render import substack as ssrender
from . import lesswrong as lwclient
from . import substack as ssclient
from .http import ServiceError
from .ledger import Ledger

SERVICES = ("substack", "lesswrong")
LEDGER = "published.yaml"


@dataclass
class Outcome:
    post: str  # slug
    service: str
    action: str  # created | updated | unchanged | refused | failed | would create | ...
    url: str | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.action not in ("refused", "failed")


class PublishError(Problem):
    """The whole run cannot go on (no credentials, unknown post...); one-line message."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.usage = usage  # a usage error (exit 2) rather than a failure (exit 1)


CLOCK_SKEW = dt.timedelta(minutes=10)  # between our clock and the service's


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


# Choosing posts ---------------------------------------------------------------------------


def select(checked: pipeline.Checked, service: str, selectors: tuple[str, ...]) -> list[Post]:
    """Posts named by slug or path; with none, every published post whose `targets` names
    the service."""
    posts = checked.project.posts
    if not selectors:
        return [p for p in checked.posts() if service in p.targets]
    by_slug = {p.slug: p for p in posts}
    by_path = {p.path: p for p in posts}
    chosen = []
    for name in selectors:
        rel = Path(name).as_posix().removeprefix("./")
        post = by_slug.get(name) or by_path.get(rel) or by_path.get(f"posts/{rel}")
        if post is None:
            raise PublishError(
                f"no post `{name}`{dg.did_you_mean(name, by_slug)}; give a slug "
                "or a path under posts/",
                usage=True,
            )
        chosen.append(post)
    return chosen


def blocking(checked: pipeline.Checked, post: Post, doc: Document) -> list[dg.Diagnostic]:
    """Errors in the post, or in the snippets it relies on: they stop its publishing."""
    files = {post.path} | {checked.project.snippets[s].path for s in doc.claims}
    return [d for d in checked.diagnostics if d.severity == dg.ERROR and d.path in files]


# Exports (drafts/) -----------------------------------------------------------------------


@dataclass
class Parts:
    """A post rendered for Substack and LessWrong (the per-post renderer's output, which
    `toolkit build` gets from the same parse as the site, and may keep in its cache)."""

    slug: str
    title: str
    subtitle: str | None
    kind: str
    prosemirror: dict
    markdown: str
    paste_html: str


def render_parts(doc: Document, project) -> Parts:
    return Parts(
        doc.post.slug,
        doc.post.title,
        doc.post.subtitle,
        doc.post.kind,
        ssrender.render(doc),
        lwrender.render(doc),
        paste_html(doc, project.config.site_url),
    )


def paste_html(doc: Document, site_url: str) -> str:
    rendered = htmlrender.render(doc, site_url)
    page = htmlrender.absolute_fragments(rendered.full(), site_url + doc.path)
    subtitle = f"<h3>{htmlrender.escape(doc.post.subtitle)}</h3>\n" if doc.post.subtitle else ""
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{htmlrender.escape(doc.post.title)}</title></head><body>\n"
        f"<h1>{htmlrender.escape(doc.post.title)}</h1>\n{subtitle}{page}</body></html>\n"
    )


def exports(parts: Parts, ledger: Ledger, services: tuple[str, ...]) -> dict[str, bytes]:
    """Paste-ready files and the exact requests publish would send, under drafts/."""
    slug, files = parts.slug, {}
    if "substack" in services:
        body = ssrender.draft_body(
            parts.title, parts.subtitle, parts.prosemirror, ledger.meta("substack").get("user_id")
        )
        files[f"substack/{slug}.json"] = _json(body)
        files[f"substack/{slug}.html"] = parts.paste_html.encode()
    if "lesswrong" in services:
        request = lwrender.request_for(
            parts.kind,
            parts.title,
            parts.markdown,
            ledger.entry(slug, "lesswrong").get("id"),
            ledger.meta("lesswrong").get("feed_id"),
        )
        files[f"lesswrong/{slug}.json"] = _json(request)
        files[f"lesswrong/{slug}.md"] = parts.markdown.encode()
    return files


def _json(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


# Substack --------------------------------------------------------------------------------


class SubstackPusher:
    def __init__(self, client: ssclient.Substack, ledger: Ledger, force: bool):
        self.client, self.ledger, self.force = client, ledger, force
        self._user: int | None = None

    def user_id(self) -> int:
        if self._user is None:  # looked up once per run, remembered for exports
            self._user = self.client.user_id()
            if self.ledger.meta("substack").get("user_id") != self._user:
                self.ledger.set_meta("substack", {"user_id": self._user})
        return self._user

    def record(self, slug: str, draft: dict, sent_hash: str) -> str:
        url = self.client.editor_url(draft["id"])
        self.ledger.set(
            slug,
            "substack",
            {
                "id": draft["id"],
                "url": url,
                "sent_hash": sent_hash,
                "sent_at": _now(),
                "remote": {
                    "updated_at": draft.get("draft_updated_at"),
                    "content_hash": ssclient.content_hash(draft),
                },
            },
        )
        return url

    def push(self, doc: Document) -> Outcome:
        slug = doc.post.slug
        entry = self.ledger.entry(slug, "substack")
        prosemirror = ssrender.render(doc)
        sent_hash = ssclient.content_hash(
            ssrender.draft_body(doc.post.title, doc.post.subtitle, prosemirror, None)
        )
        if entry.get("id") and entry.get("sent_hash") == sent_hash and not self.force:
            return Outcome(slug, "substack", "unchanged", entry.get("url"))
        body = ssrender.draft_body(doc.post.title, doc.post.subtitle, prosemirror, self.user_id())
        if not entry.get("id") and entry.get("pending"):
            adopted = self.find(entry["pending"])
            if adopted is not None:  # made by a run that stopped before recording it
                self.record(slug, adopted, "")
                entry = self.ledger.entry(slug, "substack")
        if entry.get("id"):
            return self.update(slug, entry, body, sent_hash)
        self.ledger.set(
            slug, "substack", {"pending": {"since": _now(), "title": body["draft_title"]}}
        )
        draft = self.client.create(body)
        return Outcome(slug, "substack", "created", self.record(slug, draft, sent_hash))

    def find(self, pending: dict) -> dict | None:
        """The draft an interrupted run made: same title, created after the intent."""
        since = _time(pending.get("since"))
        for draft in self.client.drafts():
            created = _time(draft.get("draft_created_at") or draft.get("draft_updated_at"))
            recent = since is None or created is None or created >= since - CLOCK_SKEW
            if draft.get("draft_title") == pending.get("title") and recent:
                return self.client.get(draft["id"]) or draft
        return None

    def update(self, slug: str, entry: dict, body: dict, sent_hash: str) -> Outcome:
        url = entry.get("url")
        if entry.get("sent_hash") == sent_hash and not self.force:
            return Outcome(slug, "substack", "unchanged", url)
        remote = self.client.get(entry["id"])
        if remote is None:
            return Outcome(
                slug,
                "substack",
                "refused",
                url,
                "the draft is gone from Substack; delete its `substack` entry in "
                "published.yaml to make a new one",
            )
        if remote.get("is_published"):
            return Outcome(
                slug, "substack", "refused", url, "it was published on Substack; edit it there"
            )
        recorded = (entry.get("remote") or {}).get("content_hash")
        if recorded and ssclient.content_hash(remote) != recorded and not self.force:
            return Outcome(
                slug,
                "substack",
                "refused",
                url,
                "edited on Substack since the last push; copy those edits into the "
                "post, or publish --force to overwrite them",
            )
        update = {
            k: body[k]
            for k in ("draft_title", "draft_subtitle", "draft_body", "draft_bylines")
            if k in body
        }
        draft = self.client.update(entry["id"], update)
        return Outcome(slug, "substack", "updated", self.record(slug, draft, sent_hash))


# LessWrong -------------------------------------------------------------------------------


class LessWrongPusher:
    def __init__(self, client: lwclient.LessWrong, ledger: Ledger, force: bool):
        self.client, self.ledger, self.force = client, ledger, force
        self._user: dict | None = None

    def user(self) -> dict:
        if self._user is None:  # checks the token before anything is sent
            self._user = self.client.current_user()
            feed = self._user.get("shortformFeedId")
            if feed and self.ledger.meta("lesswrong").get("feed_id") != feed:
                self.ledger.set_meta("lesswrong", {"feed_id": feed})
        return self._user

    def record(
        self, slug: str, kind: str, document: dict, sent_hash: str, title: str | None
    ) -> str:
        url = document.get("pageUrl") or ""
        markdown = (document.get("contents") or {}).get("markdown")
        self.ledger.set(
            slug,
            "lesswrong",
            {
                "id": document["_id"],
                "kind": kind,
                "url": url,
                "sent_hash": sent_hash,
                "sent_at": _now(),
                "remote": {"content_hash": lwclient.content_hash(markdown, title)},
            },
        )
        return url

    def push(self, doc: Document) -> Outcome:
        slug, user = doc.post.slug, self.user()
        quick_take = doc.post.kind == "shortform"
        kind = "quick take" if quick_take else "post"
        title = None if quick_take else doc.post.title
        markdown = lwrender.render(doc)
        sent_hash = lwclient.content_hash(markdown, title)
        entry = self.ledger.entry(slug, "lesswrong")
        if not entry.get("id") and entry.get("pending"):
            adopted = self.find(quick_take, markdown, title, user)
            if adopted is not None:
                self.record(slug, kind, adopted, "", title)
                entry = self.ledger.entry(slug, "lesswrong")
        if entry.get("id"):
            return self.update(doc, entry, kind, title, sent_hash)
        self.ledger.set(
            slug, "lesswrong", {"pending": {"since": _now(), "kind": kind, "title": doc.post.title}}
        )
        request = lwrender.request(doc, None, user.get("shortformFeedId"))
        document = self.client.mutate(request, creates=True)
        return Outcome(
            slug, "lesswrong", "created", self.record(slug, kind, document, sent_hash, title)
        )

    def find(self, quick_take: bool, markdown: str, title: str | None, user: dict) -> dict | None:
        if quick_take:
            for comment in self.client.draft_quick_takes(user.get("shortformFeedId")):
                stored = ((comment.get("contents") or {}).get("markdown") or "").strip()
                if stored == markdown.strip():
                    return comment
            return None
        for post in self.client.draft_posts(user["_id"]):
            if post.get("title") == title:
                return post
        return None

    def update(
        self, doc: Document, entry: dict, kind: str, title: str | None, sent_hash: str
    ) -> Outcome:
        slug, url = doc.post.slug, entry.get("url")
        if entry.get("sent_hash") == sent_hash and not self.force:
            return Outcome(slug, "lesswrong", "unchanged", url)
        get = self.client.get_quick_take if kind == "quick take" else self.client.get_post
        remote = get(entry["id"])
        if remote is None:
            return Outcome(
                slug,
                "lesswrong",
                "refused",
                url,
                "the draft is gone from LessWrong; delete its `lesswrong` entry in "
                "published.yaml to make a new one",
            )
        if remote.get("draft") is False:
            return Outcome(
                slug, "lesswrong", "refused", url, "it was published on LessWrong; edit it there"
            )
        recorded = (entry.get("remote") or {}).get("content_hash")
        now = lwclient.content_hash(
            (remote.get("contents") or {}).get("markdown"),
            remote.get("title") if title is not None else None,
        )
        if recorded and now != recorded and not self.force:
            return Outcome(
                slug,
                "lesswrong",
                "refused",
                url,
                "edited on LessWrong since the last push; copy those edits into the "
                "post, or publish --force to overwrite them",
            )
        request = lwrender.request(doc, entry["id"])
        document = self.client.mutate(request, creates=False)
        return Outcome(
            slug, "lesswrong", "updated", self.record(slug, kind, document, sent_hash, title)
        )


# The run ---------------------------------------------------------------------------------


def credentials(service: str, env: dict[str, str]) -> str:
    name = ssclient.ENV if service == "substack" else lwclient.ENV
    value = env.get(name, "").strip()
    if not value:
        where = (
            "the `connect.sid` or `substack.sid` cookie of a signed-in browser session"
            if service == "substack"
            else "the `loginToken` cookie of a signed-in browser session"
        )
        raise PublishError(
            f"set ${name} to {where}; or use --dry-run and paste the files under drafts/",
            usage=True,
        )
    return value


def make_pusher(service: str, root_config, ledger: Ledger, force: bool, env: dict[str, str]):
    secret = credentials(service, env)
    if service == "substack":
        if not root_config.substack_url:
            raise PublishError("set [substack] publication_url in toolkit.toml", usage=True)
        return SubstackPusher(ssclient.Substack(root_config.substack_url, secret), ledger, force)
    return LessWrongPusher(
        lwclient.LessWrong(root_config.lesswrong_graphql_url, secret), ledger, force
    )


def publish(
    root: Path,
    service: str,
    selectors: tuple[str, ...] = (),
    dry_run: bool = False,
    force: bool = False,
    env: dict[str, str] | None = None,
    show: Callable[[str], None] = print,
) -> list[Outcome]:
    """Push the chosen posts to `service` (as drafts); what happened to each."""
    env = dict(os.environ) if env is None else env
    checked = pipeline.run(root)
    broken = checks.config_errors(checked.diagnostics)
    if broken:
        raise PublishError(f"{broken[0].format()}; fix it first: nothing was sent")
    ledger = Ledger(root / LEDGER)
    posts = select(checked, service, selectors)
    config = checked.project.config
    pusher = None if dry_run else make_pusher(service, config, ledger, force, env)
    outcomes = []
    for post in posts:
        doc = checked.document(post)
        errors = blocking(checked, post, doc)
        if errors:
            # The first is named, so the writer knows where to look without a rerun.
            outcomes.append(
                Outcome(
                    post.slug,
                    service,
                    "refused",
                    None,
                    f"{len(errors)} error(s) in it or its snippets, first "
                    f"{errors[0].format()}; run `toolkit check`",
                )
            )
            continue
        if pusher is None:  # a dry run
            outcomes.append(dry_run_one(root, doc, service, ledger, checked.project, env, show))
            continue
        try:
            outcomes.append(pusher.push(doc))
        except ServiceError as e:
            outcomes.append(Outcome(post.slug, service, "failed", None, str(e)))
            if e.fatal:
                break  # every further request would fail the same way
    return outcomes


def dry_run_one(
    root: Path,
    doc: Document,
    service: str,
    ledger: Ledger,
    checked_project,
    env: dict[str, str],
    show: Callable[[str], None],
) -> Outcome:
    """Write the exports and show the request that would be sent, secrets as ***."""
    from ..output import write_file

    files = exports(render_parts(doc, checked_project), ledger, (service,))
    for name, data in files.items():
        write_file(root / "drafts" / name, data)
    config = checked_project.config
    entry = ledger.entry(doc.post.slug, service)
    action = "would update" if entry.get("id") else "would create"
    if service == "substack":
        base = (config.substack_url or "https://<publication>").rstrip("/")
        target = (
            f"PUT {base}/api/v1/drafts/{entry['id']}"
            if entry.get("id")
            else f"POST {base}/api/v1/drafts"
        )
        auth = f"Cookie: {ssclient.cookie_name(base)}=***"
        body = files[f"substack/{doc.post.slug}.json"]
    else:
        target = f"POST {config.lesswrong_graphql_url}"
        auth = "Cookie: loginToken=***"
        body = files[f"lesswrong/{doc.post.slug}.json"]
    secret = env.get(ssclient.ENV if service == "substack" else lwclient.ENV)
    text = f"{target}\n{auth}\n{body.decode()}"
    if secret:
        text = text.replace(secret, "***")
    show(text)
    return Outcome(
        doc.post.slug,
        service,
        action,
        entry.get("url"),
        "wrote drafts/" + ", drafts/".join(sorted(files)),
    )


def table(outcomes: list[Outcome]) -> str:
    """The closing table: post, service, what happened, and the draft's URL (or why)."""
    rows = [("POST", "SERVICE", "RESULT", "DRAFT")]
    for o in outcomes:
        detail = o.url or ""
        if o.note:
            detail = f"{detail} ({o.note})" if detail else o.note
        rows.append((o.post, o.service, o.action, detail))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
        for r in rows
    )
