"""The formats a writer edits, declared once.

Each format (post front matter, snippet front matter, labs.yaml entries, archives.yaml
entries, toolkit.toml) is a tuple of `Field`s. The same declaration drives validation in
`toolkit check` (with positions and did-you-mean hints) and the JSON Schemas that
`toolkit schema` writes for editors, so the two can never disagree.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import diagnostics as dg
from .yamlfile import CONTROL_IN_NAME, INVALID, Loaded, Path

# Letters and digits of any script (see content.slugify), `.`, `_` and `-`; a letter or
# digit first. `is_slug` adds what a pattern says badly: lower case, no `..`, NFC.
SLUG_RE = re.compile(r"^[^\W_][\w.-]*$")
NAME_MAX = 100  # bytes: a file name is at most 255, and a name may gain a suffix


def is_slug(value: str) -> bool:
    return (
        SLUG_RE.fullmatch(value) is not None
        and value == value.lower()
        and ".." not in value
        and unicodedata.is_normalized("NFC", value)
        and len(value.encode("utf-8")) <= NAME_MAX
    )


def is_safe_name(value: object) -> bool:
    """Whether `value` may name a folder or file in an output tree (a lab key, a tag's
    key, an id): a slug, so no `/`, `\\`, `..`, NUL or leading dot, and short enough for
    any filesystem."""
    return isinstance(value, str) and is_slug(value)


# C0 control characters other than tab, newline and carriage return: no output format can
# carry them (XML 1.0 forbids them outright), and they arrive unseen, pasted from a PDF.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def control_message(text: str, where: str) -> str:
    """What F012 says about the first control character in `text`."""
    m = CONTROL_RE.search(text)
    char = m.group(0) if m else "\x00"
    name = _CONTROL_NAMES.get(char, "a control character")
    return (
        f"{where} holds {name} (U+{ord(char):04X}), which no page or feed can carry; "
        "delete it (it often comes with text pasted from a PDF)"
    )


_CONTROL_NAMES = {
    "\x0c": "a form feed",
    "\x1b": "an escape",
    "\x00": "a NUL",
    "\x0b": "a vertical tab",
}
DATETIME_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}"
    r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$"
)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text | url | date | datetime | choice | list | table | int | bool | slug
    doc: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    fields: tuple[Field, ...] = ()  # for kind="table"
    # For kind="list": "text"; "choice" (then `choices` applies); "target" (a name in the
    # publish-target registry, read when a file is checked); "table" (each item a mapping
    # of `fields`).
    items: str = "text"
    example: Any = None
    # For kind="table": a name may stand in its place (a snippet's `source: <document id>`).
    or_name: bool = False


UPDATE = (
    Field("date", "date", "When the update was made.", required=True, example="2025-03-01"),
    Field(
        "text",
        "text",
        "What changed, in Markdown (citations and footnotes allowed).",
        required=True,
    ),
)

POST = (
    # Required for `kind: post` (checked in content.load_post): a quick take has none.
    Field("title", "text", "The post's title; optional for shortform (its opening words)."),
    Field(
        "date",
        "datetime",
        "Publication time; required when published. A date alone means 00:00 UTC.",
        example="2025-02-14T09:00:00+00:00",
    ),
    Field(
        "kind",
        "choice",
        "A newsletter post or a shortform note.",
        choices=("post", "shortform"),
        default="post",
    ),
    Field(
        "status",
        "choice",
        "Drafts stay out of feeds and the index.",
        choices=("draft", "published"),
        default="draft",
    ),
    Field("slug", "slug", "URL name; defaults to the file name."),
    Field("subtitle", "text", "Shown under the title."),
    Field("summary", "text", "Used for feed summaries and previews."),
    Field("tags", "list", "Topics; each gets a page and a feed.", default=()),
    Field("claims", "list", "Ids of the snippets this post relies on.", default=()),
    Field(
        "targets",
        "list",
        "Where `toolkit publish` may push this post: names in the target registry.",
        items="target",
        default=(),
    ),
    Field("updated", "datetime", "When the post was last substantively changed."),
    Field(
        "link",
        "url",
        "A link post: the page it is about, shown at its top (a link post on forums).",
        example="https://www.anthropic.com/news/announcing-our-updated-responsible-scaling-policy",
    ),
    Field(
        "reply_to",
        "text",
        "Shortform on a forum: the comment it answers (its URL, or its id).",
        example="https://www.lesswrong.com/posts/abc/slug?commentId=def",
    ),
    Field(
        "updates",
        "list",
        "Dated updates, shown at the top of the post; their notes are numbered after the "
        "body's, so adding one never renumbers.",
        items="table",
        fields=UPDATE,
        default=(),
    ),
)

SOURCE = (
    Field("url", "url", "The page or PDF the quote comes from.", required=True),
    Field("title", "text", "The source's own title."),
    Field("published", "date", "When the company published it."),
    Field("accessed", "date", "When you read it."),
)

SNIPPET = (
    Field("lab", "text", "A key of snippets/labs.yaml.", required=True),
    Field("title", "text", "What this claim is, in a few words.", required=True),
    Field("claim", "text", "A one-sentence paraphrase of what the source commits to."),
    Field("quote", "text", "Verbatim text from the source; checked against the archive online."),
    Field(
        "source",
        "table",
        "Where the claim was made: the source's details, or the id of a document in "
        "documents.yaml.",
        required=True,
        fields=SOURCE,
        or_name=True,
    ),
    Field("locator", "text", "Where in the document (with `source: <document id>`): `p. 3`."),
    Field(
        "archive",
        "url",
        "A Wayback Machine or archive.today snapshot of source.url.",
        example="https://web.archive.org/web/20250211000000/https://example.com/",
    ),
    Field("topics", "list", "Topics for `toolkit claims --topic`.", default=()),
    Field(
        "status",
        "choice",
        "Whether the claim still stands.",
        choices=("current", "superseded", "retracted"),
        default="current",
    ),
    Field("superseded_by", "text", "The id of the snippet that replaces this one."),
)

LAB = (
    Field("name", "text", "The company's name as readers know it.", required=True),
    Field("url", "url", "The company's home page."),
)

VERSION = (
    Field("seen", "date", "When this version was first seen.", required=True),
    Field("archive", "url", "A snapshot of this version."),
    Field("digest", "text", "sha256 of the version's text, as `toolkit watch` extracts it."),
    Field("summary", "text", "One line on what changed."),
)

DOCUMENT = (
    Field("lab", "text", "A key of snippets/labs.yaml.", required=True),
    Field("title", "text", "The document's own title.", required=True),
    Field("url", "url", "Where the company publishes it.", required=True),
    Field("published", "date", "When the company published it."),
    Field(
        "archive",
        "url",
        "A snapshot of url.",
        example="https://web.archive.org/web/20250211000000/https://example.com/",
    ),
    Field("kind", "text", "framework, system card, policy page, blog post..."),
    Field(
        "versions",
        "list",
        "Versions seen by `toolkit watch --archive`, oldest first.",
        items="table",
        fields=VERSION,
        default=(),
    ),
)

ARCHIVE_ENTRY = (
    Field("archive", "url", "A snapshot of the link's URL.", required=True),
    Field("accessed", "date", "When the link was read."),
)

_CONFIG = (
    Field(
        "site",
        "table",
        "The site and its feeds.",
        required=True,
        fields=(
            Field("title", "text", "The site's name.", required=True, default="Untitled"),
            Field(
                "base_url",
                "url",
                "Absolute URL the site is served from.",
                required=True,
                default="https://example.org",
            ),
            Field("author", "text", "Your name, for feeds and bylines."),
            Field("description", "text", "One line about the site."),
            Field("language", "text", "Language code.", default="en"),
        ),
    ),
    Field(
        "check",
        "table",
        "What `toolkit check` looks at.",
        fields=(
            Field(
                "no_archive_needed", "list", "Hosts whose links need no archived copy.", default=()
            ),
            Field("ignore", "list", "Diagnostic codes to silence.", default=()),
        ),
    ),
    Field(
        "feeds",
        "table",
        "Feed settings.",
        fields=(Field("max_items", "int", "Entries per feed, newest first.", default=20),),
    ),
    Field(
        "archive",
        "table",
        "The web archive used for snapshots.",
        fields=(
            Field(
                "wayback_url",
                "url",
                "Base URL of the Wayback Machine.",
                default="https://web.archive.org",
            ),
        ),
    ),
    Field(
        "online",
        "table",
        "How `toolkit check --online` and `toolkit archive` fetch.",
        fields=(
            Field("per_host", "int", "Requests at once to any one host.", default=2),
            Field("connections", "int", "Requests at once in all.", default=64),
            Field("archive_connections", "int", "Requests at once to the archive.", default=2),
            Field("timeout", "int", "Seconds to wait for one answer.", default=20),
            Field("deadline", "int", "Seconds for the whole run.", default=900),
            Field("live_days", "int", "Days a live page's result is kept.", default=7),
        ),
    ),
)


def config_fields() -> tuple[Field, ...]:
    """toolkit.toml: the fixed tables, and one per publish target for its base URL (read
    from the registry when asked, so a target registered later has its table too)."""
    from . import targets

    return _CONFIG + tuple(
        Field(
            t.name,
            "table",
            f"{t.label} drafts (credential from ${t.credential}).",
            fields=(Field(t.url_key, "url", f"{t.label}'s API base URL.", default=t.url),),
        )
        for t in targets.TARGETS.values()
    )


def choices(f: Field) -> tuple[str, ...]:
    """The values a choice field, or a list of choices, takes."""
    if f.items == "target":
        from . import targets

        return targets.names()
    return f.choices


_HTTP_URL = re.compile(r"https?://(?P<host>[^\s/?#@]+)(?:[/?#]\S*)?", re.IGNORECASE)


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL with a host, no spaces or control characters, that
    urllib can take apart (so `https://[::1/x`, an unclosed IPv6 host, is not one)."""
    m = _HTTP_URL.fullmatch(value)
    if m is None or CONTROL_IN_NAME.search(value):
        return False
    host = m["host"]
    if host.isascii() and "[" not in host and ":" not in host:
        return True  # nothing urllib could refuse: no IPv6 brackets, port or lookalikes
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return bool(parts.hostname)


