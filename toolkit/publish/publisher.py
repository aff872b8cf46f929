"""`toolkit publish`: push posts as drafts to a publish target. Never anything public.

Targets come from the registry (`toolkit.targets`); a target's kind picks its client and
pusher here: `substack` or `forummagnum` (LessWrong, the EA Forum, any other forum).

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
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import checks, fields, image_check, media, pipeline, target_check, targets
from .. import diagnostics as dg
from ..document import Document, parse_post
from ..errors import Problem
from ..ledger import LEDGER, Ledger, LedgerError  # noqa: F401 - re-exported for the CLI
from ..model import LocalImage, Post, Project
from ..render import drafts
from ..render import lesswrong as lwrender
from ..render import substack as ssrender
from ..retry import SYSTEM_CLOCK, Clock
from ..targets import Target
from . import lesswrong as lwclient
from . import substack as ssclient
from .http import Http, ServiceError


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


def _gone(slug: str, target: Target, url: str | None) -> Outcome:
    """The remote draft a ledger entry names is no longer there."""
    return Outcome(
        slug,
        target.name,
        "refused",
        url,
        f"the draft is gone from {target.label}; delete its `{target.name}` entry in "
        "published.yaml to make a new one",
    )


def _edited_there(slug: str, target: Target, url: str | None) -> Outcome:
    """The remote draft changed since our last push: never overwritten unasked."""
    return Outcome(
        slug,
        target.name,
        "refused",
        url,
        f"edited on {target.label} since the last push; copy those edits into the post, "
        "or publish --force to overwrite them",
    )


# Substack --------------------------------------------------------------------------------


# What Substack takes, by the file's first bytes (python-substack uploads these unchanged).
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _IMAGE_MAGIC if data.startswith(magic)), None)


class ImageRefused(Exception):
    """A local image Substack would not take; the message says which and why."""


class SubstackPusher:
    def __init__(self, target: Target, client: ssclient.Substack, ledger: Ledger, force: bool):
        self.target, self.client, self.ledger, self.force = target, client, ledger, force
        self.name = target.name
        self._user: int | None = None
        self.project: Project | None = None  # where local images are read from

    def user_id(self) -> int:
        if self._user is None:  # looked up once per run, remembered for exports
            self._user = self.client.user_id()
            meta = self.ledger.meta(self.name)
            if meta.get("user_id") != self._user:
                self.ledger.set_meta(self.name, {**meta, "user_id": self._user})
        return self._user

    def upload_images(self, doc: Document) -> dict[str, str]:
        """Each local image's site URL (as the document has it) -> its copy on Substack.
        Uploads are remembered in published.yaml by the file's sha256, so a file is sent
        once, whichever posts use it and however often they are pushed."""
        images: list[LocalImage] = [
            i for i in (doc.post.images or {}).values() if i.source and i.digest
        ]
        if not images:
            return {}
        assert self.project is not None, "publish sets the project before pushing"
        config = self.project.config
        uploaded: dict[str, str] = {}
        for image in images:
            assert image.source is not None and image.digest is not None
            known = dict(self.ledger.meta(self.name).get("images") or {})
            url = known.get(image.digest)
            if url is None:
                data = media.read(self.project.root, image.source, image.digest)
                mime = image_type(data)
                if mime is None:
                    raise ImageRefused(
                        f"{image.source} is not a PNG, JPEG, GIF or WebP image, the kinds "
                        f"{self.target.label} takes; convert it"
                    )
                url = self.client.upload_image(data, mime)
                known[image.digest] = url
                meta = self.ledger.meta(self.name)
                self.ledger.set_meta(self.name, {**meta, "images": known})
            uploaded[config.site_url + media.url_path(image)] = url
        return uploaded

    def record(self, slug: str, draft: dict, sent_hash: str) -> str:
        url = self.client.editor_url(draft["id"])
        self.ledger.set(
            slug,
            self.name,
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
        entry = self.ledger.entry(slug, self.name)
        prosemirror = ssrender.render(doc)
        sent_hash = ssclient.content_hash(
            ssrender.draft_body(doc.post.title, doc.post.subtitle, prosemirror, None)
        )
        if entry.get("id") and entry.get("sent_hash") == sent_hash and not self.force:
            return Outcome(slug, self.name, "unchanged", entry.get("url"))
        # The hash above is of the document with the site's image URLs (named by the
        # files' content); what is sent points at Substack's copies.
        try:
            uploaded = self.upload_images(doc)
        except ImageRefused as e:
            return Outcome(slug, self.name, "refused", entry.get("url"), str(e))
        if uploaded:
            prosemirror = ssrender.render(doc, uploaded)
        body = ssrender.draft_body(doc.post.title, doc.post.subtitle, prosemirror, self.user_id())
        if not entry.get("id") and entry.get("pending"):
            adopted = self.find(entry["pending"])
            if adopted is not None:  # made by a run that stopped before recording it
                self.record(slug, adopted, "")
                entry = self.ledger.entry(slug, self.name)
        if entry.get("id"):
            return self.update(slug, entry, body, sent_hash)
        self.ledger.set(
            slug, self.name, {"pending": {"since": _now(), "title": body["draft_title"]}}
        )
        draft = self.client.create(body)
        return Outcome(slug, self.name, "created", self.record(slug, draft, sent_hash))

    def find(self, pending: dict) -> dict | None:
        """The draft an interrupted run made: same title, created after the intent."""
        since = fields.to_datetime(pending.get("since"))
        for draft in self.client.drafts():
            created = fields.to_datetime(
                draft.get("draft_created_at") or draft.get("draft_updated_at")
            )
            recent = since is None or created is None or created >= since - CLOCK_SKEW
            if draft.get("draft_title") == pending.get("title") and recent:
                return self.client.get(draft["id"]) or draft
        return None

    def update(self, slug: str, entry: dict, body: dict, sent_hash: str) -> Outcome:
        url = entry.get("url")
        if entry.get("sent_hash") == sent_hash and not self.force:
            return Outcome(slug, self.name, "unchanged", url)
        remote = self.client.get(entry["id"])
        if remote is None:
            return _gone(slug, self.target, url)
        if remote.get("is_published"):
            return Outcome(
                slug,
                self.name,
                "refused",
                url,
                f"it was published on {self.target.label}; edit it there",
            )
        recorded = (entry.get("remote") or {}).get("content_hash")
        if recorded and ssclient.content_hash(remote) != recorded and not self.force:
            return _edited_there(slug, self.target, url)
        update = {
            k: body[k]
            for k in ("draft_title", "draft_subtitle", "draft_body", "draft_bylines")
            if k in body
        }
        draft = self.client.update(entry["id"], update)
        return Outcome(slug, self.name, "updated", self.record(slug, draft, sent_hash))


# ForumMagnum forums (LessWrong, the EA Forum...) -------------------------------------


# The longest wait for a forum's comment rate limit sat out in a run; longer, we stop and
# say when to come back.
MAX_RATE_WAIT = 60.0


class ForumPusher:
    def __init__(
        self,
        target: Target,
        client: lwclient.Forum,
        ledger: Ledger,
        force: bool,
        clock: Clock = SYSTEM_CLOCK,
        note: Callable[[str], None] = lambda text: None,
    ):
        self.target, self.client, self.ledger, self.force = target, client, ledger, force
        self.name = target.name
        self.clock, self.note = clock, note
        self._user: dict | None = None
        self._last_comment: float | None = None  # when this run last created a comment

    def user(self) -> dict:
        if self._user is None:  # checks the token before anything is sent
            self._user = self.client.current_user()
            feed = self._user.get("shortformFeedId")
            if feed and self.ledger.meta(self.name).get("feed_id") != feed:
                self.ledger.set_meta(self.name, {"feed_id": feed})
        return self._user

    def record(
        self,
        slug: str,
        kind: str,
        document: dict,
        sent_hash: str,
        title: str | None,
        published: bool = False,
    ) -> str:
        url = document.get("pageUrl") or ""
        markdown = (document.get("contents") or {}).get("markdown")
        entry = {
            "id": document["_id"],
            "kind": kind,
            "url": url,
            "sent_hash": sent_hash,
            "sent_at": _now(),
            "remote": {"content_hash": lwclient.content_hash(markdown, title)},
        }
        if published:  # imported: the writer manages this public item from here
            entry["published"] = True
        self.ledger.set(slug, self.name, entry)
        return url

    def push(self, doc: Document) -> Outcome:
        slug, user = doc.post.slug, self.user()
        quick_take = doc.post.kind == "shortform"
        kind = "quick take" if quick_take else "post"
        title = None if quick_take else doc.post.title
        markdown = lwrender.render(doc)
        sent_hash = lwclient.content_hash(markdown, title)
        entry = self.ledger.entry(slug, self.name)
        if not entry.get("id") and entry.get("pending"):
            adopted = self.find(quick_take, markdown, title, user)
            if adopted is not None:
                self.record(slug, kind, adopted, "", title)
                entry = self.ledger.entry(slug, self.name)
        if entry.get("id"):
            return self.update(doc, entry, entry.get("kind") or kind, title, sent_hash)
        parent: tuple[str, str] | None = None
        if quick_take and doc.post.reply_to:
            thread = self.thread(doc.post.reply_to)
            if isinstance(thread, str):
                return Outcome(slug, self.name, "refused", None, thread)
            parent, kind = thread, "reply"
        self.ledger.set(
            slug, self.name, {"pending": {"since": _now(), "kind": kind, "title": doc.post.title}}
        )
        request = lwrender.request(doc, None, user.get("shortformFeedId"), parent)
        document = (
            self.create_comment(request)
            if quick_take
            else self.client.mutate(request, creates=True)
        )
        return Outcome(
            slug, self.name, "created", self.record(slug, kind, document, sent_hash, title)
        )

    def create_comment(self, request: dict) -> dict:
        """Create a quick take (a comment), respecting the forum's comment rate limit:
        creates are spaced by the target's documented interval, and a refusal for the
        limit is waited out and sent once more when the wait is short. (A refused create
        made nothing, so sending it again cannot make a second draft.)"""
        interval = self.target.comment_interval
        if self._last_comment is not None and interval > 0:
            wait = self._last_comment + interval - self.clock.now()
            if wait > 0:
                self.note(f"{self.target.label} allows one comment per {interval:g} s; waiting")
                self.clock.sleep(wait)
        try:
            document = self.client.mutate(request, creates=True)
        except lwclient.RateLimited as e:
            if e.wait is None or e.wait > MAX_RATE_WAIT:
                raise ServiceError(self._come_back(e.wait), fatal=True) from None
            self.note(f"{self.target.label} asks us to wait {e.wait:.0f} s before a comment")
            self.clock.sleep(e.wait + 1)  # its `until` is to the second: one more is safe
            document = self.client.mutate(request, creates=True)
        self._last_comment = self.clock.now()
        return document

    def thread(self, reply_to: str) -> tuple[str, str] | str:
        """(thread's post id, comment id) for a `reply_to:` (a comment URL, or an id looked
        up on the forum); a string says why it cannot be answered."""
        found = lwclient.parse_comment_ref(reply_to)
        if found is None:
            return (
                f"reply_to `{reply_to}` is neither a comment's URL (…/posts/<id>/<slug>"
                "?commentId=<id>) nor a comment id; copy the comment's link from the forum"
            )
        post_id, comment_id = found
        if post_id is None:
            post_id = self.client.thread_of(comment_id)
            if post_id is None:
                return f"reply_to: {self.target.label} has no comment `{comment_id}`"
        return post_id, comment_id

    def _come_back(self, wait: float | None) -> str:
        label = self.target.label
        if wait is None:
            return f"{label} is limiting comments for now; run publish again later"
        at = dt.datetime.fromtimestamp(self.clock.wall() + wait, dt.timezone.utc)
        return (
            f"{label} allows no more comments until {at:%H:%M} UTC (in {wait / 60:.0f} min); "
            "run publish again then: what was pushed is recorded"
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
            return Outcome(slug, self.name, "unchanged", url)
        get = self.client.get_post if kind == "post" else self.client.get_quick_take
        remote = get(entry["id"])
        if remote is None:
            return _gone(slug, self.target, url)
        live = remote.get("draft") is False
        if live and not (entry.get("published") or self.force):
            return Outcome(
                slug,
                self.name,
                "refused",
                url,
                f"it was published on {self.target.label}; publish --force changes the "
                f"published {kind}",
            )
        recorded = (entry.get("remote") or {}).get("content_hash")
        now = lwclient.content_hash(
            (remote.get("contents") or {}).get("markdown"),
            remote.get("title") if title is not None else None,
        )
        if recorded and now != recorded and not self.force:
            return _edited_there(slug, self.target, url)
        request = lwrender.request(doc, entry["id"])
        document = self.client.mutate(request, creates=False)
        url = self.record(slug, kind, document, sent_hash, title, bool(entry.get("published")))
        note = f"changed the published {kind}: live on {self.target.label}" if live else ""
        return Outcome(slug, self.name, "updated", url, note)


# The run ---------------------------------------------------------------------------------


def credentials(target: Target, env: dict[str, str]) -> str:
    value = env.get(target.credential, "").strip()
    if not value:
        raise PublishError(
            f"set ${target.credential} to {target.credential_doc}; or use --dry-run and "
            "paste the files under drafts/",
            usage=True,
        )
    return value


def base_url(target: Target, config) -> str:
    url = config.url_of(target.name)
    if not url:
        raise PublishError(f"set [{target.name}] {target.url_key} in toolkit.toml", usage=True)
    return url


def _substack(
    target: Target, url: str, secret: str, ledger: Ledger, force: bool, note: Callable
) -> SubstackPusher:
    return SubstackPusher(target, ssclient.Substack(url, secret, Http(target.label)), ledger, force)


def _forum(
    target: Target, url: str, secret: str, ledger: Ledger, force: bool, note: Callable
) -> ForumPusher:
    client = lwclient.Forum(url, secret, Http(target.label), target.label, target.credential)
    return ForumPusher(target, client, ledger, force, note=note)


# A target's kind picks the pusher that speaks its service's API.
PUSHERS = {"substack": _substack, "forummagnum": _forum}


def make_pusher(
    target: Target,
    config,
    ledger: Ledger,
    force: bool,
    env: dict[str, str],
    note: Callable[[str], None] = lambda text: None,
):
    secret = credentials(target, env)
    return PUSHERS[target.kind](target, base_url(target, config), secret, ledger, force, note)


def publish(
    root: Path,
    service: str,
    selectors: tuple[str, ...] = (),
    dry_run: bool = False,
    force: bool = False,
    env: dict[str, str] | None = None,
    show: Callable[[str], None] = print,
    note: Callable[[str], None] = lambda text: None,
) -> list[Outcome]:
    """Push the chosen posts to the target named `service` (as drafts); what happened.
    `show` gets what a dry run would send; `note` what the run is waiting for."""
    env = dict(os.environ) if env is None else env
    target = targets.TARGETS.get(service)
    if target is None:
        raise PublishError(
            f"no publish target `{service}`{dg.did_you_mean(service, targets.TARGETS)}; "
            "one of: " + ", ".join(targets.names()),
            usage=True,
        )
    checked = pipeline.run(root)
    broken = checks.config_errors(checked.diagnostics)
    if broken:
        raise PublishError(f"{broken[0].format()}; fix it first: nothing was sent")
    ledger = Ledger(root / LEDGER)
    posts = select(checked, service, selectors)
    config = checked.project.config
    local = [p.slug for p in posts if p.images]
    if local and image_check.placeholder(checked.project):
        raise PublishError(
            f"`{local[0]}` has local images, whose address would be under the placeholder "
            f"base_url {config.base_url}; set [site] base_url in toolkit.toml to where the "
            "site is served (nothing was sent)",
            usage=True,
        )
    pusher = None if dry_run else make_pusher(target, config, ledger, force, env, note)
    if isinstance(pusher, SubstackPusher):
        pusher.project = checked.project
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
            outcomes.append(dry_run_one(root, doc, target, ledger, checked.project, env, show))
            # What this target will show instead of what the writer wrote (P015).
            parsed = checked.parsed.get(post.path) or parse_post(doc.post)
            for warning in target_check.check_targets(doc.post, parsed, target):
                show(warning.format())
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
    target: Target,
    ledger: Ledger,
    project,
    env: dict[str, str],
    show: Callable[[str], None],
) -> Outcome:
    """Write the exports and show the request that would be sent, secrets as ***."""
    from ..output import write_file

    parts = drafts.render_parts(doc, project)
    assert parts is not None  # a target was asked for, so one is named
    files = drafts.exports(parts, ledger, (target.name,))
    for name, data in files.items():
        write_file(root / "drafts" / name, data)
    entry = ledger.entry(doc.post.slug, target.name)
    action = "would update" if entry.get("id") else "would create"
    url = project.config.url_of(target.name)
    if target.kind == "substack":
        base = (url or "https://<publication>").rstrip("/")
        line = (
            f"PUT {base}/api/v1/drafts/{entry['id']}"
            if entry.get("id")
            else f"POST {base}/api/v1/drafts"
        )
        auth = f"Cookie: {ssclient.cookie_name(base)}=***"
    else:
        line = f"POST {url}"
        auth = "Cookie: loginToken=***"
    body = files[f"{target.name}/{doc.post.slug}.json"]
    secret = env.get(target.credential)
    text = f"{line}\n{auth}\n{body.decode()}"
    if secret:
        text = text.replace(secret, "***")
    show(text)
    return Outcome(
        doc.post.slug,
        target.name,
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
