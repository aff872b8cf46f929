"""The `toolkit` command: a thin click layer over the library.

Exit codes: 0 clean, 1 content problems, 2 usage errors (click's own convention).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from . import build as buildlib
from . import (
    checks,
    content,
    environment,
    fields,
    output,
    pipeline,
    scaffold,
    schemas,
    targets,
)
from . import claims as claimslib
from . import diagnostics as dg
from .errors import Failed, Group, ToolkitError


class Context:
    def __init__(self, root: Path | None):
        self._root = root

    @property
    def root(self) -> Path:
        return content.find_root(self._root or Path.cwd())  # NotAProject: a usage error


pass_ctx = click.make_pass_decorator(Context)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    help="The content repository (default: the nearest directory with a "
    "toolkit.toml, from here up).",
)
@click.version_option(package_name="toolkit")
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """Write posts that cite AI companies' own words, check every citation against its
    archived copy, and publish one Markdown source as a site, feeds, and drafts on
    Substack and LessWrong.

    \b
    Start with `toolkit check` in a content repository (or `toolkit init` to make one).
    """
    bad = environment.problems()
    if bad:
        raise click.UsageError(bad[0])
    ctx.obj = Context(root)


def echo_diagnostics(diags: list[dg.Diagnostic], fmt: str, strict: bool) -> None:
    if fmt == "json":
        click.echo(dg.to_json(diags))
        return
    for d in diags:
        click.echo(d.format(click.style))
    click.echo(dg.summary(diags, strict), err=True)


@cli.command()
@click.option(
    "--online",
    is_flag=True,
    help="Also check every citation on the web: that each archived copy exists "
    "and holds the quote, and what became of each live page.",
)
@click.option(
    "--refresh", is_flag=True, help="With --online: ignore what earlier runs learned, ask again."
)
@click.option("--strict", is_flag=True, help="Count warnings as errors.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one `path:line:col: severity CODE message` per "
    "line; json: an array of {path, line, column, severity, code, message}.",
)
@pass_ctx
def check(obj: Context, online: bool, refresh: bool, strict: bool, fmt: str) -> None:
    """Check posts, snippets and settings without building anything.

    Reports every problem with its file, line and a stable code (listed in the
    README). Exits 0 when clean, 1 when there are errors (or warnings, with --strict).
    With --online, archived copies that are missing or lack the quote are errors; what
    happened to live pages is only ever a warning (it changes from day to day).
    """
    if refresh and not online:
        raise click.UsageError("--refresh only means something with --online")
    result = pipeline.run(obj.root, keep_parsed=online)
    diagnostics = result.diagnostics
    offline = False
    bad_config = online and bool(checks.config_errors(diagnostics))
    if online and not bad_config:
        from .online import citations

        report = citations.check_online(result, obj.root, _online_options(result, refresh, fmt))
        diagnostics = sorted(
            diagnostics + dg.filter_ignored(report.diagnostics, result.project.config.ignore)
        )
        offline = report.offline
    echo_diagnostics(diagnostics, fmt, strict)
    if bad_config:
        raise ToolkitError(
            f"{content.CONFIG_FILE} has errors (above), so the online checks were not "
            "done and nothing was fetched; fix it and run again."
        )
    if offline:
        raise ToolkitError(
            "no request got an answer (no network?), so the online checks were not "
            "done; the offline ones are above. Run it again when you are online."
        )
    if dg.has_failures(diagnostics, strict):
        raise Failed()  # the summary line above says why


def _online_options(result, refresh: bool, fmt: str):
    import os
    import sys

    from .online.citations import Options
    from .online.fetch import Limits

    settings = result.project.config.online
    limits = Limits.from_settings(settings)
    progress = None
    if fmt == "text" and sys.stderr.isatty() and not os.environ.get("CI"):

        def progress(done: int, total: int) -> None:
            filled = 30 * done // max(total, 1)
            click.echo(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} URLs checked",
                nl=done == total,
                err=True,
            )

    return Options(limits, live_days=settings["live_days"], refresh=refresh, progress=progress)


@cli.command()
@click.option("--drafts", is_flag=True, help="Include draft posts in the site (never in feeds).")
@click.option("--strict", is_flag=True, help="Count warnings as errors: write nothing if any.")
@click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Build without reading or writing .toolkit/: the plain path, for debugging the cache.",
)
@pass_ctx
def build(obj: Context, drafts: bool, strict: bool, no_cache: bool) -> None:
    """Check, then write the site (site/) and the feeds (feeds/).

    Nothing is written when the check finds errors (or warnings, with --strict): the
    previous outputs stay as they were. Each output directory is replaced in one step.
    """
    root = obj.root
    try:
        report = buildlib.build(
            root,
            drafts=drafts,
            strict=strict,
            use_cache=not no_cache,
            on_wait=lambda: click.echo(
                "Another build of this project is running; waiting for it to finish.", err=True
            ),
        )
    except buildlib.PathClash as e:
        raise click.ClickException(str(e)) from None
    if report.diagnostics:
        echo_diagnostics(report.diagnostics, "text", strict)
    if not report.ok:
        raise Failed("Nothing written: fix the errors above, then build again.")
    if report.up_to_date:
        click.echo(
            "Nothing changed since the last build: site/, feeds/ and drafts/ are up to date."
        )
    for directory, files in report.written.items():
        if directory == "site":
            shown = f"{sum(f.endswith('.html') for f in files)} pages"
        elif directory == "drafts":
            shown = f"{len(files)} files for Substack and LessWrong" if files else "nothing"
        else:
            shown = ", ".join(files)
        click.echo(f"Wrote {directory}/: {shown}")
    cached = f", {report.reused} from cache" if report.reused else ""
    click.echo(f"Built {report.posts} posts in {report.seconds:.2f} s{cached}.")


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),  # checked before anything is built
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free one).",
)
@click.option(
    "--drafts/--no-drafts", default=True, show_default=True, help="Show draft posts in the preview."
)
@pass_ctx
def serve(obj: Context, port: int, drafts: bool) -> None:
    """Preview the site on http://127.0.0.1:PORT/ and rebuild on every save.

    Open pages reload themselves when what they show changes. Problems the check finds
    are printed here and shown on every page; the preview keeps running. Stop with Ctrl-C.
    """
    import threading

    from . import serve as servelib

    preview = servelib.Preview(obj.root, drafts)

    def report(update: servelib.Update) -> None:
        if update.error:
            click.echo(click.style(f"Preview not rebuilt: {update.error}", fg="red"), err=True)
        elif update.diagnostics:
            echo_diagnostics(update.diagnostics, "text", False)
        else:
            click.echo(f"Rebuilt in {update.seconds:.2f} s: no problems.", err=True)

    def changed(paths: set[Path]) -> None:
        shown = preview.quick(paths)
        if shown:
            click.echo(f"Showing {', '.join(shown)}; rebuilding the rest.", err=True)
        report(preview.rebuild())
        if not shown:  # the project itself may have changed
            preview.load()

    report(preview.rebuild())
    preview.load()
    try:
        server = servelib.make_server(
            obj.root, port, preview.banner, preview.events, preview.overlay
        )
    except OSError as e:
        raise click.UsageError(
            f"cannot listen on 127.0.0.1:{port} ({e.strerror}); try --port {port + 1}"
        ) from None
    stop, watching = threading.Event(), threading.Event()

    def watch() -> None:
        try:
            servelib.watch(
                obj.root,
                changed,
                stop,
                on_fallback=lambda why: click.echo(f"Watching by polling ({why}).", err=True),
                ready=watching,
            )
        except Exception as e:  # noqa: BLE001 - the preview still serves; say it is stuck
            click.echo(
                click.style(f"Saves are no longer watched: {type(e).__name__}: {e}", fg="red"),
                err=True,
            )
            watching.set()

    threading.Thread(target=watch, daemon=True).start()
    watching.wait(10)  # serve no page before its next save would be seen
    click.echo(
        f"Previewing at http://127.0.0.1:{server.server_port}/ (Ctrl-C to stop); "
        "site/ is left to `toolkit build`",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
    finally:
        stop.set()
        preview.events.close()  # open event streams end, so their threads do
        server.server_close()


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


@cli.command()
@click.argument(
    "directory", required=False, type=click.Path(file_okay=False, path_type=Path), default="."
)
def init(directory: Path) -> None:
    """Start a content repository in DIRECTORY (default: here).

    Writes toolkit.toml, snippets/labs.yaml with the major AI companies, one example
    snippet and one example post, and a .gitignore for the generated directories. It
    builds at once. Nothing is overwritten: if any of these files exists, nothing is
    written and the command says which.
    """
    files = scaffold.init_files(directory, _today())
    written = scaffold.write_new(directory, files)
    for path in written:
        click.echo(f"created {path}")
    where = "" if directory == Path(".") else f"cd {directory} && "
    click.echo(f"Next: {where}toolkit build (or toolkit serve to preview).", err=True)


def _completion_root(ctx: click.Context) -> Path | None:
    """The project a shell completion is for (None outside one: complete nothing)."""
    try:
        return content.find_root(ctx.find_root().params.get("root") or Path.cwd())
    except content.NotAProject:
        return None


def _complete_labs(ctx: click.Context, param: click.Parameter, incomplete: str):
    root = _completion_root(ctx)
    if root is None:
        return []
    try:
        labs, _ = content.load_labs(root, root / "snippets" / "labs.yaml")
    except OSError:
        return []
    return [key for key in labs if key.startswith(incomplete)]


@cli.group()
def new() -> None:
    """Create a post, a shortform note, a snippet or a document entry."""


def _create(obj: Context, rel: str, text: str) -> None:
    (path,) = scaffold.write_new(obj.root, {rel: text})
    click.echo(path.relative_to(obj.root).as_posix())


def _complete_snippets(ctx: click.Context, param: click.Parameter, incomplete: str):
    root = _completion_root(ctx)
    if root is None:
        return []
    return sorted(p.stem for p in content.snippet_files(root) if p.stem.startswith(incomplete))


def _new_post(obj: Context, title: str, kind: str, cite: tuple[str, ...]) -> None:
    if cite:
        known = content.load_project(obj.root, posts=False).snippets
        for snippet in cite:
            if snippet not in known:
                raise click.BadParameter(
                    f"no snippet `{snippet}`{dg.did_you_mean(snippet, known)}", param_hint="--cite"
                )
    _create(obj, *scaffold.new_post(title, kind, _today(), cite))


CITE = click.option(
    "--cite",
    multiple=True,
    shell_complete=_complete_snippets,
    help="A snippet to cite (repeatable): listed in claims, cited in the text.",
)
LAB = click.option(
    "--lab",
    required=True,
    shell_complete=_complete_labs,
    help="The company: a key of snippets/labs.yaml.",
)


@new.command("post")
@click.argument("title")
@CITE
@pass_ctx
def new_post(obj: Context, title: str, cite: tuple[str, ...]) -> None:
    """A draft newsletter post, posts/<slug>.md, dated today. Prints its path."""
    _new_post(obj, title, "post", cite)


@new.command("shortform")
@click.argument("title")
@CITE
@pass_ctx
def new_shortform(obj: Context, title: str, cite: tuple[str, ...]) -> None:
    """A draft shortform note, posts/<slug>.md, dated today. Prints its path."""
    _new_post(obj, title, "shortform", cite)


@new.command("snippet")
@LAB
@click.option("--url", required=True, help="The source: the page or PDF the quote is from.")
@click.option("--quote", help="The source's exact words.")
@click.option("--title", help="What the claim is, in a few words (also names the file).")
@pass_ctx
def new_snippet(obj: Context, lab: str, url: str, quote: str | None, title: str | None) -> None:
    """A snippet, snippets/<lab>/<id>.md, its id made from the lab and the title.

    Refuses an unknown lab (with a suggestion) or an id that already exists.
    """
    if not fields.is_http_url(url):
        raise click.BadParameter(f"`{url}` is not an absolute http(s) URL", param_hint="--url")
    project = content.load_project(obj.root, posts=False)
    rel, text = scaffold.new_snippet(project, lab, url, quote, title, _today())
    _create(obj, rel, text)


@new.command("document")
@LAB
@click.option("--url", required=True, help="Where the company publishes it (page or PDF).")
@click.option("--title", required=True, help="The document's own title.")
@click.option("--kind", help="framework, system card, policy page, blog post...")
@click.option("--published", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD.")
@click.option("--id", "doc_id", help="Its id (default: from the lab and the title).")
@pass_ctx
def new_document(
    obj: Context,
    lab: str,
    url: str,
    title: str,
    kind: str | None,
    published: dt.datetime | None,
    doc_id: str | None,
) -> None:
    """An entry in documents.yaml (appended; nothing else in the file changes). Prints
    its id. Cite it whole as [@id], or name it in a snippet as `source: <id>`; run
    `toolkit archive` to give it an archived copy."""
    from . import document_register

    if not fields.is_http_url(url):
        raise click.BadParameter(f"`{url}` is not an absolute http(s) URL", param_hint="--url")
    project = content.load_project(obj.root, posts=False)
    if lab not in project.labs:
        raise click.BadParameter(
            f"unknown lab `{lab}`{dg.did_you_mean(lab, project.labs)}", param_hint="--lab"
        )
    doc_id = doc_id or scaffold.snippet_id(lab, title, url)
    if not fields.is_safe_name(doc_id):
        raise click.BadParameter(
            f"`{doc_id}` is not a valid id: use lowercase letters, digits, `.`, `_` and `-`",
            param_hint="--id",
        )
    taken = project.documents.get(doc_id) or project.snippets.get(doc_id)
    if taken is not None:
        where = getattr(taken, "path", project.documents_path)
        raise click.BadParameter(f"`{doc_id}` is already taken ({where})", param_hint="--id")
    values = {"lab": lab, "title": title, "url": url}
    values["published"] = published.date().isoformat() if published else ""
    values["kind"] = kind or ""
    document_register.append_entry(obj.root / project.documents_path, doc_id, values)
    click.echo(doc_id)


@cli.command()
@click.option("--lab", shell_complete=_complete_labs, help="Only this company's claims.")
@click.option("--topic", help="Only claims with this topic.")
@click.option(
    "--stale",
    is_flag=True,
    help="List published posts that rely on superseded or retracted snippets.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True
)
@pass_ctx
def claims(obj: Context, lab: str | None, topic: str | None, stale: bool, fmt: str) -> None:
    """The claims table: company, id, title, status, source, archived, cited by N posts.

    With --stale, the published posts to revisit because a company changed or withdrew
    what they cite, until an update dated after the change says so; exits 1 while it
    lists any.
    """
    checked = pipeline.run(obj.root)
    if lab and lab not in checked.project.labs:
        raise click.BadParameter(
            f"unknown lab `{lab}`{dg.did_you_mean(lab, checked.project.labs)}", param_hint="--lab"
        )
    stale_items = claimslib.stale(checked) if stale else []
    rows = [] if stale else claimslib.rows(checked, lab, topic)
    items = stale_items if stale else rows
    if fmt == "json":
        click.echo(claimslib.as_json(items))
    elif fmt == "csv":
        click.echo(claimslib.as_csv(items), nl=False)
    else:
        click.echo(claimslib.stale_text(stale_items) if stale else claimslib.as_text(rows))
    if stale_items:
        raise Failed()  # the lines above are the posts to revisit


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("schemas"),
    show_default=True,
    help="Directory to write the schemas to (in the project).",
)
@pass_ctx
def schema(obj: Context, out: Path) -> None:
    """Write JSON Schemas for post and snippet front matter, labs.yaml, archives.yaml and
    toolkit.toml, from the same declarations `toolkit check` uses, so an editor with a
    YAML (or TOML) language server checks and completes them as you type."""
    directory = out if out.is_absolute() else obj.root / out
    for name, data in schemas.all_schemas().items():
        output.write_file(directory / name, (json.dumps(data, indent=2) + "\n").encode())
        click.echo(
            (directory / name).relative_to(obj.root).as_posix()
            if directory.is_relative_to(obj.root)
            else str(directory / name)
        )


def _complete_posts(ctx: click.Context, param: click.Parameter, incomplete: str):
    root = _completion_root(ctx)
    if root is None:
        return []
    return sorted(
        content.slugify(p.stem)
        for p in content.post_files(root)
        if content.slugify(p.stem).startswith(incomplete)
    )


class TargetName(click.ParamType):
    """A name in the publish-target registry, read when the command runs (so a target
    registered after import is a valid choice, and completion lists it)."""

    name = "target"

    def get_metavar(self, param: click.Parameter, *args: object, **kwargs: object) -> str:
        return "[" + "|".join(targets.names()) + "]"

    def convert(self, value, param, ctx) -> str:
        if value not in targets.TARGETS:
            self.fail(
                f"`{value}` is not a publish target{dg.did_you_mean(value, targets.TARGETS)}; "
                "one of: " + ", ".join(targets.names()),
                param,
                ctx,
            )
        return value

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(n) for n in targets.names() if n.startswith(incomplete)]


@cli.command()
@click.argument("posts", nargs=-1, shell_complete=_complete_posts, metavar="[SLUG|PATH]...")
@click.option(
    "--to",
    "service",
    type=TargetName(),
    required=True,
    help="Where to push the drafts: a target in the registry (substack, lesswrong, eaforum).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Send nothing: write drafts/ and show each request, secrets as ***.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite a remote draft even if it was edited there since the last push.",
)
@pass_ctx
def publish(obj: Context, posts: tuple[str, ...], service: str, dry_run: bool, force: bool) -> None:
    """Push posts as DRAFTS to Substack, LessWrong or the EA Forum; nothing is ever made
    public.

    With no SLUG, every published post whose `targets` names the target. The first
    push creates a draft; later pushes update that same draft (recorded in
    published.yaml), and refuse if it was edited on the site since (unless --force).
    Credentials come from the environment: $SUBSTACK_SID (the session cookie),
    $LESSWRONG_TOKEN or $EAFORUM_TOKEN (the forum's loginToken cookie).
    """
    from .publish import publisher

    outcomes = publisher.publish(
        obj.root,
        service,
        posts,
        dry_run=dry_run,
        force=force,
        show=lambda text: click.echo(text),
        note=lambda text: click.echo(text, err=True),
    )
    if not outcomes:
        click.echo(
            f"Nothing to publish: no published post lists `{service}` in `targets`.", err=True
        )
        return
    click.echo(publisher.table(outcomes))
    if not all(o.ok for o in outcomes):
        raise Failed()  # the table says which and why


@cli.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Look captures up, but write nothing and request no new capture.",
)
@pass_ctx
def archive(obj: Context, dry_run: bool) -> None:
    """Find an archived copy for every source and link that lacks one, and write it in.

    For each snippet without `archive:` and each link in a post with no entry in
    archives.yaml: the Wayback Machine's capture nearest the snippet's `accessed` date;
    failing that, with $WAYBACK_ACCESS_KEY and $WAYBACK_SECRET_KEY set (from
    https://archive.org/account/s3.php), a new capture by Save Page Now. The result is
    written into the snippet's front matter or appended to archives.yaml, and nothing else
    in those files changes. archive.today is never submitted to. Exits 1 if anything is
    left without a copy.
    """
    import os

    from .online import archiver
    from .online.fetch import Limits

    poll_every = environment.read("TOOLKIT_SPN_POLL")  # checked before any command ran
    result = pipeline.run(obj.root, keep_parsed=True)
    broken = checks.config_errors(result.diagnostics)
    if broken:
        echo_diagnostics(broken, "text", strict=False)
        raise ToolkitError(f"fix {content.CONFIG_FILE} first; nothing was looked up or written.")
    outcomes = []
    for outcome in archiver.archive(
        result,
        obj.root,
        dry_run=dry_run,
        env=os.environ,
        limits=Limits.from_settings(result.project.config.online),
        poll_every=poll_every,
    ):
        click.echo(outcome.line)  # as it comes: a new capture can take minutes
        outcomes.append(outcome)
    if not outcomes:
        click.echo("Every source and link already has an archived copy.")
        return
    click.echo(archiver.summary(outcomes))
    if any(
        o.action in ("failed", "stopped") or (o.action == "not found" and not dry_run)
        for o in outcomes
    ):
        raise Failed()  # the lines above say which


@cli.command()
@click.argument("only", nargs=-1, metavar="[ID|URL]...")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--archive",
    "record",
    is_flag=True,
    help="Snapshot each changed page (Save Page Now) and record it in documents.yaml.",
)
@pass_ctx
def watch(obj: Context, only: tuple[str, ...], fmt: str, record: bool) -> None:
    """Which company documents changed since their last recorded version.

    Fetches every document in documents.yaml and every other snippet source (or those
    named), compares its main text with the last recorded version, and says for each:
    unchanged, changed, moved, gone, blocked or unreachable. A changed page shows the
    sentences removed and added, the snippets whose quote is gone and the published posts
    citing them. Exits 1 when a quoted passage is gone.
    """
    import os

    from .online import watch as watchlib
    from .online.fetch import Limits

    poll_every = environment.read("TOOLKIT_SPN_POLL")
    result = pipeline.run(obj.root)
    broken = checks.config_errors(result.diagnostics)
    if broken:
        echo_diagnostics(broken, "text", strict=False)
        raise ToolkitError(f"fix {content.CONFIG_FILE} first; nothing was fetched.")
    limits = Limits.from_settings(result.project.config.online)
    try:
        reports, fetcher = watchlib.run(result, obj.root, only=only, limits=limits)
    except watchlib.UnknownTarget as e:
        raise click.BadParameter(str(e), param_hint="ID|URL") from None
    if record:
        watchlib.record(
            reports,
            result.project,
            obj.root,
            os.environ,
            today=_today(),
            poll_every=poll_every if poll_every is not None else 5.0,
            fetcher=fetcher,
        )
    if fmt == "json":
        click.echo(json.dumps([r.as_json() for r in reports], indent=2, ensure_ascii=False))
    else:
        click.echo(watchlib.as_text(reports, result.project))
    if watchlib.quotes_gone(reports):
        raise Failed()


@cli.group("import")
def import_() -> None:
    """Bring writing already on LessWrong (or another forum) or Substack into posts/.

    Each post becomes posts/<slug>.md and is recorded in published.yaml as if `publish`
    had pushed it, so a later `publish` updates it rather than making a second copy.
    Running it again imports only what is new; no file is ever overwritten.
    """


def _show_import(result, target_name: str) -> None:
    for path, item in result.written:
        click.echo(f"{path}  {item.kind}  {item.url or item.remote_id}")
    for item, why in result.skipped:
        click.echo(f"skipped {item.title or item.slug!r}: {why}", err=True)
    count = len(result.written)
    click.echo(
        f"Imported {count} item(s); recorded in published.yaml under `{target_name}`."
        if count
        else "Nothing new to import.",
        err=True,
    )


@import_.command("lesswrong")
@click.option("--user", "user", required=True, help="The user's name as in /users/NAME.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only what was posted on or after this date (YYYY-MM-DD).",
)
@click.option(
    "--to",
    "forum",
    type=TargetName(),
    default="lesswrong",
    show_default=True,
    help="The forum to read from: a forummagnum target (lesswrong, eaforum, ...).",
)
@pass_ctx
def import_lesswrong(obj: Context, user: str, since: dt.datetime | None, forum: str) -> None:
    """Every published post and quick take of USER on a ForumMagnum forum.

    Reads the forum's public API (no login). Quick takes get a title from their opening
    words (the forum shows none). Drafts and other people's posts are never imported.
    """
    from .imports import files
    from .imports import lesswrong as lwimport

    root = obj.root
    target = files.forum_target(forum)
    url = content.load_project(root, posts=False).config.url_of(forum)
    if not url:
        raise click.UsageError(f"set [{forum}] {target.url_key} in toolkit.toml")
    when = since.replace(tzinfo=dt.timezone.utc) if since else None
    from .publish.http import ServiceError

    try:
        found = lwimport.items(target, url, user, when)
    except ServiceError as e:  # no network, a bot wall, an answer it cannot read
        raise ToolkitError(f"{e}; nothing was imported") from None
    _show_import(files.write_items(root, target, found), forum)


@import_.command("substack")
@click.argument("export", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def import_substack(obj: Context, export: Path) -> None:
    """Every published post in EXPORT, Substack's export archive (a .zip with posts.csv
    and posts/<id>.<slug>.html)."""
    from .imports import files
    from .imports import substack as ssimport

    root = obj.root
    target = targets.get("substack")
    url = content.load_project(root, posts=False).config.url_of("substack")
    found, skipped = ssimport.items(export, url)
    for line in skipped:
        click.echo(f"skipped {line}", err=True)
    _show_import(files.write_items(root, target, found), "substack")


def main() -> None:
    cli(prog_name="toolkit")