def to_datetime(value: Any) -> dt.datetime | None:
    """A timezone-aware datetime from YAML's date/datetime or an ISO string; None if not one."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return to_datetime(parsed)
    return None


def to_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            parsed = to_datetime(value)
            return parsed.date() if parsed else None
    return None


_TYPE_NAMES = {
    "text": "text",
    "url": "a URL",
    "date": "a date (YYYY-MM-DD)",
    "datetime": "a date or time (YYYY-MM-DDTHH:MM:SS+00:00)",
    "choice": "one of the choices",
    "list": "a list like [a, b]",
    "table": "a mapping of keys",
    "int": "a whole number",
    "bool": "true or false",
    "slug": "a slug",
}


class Validator:
    """Checks one mapping against a tuple of Fields, reporting at the key's line."""

    def __init__(self, loaded: Loaded, path: str, what: str):
        self.loaded, self.path, self.what = loaded, path, what
        self.diagnostics: list[dg.Diagnostic] = []

    def report(self, code: str, at: Path, message: str) -> None:
        line, column = self.loaded.at(at)
        self.diagnostics.append(dg.make(code, self.path, line, message, column))

    def mapping(self, value: Any, fields: tuple[Field, ...], at: Path = ()) -> dict[str, Any]:
        """Normalised values for every field (defaults filled in); bad values become None."""
        if not isinstance(value, dict):
            where = f"`{at[-1]}`" if at else f"the {self.what}"
            self.report("F004", at, f"{where} must be a mapping of `key: value` lines")
            value = {}
        known = {f.name: f for f in fields}
        for key in value:
            if key not in known:
                hint = dg.did_you_mean(key, known)
                self.report(
                    "F006",
                    at + (key,),
                    f"unknown key `{key}` in the {self.what}{hint}; remove it or fix its spelling",
                )
        result: dict[str, Any] = {}
        for f in fields:
            if f.name not in value or value[f.name] is None:
                if f.required:
                    where = f" under `{'.'.join(map(str, at))}`" if at else ""
                    self.report(
                        "F005",
                        at,
                        f"missing required key `{f.name}`{where}: "
                        f"add `{f.name}:` ({f.doc.rstrip('.').lower()})",
                    )
                result[f.name] = self.default(f)
                continue
            result[f.name] = self.field(f, value[f.name], at + (f.name,))
        return result

    def text(self, value: str, name: str, at: Path) -> str:
        """`value` without control characters, each text reported (F012) at its key."""
        if CONTROL_RE.search(value) is None:
            return value
        self.report("F012", at, control_message(value, name))
        return CONTROL_RE.sub("", value)

    @staticmethod
    def default(f: Field) -> Any:
        if f.kind == "table":
            return {sub.name: Validator.default(sub) for sub in f.fields}
        return tuple(f.default) if f.kind == "list" else f.default

    def field(self, f: Field, value: Any, at: Path) -> Any:
        if value is INVALID:
            return self.default(f)
        name = f"`{f.name}`"
        if f.kind == "table":
            if f.or_name and isinstance(value, str):
                return value.strip()  # a name, checked by whoever knows the names
            return self.mapping(value, f.fields, at)
        if f.kind == "list" and f.items == "table":
            if not isinstance(value, list):
                self.report("F004", at, f"{name} must be a list of mappings (`- key: value`)")
                return self.default(f)
            return tuple(self.mapping(item, f.fields, at + (i,)) for i, item in enumerate(value))
        if f.kind == "list":
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                value = [value]  # `tags: rsp` means [rsp]
            if not isinstance(value, list):
                self.report("F004", at, f"{name} must be {_TYPE_NAMES['list']}")
                return self.default(f)
            items = []
            for i, item in enumerate(value):
                if isinstance(item, (int, float)) and not isinstance(item, bool):
                    item = str(item)
                if not isinstance(item, str):
                    self.report("F004", at + (i,), f"each item of {name} must be text")
                    continue
                item = self.text(item, f"an item of {name}", at + (i,))
                allowed = choices(f)
                if f.items != "text" and item not in allowed:
                    self.report(
                        "F008",
                        at + (i,),
                        f"`{item}` is not a valid {f.name} item"
                        f"{dg.did_you_mean(item, allowed)}; use one of: " + ", ".join(allowed),
                    )
                    continue
                items.append(item)
            return tuple(items)
        if f.kind in ("date", "datetime"):
            convert = to_date if f.kind == "date" else to_datetime
            result = convert(value)
            if result is None:
                code = "F007" if isinstance(value, str) else "F004"
                self.report(code, at, f"{name} is `{value}`, which is not {_TYPE_NAMES[f.kind]}")
            return result
        if f.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                self.report("F004", at, f"{name} must be {_TYPE_NAMES['int']}")
                return f.default
            if value < 1:
                self.report("F008", at, f"{name} is {value}; it must be at least 1")
                return f.default
            return value
        if f.kind == "bool":
            if not isinstance(value, bool):
                self.report("F004", at, f"{name} must be {_TYPE_NAMES['bool']}")
                return f.default
            return value
        # Scalar text kinds from here on.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            kind = "a list" if isinstance(value, list) else type(value).__name__
            if isinstance(value, dict):
                kind = "a mapping"
            self.report("F004", at, f"{name} must be {_TYPE_NAMES[f.kind]}, not {kind}")
            return f.default
        value = self.text(value.strip(), name, at)
        if f.kind == "choice" and value not in f.choices:
            self.report(
                "F008",
                at,
                f"{name} is `{value}`{dg.did_you_mean(value, f.choices)}; "
                "use one of: " + ", ".join(f.choices),
            )
            return f.default
        if f.kind == "url" and not is_http_url(value):
            self.report(
                "F010",
                at,
                f"{name} is `{value}`, not an absolute http(s) URL; write it as https://host/path",
            )
            return None
        if f.kind == "slug" and len(value.encode()) > NAME_MAX:
            self.report(
                "F008",
                at,
                f"{name} is {len(value)} characters long; a slug names files, so it may "
                f"have at most {NAME_MAX} bytes: shorten it",
            )
            return None
        if f.kind == "slug" and not is_slug(value):
            self.report(
                "F008",
                at,
                f"{name} `{value}` is not a valid slug; use lowercase "
                "letters, digits and hyphens, e.g. `frameworks-after-summit`",
            )
            return None
        return value


def json_schema(fields: tuple[Field, ...], title: str, description: str = "") -> dict:
    """A JSON Schema (draft 2020-12) for one format, for YAML language servers."""
    schema = _object_schema(fields)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        **({"description": description} if description else {}),
        **schema,
    }
    return schema


def _object_schema(fields: tuple[Field, ...]) -> dict:
    return {
        "type": "object",
        "properties": {f.name: _field_schema(f) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }


def _field_schema(f: Field) -> dict:
    s: dict[str, Any]
    if f.kind == "table":
        s = _object_schema(f.fields)
        if f.or_name:
            s = {"oneOf": [{"type": "string", "pattern": SLUG_RE.pattern}, s]}
    elif f.kind == "list" and f.items == "table":
        s = {"type": "array", "items": _object_schema(f.fields)}
    elif f.kind == "list":
        item: dict[str, Any] = {"type": "string"}
        if f.items != "text":
            item["enum"] = list(choices(f))
        s = {"type": "array", "items": item, "uniqueItems": True}
    elif f.kind == "choice":
        s = {"type": "string", "enum": list(f.choices)}
    elif f.kind == "url":
        s = {"type": "string", "format": "uri", "pattern": "^https?://"}
    elif f.kind == "date":
        s = {"type": "string", "format": "date"}
    elif f.kind == "datetime":
        s = {"type": "string", "pattern": DATETIME_PATTERN}
    elif f.kind == "int":
        s = {"type": "integer", "minimum": 1}
    elif f.kind == "bool":
        s = {"type": "boolean"}
    elif f.kind == "slug":
        s = {"type": "string", "pattern": SLUG_RE.pattern, "maxLength": NAME_MAX}
    else:
        s = {"type": "string"}
    if f.doc:
        s["description"] = f.doc
    if f.default not in (None, ()) and f.kind != "table":
        s["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
    if f.example is not None:
        s["examples"] = [f.example]
    return s
